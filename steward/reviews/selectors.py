"""Reads for the review screens: the review's cases analysed by sector, and the follow-up of actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from steward.accounts.models import User
from steward.analytics import metrics
from steward.analytics import selectors as analytics
from steward.analytics.permissions import can_read_analysis

from .models import ActionStatus, CorrectiveAction, Finding, Review, RootCause, Scope

# Before/after an action is done, compare the owner sector's tasks created in this many days each side.
FOLLOW_UP_WINDOW_DAYS = 90


def reviews_for(user: User) -> QuerySet[Review]:
    if not can_read_analysis(user):
        return Review.objects.none()
    return Review.objects.select_related("case", "category", "opened_by").annotate(
        n_findings=Count("findings", distinct=True),
        n_actions=Count("actions", distinct=True),
        n_open=Count("actions", filter=Q(actions__status=ActionStatus.OPEN), distinct=True),
    )


def review_get_for_user(user: User, pk: Any) -> Review:
    """The access helper: a review is a 404 for anyone who may not read reviews."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    review = reviews_for(user).filter(pk=pk).first()
    if review is None:
        raise Http404
    return review


def review_selection(review: Review) -> analytics.Selection:
    if review.scope == Scope.CASE and review.case_id:
        return analytics.Selection(case_ids=(review.case_id,))
    return analytics.Selection(
        kind=review.kind,
        category=review.category_id,
        date_from=review.period_from,
        date_to=review.period_to,
    )


@dataclass(frozen=True)
class ReviewPage:
    review: Review
    analysis: analytics.Analysis
    cases: int
    findings: list[Finding]
    actions: list[CorrectiveAction]


def review_page(review: Review, *, now: datetime) -> ReviewPage:
    """Every sector the review's cases went through: target vs taken, returns, the process map."""
    selection = review_selection(review)
    return ReviewPage(
        review=review,
        analysis=analytics.analysis(selection, now=now),
        cases=analytics.selected_cases(selection).count(),
        findings=list(review.findings.select_related("root_cause__parent", "sector")),
        actions=list(review.actions.select_related("owner_sector", "finding")),
    )


def root_causes() -> QuerySet[RootCause]:
    return (
        RootCause.objects.select_related("parent")
        .filter(parent__isnull=False)
        .order_by("parent__code", "code")
    )


@dataclass(frozen=True)
class Measure:
    """The owner sector's tasks in one window: median elapsed and on-time rate (with n)."""

    tasks: int
    elapsed: metrics.Summary
    on_time: metrics.Ratio

    @property
    def low_sample(self) -> bool:
        return self.tasks < metrics.MIN_SAMPLE


def measure(tasks: list[metrics.TaskFacts], *, now: datetime) -> Measure:
    st = metrics.sector_stats(tasks, now=now)
    if not st:
        return Measure(0, metrics.summarize([]), metrics.ratio(0, 0, reason="no_completed_tasks"))
    (only,) = st.values()
    return Measure(only.tasks, only.elapsed, only.on_time)


@dataclass(frozen=True)
class ActionRow:
    action: CorrectiveAction
    state: str  # due | overdue | done
    before: Measure | None
    after: Measure | None
    after_complete: bool  # False while the "after" window is still running


def action_follow_up(*, now: datetime, window_days: int = FOLLOW_UP_WINDOW_DAYS) -> list[ActionRow]:
    """Every corrective action with due/overdue/done, and for done ones the owner sector's measure
    before and after the action date. Two queries whatever the number of actions."""
    actions = list(
        CorrectiveAction.objects.select_related("owner_sector", "review").order_by("status", "due_on", "id")
    )
    today = timezone.localtime(now).date()
    window = timedelta(days=window_days)
    done = [a for a in actions if a.status == ActionStatus.DONE and a.done_at]
    facts: list[metrics.TaskFacts] = []
    if done:
        start = min(a.done_at for a in done if a.done_at) - window
        end = max(a.done_at for a in done if a.done_at) + window
        facts = analytics.sector_task_facts({a.owner_sector_id for a in done}, start=start, end=end)
    rows = []
    for a in actions:
        if a.status == ActionStatus.DONE and a.done_at:
            mine = [t for t in facts if t.sector == a.owner_sector_id]
            before = [t for t in mine if a.done_at - window <= t.created_at < a.done_at]
            after = [t for t in mine if a.done_at <= t.created_at < a.done_at + window]
            rows.append(
                ActionRow(
                    a, "done", measure(before, now=now), measure(after, now=now), a.done_at + window <= now
                )
            )
        else:
            rows.append(ActionRow(a, "overdue" if a.due_on < today else "due", None, None, False))
    return rows


def due_date_default(now: datetime) -> date:
    return timezone.localtime(now).date() + timedelta(days=30)
