"""Rollups of the case event log for the analysis screens, maintained as the events arrive.

Each table holds the facts of ONE case that the sector report and the process map aggregate: its lead
time split by holder (`CaseFlow`, `SectorTime`), its sector tasks folded (`TaskFact`) and its
sector-to-sector steps (`FlowStep`). A case's rows are recomputed from its own events (a few dozen
rows, read through the `event_case_at` index) inside the transaction that appends an event to it
(`steward.analytics.rollups.on_case_event`), so a report never folds the whole event log: it reads
the rows of the selected cases through the `opened_at` index and lets the database aggregate them.

Every row carries the case's `created_at` as `opened_at`: the selection of the screens ("cases opened
in [date_from, date_to]") is a range on it. Sector ids are plain integers (a deleted sector keeps its
history, as on the events, whose sector becomes NULL only on the event row).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from steward.cases.models import Case


class CaseFlow(models.Model):
    """A case's lead time so far, split by holder (metrics.lead_time_attribution), in microseconds.

    Resolved cases are final. For an open case the figures run up to `last_at` (its last event that
    the attribution reads); from there to `now` the time goes to `tail`: "f" the front line,
    "c" the customer, or "s:<id>,<id>" the sectors holding open tasks (1/k each; "-" for no sector).
    """

    case = models.OneToOneField(Case, primary_key=True, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    start_at = models.DateTimeField()
    last_at = models.DateTimeField()
    resolved = models.BooleanField(default=False)
    lead_us = models.BigIntegerField(default=0)
    front_us = models.BigIntegerField(default=0)
    customer_us = models.BigIntegerField(default=0)
    tail = models.CharField(max_length=200, blank=True)
    has_sector = models.BooleanField(default=False)  # at least one event with a sector

    class Meta:
        verbose_name = _("case flow rollup")
        verbose_name_plural = _("case flow rollups")
        indexes = [models.Index(fields=["opened_at"], name="caseflow_opened")]

    def __str__(self) -> str:
        return f"case {self.case_id}"


class SectorTime(models.Model):
    """Seconds of a case's lead time (up to its `CaseFlow.last_at`) attributed to one sector."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    sector_id = models.IntegerField(null=True)
    seconds = models.FloatField()

    class Meta:
        verbose_name = _("sector time rollup")
        verbose_name_plural = _("sector time rollups")
        indexes = [models.Index(fields=["opened_at"], name="sectortime_opened")]

    def __str__(self) -> str:
        return f"case {self.case_id} · sector {self.sector_id}"


class TaskFact(models.Model):
    """One sector task folded from its events, as `selectors._fold_tasks` folds them."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    task = models.IntegerField()
    sector_id = models.IntegerField(null=True)
    created_at = models.DateTimeField()
    target_minutes = models.IntegerField(null=True)
    due_at = models.DateTimeField(null=True)
    taken_at = models.DateTimeField(null=True)
    ended_at = models.DateTimeField(null=True)
    end_kind = models.CharField(max_length=30, blank=True)
    work_seconds = models.FloatField(default=0.0)
    returns = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("sector task rollup")
        verbose_name_plural = _("sector task rollups")
        indexes = [models.Index(fields=["opened_at"], name="taskfact_opened")]

    def __str__(self) -> str:
        return f"task {self.task}"


class FlowStep(models.Model):
    """A sector-to-sector step of a case: an edge of the process map and a handoff.

    `wait` is the seconds from the last event in `source` to the first in `target`; `before` is the
    sector the case held before `source` (A → B → A is a ping-pong when `before` = `target`).
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    source = models.IntegerField()
    target = models.IntegerField()
    before = models.IntegerField(null=True)
    wait = models.FloatField()

    class Meta:
        verbose_name = _("process step rollup")
        verbose_name_plural = _("process step rollups")
        indexes = [models.Index(fields=["opened_at", "source", "target"], name="flowstep_opened")]

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.source} → {self.target}"


def _dimension(model: str) -> models.ForeignKey:  # type: ignore[type-arg]
    """A copy of a case's team, owner or category: joinable for labels, no constraint, no index (a
    deleted team keeps its history, and the write path stays one row)."""
    return models.ForeignKey(
        model,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class CaseContacts(models.Model):
    """Per case, what the service dashboard counts about it (service_figures, families "opened" and
    "resolved", and the duration figures): inbound customer messages up to the close, owner changes
    (handoffs), the first follow-up case, whether the customer had to explain again, plus a copy of
    the case's scope fields, dates, outcome flags and durations.

    The copy is what the case contributed to `ServiceDay` when the row was last written: the next
    refresh subtracts it and adds the new one (rollups.refresh_contacts). The duration columns are
    read through the partial indexes below (exact medians need every value of the period, but only
    those: no scan of the case table)."""

    case = models.OneToOneField(
        Case, primary_key=True, on_delete=models.CASCADE, related_name="contacts_rollup"
    )
    inbound_before_close = models.IntegerField(default=0)
    owner_changes = models.IntegerField(default=0)
    first_follow_up_at = models.DateTimeField(null=True)
    # A repeat-explanation event (the adviser's flag) or the customer's "yes" in the case survey.
    repeat_flagged = models.BooleanField(default=False)
    # The customer's last (non-automatic) message: how long the case has waited on us (the risk list).
    last_inbound_at = models.DateTimeField(null=True)
    # The case as the dashboard sees it (a copy, kept with the row).
    opened_at = models.DateTimeField(null=True)
    closed_at = models.DateTimeField(null=True)  # only while the case is closed
    team = _dimension("accounts.Team")
    owner = _dimension("accounts.User")
    category = _dimension("cases.Category")
    channel = models.CharField(max_length=10, blank=True)
    kind = models.CharField(max_length=20, blank=True)
    reopen_count = models.IntegerField(default=0)
    confirmed = models.BooleanField(default=False)
    repeat_contact = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)  # a first human reply was sent
    first_response_seconds = models.IntegerField(null=True)
    first_response_business_seconds = models.IntegerField(null=True)
    resolution_seconds = models.IntegerField(null=True)
    resolution_business_seconds = models.IntegerField(null=True)
    requester_wait_seconds = models.IntegerField(null=True)
    requester_wait_business_seconds = models.IntegerField(null=True)

    class Meta:
        verbose_name = _("case contacts rollup")
        verbose_name_plural = _("case contacts rollups")
        indexes = [
            # The days of the FCR window, which the dashboard reads case by case (service_days).
            models.Index(fields=["closed_at"], name="contacts_closed"),
            models.Index(
                fields=["opened_at"],
                include=["first_response_seconds", "first_response_business_seconds"],
                condition=models.Q(first_response_seconds__isnull=False),
                name="contacts_first_response",
            ),
            models.Index(
                fields=["closed_at"],
                include=["resolution_seconds", "resolution_business_seconds"],
                condition=models.Q(resolution_seconds__isnull=False),
                name="contacts_resolution",
            ),
            models.Index(
                fields=["closed_at"],
                include=["requester_wait_seconds", "requester_wait_business_seconds"],
                condition=models.Q(requester_wait_seconds__isnull=False),
                name="contacts_requester_wait",
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.case_id}"


class ServiceDay(models.Model):
    """The counts of the service dashboard's case families for one day (organisation time zone).

    `family` "o": cases opened that day; "r": cases closed that day (and closed now); "h": handoffs
    made that day (for all cases only: a handoff moves every earlier one of its case to the new
    owner, so per-owner handoff counts stay with the straight query). One row per day
    for all cases (`dim` "") and one per day and value of each scope field (`dim` "team", "owner",
    "category", "channel" or "kind", `key` the value as text, "" for none; the matching column holds
    the value, for filters and labels). Kept by `rollups.refresh_contacts` as deltas of the case's
    `CaseContacts` copy, in the transaction of the event; rebuilt set-based by `rollups.rebuild_all`.

    Resolved counts assume the FCR window is over (no case pending): the dashboard reads the days of
    the window from the cases themselves (service_figures), so "pending" stays a function of now.
    """

    family = models.CharField(max_length=1)
    day = models.DateField()
    dim = models.CharField(max_length=8, blank=True)
    key = models.CharField(max_length=32, blank=True)
    team = _dimension("accounts.Team")
    owner = _dimension("accounts.User")
    category = _dimension("cases.Category")
    channel = models.CharField(max_length=10, blank=True)
    kind = models.CharField(max_length=20, blank=True)
    rows = models.IntegerField(default=0)
    repeat_contact = models.IntegerField(default=0)
    unanswered = models.IntegerField(default=0)
    fcr_k = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    reopens = models.IntegerField(default=0)
    confirmed = models.IntegerField(default=0)
    exposed = models.IntegerField(default=0)
    exposed_flagged = models.IntegerField(default=0)
    flagged = models.IntegerField(default=0)
    changed_owner = models.IntegerField(default=0)
    owner_changes = models.IntegerField(default=0)
    short_summary = models.IntegerField(default=0)  # family "h": handoffs without a real summary

    class Meta:
        verbose_name = _("service day rollup")
        verbose_name_plural = _("service day rollups")
        constraints = [
            # Also the read path: family, scope value, then a range of days.
            models.UniqueConstraint(fields=["family", "dim", "key", "day"], name="serviceday_key"),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.day} {self.dim}={self.key}"


class SurveyDay(models.Model):
    """The counts of the service dashboard's survey family for one day (organisation time zone): the
    survey answers given that day (`SurveyResponse.responded_at`), as `service_figures` counts them.

    One row per day for all answers (`dim` "") and one per day and value of each scope field (`dim`
    "team", "owner", "category", "channel" or "kind", `key` the value as text), like `ServiceDay`. An
    answer counts under its case's CURRENT scope values (the case's `CaseContacts` copy): a handoff
    moves the case's answers to the new owner and team (survey_rollup.move). A relationship answer
    (no case) is in the all-answers rows and, for the breakdowns of all answers, in the "none" row of
    each field: key "" for team, owner and category (where "no team" and "no case" are one group), the
    key `survey_rollup.NO_CASE` for channel and kind, whose columns are then NULL (a case's channel is
    never NULL: two groups). Scope filters never select those rows.

    CSAT counts only answers on a 5-point questionnaire version (`service_figures._five_point_csat`),
    decided when the answer is counted: versions are never edited. Kept by `survey_rollup.record`
    (an answer, in its transaction) and `survey_rollup.move` (a case's scope changed, in the event's
    transaction); rebuilt set-based by `rollups.rebuild_all`. Answers are never deleted by Steward
    (erasure keeps the scores); a bulk change outside the services needs `manage.py rebuild_rollups`.
    """

    day = models.DateField()
    dim = models.CharField(max_length=8, blank=True)
    key = models.CharField(max_length=32, blank=True)
    team = _dimension("accounts.Team")
    owner = _dimension("accounts.User")
    category = _dimension("cases.Category")
    channel = models.CharField(max_length=10, null=True)  # NULL: no case (or another dim's row)
    kind = models.CharField(max_length=20, null=True)
    rows = models.IntegerField(default=0)
    # "<figure>.<part>" of service_figures._survey_parts, "." written "_".
    csat_n = models.IntegerField(default=0)
    csat_k = models.IntegerField(default=0)
    ces_n = models.IntegerField(default=0)
    ces_k = models.IntegerField(default=0)
    nps_n = models.IntegerField(default=0)
    nps_k = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    solved_n = models.IntegerField(default=0)
    solved_k = models.IntegerField(default=0)
    explained_more_than_once_n = models.IntegerField(default=0)
    explained_more_than_once_k = models.IntegerField(default=0)
    knew_owner_and_next_step_n = models.IntegerField(default=0)
    knew_owner_and_next_step_k = models.IntegerField(default=0)
    solved_first_contact_n = models.IntegerField(default=0)
    solved_first_contact_k = models.IntegerField(default=0)
    # The score distributions of service_figures._survey_extra ("csat=4" is csat_4).
    csat_1 = models.IntegerField(default=0)
    csat_2 = models.IntegerField(default=0)
    csat_3 = models.IntegerField(default=0)
    csat_4 = models.IntegerField(default=0)
    csat_5 = models.IntegerField(default=0)
    ces_1 = models.IntegerField(default=0)
    ces_2 = models.IntegerField(default=0)
    ces_3 = models.IntegerField(default=0)
    ces_4 = models.IntegerField(default=0)
    ces_5 = models.IntegerField(default=0)
    ces_6 = models.IntegerField(default=0)
    ces_7 = models.IntegerField(default=0)
    nps_0 = models.IntegerField(default=0)
    nps_1 = models.IntegerField(default=0)
    nps_2 = models.IntegerField(default=0)
    nps_3 = models.IntegerField(default=0)
    nps_4 = models.IntegerField(default=0)
    nps_5 = models.IntegerField(default=0)
    nps_6 = models.IntegerField(default=0)
    nps_7 = models.IntegerField(default=0)
    nps_8 = models.IntegerField(default=0)
    nps_9 = models.IntegerField(default=0)
    nps_10 = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("survey day rollup")
        verbose_name_plural = _("survey day rollups")
        constraints = [
            # Also the read path: scope value, then a range of days.
            models.UniqueConstraint(fields=["dim", "key", "day"], name="surveyday_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dim}={self.key}"
