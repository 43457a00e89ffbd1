"""The outbound mail outbox: every notification Steward sends is first a row here.

A row is written in the same transaction as the case change that caused it, so a change and its
notification commit or roll back together; a Celery task sends it after the commit, and a periodic
flush sends whatever the task could not (broker down, worker lost). A row is never deleted by the
sending path: it ends `sent` or `failed`, and a failed one is shown on the case page and in the admin.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RecipientKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    USER = "user", _("Staff user")


class NotificationKind(models.TextChoices):
    # To the customer.
    CASE_RECEIVED = "case_received", _("Case received")
    REPLY = "reply", _("Reply")
    HANDOFF = "handoff", _("New owner")
    NEXT_STEP = "next_step", _("Next step")
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    CLOSED = "closed", _("Case closed")
    SECTOR_STEP = "sector_step", _("Step handed to a sector")
    # To staff.
    ASSIGNED = "assigned", _("Assigned to you")
    HANDED_OVER = "handed_over", _("Handed over to you")
    CUSTOMER_WROTE = "customer_wrote", _("Customer wrote")
    NEXT_STEP_DUE = "next_step_due", _("Next step due")
    TASK_NEAR_BREACH = "task_near_breach", _("Sector task about to breach its target")
    TASK_RETURNED = "task_returned", _("Sector task returned")
    TASK_COMPLETED = "task_completed", _("Sector task completed")
    # Sent through the outbox by other apps (outbox_enqueue).
    PORTAL_SIGN_IN = "portal_sign_in", _("Portal sign-in link")
    OTHER = "other", _("Other")


class MailState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundMailQuerySet(models.QuerySet["OutboundMail"]):
    def unclaimed(self, now: datetime) -> OutboundMailQuerySet:
        """Rows no sender holds right now (no lease, or the lease ran out because the sender died)."""
        return self.filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))

    def due(self, now: datetime) -> OutboundMailQuerySet:
        """Pending rows whose next attempt time has come: what the periodic flush sends."""
        return self.unclaimed(now).filter(state=MailState.PENDING, next_attempt_at__lte=now)

    def failed(self) -> OutboundMailQuerySet:
        return self.filter(state=MailState.FAILED)


class OutboundMail(models.Model):
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_mail",
    )
    to = models.EmailField(_("to"))
    recipient_kind = models.CharField(_("recipient"), max_length=10, choices=RecipientKind.choices)
    # The staff recipient, when there is one (the address alone would not survive a change of e-mail).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(_("language"), max_length=8)
    kind = models.CharField(_("notification"), max_length=30, choices=NotificationKind.choices)
    subject = models.CharField(_("subject"), max_length=400)
    text_body = models.TextField(_("text"))
    html_body = models.TextField(_("HTML"), blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=300, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=300, blank=True)
    references = models.TextField(_("References"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=MailState.choices, default=MailState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    # A sender's lease: set when a sender claims the row, cleared when it is done. A second sender
    # (a duplicate task, the flush) finds the row claimed and leaves it, so nothing is sent twice.
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = OutboundMailQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("outbound mail")
        verbose_name_plural = _("outbound mail")
        indexes = [
            # The periodic flush: pending rows whose next attempt is due.
            models.Index(fields=["state", "next_attempt_at"], name="outbound_due"),
            # Threading headers (the case's earlier mail to this address) and the case page's
            # "could not be sent" notice.
            models.Index(fields=["case", "state", "created_at"], name="outbound_case"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to} ({self.get_state_display()})"


class CommitmentReminder(models.Model):
    """The "next step due" reminder went out for this commitment: it is sent once, never again."""

    commitment = models.OneToOneField(
        "cases.Commitment", on_delete=models.CASCADE, related_name="reminder", verbose_name=_("next step")
    )
    reminded_at = models.DateTimeField(_("reminded"))

    class Meta:
        verbose_name = _("next step reminder")
        verbose_name_plural = _("next step reminders")

    def __str__(self) -> str:
        return f"{self.commitment_id} @ {self.reminded_at:%Y-%m-%d %H:%M}"
