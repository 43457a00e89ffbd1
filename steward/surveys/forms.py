"""Survey forms: input shape only; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Team

from . import questionnaire
from .models import Question, QuestionnaireVersion, Survey

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
SCALE_LABELS: dict[str, tuple[Any, Any]] = {
    Question.CSAT: (_("Very dissatisfied"), _("Very satisfied")),
    Question.CES: (_("Strongly disagree"), _("Strongly agree")),
    Question.NPS: (_("Not at all likely"), _("Extremely likely")),
}


class AnswerForm(forms.Form):
    """The questions one survey asks, in its language, on its version's scales."""

    def __init__(
        self, *args: Any, survey: Survey, version: QuestionnaireVersion, texts: dict[str, str], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.survey = survey
        asked = questionnaire.questions_for(survey)
        ranges: dict[str, tuple[int, int]] = {
            Question.CSAT: (1, version.csat_max),
            Question.CES: (1, version.ces_max),
            Question.NPS: (0, version.nps_max),
        }
        required = Question.NPS if survey.kind == "relationship" else Question.CSAT
        for question in asked:
            label = texts[question]
            if question in ranges:
                low, high = ranges[question]
                field: forms.Field = forms.TypedChoiceField(
                    label=label,
                    choices=[(str(n), str(n)) for n in range(low, high + 1)],
                    coerce=int,
                    empty_value=None,
                    required=question == required,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Please answer this question.")},
                )
                field.scale_ends = SCALE_LABELS[question]  # type: ignore[attr-defined,index]
            elif question == Question.COMMENT:
                field = forms.CharField(
                    label=label, required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
                )
            else:
                field = forms.TypedChoiceField(
                    label=label,
                    choices=YES_NO,
                    coerce=lambda v: v == "yes",
                    empty_value=None,
                    required=False,
                    widget=forms.RadioSelect,
                )
            field.question = question  # type: ignore[attr-defined]
            self.fields[question] = field

    def answers(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v is not None and v != ""}


class FollowUpDoneForm(forms.Form):
    note = forms.CharField(
        label=_("What was done for the customer"),
        min_length=10,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WordingForm(forms.Form):
    """One text per question in one language; blank means the shipped wording."""

    def __init__(self, *args: Any, rows: list[questionnaire.WordingRow], language: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for row in rows:
            self.fields[row.question] = forms.CharField(
                label=row.label,
                required=False,
                max_length=questionnaire.MAX_WORDING,
                initial=row.custom,
                help_text=row.default,  # the standard wording, in the language being edited
                widget=forms.TextInput(attrs={"lang": language, "size": 80}),
            )


class ScaleForm(forms.Form):
    csat_max = forms.TypedChoiceField(
        label=_("Satisfaction (CSAT) scale"),
        choices=[("5", _("1 to 5")), ("7", _("1 to 7"))],
        coerce=int,
    )
    note = forms.CharField(label=_("Why the scale changes"), max_length=300)


class SegmentForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)
    organisation = forms.CharField(label=_("Organisation"), required=False, max_length=200)
    team = forms.ModelChoiceField(label=_("Team of their cases"), queryset=Team.objects.all(), required=False)
    closed_within_days = forms.IntegerField(
        label=_("With a case closed in the last N days"), required=False, min_value=1, max_value=3650
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Any language")), *questionnaire.languages()]  # type: ignore[attr-defined]

    def segment(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "language": data.get("language") or "",
            "organisation": (data.get("organisation") or "").strip(),
            "team": data["team"].pk if data.get("team") else None,
            "closed_within_days": data.get("closed_within_days") or None,
        }
