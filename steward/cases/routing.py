"""Who owns a case that arrives without one (a new e-mail, a portal case)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from steward.accounts.models import Role, User
from steward.accounts.selectors import away_user_ids

from .models import Case, Status


def pick_owner(*, at: datetime, team_id: int | None = None) -> User | None:
    """The active adviser, not away at `at`, with the fewest open cases; ties go to the longest-serving.

    None when nobody can take it; callers then fall back to a manager, so a case is never ownerless.
    """
    advisers = User.objects.filter(is_active=True, role=Role.ADVISER)
    if team_id is not None:
        advisers = advisers.filter(team_id=team_id)
    away = away_user_ids(at=at)
    # One small count per adviser over the partial index of open cases (case_open_by_owner), not a join
    # over every case each adviser ever owned.
    open_cases = (
        Case.objects.filter(owner=OuterRef("pk"))
        .exclude(status=Status.CLOSED)
        .order_by()
        .values("owner")
        .annotate(n=Count("pk"))
        .values("n")
    )
    candidates = (
        advisers.exclude(pk__in=away)
        .annotate(open_cases=Coalesce(Subquery(open_cases), 0))
        .order_by("open_cases", "date_joined", "pk")
    )
    chosen = candidates.first()
    if chosen is not None:
        return chosen
    return User.objects.filter(is_active=True, role=Role.MANAGER).order_by("pk").first()
