from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from steward.core.compiled import compiled, standin, time_standin

from .models import Absence, User


def user_is_away(user: User, *, at: datetime) -> bool:
    # Compiled once (steward.core.compiled): the writes ask it of a case's owner (issue 9).
    query = compiled(
        ("user_is_away",),
        lambda: Absence.objects.filter(user_id=standin(0)).covering(time_standin(0)).values_list("pk")[:1],
    )
    return bool(query.rows({standin(0): user.pk, time_standin(0): at}))


def away_user_ids(*, at: datetime, user_ids: list[int] | None = None) -> set[int]:
    if user_ids is not None and 0 < len(user_ids) <= 2:  # a case's owner and backup: compiled once
        ids = [standin(i) for i in range(len(user_ids))]
        query = compiled(
            ("away_user_ids", len(ids)),
            lambda: (
                Absence.objects.covering(time_standin(0))
                .filter(user_id__in=ids)
                .values_list("user_id", flat=True)
            ),
        )
        values: dict[Any, Any] = dict(zip(ids, user_ids, strict=True))
        values[time_standin(0)] = at
        return {row[0] for row in query.rows(values)}
    qs = Absence.objects.covering(at)
    if user_ids is not None:
        qs = qs.filter(user_id__in=user_ids)
    return set(qs.order_by().values_list("user_id", flat=True))  # a set: no ORDER BY


def absences_from(*, since: datetime) -> QuerySet[Absence]:
    """Current and coming absences, with who covers each person."""
    return (
        Absence.objects.filter(ends_at__gt=since)
        .select_related("user", "user__backup", "created_by")
        .order_by("starts_at", "id")
    )


def api_token_of(user: User) -> object | None:
    """The user's API token row (for its creation date), or None."""
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user_id=user.pk).first()


def users_with_access() -> QuerySet[User]:
    """Every user with whether they hold an API token and how many sessions they have (two subqueries)."""
    from django.db.models import Count, Exists, OuterRef
    from rest_framework.authtoken.models import Token

    return (
        User.objects.order_by("-is_active", "username")
        .annotate(has_token=Exists(Token.objects.filter(user_id=OuterRef("pk"))))
        .annotate(session_count=Count("tracked_sessions", distinct=True))
    )
