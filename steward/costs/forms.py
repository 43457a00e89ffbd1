"""Costs forms: shape only. Amounts are typed in major units and turned into minor units here;
every rule (limits, currencies, who may) lives in services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import User
from steward.cases.models import Case
from steward.core.errors import DomainError
from steward.core.widgets import use_fast_selects
from steward.reviews.models import Review
from steward.sectors.models import Sector

from .models import CompensationKind, CostCategory, EntryKind, LineSource
from .money import exponent, org_currency, parse_major

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _money_field(label: Any, *, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=required, min_value=Decimal(0), max_digits=15, decimal_places=3
    )


class _MoneyForm(forms.Form):
    """Turns each money field (major units) into `<name>_minor` in cleaned_data."""

    money_fields: tuple[str, ...] = ()

    def _currency(self) -> str:
        return str(self.cleaned_data.get("currency") or org_currency()).strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        currency = self._currency()
        for name in self.money_fields:
            value = cleaned.get(name)
            if value is None:
                cleaned[f"{name}_minor"] = None
                continue
            try:
                cleaned[f"{name}_minor"] = parse_major(value, currency, field=name)
            except DomainError as exc:
                self.add_error(name, str(exc.message))
        return cleaned


class RateForm(_MoneyForm):
    money_fields = ("hourly_rate", "wages", "employer_taxes", "benefits", "overhead")

    sector = forms.ModelChoiceField(label=_("Sector"), queryset=Sector.objects.all())
    effective_from = forms.DateField(label=_("Effective from"), widget=_DATE)
    hourly_rate = _money_field(_("Loaded hourly rate"), required=False)
    wages = _money_field(_("Wages in the period"), required=False)
    employer_taxes = _money_field(_("Employer taxes"), required=False)
    benefits = _money_field(_("Benefits"), required=False)
    overhead = _money_field(_("Allocated overhead"), required=False)
    productive_hours = forms.DecimalField(
        label=_("Productive hours in the period"),
        required=False,
        max_digits=10,
        decimal_places=2,
        help_text=_("Paid hours minus leave, holidays, training and meetings."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = org_currency()
        self.fields["hourly_rate"].help_text = _(
            "In %(currency)s an hour. Leave empty to compute it from the costs below."
        ) % {"currency": currency}


class CompensationForm(_MoneyForm):
    money_fields = ("amount",)

    kind = forms.ChoiceField(label=_("Kind"), choices=CompensationKind.choices)
    amount = _money_field(_("Amount"))
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("currency", org_currency())
        super().__init__(*args, **kwargs)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))]
    )
    note = forms.CharField(
        label=_("Note (required to reject)"), required=False, max_length=500, widget=forms.TextInput()
    )


class CostEntryForm(_MoneyForm):
    money_fields = ("amount",)

    incurred_on = forms.DateField(label=_("Date"), widget=_DATE)
    kind = forms.ChoiceField(label=_("What it paid for"), choices=EntryKind.choices)
    category = forms.ChoiceField(
        label=_("Category (only for another kind)"),
        choices=[("", "—"), *CostCategory.choices],
        required=False,
    )
    description = forms.CharField(label=_("Description"), max_length=300)
    amount = _money_field(_("Amount"))
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    sector = forms.ModelChoiceField(
        label=_("Sector"), queryset=Sector.objects.all(), required=False, empty_label=_("No sector")
    )
    case = forms.IntegerField(
        label=_("Case number (optional)"), required=False, min_value=1, max_value=2**31 - 1
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("currency", org_currency())
        super().__init__(*args, **kwargs)

    def clean_case(self) -> Case | None:
        number = self.cleaned_data.get("case")
        if number is None:
            return None
        case = Case.objects.filter(pk=number).first()
        if case is None:
            raise forms.ValidationError(_("There is no case with this number."))
        return case


def entry_initial(entry: Any) -> dict[str, Any]:
    exp = exponent(entry.original_currency)
    return {
        "incurred_on": entry.incurred_on,
        "kind": entry.kind,
        "category": entry.category if entry.kind == EntryKind.OTHER else "",
        "description": entry.description,
        "amount": Decimal(entry.original_amount_minor) / (Decimal(10) ** exp),
        "currency": entry.original_currency,
        "sector": entry.sector_id,
        "case": entry.case_id,
    }


class OverrideForm(forms.Form):
    source = forms.ChoiceField(choices=LineSource.choices, widget=forms.HiddenInput)
    source_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("Category"), choices=CostCategory.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=_DATE)
    end = forms.DateField(label=_("To"), widget=_DATE)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days > 366:
                raise forms.ValidationError(_("Choose a period of at most a year."))
        return cleaned


class UserChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class MeetingForm(forms.Form):
    review = forms.ModelChoiceField(label=_("Review"), queryset=Review.objects.order_by("-opened_at"))
    held_on = forms.DateField(label=_("Held on"), widget=_DATE)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=1, max_value=8 * 60)
    participants = UserChoices(
        label=_("Who took part"),
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )


# Issue 9: the case page's compensation form and the decision form render their inputs and selects in
# Python, not through Django's widget templates (same HTML).
use_fast_selects([CompensationForm, DecisionForm])
