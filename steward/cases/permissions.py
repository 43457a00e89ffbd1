"""Who may do what on a case. Seeing is `Case.objects.visible_to`; acting is decided here."""

from __future__ import annotations

from datetime import datetime

from steward.accounts.models import Role, User
from steward.accounts.selectors import user_is_away

from .models import Case

OWNER_ROLES = (Role.ADVISER, Role.MANAGER, Role.ADMIN)


def can_own_cases(user: User) -> bool:
    return user.is_active and (user.is_superuser or user.role in OWNER_ROLES)


def is_acting_backup(user: User, case: Case, *, at: datetime) -> bool:
    """The backup acts as owner, with full access, while the owner is away."""
    owner = case.owner
    return owner.backup_id == user.pk and user_is_away(owner, at=at)


def can_act(user: User, case: Case, *, at: datetime) -> bool:
    """Owner's actions: reply, hand off, promise a next step, propose a solution, reopen."""
    if not user.is_active:
        return False
    if user.manages_cases or case.owner_id == user.pk:
        return True
    return is_acting_backup(user, case, at=at)


def can_note(user: User, case: Case) -> bool:
    """Anyone who may see a case may leave an internal note or flag a repeat explanation."""
    return Case.objects.visible_to(user).filter(pk=case.pk).exists()
