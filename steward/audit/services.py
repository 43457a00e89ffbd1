"""The one write path of the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from .models import Action, AuditEntry


def audit_record(
    action: Action | str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    target: models.Model | None = None,
    target_name: str = "",
    **details: Any,
) -> AuditEntry:
    """Append one entry. `actor` is a user (or None for the system / an anonymous caller)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_name=(target_name or (str(target) if target is not None else ""))[:200],
        ip_address=ip or None,
        details={k: v for k, v in details.items() if v is not None},
    )
