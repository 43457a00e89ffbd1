"""Who sees money: managers and executives (administrators too). Nobody else ever does.

Money pages are a 404 for everyone else (as the analysis pages are); writing rates, cost entries and
overrides, and deciding compensation, is for service managers.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from steward.accounts.models import Role, User


def can_see_money(user: object) -> bool:
    return (
        isinstance(user, User)
        and user.is_active
        and (user.is_superuser or user.role in (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN))
    )


def can_manage_costs(user: object) -> bool:
    """Rates, cost entries, overrides and compensation decisions: service managers (and administrators)."""
    return isinstance(user, User) and user.is_active and user.manages_cases


def money_reader(request: HttpRequest) -> User:
    """The signed-in reader of money, or a 404: the pages do not exist for anyone else."""
    if not can_see_money(request.user):
        raise Http404
    assert isinstance(request.user, User)
    return request.user
