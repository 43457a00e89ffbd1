"""Who owns a case that arrives without one (a new e-mail, a portal case)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from steward.accounts.models import Role, User
from steward.accounts.selectors import away_user_ids

from .models import Status


def pick_owner(*, at: datetime, team_id: int | None = None) -> User | None:
    """The active adviser, not away at `at`, with the fewest open cases; ties go to the longest-serving.

    None when nobody can take it; callers then fall back to a manager, so a case is never ownerless.
    """
    advisers = User.objects.filter(is_active=True, role=Role.ADVISER)
    if team_id is not None:
        advisers = advisers.filter(team_id=team_id)
    away = away_user_ids(at=at)
    candidates = (
        advisers.exclude(pk__in=away)
        .annotate(open_cases=Count("owned_cases", filter=~Q(owned_cases__status=Status.CLOSED)))
        .order_by("open_cases", "date_joined", "pk")
    )
    chosen = candidates.first()
    if chosen is not None:
        return chosen
    return User.objects.filter(is_active=True, role=Role.MANAGER).order_by("pk").first()
