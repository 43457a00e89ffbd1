"""Every mail that reached Steward, whatever became of it: nothing that arrives is lost."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class InboundState(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    IGNORED_AUTO = "ignored_auto", _("Ignored: automatic mail")
    IGNORED_DUPLICATE = "ignored_duplicate", _("Ignored: duplicate")
    IGNORED_STAFF = "ignored_staff", _("Ignored: staff address")
    QUARANTINED = "quarantined", _("Quarantined")


def raw_mail_path(instance: InboundMail, filename: str) -> str:
    return f"mail/raw/{instance.received_at:%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundMail(models.Model):
    """One received message and its outcome.

    The raw bytes are kept for quarantined mail and for mail whose files could not be stored, so an
    administrator can always download the original. They live in a FileField, not a BinaryField: a
    raw message can be tens of megabytes (a 30 MB attachment), which would bloat every row read,
    every backup of the database and every query that forgets to defer the column; a file is
    streamed to the administrator's download instead.
    """

    message_id = models.CharField(_("Message-ID"), max_length=300, blank=True)
    # For mail without a Message-ID, duplicates are recognised by their exact bytes.
    raw_sha256 = models.CharField(max_length=64, db_index=True)
    received_at = models.DateTimeField(_("received"))
    from_address = models.CharField(_("from"), max_length=320, blank=True)
    from_name = models.CharField(_("sender name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=InboundState.choices)
    reason = models.TextField(_("reason"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_mails",
    )
    case_message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raw = models.FileField(_("raw message"), upload_to=raw_mail_path, blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mail")
        constraints = [
            # Deduplication: one row per Message-ID (duplicates are recorded with an empty one).
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="inbound_unique_message_id"
            ),
        ]
        indexes = [
            # The administrators' list, filtered by state, newest first.
            models.Index(fields=["state", "-received_at"], name="inbound_state"),
            # The loop guard counts a sender's recent mail.
            models.Index(fields=["from_address", "received_at"], name="inbound_sender"),
        ]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"
