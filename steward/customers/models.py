from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("customer since"), auto_now_add=True)
    # Loyalty economics (metrics.md §1.5, §3.10–3.11). All optional: empty means "derive it".
    acquired_on = models.DateField(
        _("acquired on"),
        null=True,
        blank=True,
        help_text=_("Empty: the date of the first case or of the customer record, whichever is earlier."),
    )
    churned_on = models.DateField(
        _("lost on"),
        null=True,
        blank=True,
        help_text=_("The day the contract ended. Empty: lost after the configured days without activity."),
    )
    monthly_margin_minor = models.BigIntegerField(
        _("monthly margin (minor units)"),
        null=True,
        blank=True,
        help_text=_("Empty: the margin assumption of the economics inputs."),
    )

    # Set when the customer's personal data was erased on request (steward.customers.privacy).
    erased_at = models.DateTimeField(_("personal data erased"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # Inbound mail and the API look customers up by address.
        indexes = [models.Index(fields=["email"], name="customer_email")]

    def __str__(self) -> str:
        return self.name


class EconomicsInputs(models.Model):
    """What loyalty economics and the CoQ-to-revenue ratio need that Steward cannot count: one row a month.

    Money in minor units of `currency`. Empty means "not entered": the figures that need it show
    None with that reason, never 0.
    """

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month."))
    currency = models.CharField(_("currency"), max_length=3)
    revenue_minor = models.BigIntegerField(_("revenue"), null=True, blank=True)
    sales_marketing_minor = models.BigIntegerField(
        _("sales and marketing cost"),
        null=True,
        blank=True,
        help_text=_("For the cost of acquiring a customer. Include the same kinds of cost every month."),
    )
    sales_marketing_note = models.CharField(
        _("what the sales and marketing cost includes"), max_length=300, blank=True
    )
    account_management_minor = models.BigIntegerField(
        _("account management cost"),
        null=True,
        blank=True,
        help_text=_("Cost of serving existing customers outside cases; added to the booked service cost."),
    )
    margin_per_customer_minor = models.BigIntegerField(
        _("margin per customer and month"), null=True, blank=True
    )
    discount_rate_annual = models.DecimalField(
        _("annual discount rate"),
        max_digits=6,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("As a fraction: 0.1 for 10 %."),
    )
    churn_uplift_prior = models.DecimalField(
        _("assumed churn uplift of a dissatisfied customer"),
        max_digits=6,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_(
            "Used, and labelled, when too few dissatisfied customers exist to measure it. 0.05 for 5 points."
        ),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("economics inputs")
        verbose_name_plural = _("economics inputs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount_rate_annual__isnull=True) | models.Q(discount_rate_annual__gt=-1),
                name="econ_inputs_discount_above_minus_one",
            ),
        ]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")
