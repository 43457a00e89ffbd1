from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries(*, action: str = "", actor: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.select_related(None).order_by("-at", "-id")
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_name__iexact=actor)
    return entries


def can_read_audit(user: object) -> bool:
    """Managers and administrators read the audit log."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "manages_cases", False))
