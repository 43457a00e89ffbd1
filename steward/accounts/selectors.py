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
