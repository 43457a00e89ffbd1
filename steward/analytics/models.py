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


class CaseContacts(models.Model):
    """Per case, what the service dashboard's resolved-case figures (FCR, owner continuity, repeat
    explanation) used to count with correlated subqueries for every closed case of the period:
    inbound customer messages up to the close, owner changes (handoffs), the first follow-up case,
    whether the customer had to explain again."""

    case = models.OneToOneField(
        Case, primary_key=True, on_delete=models.CASCADE, related_name="contacts_rollup"
    )
    inbound_before_close = models.IntegerField(default=0)
    owner_changes = models.IntegerField(default=0)
    first_follow_up_at = models.DateTimeField(null=True)
    # A repeat-explanation event (the adviser's flag) or the customer's "yes" in the case survey.
    repeat_flagged = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("case contacts rollup")
        verbose_name_plural = _("case contacts rollups")

    def __str__(self) -> str:
        return f"case {self.case_id}"
