from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from steward.accounts.models import User


class Kind(models.TextChoices):
    QUESTION = "question", _("Question")
    REQUEST = "request", _("Request")
    COMPLAINT = "complaint", _("Complaint")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PORTAL = "portal", _("Portal")
    PHONE = "phone", _("Phone")
    WALK_IN = "walk_in", _("Walk-in")
    CHAT = "chat", _("Chat")
    API = "api", _("API")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting on customer")
    WAITING_SECTOR = "waiting_sector", _("Waiting on an internal sector")
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


# Statuses set by hand; the others follow from actions (propose, confirm, close, reopen).
MANUAL_STATUS_CHOICES = [
    (s.value, s.label) for s in (Status.OPEN, Status.WAITING_CUSTOMER, Status.WAITING_SECTOR)
]


# Channels on which staff may record a customer's confirmation given to them directly.
STAFF_CONFIRMATION_CHANNEL_CHOICES = [
    (c.value, c.label) for c in (Channel.PHONE, Channel.WALK_IN, Channel.CHAT)
]


class Closure(models.TextChoices):
    CONFIRMED = "confirmed", _("Solution confirmed by the customer")
    UNCONFIRMED = "unconfirmed", _("Closed unconfirmed")


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.exclude(status=Status.CLOSED)

    def owned_by(self, user: User) -> CaseQuerySet:
        return self.filter(owner=user)

    def visible_to(self, user: User) -> CaseQuerySet:
        """The one place that says which cases a user may see. Everything else is a 404."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_everything:
            return self
        from steward.accounts.models import Role

        if user.role == Role.ADVISER:
            q = Q(owner=user) | Q(owner__backup=user)
            if user.team_id:
                q |= Q(team_id=user.team_id)
            # An adviser who handed a case over can still read it, to answer a colleague's question.
            q |= Q(Exists(Handoff.objects.filter(case=OuterRef("pk"), from_user=user)))
            return self.filter(q)
        if user.role == Role.SECTOR_MEMBER and user.sector_id:
            # A sector member reads a case once their sector has (or had) a task on it, never before.
            return self.filter(
                Exists(SectorTask.objects.filter(case=OuterRef("pk"), sector_id=user.sector_id))
            )
        return self.none()

    def with_next_step(self) -> CaseQuerySet:
        """Annotate the earliest open commitment: the case's next step."""
        nxt = Commitment.objects.filter(case=OuterRef("pk"), state=CommitmentState.OPEN).order_by(
            "due_at", "id"
        )
        return self.annotate(
            next_step_due=Subquery(nxt.values("due_at")[:1]),
            next_step_text=Subquery(nxt.values("description")[:1]),
        )

    def next_step_overdue(self, now: datetime) -> CaseQuerySet:
        return self.filter(
            Exists(Commitment.objects.filter(case=OuterRef("pk"), state=CommitmentState.OPEN, due_at__lt=now))
        )

    def for_list(self) -> CaseQuerySet:
        return self.select_related("customer", "owner", "owner__backup", "category").with_next_step()


class Case(models.Model):
    # db_index=False on customer, owner and team: the composite indexes of Meta start with them, so a
    # single-column index was a second copy every INSERT kept up to date (issue 9: write cost).
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    subject = models.CharField(_("subject"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.QUESTION)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_cases",
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solution_proposed_at = models.DateTimeField(_("solution proposed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closure = models.CharField(_("closure"), max_length=12, choices=Closure.choices, blank=True)
    closure_note = models.TextField(_("closure reason"), blank=True)
    reopen_count = models.PositiveIntegerField(_("reopened"), default=0)
    follow_up_of = models.ForeignKey(
        "self",
        verbose_name=_("follow-up of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    is_repeat_contact = models.BooleanField(_("repeat contact"), default=False)
    # Durations in seconds, calendar and business time (metrics.md §0, §3.8), written by the services when
    # they happen and recomputable from the event log (steward.cases.durations). Empty = not measured:
    # no human reply yet, opened by staff (no first response), not closed, or open again after a reopen.
    first_response_seconds = models.PositiveIntegerField(_("first response time"), null=True, blank=True)
    first_response_business_seconds = models.PositiveIntegerField(
        _("first response time (business)"), null=True, blank=True
    )
    first_resolution_seconds = models.PositiveIntegerField(_("first resolution time"), null=True, blank=True)
    first_resolution_business_seconds = models.PositiveIntegerField(
        _("first resolution time (business)"), null=True, blank=True
    )
    resolution_seconds = models.PositiveIntegerField(_("full resolution time"), null=True, blank=True)
    resolution_business_seconds = models.PositiveIntegerField(
        _("full resolution time (business)"), null=True, blank=True
    )
    requester_wait_seconds = models.PositiveIntegerField(_("requester wait time"), null=True, blank=True)
    requester_wait_business_seconds = models.PositiveIntegerField(
        _("requester wait time (business)"), null=True, blank=True
    )
    agent_wait_seconds = models.PositiveIntegerField(_("wait on the customer"), null=True, blank=True)
    agent_wait_business_seconds = models.PositiveIntegerField(
        _("wait on the customer (business)"), null=True, blank=True
    )
    # Optimistic concurrency: every event bumps it; a stale form is refused, never silently applied.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(_("updated"))

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # "My cases" and the default queue: owner's open cases, newest first.
            models.Index(fields=["owner", "status", "-created_at"], name="case_owner_status"),
            # "My team's cases".
            models.Index(fields=["team", "status", "-created_at"], name="case_team_status"),
            # The customer's other cases on the case page, and follow-up linking.
            models.Index(fields=["customer", "-created_at"], name="case_customer"),
            # The default list for managers ("all") and cursor pagination.
            models.Index(fields=["-created_at", "-id"], name="case_created"),
            models.Index(fields=["status", "-created_at"], name="case_status"),
            # Case-outcome reports bucket closed cases by their closure (metrics.md §0 "resolved_at").
            models.Index(fields=["closed_at"], name="case_closed_at"),
            # routing.pick_owner counts each adviser's open cases for every new mail / portal case; the
            # open ones are a small slice of a growing table (issue 9: 0.4 s at 100k cases without it).
            models.Index(fields=["owner"], condition=~Q(status="closed"), name="case_open_by_owner"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def number(self) -> int:
        return self.pk


class EventKind(models.TextChoices):
    OPENED = "opened", _("Case opened")
    MESSAGE_IN = "message_in", _("Customer wrote")
    MESSAGE_OUT = "message_out", _("Reply sent")
    NOTE = "note", _("Internal note")
    HANDOFF = "handoff", _("Handed over")
    STATUS = "status", _("Status changed")
    COMMITMENT_SET = "commitment_set", _("Next step promised")
    COMMITMENT_KEPT = "commitment_kept", _("Next step kept")
    COMMITMENT_BROKEN = "commitment_broken", _("Next step broken")
    COMMITMENT_CANCELLED = "commitment_cancelled", _("Next step cancelled")
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    SOLUTION_CONFIRMED = "solution_confirmed", _("Solution confirmed")
    CLOSED_UNCONFIRMED = "closed_unconfirmed", _("Closed unconfirmed")
    REOPENED = "reopened", _("Reopened")
    REPEAT_EXPLANATION = "repeat_explanation", _("Customer had to explain again")
    FOLLOW_UP_LINKED = "follow_up_linked", _("Linked as a follow-up")
    ATTACHMENT = "attachment", _("Attachment added")
    # Sector tasks: every one of these events carries the TASK's sector (not the actor's) and
    # data {"task": id, ...}; the value-chain analysis reads them (metrics.md §4).
    TASK_CREATED = "task_created", _("Step handed to a sector")
    TASK_TAKEN = "task_taken", _("Sector task taken")
    TASK_WORK_LOGGED = "task_work_logged", _("Work logged on a sector task")
    TASK_COMPLETED = "task_completed", _("Sector task completed")
    TASK_RETURNED = "task_returned", _("Sector task returned")
    TASK_CANCELLED = "task_cancelled", _("Sector task cancelled")
    TASK_NEAR_BREACH = "task_near_breach", _("Sector task about to breach its target")
    # Surveys (steward.surveys records them; the case app does not know about surveys).
    SURVEY_SENT = "survey_sent", _("Survey sent")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    SURVEY_FOLLOW_UP = "survey_follow_up", _("Low score: follow-up opened")
    SURVEY_FOLLOW_UP_DONE = "survey_follow_up_done", _("Survey follow-up done")
    # Compensation (steward.costs records them; amounts never enter the event data).
    COMPENSATION_REQUESTED = "compensation_requested", _("Compensation requested")
    COMPENSATION_APPROVED = "compensation_approved", _("Compensation approved")
    COMPENSATION_REJECTED = "compensation_rejected", _("Compensation rejected")


class CaseEvent(models.Model):
    """The case's event log: the source of truth for every figure about time."""

    # No index of its own: event_case_at and event_case_version start with it (issue 9: write cost).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sector = models.ForeignKey(
        "sectors.Sector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(help_text="The case version this event produced.")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # The timeline and every per-case time computation read events in order.
            models.Index(fields=["case", "at", "id"], name="event_case_at"),
            # The stale-version check reads events after a version.
            models.Index(fields=["case", "version"], name="event_case_version"),
            # Period reports scan one kind of event over a date range.
            models.Index(fields=["kind", "at"], name="event_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%Y-%m-%d %H:%M}"


class Direction(models.TextChoices):
    INBOUND = "in", _("From the customer")
    OUTBOUND = "out", _("To the customer")


class Message(models.Model):
    # No index of its own: message_case starts with it (issue 9: write cost).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages", db_index=False)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    # Sanitised HTML (nh3) when the message arrived as HTML; the text body is always there.
    body_html = models.TextField(blank=True)
    is_automatic = models.BooleanField(default=False)
    external_id = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="message_case"),
            # Contacts in a time range (the decision assessment's demand forecast over the last weeks):
            # a range scan of the customers' own messages instead of a scan of every message.
            models.Index(
                fields=["created_at"],
                name="message_inbound_at",
                condition=Q(direction="in", is_automatic=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} #{self.case_id}"


class Note(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note #{self.case_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # Generated names: the uploader's file name is kept only as metadata, never as a path.
    return f"attachments/{instance.case_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    note = models.ForeignKey(
        Note, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class Handoff(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handoffs")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    customer_need = models.TextField(_("what the customer needs"))
    done_so_far = models.TextField(_("what has been done"))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        # visible_to() asks "did this adviser hand the case over?".
        indexes = [models.Index(fields=["from_user", "case"], name="handoff_from_user")]

    def __str__(self) -> str:
        return f"#{self.case_id}: {self.from_user} → {self.to_user}"


class CommitmentState(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class Commitment(models.Model):
    """A next step promised to the customer: what, by whom, by when."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="commitments")
    description = models.CharField(_("next step"), max_length=500)
    promised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(max_length=10, choices=CommitmentState.choices, default=CommitmentState.OPEN)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The next step of a case, and the "overdue next step" filter.
            models.Index(fields=["case", "state", "due_at"], name="commitment_case_state"),
            models.Index(fields=["state", "due_at"], name="commitment_due"),
        ]

    def __str__(self) -> str:
        return self.description


class TaskState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


# A task in one of these states holds the case in "waiting on an internal sector".
OPEN_TASK_STATES = (TaskState.QUEUED, TaskState.IN_PROGRESS)


class SectorTaskQuerySet(models.QuerySet["SectorTask"]):
    def open(self) -> SectorTaskQuerySet:
        return self.filter(state__in=OPEN_TASK_STATES)


class SectorTask(models.Model):
    """A step of a case handed to an internal sector; the case stays with its owner meanwhile."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="sector_tasks"
    )
    sector = models.ForeignKey(
        "sectors.Sector", verbose_name=_("sector"), on_delete=models.PROTECT, related_name="tasks"
    )
    task_kind = models.ForeignKey(
        "sectors.TaskKind",
        verbose_name=_("kind of task"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    description = models.TextField(_("what the sector should do"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sector_tasks",
    )
    state = models.CharField(_("state"), max_length=12, choices=TaskState.choices, default=TaskState.QUEUED)
    # Copied from the kind or the sector when the task is created, so a later change of target does
    # not rewrite the service level a past task was measured against.
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))
    due_at = models.DateTimeField(_("due"))
    created_at = models.DateTimeField(_("handed over"))
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completion_note = models.TextField(_("result"), blank=True)
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
    return_reason = models.TextField(_("reason for returning"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Set once when the near-breach warning went out, so the periodic sweep warns only once.
    near_breach_notified_at = models.DateTimeField(null=True, blank=True)

    objects = SectorTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("sector task")
        verbose_name_plural = _("sector tasks")
        indexes = [
            # The sector queue: one sector's open tasks by due time.
            models.Index(fields=["sector", "state", "due_at"], name="task_sector_queue"),
            # visible_to(): "has this sector ever had a task on this case?".
            models.Index(fields=["sector", "case"], name="task_sector_case"),
            # The case page panel, case_waiting_on() for the portal, and "is any task still open?".
            models.Index(fields=["case", "state"], name="task_case_state"),
            # The near-breach sweep scans open tasks not yet warned about.
            models.Index(fields=["state", "near_breach_notified_at"], name="task_breach_sweep"),
        ]

    def __str__(self) -> str:
        return f"#{self.case_id} → {self.sector_id}: {self.description[:40]}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_TASK_STATES


class WorkLog(models.Model):
    """Minutes a sector member spent on a task: the work part of the task's time (metrics.md §4.2)."""

    task = models.ForeignKey(SectorTask, on_delete=models.CASCADE, related_name="work_logs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveIntegerField(_("minutes"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    logged_at = models.DateTimeField()

    class Meta:
        ordering = ["logged_at", "id"]
        indexes = [
            # Work per task (queue page totals, per-sector work time).
            models.Index(fields=["task", "logged_at"], name="worklog_task"),
            # Staff cost per person and period (cost of quality, metrics.md §1.3).
            models.Index(fields=["user", "logged_at"], name="worklog_user"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on task {self.task_id}"
