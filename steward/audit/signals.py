"""What writes the audit log: Django's sign-in signals, django-axes' lockout, changes to users, API tokens."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from steward.accounts.models import User

from .models import Action
from .services import audit_record


@receiver(user_logged_in, dispatch_uid="audit_login")
def _login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(Action.LOGIN, actor=user, request=request, target=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(Action.LOGOUT, actor=user, request=request, target=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Only the user name is kept: `credentials` holds the (wrong) password too, cleansed by Django.
    username = str(credentials.get("username", ""))[:150]
    audit_record(Action.LOGIN_FAILED, request=request, target_name=username, username=username)


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(
    sender: Any, request: Any, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    name = str(username or "")[:150]
    audit_record(Action.LOCKED_OUT, request=request, target_name=name, username=name, ip=ip_address)


@receiver(post_save, sender=User, dispatch_uid="audit_user_changed")
def _user_changed(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_before_save", None)
    actor = getattr(instance, "_audit_actor", None)
    if created:
        if instance.role != "adviser" or instance.is_staff or instance.is_superuser:
            audit_record(Action.ROLE_CHANGED, actor=actor, target=instance, role=instance.role, created=True)
        return
    if not before:
        return
    after = {
        "role": instance.role,
        "is_staff": instance.is_staff,
        "is_superuser": instance.is_superuser,
    }
    changed: dict[str, Any] = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if changed:
        audit_record(Action.ROLE_CHANGED, actor=actor, target=instance, changes=changed)
    if before["is_active"] != instance.is_active:
        action = Action.USER_ACTIVATED if instance.is_active else Action.USER_DEACTIVATED
        audit_record(action, actor=actor, target=instance)
    if before["backup_id"] != instance.backup_id:
        audit_record(
            Action.BACKUP_CHANGED,
            actor=actor,
            target=instance,
            backup=[before["backup_id"], instance.backup_id],
        )


@receiver(post_save, sender=Token, dispatch_uid="audit_token_created")
def _token_created(sender: Any, instance: Token, created: bool, **kwargs: Any) -> None:
    if created:
        audit_record(Action.TOKEN_CREATED, actor=instance.user, target=instance.user)


@receiver(post_delete, sender=Token, dispatch_uid="audit_token_revoked")
def _token_revoked(sender: Any, instance: Token, **kwargs: Any) -> None:
    actor = getattr(instance, "_audit_actor", None)
    audit_record(Action.TOKEN_REVOKED, actor=actor, target=instance.user)
