"""Every write of the surveys app: send a survey, answer it, open and close a follow-up, NPS campaigns.

`survey_send` is the one path for the case survey: the receiver of the case event log schedules it
after the commit, the task calls it, the demo seed calls it. It is idempotent: one case survey per
case (a partial unique constraint), so running it twice sends one survey and one mail.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from steward.accounts.models import Role, User
from steward.cases.models import Case, Closure, Status
from steward.cases.services import _lock, _record
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted
from steward.customers.models import Customer
from steward.notifications.compose import one_line, portal_case_url, portal_url
from steward.notifications.models import NotificationKind, RecipientKind
from steward.notifications.notices import mail_language
from steward.notifications.services import outbox_enqueue

from . import events, questionnaire, webhooks
from .models import (
    CampaignState,
    FollowUp,
    FollowUpReason,
    FollowUpState,
    NpsCampaign,
    Question,
    Survey,
    SurveyKind,
    SurveyResponse,
)
from .signals import response_recorded

logger = logging.getLogger(__name__)

LOW_CSAT = 2  # CSAT at or below this (on the 1–5 scale) opens a follow-up
NPS_DETRACTOR = 6  # NPS at or below this is a detractor: the sender of the campaign calls back
MAX_COMMENT = 4000


def link_lifetime() -> timedelta:
    return timedelta(days=settings.STEWARD_SURVEY_LINK_DAYS)


def quiet_period() -> timedelta:
    return timedelta(days=settings.STEWARD_NPS_QUIET_DAYS)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """(raw token for the link, its SHA-256 to store): a leaked table answers no survey."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def survey_url(raw_token: str, language: str) -> str:
    with translation.override(language):
        return settings.STEWARD_BASE_URL + reverse("surveys:answer", kwargs={"token": raw_token})


_muted: ContextVar[bool] = ContextVar("steward_surveys_muted", default=False)


@contextmanager
def surveys_muted() -> Iterator[None]:
    """Loading history (the demo seed, imports): case events inside this block schedule no survey, and
    surveys sent or answered in it write no mail and call no webhook."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted() -> bool:
    return _muted.get()


# ---------------------------------------------------------------- the case survey


def _case_mail(survey: Survey, case: Case, raw_token: str) -> None:
    customer = case.customer
    if not customer.email or is_muted():
        return  # the portal still shows the invitation
    language = survey.language
    url = survey_url(raw_token, language)
    with translation.override(language):
        context: dict[str, Any] = {
            "case": case,
            "survey": survey,
            "url": url,
            "recipient_name": customer.name,
            "for_customer": True,
            "portal_url": portal_url(language),
            "portal_case_url": portal_case_url(case, language),
            "language": language,
            "expires_at": survey.expires_at,
        }
        subject = _("How did we do? %(subject)s") % {"subject": one_line(case.subject)}
        text = render_to_string("surveys/mail/case_survey.txt", context)
        html = render_to_string("surveys/mail/case_survey.html", context)
    outbox_enqueue(
        to=customer.email,
        language=language,
        kind=NotificationKind.OTHER,
        subject=subject,
        text=text,
        html=html,
        case=case,
        recipient_kind=RecipientKind.CUSTOMER,
    )


def case_survey_of(case: Case) -> Survey | None:
    return Survey.objects.filter(case=case, kind=SurveyKind.CASE).first()


@transaction.atomic
def survey_send(*, case: Case, actor: User | None = None, at: datetime | None = None) -> Survey | None:
    """Send the case's survey once: after a confirmed solution or an unconfirmed closure.

    Returns the case's survey (the existing one when it was already sent), or None when the case is
    not closed (it was reopened before the task ran: the survey follows its next closure).
    """
    if actor is not None and not (actor.is_active and actor.manages_cases):
        raise NotPermitted(_("Only a manager may send a survey by hand."))
    at = at or timeutil.now()
    case = _lock(case)
    existing = case_survey_of(case)
    if existing is not None:
        return existing
    if case.status != Status.CLOSED:
        return None
    raw, token_hash = new_token()
    try:
        with transaction.atomic():
            survey = Survey.objects.create(
                kind=SurveyKind.CASE,
                case=case,
                customer=case.customer,
                language=mail_language(case.customer.language),
                questionnaire_version=questionnaire.current_version().number,
                asks_solved=case.closure == Closure.UNCONFIRMED,
                token_hash=token_hash,
                sent_at=at,
                expires_at=at + link_lifetime(),
                sent_by=actor,
            )
    except IntegrityError:  # a concurrent run won the unique constraint: one survey per case
        found = case_survey_of(case)
        if found is None:
            raise
        return found
    _case_mail(survey, case, raw)
    _record(
        case,
        kind=events.SURVEY_SENT,
        actor=actor,
        at=at,
        data={"survey": survey.pk, "to": case.customer.email, "language": survey.language},
    )
    return survey


# ---------------------------------------------------------------- answering


class TokenState:
    VALID = "valid"
    INVALID = "invalid"  # unknown, forged or mangled
    EXPIRED = "expired"
    ANSWERED = "answered"


@dataclass(frozen=True)
class TokenCheck:
    state: str
    survey: Survey | None = None


MAX_TOKEN_LENGTH = 100


def survey_state(survey: Survey, *, at: datetime | None = None) -> str:
    at = at or timeutil.now()
    if survey.responded_at is not None:
        return TokenState.ANSWERED
    if survey.expires_at <= at:
        return TokenState.EXPIRED
    return TokenState.VALID


def token_check(raw: str, *, at: datetime | None = None) -> TokenCheck:
    """What a survey link leads to. Never raises for bad input."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return TokenCheck(TokenState.INVALID)
    survey = (
        Survey.objects.select_related("customer", "case", "case__owner")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if survey is None:
        return TokenCheck(TokenState.INVALID)
    return TokenCheck(survey_state(survey, at=at), survey)


class AlreadyAnswered(DomainError):
    def __init__(self) -> None:
        super().__init__(_("You already answered this survey. Thank you!"), code="answered")


class SurveyExpired(DomainError):
    def __init__(self) -> None:
        super().__init__(_("This survey has closed."), code="expired")


def _clean_answers(survey: Survey, answers: dict[str, Any]) -> dict[str, Any]:
    """Keep the answers to questions this survey asked, checked against its version's scales."""
    asked = set(questionnaire.questions_for(survey))
    version = questionnaire.version_scales(survey.questionnaire_version)
    ranges: dict[str, tuple[int, int]] = {
        Question.CSAT: (1, version.csat_max),
        Question.CES: (1, version.ces_max),
        Question.NPS: (0, version.nps_max),
    }
    clean: dict[str, Any] = {}
    for question, value in answers.items():
        if question not in asked or value is None or value == "":
            continue
        if question in ranges:
            low, high = ranges[question]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise DomainError(
                    _("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high},
                    field=question,
                )
        elif question == Question.COMMENT:
            value = str(value).strip()
            if len(value) > MAX_COMMENT:
                raise DomainError(_("Please keep your comment under 4000 characters."), field=question)
        elif not isinstance(value, bool):
            raise DomainError(_("Answer yes or no."), field=question)
        clean[question] = value
    required = Question.NPS if survey.kind == SurveyKind.RELATIONSHIP else Question.CSAT
    if required not in clean:
        raise DomainError(_("Please answer this question."), field=required)
    return clean


def is_low_score(response: SurveyResponse, *, csat_max: int = 5) -> str:
    """Why this answer needs a call back ("" when it does not)."""
    low_csat = LOW_CSAT if csat_max == 5 else 3  # the bottom two boxes of a 1–5 / bottom three of 1–7
    if response.csat is not None and response.csat <= low_csat:
        return FollowUpReason.LOW_CSAT
    if response.solved is False:
        return FollowUpReason.NOT_SOLVED
    if (
        response.kind == SurveyKind.RELATIONSHIP
        and response.nps is not None
        and response.nps <= NPS_DETRACTOR
    ):
        return FollowUpReason.DETRACTOR
    return ""


@transaction.atomic
def survey_answer(*, survey: Survey, answers: dict[str, Any], at: datetime | None = None) -> SurveyResponse:
    """Store the customer's answer. The first submitted answer wins; later ones are refused.

    A low score closes the loop: a follow-up for a manager, an event on the case and a webhook.
    """
    at = at or timeutil.now()
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.responded_at is not None:
        raise AlreadyAnswered()
    if survey.expires_at <= at:
        raise SurveyExpired()
    clean = _clean_answers(survey, answers)
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                survey=survey,
                case_id=survey.case_id,
                customer_id=survey.customer_id,
                kind=survey.kind,
                responded_at=at,
                questionnaire_version=survey.questionnaire_version,
                **clean,
            )
    except IntegrityError:  # a concurrent submit won (without the row lock, e.g. a replica)
        raise AlreadyAnswered() from None
    survey.responded_at = at
    survey.save(update_fields=["responded_at"])
    case = _lock(survey.case) if survey.case is not None else None
    # The dashboard's day counts of the answer (analytics.survey_rollup), in this transaction and under
    # the case's lock: they go under the case's owner and team, which a concurrent handoff (same lock)
    # either changed before or moves the answer with after.
    response_recorded.send(sender=SurveyResponse, response=response)
    if case is not None:
        _record(
            case,
            kind=events.SURVEY_ANSWERED,
            actor=None,
            at=at,
            data={
                "survey": survey.pk,
                "response": response.pk,
                **{k: v for k, v in clean.items() if k != Question.COMMENT},
            },
        )
    reason = is_low_score(
        response, csat_max=questionnaire.version_scales(survey.questionnaire_version).csat_max
    )
    if reason:
        follow_up = follow_up_open(response=response, survey=survey, case=case, reason=reason, at=at)
        if not is_muted():  # history (the demo seed, imports) calls no receiver
            webhooks.webhook_emit(event="survey.low_score", payload=low_score_payload(response, follow_up))
    return response


def low_score_payload(response: SurveyResponse, follow_up: FollowUp) -> dict[str, Any]:
    return {
        "survey": response.survey_id,
        "response": response.pk,
        "kind": response.kind,
        "case": response.case_id,
        "customer": response.customer_id,
        "responded_at": response.responded_at.isoformat(),
        "questionnaire_version": response.questionnaire_version,
        "csat": response.csat,
        "ces": response.ces,
        "nps": response.nps,
        "solved": response.solved,
        "comment": response.comment,
        "follow_up": {
            "id": follow_up.pk,
            "reason": follow_up.reason,
            "assignee": follow_up.assignee_id,
            "due_at": follow_up.due_at.isoformat(),
        },
    }


# ---------------------------------------------------------------- follow-ups


def _active_managers() -> Any:
    return User.objects.filter(is_active=True, role=Role.MANAGER).order_by("id")


def follow_up_assignee(*, survey: Survey, case: Case | None) -> User | None:
    """Who calls the customer back: the manager of the owner's team, else of the case's team, else the
    manager who sent the NPS campaign, else any manager."""
    managers = _active_managers()
    if case is not None:
        for team_id in (case.owner.team_id, case.team_id):
            if team_id:
                found = managers.filter(team_id=team_id).first()
                if found is not None:
                    return found
    if survey.campaign_id is not None:
        sender = survey.campaign.created_by if survey.campaign else None
        if sender is not None and sender.is_active and sender.manages_cases:
            return sender
    return managers.first()


def _notify_assignee(follow_up: FollowUp) -> None:
    user = follow_up.assignee
    if user is None or not user.email or is_muted():
        return
    language = mail_language(user.language)
    url = settings.STEWARD_BASE_URL + _follow_ups_path(language)
    with translation.override(language):
        context = {"follow_up": follow_up, "url": url, "recipient_name": user.display_name}
        subject = _("A customer needs a call back: %(customer)s") % {
            "customer": one_line(follow_up.customer.name)
        }
        text = render_to_string("surveys/mail/follow_up.txt", context)
        html = render_to_string("surveys/mail/follow_up.html", context)
    outbox_enqueue(
        to=user.email,
        language=language,
        kind=NotificationKind.OTHER,
        subject=subject,
        text=text,
        html=html,
        recipient_kind=RecipientKind.USER,
        user=user,
    )


def _follow_ups_path(language: str) -> str:
    with translation.override(language):
        return reverse("surveys:follow_ups")


@transaction.atomic
def follow_up_open(
    *, response: SurveyResponse, survey: Survey, case: Case | None, reason: str, at: datetime
) -> FollowUp:
    """Open the call back for a low score (once per response) and record it on the case."""
    existing = FollowUp.objects.filter(response=response).first()
    if existing is not None:
        return existing
    follow_up = FollowUp.objects.create(
        response=response,
        case=case,
        customer_id=response.customer_id,
        assignee=follow_up_assignee(survey=survey, case=case),
        reason=reason,
        created_at=at,
        due_at=at + timedelta(days=settings.STEWARD_SURVEY_FOLLOW_UP_DAYS),
    )
    if case is not None:
        _record(
            case,
            kind=events.SURVEY_FOLLOW_UP,
            actor=None,
            at=at,
            data={"follow_up": follow_up.pk, "reason": reason, "assignee": follow_up.assignee_id},
        )
    _notify_assignee(follow_up)
    return follow_up


def can_handle_follow_ups(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.manages_cases


@transaction.atomic
def follow_up_complete(
    *, actor: User, follow_up: FollowUp, note: str, at: datetime | None = None
) -> FollowUp:
    """The manager called the customer back and says what came of it."""
    if not can_handle_follow_ups(actor):
        raise NotPermitted(_("Only a manager may close a follow-up."))
    at = at or timeutil.now()
    note = (note or "").strip()
    if len(note) < 10:
        raise DomainError(_("Say what was done for the customer (at least 10 characters)."), field="note")
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.state != FollowUpState.OPEN:
        raise DomainError(_("This follow-up is already done."), field="note")
    follow_up.state = FollowUpState.DONE
    follow_up.done_at = at
    follow_up.done_by = actor
    follow_up.resolution_note = note
    follow_up.save(update_fields=["state", "done_at", "done_by", "resolution_note"])
    if follow_up.case_id:
        case = _lock(follow_up.case)  # type: ignore[arg-type]
        _record(
            case,
            kind=events.SURVEY_FOLLOW_UP_DONE,
            actor=actor,
            at=at,
            data={"follow_up": follow_up.pk, "note": note},
        )
    return follow_up


# ---------------------------------------------------------------- relationship NPS


def can_send_nps(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.manages_cases


@transaction.atomic
def nps_campaign_start(*, actor: User, segment: dict[str, Any], at: datetime | None = None) -> NpsCampaign:
    """Record the campaign and send it in the background (after the commit)."""
    from . import selectors

    if not can_send_nps(actor):
        raise NotPermitted(_("Only a manager may send a relationship survey."))
    at = at or timeutil.now()
    counts = selectors.segment_counts(segment, now=at)
    if counts.eligible == 0:
        raise DomainError(_("No customer in this segment can be surveyed now."), field="segment")
    campaign = NpsCampaign.objects.create(
        created_by=actor, created_at=at, segment=segment, matched=counts.matched
    )
    campaign_id = campaign.pk

    def _queue() -> None:
        from .tasks import send_nps_campaign

        send_nps_campaign.delay(campaign_id)

    transaction.on_commit(_queue)
    return campaign


def _nps_mail(survey: Survey, customer: Customer, raw_token: str) -> None:
    if is_muted():
        return
    language = survey.language
    with translation.override(language):
        context = {
            "customer": customer,
            "url": survey_url(raw_token, language),
            "expires_at": survey.expires_at,
        }
        subject = _("One question: would you recommend us?")
        text = render_to_string("surveys/mail/nps_survey.txt", context)
        html = render_to_string("surveys/mail/nps_survey.html", context)
    outbox_enqueue(
        to=customer.email,
        language=language,
        kind=NotificationKind.OTHER,
        subject=subject,
        text=text,
        html=html,
        recipient_kind=RecipientKind.CUSTOMER,
    )


@transaction.atomic
def nps_survey_send(
    *, customer: Customer, campaign: NpsCampaign | None, actor: User | None, at: datetime
) -> Survey | None:
    """One relationship survey to one customer, unless one went out within the quiet period."""
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True).get()
    if not customer.email:
        return None
    recent = Survey.objects.filter(
        customer=customer, kind=SurveyKind.RELATIONSHIP, sent_at__gt=at - quiet_period()
    ).exists()
    if recent:
        return None
    raw, token_hash = new_token()
    survey = Survey.objects.create(
        kind=SurveyKind.RELATIONSHIP,
        customer=customer,
        campaign=campaign,
        language=mail_language(customer.language),
        questionnaire_version=questionnaire.current_version().number,
        token_hash=token_hash,
        sent_at=at,
        expires_at=at + link_lifetime(),
        sent_by=actor,
    )
    _nps_mail(survey, customer, raw)
    return survey


BATCH = 200


def nps_campaign_run(*, campaign_id: int, at: datetime | None = None) -> NpsCampaign:
    """Send a campaign's surveys, updating its counts as it goes (the page shows the progress).

    Safe to run twice: the quiet period skips customers already surveyed by the first run.
    """
    from . import selectors

    campaign = NpsCampaign.objects.select_related("created_by").get(pk=campaign_id)
    if campaign.state == CampaignState.DONE:
        return campaign
    NpsCampaign.objects.filter(pk=campaign_id).update(state=CampaignState.SENDING)
    at = at or timeutil.now()
    customer_ids = list(selectors.segment_customers(campaign.segment, now=at).values_list("pk", flat=True))
    for start in range(0, len(customer_ids), BATCH):
        chunk = Customer.objects.filter(pk__in=customer_ids[start : start + BATCH]).order_by("pk")
        sent = skipped = 0
        for customer in chunk:
            survey = nps_survey_send(customer=customer, campaign=campaign, actor=campaign.created_by, at=at)
            if survey is None:
                skipped += 1
            else:
                sent += 1
        NpsCampaign.objects.filter(pk=campaign_id).update(
            sent=F("sent") + sent, skipped=F("skipped") + skipped
        )
    NpsCampaign.objects.filter(pk=campaign_id).update(state=CampaignState.DONE, finished_at=timeutil.now())
    campaign.refresh_from_db()
    return campaign
