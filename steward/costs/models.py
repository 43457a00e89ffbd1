"""Cost-of-quality ledger: loaded rates, compensation, other quality costs, review meeting time and
per-line classification overrides.

Money is an integer in minor units plus an ISO-4217 code. Every amount booked here is in the
organisation's currency (STEWARD_CURRENCY); an amount entered in another currency keeps what was
entered (original_amount_minor, original_currency) and the conversion rate used at booking (fx_rate),
so a later change of STEWARD_FX_RATES never rewrites a booked amount.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CostCategory(models.TextChoices):
    """The PAF model (Feigenbaum; ASQ). See steward/costs/classification.py for the rules."""

    PREVENTION = "prevention", _("Prevention")
    APPRAISAL = "appraisal", _("Appraisal")
    INTERNAL_FAILURE = "internal_failure", _("Internal failure")
    EXTERNAL_FAILURE = "external_failure", _("External failure")


class SectorRate(models.Model):
    """A sector's loaded hourly rate from a date on (metrics.md §1.3).

    Rates are versioned, never edited: time is costed at the rate with the greatest effective_from on
    or before the day it was spent, so a new rate never changes what earlier work cost.
    The inputs are kept when the rate was computed from them (all null when entered directly).
    """

    sector = models.ForeignKey(
        "sectors.Sector", verbose_name=_("sector"), on_delete=models.PROTECT, related_name="rates"
    )
    effective_from = models.DateField(_("effective from"))
    hourly_rate_minor = models.PositiveIntegerField(_("loaded hourly rate (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    wages_minor = models.PositiveBigIntegerField(_("wages"), null=True, blank=True)
    employer_taxes_minor = models.PositiveBigIntegerField(_("employer taxes"), null=True, blank=True)
    benefits_minor = models.PositiveBigIntegerField(_("benefits"), null=True, blank=True)
    overhead_minor = models.PositiveBigIntegerField(_("allocated overhead"), null=True, blank=True)
    productive_hours = models.DecimalField(
        _("productive hours"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["sector", "-effective_from"]
        verbose_name = _("loaded hourly rate")
        verbose_name_plural = _("loaded hourly rates")
        constraints = [
            # Also the index of the costing subquery: (sector, effective_from <= day) newest first.
            models.UniqueConstraint(fields=["sector", "effective_from"], name="sectorrate_one_per_day"),
            models.CheckConstraint(condition=Q(hourly_rate_minor__gt=0), name="sectorrate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sector} {self.effective_from:%Y-%m-%d}: {self.hourly_rate_minor} {self.currency}/h"


class CompensationKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    CREDIT = "credit", _("Credit")
    GOODWILL = "goodwill", _("Goodwill gesture")
    REPLACEMENT = "replacement", _("Replacement")


class CompensationState(models.TextChoices):
    PENDING = "pending", _("Waiting for a manager's approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Compensation(models.Model):
    """What the customer gets back on a case. Booked (external failure) when approved, at face value."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="compensations"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CompensationKind.choices)
    amount_minor = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    original_amount_minor = models.PositiveBigIntegerField(_("amount as entered"))
    original_currency = models.CharField(_("currency as entered"), max_length=3)
    fx_rate = models.DecimalField(
        _("conversion rate"), max_digits=18, decimal_places=8, null=True, blank=True
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    # Who approved: a manager above the approval limit, the requester within it.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    needs_approval = models.BooleanField(_("above the approval limit"), default=False)
    state = models.CharField(
        _("state"), max_length=10, choices=CompensationState.choices, default=CompensationState.PENDING
    )
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("requested"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        indexes = [
            # The ledger books approved compensation by decision date; the approval queue lists pending.
            models.Index(fields=["state", "decided_at"], name="compensation_state_decided"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="compensation_positive"),
            models.CheckConstraint(
                condition=Q(state="pending", decided_at__isnull=True)
                | Q(state="approved", decided_at__isnull=False, approved_by__isnull=False)
                | Q(state="rejected", decided_at__isnull=False, rejected_by__isnull=False),
                name="compensation_decision_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.case_id} {self.get_kind_display()} {self.amount_minor} {self.currency}"


class EntryKind(models.TextChoices):
    """What a cost entry paid for; classification.py maps each kind to its category and rule."""

    TRAINING = "training", _("Training")
    KNOWLEDGE_BASE = "knowledge_base", _("Knowledge base and process diagrams")
    PROCESS_REDESIGN = "process_redesign", _("Process redesign")
    CORRECTIVE_ACTION = "corrective_action", _("Corrective action")
    QUALITY_CHECK = "quality_check", _("Quality checks of cases")
    SURVEY_PROGRAMME = "survey_programme", _("Survey programme")
    AUDIT = "audit", _("Audit")
    REWORK = "rework", _("Rework caught before the customer")
    WARRANTY = "warranty", _("Warranty, returns and re-performed service")
    OTHER = "other", _("Other (category chosen by hand)")


class CostEntry(models.Model):
    """A quality cost not measured by Steward's own logs: a course, an audit, a survey tool."""

    incurred_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    category = models.CharField(_("category"), max_length=20, choices=CostCategory.choices)
    description = models.CharField(_("description"), max_length=300)
    amount_minor = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    original_amount_minor = models.PositiveBigIntegerField(_("amount as entered"))
    original_currency = models.CharField(_("currency as entered"), max_length=3)
    fx_rate = models.DecimalField(
        _("conversion rate"), max_digits=18, decimal_places=8, null=True, blank=True
    )
    sector = models.ForeignKey(
        "sectors.Sector",
        verbose_name=_("sector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-incurred_on", "-id"]
        verbose_name = _("cost entry")
        verbose_name_plural = _("cost entries")
        indexes = [
            # The ledger and the entries list read a period, newest first.
            models.Index(fields=["-incurred_on", "-id"], name="costentry_incurred"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="costentry_positive")]

    def __str__(self) -> str:
        return f"{self.incurred_on:%Y-%m-%d} {self.description}"


class ReviewMeeting(models.Model):
    """A blameless review meeting: failure analysis, an internal failure cost (ASQ).

    Each participant's time (the meeting's duration) is costed at the loaded rate of the sector they
    were in, copied when the meeting is recorded; a participant without a sector is "cost unknown".
    """

    review = models.ForeignKey(
        "reviews.Review", verbose_name=_("review"), on_delete=models.PROTECT, related_name="+"
    )
    held_on = models.DateField(_("held on"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("review meeting")
        verbose_name_plural = _("review meetings")
        constraints = [
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="meeting_duration_positive")
        ]

    def __str__(self) -> str:
        return f"{self.review} {self.held_on:%Y-%m-%d} ({self.duration_minutes} min)"


class ReviewParticipant(models.Model):
    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    sector = models.ForeignKey(
        "sectors.Sector",
        verbose_name=_("costed at the rate of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="participant_once_per_meeting")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.meeting_id}"


class LineSource(models.TextChoices):
    """Where a ledger line comes from; (source, source_id) names one line."""

    WORK_LOG = "work_log", _("Work logged on a sector task")
    REPLY = "reply", _("Reply to the customer (standard handling time)")
    NOTE = "note", _("Internal note (standard handling time)")
    HANDOFF = "handoff", _("Handoff (standard handling time)")
    REVIEW = "review", _("Review meeting time")
    COMPENSATION = "compensation", _("Compensation")
    ENTRY = "entry", _("Cost entry")


class ClassificationOverride(models.Model):
    """A person's reclassification of one ledger line, with the reason. The latest one applies;
    earlier ones stay as the line's history."""

    source = models.CharField(_("source"), max_length=20, choices=LineSource.choices)
    source_id = models.PositiveBigIntegerField()
    category = models.CharField(_("category"), max_length=20, choices=CostCategory.choices)
    reason = models.CharField(_("reason"), max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("classification override")
        verbose_name_plural = _("classification overrides")
        indexes = [
            # The ledger's "latest override of this line" subquery.
            models.Index(fields=["source", "source_id", "-created_at", "-id"], name="override_line"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id} → {self.category}"


class CostDay(models.Model):
    """The costs ledger summed per day, source and category: what the cost-of-quality page reads.

    A rollup (steward/costs/rollup.py): maintained in the transaction of every write that books,
    re-classifies or re-costs a line, and rebuilt set-based by `manage.py rebuild_rollups`. It holds the
    costed amounts (minutes × the rate in force), so a page sums a few hundred rows whatever the number
    of cases. `category` is "" for lines that are not a cost of quality (ordinary service).
    """

    day = models.DateField()
    source = models.CharField(max_length=20, choices=LineSource.choices)
    category = models.CharField(max_length=20, blank=True)
    amount_minor = models.BigIntegerField(default=0)  # known amounts only
    minutes = models.BigIntegerField(default=0)
    lines = models.BigIntegerField(default=0)
    unknown_lines = models.BigIntegerField(default=0)  # cost unknown (no rate): left out of the amount
    unknown_minutes = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("cost of quality per day")
        verbose_name_plural = _("cost of quality per day")
        constraints = [
            # The upserts' conflict target; also the index of a period read (day first).
            models.UniqueConstraint(fields=["day", "source", "category"], name="costday_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.source} {self.category or '-'}: {self.amount_minor}"
