from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from steward.core.errors import DomainError, NotPermitted

from .models import Absence, Role, Team, User, UserSession


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None = None,
    role: str = Role.ADVISER,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    team: Team | None = None,
    sector_id: int | None = None,
    language: str = "en",
) -> User:
    username = (username or "").strip()
    if not username:
        raise DomainError(_("A user needs a username."), field="username")
    if role not in Role.values:
        raise DomainError(_("Unknown role."), field="role")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("This username is taken."), field="username")
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        team=team,
        sector_id=sector_id,
        language=language,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


BACKUP_ROLES = (Role.ADVISER, Role.MANAGER, Role.ADMIN)


def backup_problem(user: User, backup: User | None) -> str | None:
    """Why `backup` cannot cover `user`, or None. Shared by the service and the admin form."""
    if backup is None:
        return None
    if backup.pk == user.pk:
        return _("A person cannot be their own backup.")
    if not backup.is_active:
        return _("The backup must be an active user.")
    if not (backup.is_superuser or backup.role in BACKUP_ROLES):
        # The backup acts as owner while the person is away, so must be someone who can own cases.
        return _("The backup must be an adviser or a manager.")
    return None


@transaction.atomic
def user_set_backup(*, actor: User | None, user: User, backup: User | None) -> User:
    problem = backup_problem(user, backup)
    if problem:
        raise DomainError(problem, field="backup")
    user.backup = backup
    user.save(update_fields=["backup"])
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unsupported language."), field="language")
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def absence_create(
    *, actor: User | None, user: User, starts_at: datetime, ends_at: datetime, reason: str
) -> Absence:
    """Record that `user` is away from `starts_at` to `ends_at`; their backup covers meanwhile.

    A manager records anyone's absence, a person their own; `actor` None is the system (imports, seed).
    """
    if actor is not None and not (actor.manages_cases or actor.pk == user.pk):
        raise NotPermitted(_("Only a manager may record another person's absence."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for the absence."), field="reason")
    if ends_at <= starts_at:
        raise DomainError(_("The absence must end after it starts."), field="ends_at")
    # Lock the person's absences so two overlapping requests cannot both pass the check.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    clash = Absence.objects.filter(user=user).overlapping(starts_at, ends_at).first()
    if clash is not None:
        raise DomainError(
            _("This overlaps an existing absence: %(absence)s.") % {"absence": clash}, field="starts_at"
        )
    return Absence.objects.create(
        user=user, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=actor
    )


# Sessions and API tokens (issue 10, ASVS V7.4): ended at logout, on deactivation, and on request.


def session_remember(*, user: User, session_key: str | None) -> None:
    """Note that `session_key` belongs to `user` (called at sign-in)."""
    if session_key:
        UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def session_forget(*, session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def user_end_sessions(*, user: User, actor: User | None = None) -> int:
    """End every session and the API token of `user`. Returns the number of sessions ended."""
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user).delete()
    token_revoke(actor=actor, user=user)
    return len(keys)


def token_revoke(*, actor: User | None, user: User) -> bool:
    """Revoke the API token of `user` (by the user, a manager or an administrator). True if one existed."""
    from rest_framework.authtoken.models import Token

    if actor is not None and actor.pk != user.pk and not actor.manages_cases:
        raise NotPermitted(_("Only the user, a manager or an administrator may revoke this token."))
    token = Token.objects.filter(user=user).first()
    if token is None:
        return False
    token._audit_actor = actor  # type: ignore[attr-defined]  # read by the audit log's signal
    token.delete()
    return True


@transaction.atomic
def user_set_active(*, actor: User | None, user: User, active: bool) -> User:
    """Activate or deactivate a user; deactivation ends all their sessions and API tokens (a signal
    does the same when the admin unticks "active")."""
    if actor is not None and not actor.manages_cases:
        raise NotPermitted(_("Only a manager or an administrator may change this."))
    if actor is not None and actor.pk == user.pk and not active:
        raise DomainError(_("You cannot deactivate yourself."))
    if user.is_superuser and actor is not None and not actor.is_superuser:
        raise NotPermitted(_("Only an administrator may change an administrator."))
    user._audit_actor = actor  # type: ignore[attr-defined]
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user
