"""Who sees the decision register: managers and executives (administrators too); managers write.

Everyone else gets a 404: the pages do not exist for them (as the analysis and money pages).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from steward.accounts.models import User

from .services import can_write_decisions


def can_read_decisions(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.sees_everything


def decision_reader(request: HttpRequest) -> User:
    if not can_read_decisions(request.user):
        raise Http404
    assert isinstance(request.user, User)
    return request.user


def decision_writer(request: HttpRequest) -> User:
    """A reader who may also write (403 for an executive, who reads)."""
    user = decision_reader(request)
    if not can_write_decisions(user):
        raise PermissionDenied
    return user
