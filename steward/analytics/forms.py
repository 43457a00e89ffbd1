"""The selection every analysis screen shares: kind, category and period (cases opened in it)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Role, Team, User
from steward.cases.models import Category, Channel, Kind
from steward.core.widgets import FastSelect

from .selectors import Selection
from .service_figures import DIMENSIONS, PERIOD_CHOICES, Period, Scope, period_for


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


class ServiceFilterForm(forms.Form):
    """The manager dashboard's period and scope; every field optional (this month, all cases)."""

    MAX_DAYS = 3 * 366

    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    first = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("Any team"),
        widget=FastSelect,
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=User.objects.filter(role__in=(Role.ADVISER, Role.MANAGER, Role.ADMIN)),
        required=False,
        empty_label=_("Anyone"),
        widget=FastSelect,
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any category")
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False)
    by = forms.ChoiceField(
        label=_("Break down by"), choices=list(DIMENSIONS.items()), required=False, initial="team"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if data.get("period") == "custom" or ((first or last) and not data.get("period")):
            data["period"] = "custom"
            if not first:
                self.add_error("first", _("Give the first day of the period."))
            if not last:
                self.add_error("last", _("Give the last day of the period."))
            if first and last and last < first:
                self.add_error("last", _("The period must end on or after its first day."))
            elif first and last and (last - first).days > self.MAX_DAYS:
                self.add_error("last", _("Choose a period of at most three years."))
        return data

    def period_of(self, today: date) -> Period:
        c = self.cleaned_data if self.is_bound else {}
        return period_for(
            c.get("period") or "this_month", today=today, first=c.get("first"), last=c.get("last")
        )

    def period_choice(self) -> str:
        c = self.cleaned_data if self.is_bound else {}
        return c.get("period") or "this_month"

    def scope(self) -> Scope:
        c = self.cleaned_data if self.is_bound else {}
        return Scope(
            team=c["team"].pk if c.get("team") else None,
            owner=c["owner"].pk if c.get("owner") else None,
            category=c["category"].pk if c.get("category") else None,
            channel=c.get("channel") or "",
            kind=c.get("kind") or "",
        )

    def dimension(self) -> str:
        c = self.cleaned_data if self.is_bound else {}
        return c.get("by") or "team"


REVIEW_CHOICES = [("month", _("Month")), ("year", _("Year"))]


class LoyaltyReviewForm(forms.Form):
    """The loyalty review's period (a month or a year) and scope; empty means last month, all cases."""

    review = forms.ChoiceField(label=_("Review"), choices=REVIEW_CHOICES, required=False)
    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": _("Give the month as YYYY-MM, for example 2026-03.")},
    )
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=9999)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("Any team")
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any category")
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        self.fields["month"].initial = last_month
        self.fields["year"].initial = today.year - 1

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("review") == "year":
            year = data.get("year")
            if year is not None and year > self.today.year:
                self.add_error("year", _("This year has not started yet."))
        else:
            month = data.get("month")
            if month is not None and month.replace(day=1) > self.today:
                self.add_error("month", _("This month has not started yet."))
        return data

    def kind_and_first(self) -> tuple[str, date]:
        """("month" | "year", the first day of the reviewed period); defaults: last month, last year."""
        c = self.cleaned_data if self.is_bound else {}
        if c.get("review") == "year":
            return "year", date(c.get("year") or self.fields["year"].initial, 1, 1)
        return "month", (c.get("month") or self.fields["month"].initial).replace(day=1)

    def scope(self) -> Scope:
        c = self.cleaned_data if self.is_bound else {}
        return Scope(
            team=c["team"].pk if c.get("team") else None,
            category=c["category"].pk if c.get("category") else None,
            channel=c.get("channel") or "",
            kind=c.get("kind") or "",
        )
