"""Reads of the surveys app. Other apps use `responses_in` (the contract) for their figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from steward.cases.models import Case, Closure, Status
from steward.customers.models import Customer

from .models import (
    FollowUp,
    FollowUpState,
    NpsCampaign,
    QuestionnaireVersion,
    Survey,
    SurveyKind,
    SurveyResponse,
)


def responses_in(start: datetime, end: datetime) -> QuerySet[SurveyResponse]:
    """Responses answered in [start, end): case and relationship alike (filter on `kind`).

    Every response keeps its `questionnaire_version`; `csat_scales()` says which CSAT scale each used
    (5 unless a manager changed it): never mix scales in one figure.
    """
    return SurveyResponse.objects.filter(responded_at__gte=start, responded_at__lt=end)


def csat_scales() -> dict[int, int]:
    """{questionnaire version: CSAT scale maximum}."""
    return dict(QuestionnaireVersion.objects.values_list("number", "csat_max"))


# ---------------------------------------------------------------- customers' pages


def open_case_survey(case: Case, *, now: datetime) -> Survey | None:
    """The case survey still waiting for the customer's answer (shown on the portal case page)."""
    return Survey.objects.filter(
        case=case, kind=SurveyKind.CASE, responded_at__isnull=True, expires_at__gt=now
    ).first()


def survey_for_customer(customer: Customer, survey_id: Any) -> Survey | None:
    try:
        pk = int(survey_id)
    except (TypeError, ValueError):
        return None
    return (
        Survey.objects.select_related("customer", "case", "case__owner")
        .filter(pk=pk, customer=customer)
        .first()
    )


# ---------------------------------------------------------------- the case survey sweep


def cases_missing_survey(*, since: datetime) -> QuerySet[Case]:
    """Cases closed (confirmed or not) since `since` that have no case survey: the sweep sends them."""
    return (
        Case.objects.filter(
            status=Status.CLOSED,
            closure__in=[Closure.CONFIRMED, Closure.UNCONFIRMED],
            closed_at__gte=since,
        )
        .exclude(Exists(Survey.objects.filter(case=OuterRef("pk"), kind=SurveyKind.CASE)))
        .order_by("closed_at", "pk")
    )


# ---------------------------------------------------------------- relationship NPS segments

SEGMENT_KEYS = ("language", "organisation", "team", "closed_within_days")


def segment_customers(segment: dict[str, Any], *, now: datetime) -> QuerySet[Customer]:
    """Every customer in the segment (before the quiet period and the address are checked)."""
    qs = Customer.objects.all()
    if segment.get("language"):
        qs = qs.filter(language=segment["language"])
    if segment.get("organisation"):
        qs = qs.filter(organisation__iexact=segment["organisation"])
    cases = Case.objects.filter(customer=OuterRef("pk"))
    if segment.get("team"):
        team = int(segment["team"])
        cases = cases.filter(Q(team_id=team) | Q(owner__team_id=team))
    if segment.get("closed_within_days"):
        cases = cases.filter(
            status=Status.CLOSED, closed_at__gte=now - timedelta(days=int(segment["closed_within_days"]))
        )
    if segment.get("team") or segment.get("closed_within_days"):
        qs = qs.filter(Exists(cases))
    return qs.order_by("pk")


@dataclass(frozen=True)
class SegmentCounts:
    matched: int  # customers in the segment
    no_address: int  # without an e-mail address
    quiet: int  # surveyed within the quiet period
    eligible: int  # who would get the survey now


def segment_counts(segment: dict[str, Any], *, now: datetime) -> SegmentCounts:
    """How many customers the segment matches and how many would be surveyed: one query."""
    since = now - timedelta(days=settings.STEWARD_NPS_QUIET_DAYS)
    recent = Survey.objects.filter(customer=OuterRef("pk"), kind=SurveyKind.RELATIONSHIP, sent_at__gt=since)
    qs = segment_customers(segment, now=now).order_by().annotate(recent=Exists(recent))
    row = qs.aggregate(
        matched=Count("pk"),
        no_address=Count("pk", filter=Q(email="")),
        quiet=Count("pk", filter=Q(recent=True) & ~Q(email="")),
        eligible=Count("pk", filter=Q(recent=False) & ~Q(email="")),
    )
    return SegmentCounts(**{k: int(v or 0) for k, v in row.items()})


def campaigns() -> QuerySet[NpsCampaign]:
    return (
        NpsCampaign.objects.select_related("created_by")
        .annotate(answered=Count("surveys", filter=Q(surveys__responded_at__isnull=False)))
        .order_by("-created_at", "-id")
    )


# ---------------------------------------------------------------- follow-ups


def follow_ups(*, state: str, assignee_id: int | None = None) -> QuerySet[FollowUp]:
    qs = FollowUp.objects.select_related("assignee", "customer", "case", "response", "done_by")
    if state in (FollowUpState.OPEN, FollowUpState.DONE):
        qs = qs.filter(state=state)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if state == FollowUpState.DONE:
        return qs.order_by("-done_at", "-id")
    return qs.order_by("due_at", "id")
