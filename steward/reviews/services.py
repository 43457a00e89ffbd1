"""Every write of a blameless review: open it, record findings and corrective actions, mark done."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.cases.models import Case, Category, Kind
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted
from steward.sectors.models import Sector

from .models import ActionStatus, CorrectiveAction, Finding, Review, RootCause, Scope

TEXT_MAX = 5000


def can_run_reviews(user: User) -> bool:
    """Service managers (and administrators) run reviews; executives read them."""
    return user.is_active and user.manages_cases


def _require_manager(actor: User) -> None:
    if not can_run_reviews(actor):
        raise NotPermitted(_("Only a service manager may change a review."))


def _text(value: str, *, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    if len(value) > TEXT_MAX:
        raise DomainError(_("Keep it under %(n)s characters.") % {"n": TEXT_MAX}, field=field)
    return value


@transaction.atomic
def review_open(
    *,
    actor: User,
    title: str,
    case: Case | None = None,
    kind: str = "",
    category: Category | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    at: datetime | None = None,
) -> Review:
    """A review of one complaint (`case`) or of a class of complaints (category and/or kind, period)."""
    _require_manager(actor)
    at = at or timeutil.now()
    title = _text(title, field="title", message=_("Give the review a title."))[:200]
    if kind and kind not in Kind.values:
        raise DomainError(_("Unknown kind of case."), field="kind")
    if case is not None:
        if category or kind or period_from or period_to:
            raise DomainError(
                _("Review either one case or a class of cases (category and period), not both."), field="case"
            )
        scope = Scope.CASE
    else:
        if not (category or kind):
            raise DomainError(
                _("Choose the case, or a category or kind of cases to review."), field="category"
            )
        if not (period_from and period_to):
            raise DomainError(_("Give the period the cases were opened in."), field="period_from")
        if period_from > period_to:
            raise DomainError(_("The period must end on or after its first day."), field="period_to")
        scope = Scope.CLASS
    return Review.objects.create(
        title=title,
        scope=scope,
        case=case,
        kind=kind,
        category=category,
        period_from=period_from,
        period_to=period_to,
        opened_by=actor,
        opened_at=at,
    )


@transaction.atomic
def finding_add(
    *,
    actor: User,
    review: Review,
    root_cause: RootCause,
    description: str,
    sector: Sector | None = None,
    at: datetime | None = None,
) -> Finding:
    """What made this delay possible: a condition (root cause), described without naming a culprit."""
    _require_manager(actor)
    description = _text(
        description, field="description", message=_("Describe what made this delay possible.")
    )
    return Finding.objects.create(
        review=review,
        root_cause=root_cause,
        description=description,
        sector=sector,
        recorded_by=actor,
        recorded_at=at or timeutil.now(),
    )


@transaction.atomic
def action_add(
    *,
    actor: User,
    review: Review,
    description: str,
    owner_sector: Sector,
    due_on: date,
    finding: Finding | None = None,
    at: datetime | None = None,
) -> CorrectiveAction:
    """What will prevent it: a corrective action owned by a sector, with a due date."""
    _require_manager(actor)
    at = at or timeutil.now()
    description = _text(description, field="description", message=_("Say what will prevent it."))
    if finding is not None and finding.review_id != review.pk:
        raise DomainError(_("This finding belongs to another review."), field="finding")
    if due_on < timeutil_date(at):
        raise DomainError(_("The due date cannot be in the past."), field="due_on")
    return CorrectiveAction.objects.create(
        review=review,
        finding=finding,
        description=description,
        owner_sector=owner_sector,
        due_on=due_on,
        created_by=actor,
        created_at=at,
    )


def timeutil_date(at: datetime) -> date:
    from django.utils import timezone

    return timezone.localtime(at).date()


@transaction.atomic
def action_mark_done(
    *, actor: User, action: CorrectiveAction, at: datetime | None = None
) -> CorrectiveAction:
    _require_manager(actor)
    action = CorrectiveAction.objects.select_for_update().get(pk=action.pk)
    if action.status == ActionStatus.DONE:
        raise DomainError(_("This action is already done."), field="status")
    action.status = ActionStatus.DONE
    action.done_at = at or timeutil.now()
    action.save(update_fields=["status", "done_at"])
    return action


@transaction.atomic
def root_causes_ensure_default() -> int:
    """Create any missing entry of the default root-cause tree (migration 0002 seeds it on a new
    database; seed_demo and tests that flush the database call this). Returns how many were created."""
    from .root_causes import TREE

    created = 0
    for (code, name), children in TREE.items():
        parent, new = RootCause.objects.get_or_create(code=code, defaults={"name": name})
        created += new
        for child_code, child_name in children:
            created += RootCause.objects.get_or_create(
                code=child_code, defaults={"name": child_name, "parent": parent}
            )[1]
    return created
