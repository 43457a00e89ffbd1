"""Reads of the outbox shaped for the case page."""

from __future__ import annotations

from django.db.models import QuerySet

from steward.cases.models import Case

from .models import OutboundMail, RecipientKind


def failed_mail_for_case(case: Case) -> QuerySet[OutboundMail]:
    """Mail to the customer about this case that could not be sent after every retry."""
    return (
        OutboundMail.objects.failed()
        .filter(case=case, recipient_kind=RecipientKind.CUSTOMER)
        .only("pk", "case_id", "to", "kind", "subject", "created_at", "attempts", "last_error")
        .order_by("created_at", "id")
    )
