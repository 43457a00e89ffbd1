"""The selection every analysis screen shares: kind, category and period (cases opened in it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.cases.models import Category, Kind

from .selectors import Selection


class SelectionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any category")
    )
    date_from = forms.DateField(
        label=_("Opened from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Opened to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The period must end on or after its first day."))
        return data

    def selection(self) -> Selection:
        c = self.cleaned_data
        return Selection(
            kind=c.get("kind") or "",
            category=c["category"].pk if c.get("category") else None,
            date_from=c.get("date_from"),
            date_to=c.get("date_to"),
        )
