from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="en")
    organisation = forms.CharField(label=_("Organisation"), required=False, max_length=200)


class MonthField(forms.DateField):
    """A month as YYYY-MM (the browser's <input type="month">), stored as its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        return day.replace(day=1) if day else None


class MoneyField(forms.DecimalField):
    """An amount typed in major units (12.50), cleaned to integer minor units (1250)."""

    def __init__(self, *, minor_digits: int = 2, allow_negative: bool = False, **kwargs: Any) -> None:
        self.minor_digits = minor_digits
        kwargs.setdefault("required", False)
        kwargs.setdefault("decimal_places", minor_digits)
        kwargs.setdefault("max_digits", 17)
        if not allow_negative:
            kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return Decimal(value).scaleb(-self.minor_digits)
        return value

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        amount = super().clean(value)
        if amount is None:
            return None
        return int((amount * (10**self.minor_digits)).to_integral_value())


class CustomerValueForm(forms.Form):
    acquired_on = forms.DateField(
        label=_("Acquired on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    churned_on = forms.DateField(
        label=_("Lost on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    monthly_margin_minor = MoneyField(label=_("Monthly margin"), allow_negative=True)


class EconomicsInputsForm(forms.Form):
    month = MonthField(label=_("Month"))
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    revenue_minor = MoneyField(label=_("Revenue"))
    sales_marketing_minor = MoneyField(label=_("Sales and marketing cost"))
    sales_marketing_note = forms.CharField(
        label=_("What the sales and marketing cost includes"), required=False, max_length=300
    )
    account_management_minor = MoneyField(label=_("Account management cost"))
    margin_per_customer_minor = MoneyField(label=_("Margin per customer and month"), allow_negative=True)
    discount_rate_annual = forms.DecimalField(
        label=_("Annual discount rate"),
        required=False,
        max_digits=6,
        decimal_places=4,
        min_value=Decimal("-0.9999"),
        max_value=Decimal("9.9999"),
        help_text=_("As a fraction: 0.1 for 10 %."),
    )
    churn_uplift_prior = forms.DecimalField(
        label=_("Assumed churn uplift of a dissatisfied customer"),
        required=False,
        max_digits=6,
        decimal_places=4,
        min_value=Decimal("-1"),
        max_value=Decimal("1"),
        help_text=_("Used, and labelled, when too few dissatisfied customers exist to measure it."),
    )


class ErasureForm(forms.Form):
    """Erasing cannot be undone: the manager types the customer's number to confirm."""

    confirm = forms.CharField(label=_("Customer number"), max_length=20)

    def __init__(self, *args: Any, customer: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["confirm"].help_text = _("Type %(number)s to confirm. This cannot be undone.") % {
            "number": customer.pk
        }

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip().lstrip("#")
        if value != str(self.customer.pk):
            raise forms.ValidationError(_("Type the customer's number exactly to confirm."))
        return value
