"""The questions, their shipped wording (translated like every string) and managers' own wording.

Which questions a survey asks follows from its kind: a case survey asks CSAT, CES 2.0, the three
yes/no questions about the service, "is your issue solved?" when the case closed without the
customer's confirmation, and a comment; a relationship survey asks NPS and a comment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import User
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted

from .models import Question, QuestionnaireVersion, QuestionWording, Survey, SurveyKind

DEFAULT_WORDING: dict[str, Promise] = {
    Question.CSAT: _("Overall, how satisfied are you with how we handled your request?"),
    Question.CES: _("Customer service made it easy for me to handle my issue."),
    Question.SOLVED: _("Is your issue solved?"),
    Question.EXPLAINED_MORE_THAN_ONCE: _("Did you have to explain your issue more than once?"),
    Question.KNEW_OWNER_AND_NEXT_STEP: _("Did you know who was handling your case and what came next?"),
    Question.SOLVED_FIRST_CONTACT: _("Was your issue solved at your first contact with us?"),
    Question.NPS: _("How likely are you to recommend us to a friend or colleague?"),
    Question.COMMENT: _("Anything you would like to tell us? (optional)"),
}

CASE_YES_NO = (
    Question.EXPLAINED_MORE_THAN_ONCE,
    Question.KNEW_OWNER_AND_NEXT_STEP,
    Question.SOLVED_FIRST_CONTACT,
)

MAX_WORDING = 300


def languages() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def questions_for(survey: Survey) -> list[str]:
    if survey.kind == SurveyKind.RELATIONSHIP:
        return [Question.NPS, Question.COMMENT]
    asked: list[str] = [Question.CSAT, Question.CES]
    if survey.asks_solved:
        asked.append(Question.SOLVED)
    return [*asked, *CASE_YES_NO, Question.COMMENT]


def default_text(question: str, language: str) -> str:
    with translation.override(language):
        return str(DEFAULT_WORDING[question])


def wording(language: str, questions: Iterable[str] | None = None) -> dict[str, str]:
    """The text of each question in `language`: the manager's wording, else the shipped default."""
    wanted = list(questions) if questions is not None else list(DEFAULT_WORDING)
    custom = dict(
        QuestionWording.objects.filter(language=language, question__in=wanted).values_list("question", "text")
    )
    return {q: custom.get(q) or default_text(q, language) for q in wanted}


@dataclass(frozen=True)
class WordingRow:
    question: str
    label: str
    default: str
    custom: str


def wording_rows(language: str) -> list[WordingRow]:
    """Every question for the manager's form: the default and the current custom wording."""
    custom = dict(QuestionWording.objects.filter(language=language).values_list("question", "text"))
    return [
        WordingRow(q.value, str(q.label), default_text(q.value, language), custom.get(q.value, ""))
        for q in Question
    ]


def can_edit_questionnaire(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.manages_cases


@transaction.atomic
def wording_update(*, actor: User, language: str, texts: dict[str, str]) -> int:
    """Set the wording of questions in one language; a blank text goes back to the default.

    Wording never makes a new questionnaire version: the scales, and so the answers, stay the same.
    Returns how many questions changed.
    """
    if not can_edit_questionnaire(actor):
        raise NotPermitted(_("Only a manager may change the survey questions."))
    if language not in {code for code, _name in languages()}:
        raise DomainError(_("Unknown language."), field="language")
    now = timeutil.now()
    changed = 0
    existing = {w.question: w for w in QuestionWording.objects.select_for_update().filter(language=language)}
    for question, raw in texts.items():
        if question not in Question.values:
            raise DomainError(_("Unknown question."), field=question)
        text = " ".join((raw or "").split())
        if len(text) > MAX_WORDING:
            raise DomainError(_("Keep each question under 300 characters."), field=question)
        row = existing.get(question)
        if not text or text == default_text(question, language):
            if row is not None:
                row.delete()
                changed += 1
            continue
        if row is None:
            QuestionWording.objects.create(
                question=question, language=language, text=text, updated_at=now, updated_by=actor
            )
            changed += 1
        elif row.text != text:
            row.text, row.updated_at, row.updated_by = text, now, actor
            row.save(update_fields=["text", "updated_at", "updated_by"])
            changed += 1
    return changed


# ---------------------------------------------------------------- versions (the scales)

CSAT_SCALES = (5, 7)


def current_version() -> QuestionnaireVersion:
    """The version new surveys are sent on; version 1 (CSAT 1–5, CES 1–7, NPS 0–10) to begin with."""
    latest = QuestionnaireVersion.objects.order_by("-number").first()
    if latest is not None:
        return latest
    version, _created = QuestionnaireVersion.objects.get_or_create(
        number=1, defaults={"created_at": timeutil.now(), "note": "Initial scales"}
    )
    return version


def version_scales(number: int) -> QuestionnaireVersion:
    return QuestionnaireVersion.objects.filter(number=number).first() or current_version()


@transaction.atomic
def questionnaire_scales_change(*, actor: User, csat_max: int, note: str) -> QuestionnaireVersion:
    """A new scale is a new questionnaire version; surveys and answers keep the version they had."""
    if not can_edit_questionnaire(actor):
        raise NotPermitted(_("Only a manager may change the survey questions."))
    if csat_max not in CSAT_SCALES:
        raise DomainError(_("Choose a 5-point or a 7-point satisfaction scale."), field="csat_max")
    note = " ".join((note or "").split())
    if len(note) < 5:
        raise DomainError(_("Say why the scale changes (at least 5 characters)."), field="note")
    current = current_version()
    QuestionnaireVersion.objects.select_for_update().filter(pk=current.pk).get()
    if current.csat_max == csat_max:
        raise DomainError(_("This is already the current scale."), field="csat_max")
    return QuestionnaireVersion.objects.create(
        number=current.number + 1,
        csat_max=csat_max,
        ces_max=current.ces_max,
        nps_max=current.nps_max,
        note=note[:300],
        created_at=timeutil.now(),
        created_by=actor,
    )
