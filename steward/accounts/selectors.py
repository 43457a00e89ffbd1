from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import Absence, User


def user_is_away(user: User, *, at: datetime) -> bool:
    return Absence.objects.filter(user=user).covering(at).exists()


def away_user_ids(*, at: datetime, user_ids: list[int] | None = None) -> set[int]:
    qs = Absence.objects.covering(at)
    if user_ids is not None:
        qs = qs.filter(user_id__in=user_ids)
    return set(qs.values_list("user_id", flat=True))


def absences_from(*, since: datetime) -> QuerySet[Absence]:
    """Current and coming absences, with who covers each person."""
    return (
        Absence.objects.filter(ends_at__gt=since)
        .select_related("user", "user__backup", "created_by")
        .order_by("starts_at", "id")
    )
