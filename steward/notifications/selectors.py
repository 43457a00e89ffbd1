"""Reads of the outbox shaped for the case page."""

from __future__ import annotations

from django.db.models import QuerySet

from steward.cases.models import Case
from steward.core.compiled import Compiled

from .models import OutboundMail, RecipientKind


def failed_mail_for_case(case: Case) -> QuerySet[OutboundMail]:
    """Mail to the customer about this case that could not be sent after every retry."""
    return _failed_mail(case.pk)


def _failed_mail(case_id: int) -> QuerySet[OutboundMail]:
    return (
        OutboundMail.objects.failed()
        .filter(case_id=case_id, recipient_kind=RecipientKind.CUSTOMER)
        .only("pk", "case_id", "to", "kind", "subject", "created_at", "attempts", "last_error")
        .order_by("created_at", "id")
    )


# The case page's read, compiled once per process (steward/core/compiled.py): only the case id changes.
failed_mail_list = Compiled(OutboundMail, _failed_mail)
