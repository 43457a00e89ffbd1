"""Who may read the value-chain analysis: managers and executives (administrators too)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from steward.accounts.models import Role, User


def can_read_analysis(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.sees_everything


def can_export_log(user: object) -> bool:
    """The raw event log leaves Steward: service managers only (administrators too)."""
    return (
        isinstance(user, User)
        and user.is_active
        and (user.is_superuser or user.role in (Role.MANAGER, Role.ADMIN))
    )


def analysis_reader(request: HttpRequest) -> User:
    """The signed-in reader, or a 404 for anyone else: the pages do not exist for them."""
    if not can_read_analysis(request.user):
        raise Http404
    assert isinstance(request.user, User)
    return request.user
