"""Sessions are tracked per user, and a user who stops being active loses every session and token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .models import User
from .services import session_forget, session_remember, user_end_sessions


@receiver(user_logged_in, dispatch_uid="accounts_session_remember")
def _remember(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if isinstance(user, User) and request is not None and hasattr(request, "session"):
        if request.session.session_key is None:
            request.session.save()
        session_remember(user=user, session_key=request.session.session_key)


@receiver(user_logged_out, dispatch_uid="accounts_session_forget")
def _forget(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        session_forget(session_key=request.session.session_key)


@receiver(pre_save, sender=User, dispatch_uid="accounts_user_before")
def _before(sender: Any, instance: User, **kwargs: Any) -> None:
    """Keep the stored values a save changes (the audit log and the deactivation below read them)."""
    before = None
    fields = kwargs.get("update_fields")
    tracked = {"role", "is_staff", "is_superuser", "is_active", "backup", "backup_id"}
    if instance.pk is not None and (fields is None or tracked & set(fields)):
        before = (
            User.objects.filter(pk=instance.pk)
            .values("role", "is_staff", "is_superuser", "is_active", "backup_id")
            .first()
        )
    instance._before_save = before  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="accounts_user_deactivated")
def _deactivated(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_before_save", None)
    if before and before["is_active"] and not instance.is_active:
        user_end_sessions(user=instance, actor=getattr(instance, "_audit_actor", None))
