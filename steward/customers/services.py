from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.core.errors import DomainError, NotPermitted

from .models import Customer, EconomicsInputs


@transaction.atomic
def customer_create(
    *,
    actor: object | None,
    name: str,
    email: str = "",
    phone: str = "",
    language: str = "en",
    organisation: str = "",
) -> Customer:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A customer needs a name."), field="name")
    email = (email or "").strip().lower()
    if email and Customer.objects.filter(email=email).exists():
        raise DomainError(_("A customer with this e-mail address already exists."), field="email")
    return Customer.objects.create(
        name=name, email=email, phone=phone, language=language, organisation=organisation
    )


def _money(value: int | None, field: str) -> int | None:
    if value is not None and value < 0:
        raise DomainError(_("An amount cannot be negative."), field=field)
    return value


@transaction.atomic
def customer_value_set(
    *,
    actor: object | None,
    customer: Customer,
    acquired_on: date | None,
    churned_on: date | None,
    monthly_margin_minor: int | None,
) -> Customer:
    """Record what loyalty economics needs about one customer (empty fields are derived)."""
    if acquired_on and churned_on and churned_on < acquired_on:
        raise DomainError(_("A customer cannot be lost before being acquired."), field="churned_on")
    customer.acquired_on = acquired_on
    customer.churned_on = churned_on
    customer.monthly_margin_minor = monthly_margin_minor  # a negative margin is allowed (§3.11)
    customer.save(update_fields=["acquired_on", "churned_on", "monthly_margin_minor"])
    return customer


@transaction.atomic
def economics_inputs_set(
    *,
    actor: User,
    month: date,
    currency: str,
    revenue_minor: int | None = None,
    sales_marketing_minor: int | None = None,
    sales_marketing_note: str = "",
    account_management_minor: int | None = None,
    margin_per_customer_minor: int | None = None,
    discount_rate_annual: Decimal | None = None,
    churn_uplift_prior: Decimal | None = None,
) -> EconomicsInputs:
    """Create or replace the inputs of one month (managers only)."""
    if not (actor.is_active and actor.manages_cases):
        raise NotPermitted(_("Only service managers may change the economics inputs."))
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DomainError(_("Give the currency as a three-letter ISO code, e.g. EUR."), field="currency")
    if discount_rate_annual is not None and not Decimal("-1") < discount_rate_annual < Decimal("10"):
        raise DomainError(_("The discount rate must lie between -1 and 10."), field="discount_rate_annual")
    if churn_uplift_prior is not None and not Decimal("-1") <= churn_uplift_prior <= Decimal("1"):
        raise DomainError(_("The churn uplift must lie between -1 and 1."), field="churn_uplift_prior")
    inputs, _created = EconomicsInputs.objects.update_or_create(
        month=month.replace(day=1),
        defaults={
            "currency": currency,
            "revenue_minor": _money(revenue_minor, "revenue_minor"),
            "sales_marketing_minor": _money(sales_marketing_minor, "sales_marketing_minor"),
            "sales_marketing_note": sales_marketing_note.strip(),
            "account_management_minor": _money(account_management_minor, "account_management_minor"),
            "margin_per_customer_minor": margin_per_customer_minor,
            "discount_rate_annual": discount_rate_annual,
            "churn_uplift_prior": churn_uplift_prior,
            "updated_by": actor,
        },
    )
    return inputs
