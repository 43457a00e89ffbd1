"""The economics pages' period: whole months, first to last inclusive."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .economics_selectors import Period, add_months, default_period


class EconomicsPeriodForm(forms.Form):
    """A span of whole months, first to last inclusive; empty means the last 12 complete months."""

    MAX_MONTHS = 60

    date_from = forms.DateField(
        label=_("From month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    date_to = forms.DateField(
        label=_("To month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if bool(start) != bool(end) and not self.errors:
            self.add_error("date_to" if start else "date_from", _("Give both months, or neither."))
        elif start and end:
            if start > end:
                self.add_error("date_to", _("The period must end on or after its first day."))
            elif (end.year - start.year) * 12 + end.month - start.month + 1 > self.MAX_MONTHS:
                self.add_error("date_to", _("Choose at most 60 months."))
        return data

    def period(self, today: date) -> Period:
        c = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if c.get("date_from") and c.get("date_to"):
            return Period(c["date_from"].replace(day=1), add_months(c["date_to"].replace(day=1), 1))
        return default_period(today)
