"""Review forms: shape only; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.cases.models import Case, Category, Kind
from steward.sectors.models import Sector

from .models import Finding, RootCause


class ReviewOpenForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    case = forms.IntegerField(
        label=_("One complaint: case number"), required=False, min_value=1, max_value=2**31 - 1
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any category")
    )
    period_from = forms.DateField(
        label=_("Opened from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_to = forms.DateField(
        label=_("Opened to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_case(self) -> Case | None:
        number = self.cleaned_data.get("case")
        if number is None:
            return None
        case = Case.objects.filter(pk=number).first()
        if case is None:
            raise forms.ValidationError(_("There is no case with this number."))
        return case


class RootCauseChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class FindingForm(forms.Form):
    root_cause = RootCauseChoice(label=_("Root cause"), queryset=RootCause.objects.none())
    description = forms.CharField(
        label=_("What made this delay possible?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Describe the conditions, not the people: we look for solutions, not culprits."),
    )
    sector = forms.ModelChoiceField(
        label=_("Where it showed (optional)"), queryset=Sector.objects.all(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .selectors import root_causes

        self.fields["root_cause"].queryset = root_causes()  # type: ignore[attr-defined]


class ActionForm(forms.Form):
    description = forms.CharField(label=_("What will prevent it?"), widget=forms.Textarea(attrs={"rows": 3}))
    owner_sector = forms.ModelChoiceField(label=_("Owner sector"), queryset=Sector.objects.all())
    due_on = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))
    finding = forms.ModelChoiceField(
        label=_("For finding (optional)"), queryset=Finding.objects.none(), required=False
    )

    def __init__(self, *args: Any, review: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if review is not None:
            self.fields["finding"].queryset = review.findings.select_related("root_cause__parent")  # type: ignore[attr-defined]
