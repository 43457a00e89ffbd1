from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Role, Team, User
from steward.core.errors import DomainError
from steward.costs.money import exponent, org_currency, parse_major
from steward.sectors.models import Sector

from .models import QUESTIONS, DecisionKind, Mitigation, ScenarioKind

_WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_WHEN_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class PeopleChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


def _staff() -> Any:
    return User.objects.filter(is_active=True).exclude(role=Role.EXECUTIVE).order_by("first_name", "username")


class DecisionForm(forms.Form):
    title = forms.CharField(
        label=_("Title"), max_length=200, widget=forms.TextInput(attrs={"autofocus": True})
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=DecisionKind.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    goal = forms.CharField(label=_("Internal goal"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    saving = forms.CharField(label=_("Internal saving"), required=False, max_length=20)
    window_start = forms.DateTimeField(label=_("Window start"), widget=_WHEN, input_formats=_WHEN_FORMATS)
    window_end = forms.DateTimeField(label=_("Window end"), widget=_WHEN, input_formats=_WHEN_FORMATS)
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("Every adviser"),
    )
    answer_impact = forms.CharField(
        label=QUESTIONS["answer_impact"], required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    answer_reduce = forms.CharField(
        label=QUESTIONS["answer_reduce"], required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    answer_action_plan = forms.CharField(
        label=QUESTIONS["answer_action_plan"], required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    answer_alternatives = forms.CharField(
        label=QUESTIONS["answer_alternatives"], required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["saving"].help_text = _("In %(currency)s, for example 1200.00.") % {
            "currency": org_currency()
        }

    def clean_saving(self) -> int:
        text = (self.cleaned_data.get("saving") or "").strip()
        if not text:
            return 0
        try:
            return parse_major(text, org_currency(), field="saving")
        except DomainError as exc:
            raise forms.ValidationError(str(exc.message)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The window must end after it starts."))
        return data


def decision_initial(decision: Any) -> dict[str, Any]:
    exp = exponent(org_currency())
    saving = decision.saving_minor / (10**exp) if exp else decision.saving_minor
    return {
        "title": decision.title,
        "kind": decision.kind,
        "description": decision.description,
        "goal": decision.goal,
        "saving": f"{saving:.{exp}f}" if decision.saving_minor else "",
        "window_start": decision.window_start,
        "window_end": decision.window_end,
        "team": decision.team_id,
        **{name: getattr(decision, name) for name in QUESTIONS},
    }


class ScenarioForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=ScenarioKind.choices)
    mitigations = forms.MultipleChoiceField(
        label=_("Mitigations"),
        choices=Mitigation.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class NewScenarioForm(ScenarioForm):
    copy_from: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Start from"), queryset=None, required=False, empty_label=_("Nobody away yet")
    )

    def __init__(self, *args: Any, decision: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["copy_from"].queryset = decision.scenarios.all()  # type: ignore[attr-defined]


class AwayForm(forms.Form):
    users = PeopleChoices(
        label=_("People"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )
    sectors = forms.ModelMultipleChoiceField(
        label=_("Whole sectors"), queryset=Sector.objects.order_by("name"), required=False
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Whole teams"), queryset=Team.objects.order_by("name"), required=False
    )
    starts_at = forms.DateTimeField(label=_("From"), widget=_WHEN, input_formats=_WHEN_FORMATS)
    ends_at = forms.DateTimeField(label=_("To"), widget=_WHEN, input_formats=_WHEN_FORMATS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = _staff()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("users") or data.get("sectors") or data.get("teams")) and not self.errors:
            self.add_error("users", _("Choose at least one person, sector or team."))
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("The away period must end after it starts."))
        return data


class BackupForm(forms.Form):
    user = PersonChoice(label=_("Person away"), queryset=None)
    backup = PersonChoice(label=_("Covered by"), queryset=None, required=False, empty_label=_("Usual backup"))

    def __init__(self, *args: Any, away_ids: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(pk__in=list(away_ids))  # type: ignore[attr-defined]
        self.fields["backup"].queryset = _staff().exclude(role=Role.SECTOR_MEMBER)  # type: ignore[attr-defined]


class ApproveForm(forms.Form):
    scenario: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Scenario to approve"), queryset=None
    )

    def __init__(self, *args: Any, decision: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scenario"].queryset = decision.scenarios.all()  # type: ignore[attr-defined]


class ReviewForm(forms.Form):
    note = forms.CharField(
        label=_("What we learned"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
