"""The decision impact register (issue 8, domain.md essay 1).

A decision (a course, a schedule or policy change...) is assessed before it takes effect: scenarios
take people away over a window, with mitigations; each assessment is stored as a snapshot with its
inputs; approval needs the four questions answered; after the window, predicted meets actual.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DecisionKind(models.TextChoices):
    STAFF_ABSENCE = "staff_absence", _("Staff absence (course, event)")
    SCHEDULE_CHANGE = "schedule_change", _("Schedule change")
    POLICY_CHANGE = "policy_change", _("Policy change")
    PROCESS_CHANGE = "process_change", _("Process change")


class DecisionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ASSESSED = "assessed", _("Assessed")
    APPROVED = "approved", _("Approved")
    IN_EFFECT = "in_effect", _("In effect")
    REVIEWED = "reviewed", _("Reviewed")


# Once approved, the decision and its scenarios are what was agreed: no more edits.
EDITABLE_STATES = (DecisionState.DRAFT, DecisionState.ASSESSED)


class ScenarioKind(models.TextChoices):
    PROPOSED = "proposed", _("As proposed")
    MITIGATED = "mitigated", _("With mitigations")
    ALTERNATIVE = "alternative", _("Alternative")
    CUSTOM = "custom", _("Custom")


class Mitigation(models.TextChoices):
    # Codes as in steward.decisions.assessment.MITIGATIONS (the engine reads them).
    BACKUPS_FULL_ACCESS = "backups_full_access", _("Backups with full access assigned")
    NOTIFY_IN_ADVANCE = "notify_in_advance", _("Customers with next steps in the window told in advance")
    MOVE_NEXT_STEPS = "move_next_steps", _("Next steps in the window moved after it")


# The four questions of domain.md essay 1, as the fields that hold their answers.
QUESTIONS = {
    "answer_impact": _("How will this decision affect our customers' satisfaction?"),
    "answer_reduce": _("If the damage cannot be avoided, how do we reduce it?"),
    "answer_action_plan": _("Do we need a special action plan to cancel the service failures it creates?"),
    "answer_alternatives": _("Which alternatives reach the goal without hurting customers?"),
}
ANSWER_FIELDS = tuple(QUESTIONS)


class Decision(models.Model):
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=DecisionKind.choices)
    description = models.TextField(_("description"), blank=True)
    goal = models.TextField(_("internal goal"), blank=True)
    saving_minor = models.BigIntegerField(
        _("internal saving"), default=0, help_text=_("Minor units of the organisation currency.")
    )
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The team whose capacity and cases are modelled; blank means every adviser."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=12, choices=DecisionState.choices, default=DecisionState.DRAFT
    )
    # The four questions (domain.md essay 1).
    answer_impact = models.TextField(QUESTIONS["answer_impact"], blank=True)
    answer_reduce = models.TextField(QUESTIONS["answer_reduce"], blank=True)
    answer_action_plan = models.TextField(QUESTIONS["answer_action_plan"], blank=True)
    answer_alternatives = models.TextField(QUESTIONS["answer_alternatives"], blank=True)
    approved_scenario = models.ForeignKey(
        "Scenario",
        verbose_name=_("approved scenario"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # The absences the approval created (accounts.Absence rows), so the register shows them.
    absences = models.ManyToManyField("accounts.Absence", blank=True, related_name="+")
    plan_carried_out_at = models.DateTimeField(null=True, blank=True)
    plan_carried_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    in_effect_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-window_start", "-id"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        indexes = [models.Index(fields=["state", "window_start"], name="decision_state_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")), name="decision_window_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def editable(self) -> bool:
        return self.state in EDITABLE_STATES

    def answers(self) -> list[tuple[str, str]]:
        """The four questions with their answers, in the essay's order."""
        return [(str(QUESTIONS[name]), getattr(self, name)) for name in ANSWER_FIELDS]


class Scenario(models.Model):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=12, choices=ScenarioKind.choices, default=ScenarioKind.CUSTOM
    )
    mitigations = models.JSONField(_("mitigations"), default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "name"], name="scenario_name_unique_per_decision")
        ]

    def __str__(self) -> str:
        return self.name

    def mitigation_labels(self) -> list[str]:
        labels = dict(Mitigation.choices)
        return [str(labels.get(code, code)) for code in self.mitigations]


class AwayPeriod(models.Model):
    """One person away in a scenario (a sector or team chosen in the form is stored member by member)."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="away_periods")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))

    class Meta:
        ordering = ["starts_at", "user_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="away_period_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"


class BackupOverride(models.Model):
    """In this scenario, `backup` covers `user` while away (instead of the person's usual backup)."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="backup_overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    backup = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("backup"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "user"], name="backup_override_unique_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.backup}"


class AssessmentSnapshot(models.Model):
    """One run of the engine for one scenario: `Assessment.to_json()` and the inputs it used."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="snapshots")
    computed_at = models.DateTimeField()
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.JSONField(default=dict)
    inputs = models.JSONField(default=dict)
    calibration = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"
        indexes = [models.Index(fields=["scenario", "-computed_at"], name="snapshot_scenario_latest")]

    def __str__(self) -> str:
        return f"{self.scenario} @ {self.computed_at:%Y-%m-%d %H:%M}"


class ActionKind(models.TextChoices):
    HANDOFF = "handoff", _("Case handed over")
    NOTIFY = "notify", _("Customer told in advance")
    MOVE_STEP = "move_step", _("Next step moved")
    SKIPPED = "skipped", _("Skipped")


class PlanAction(models.Model):
    """One item of the action plan as carried out; the unique key makes carrying out idempotent."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="plan_actions")
    kind = models.CharField(max_length=12, choices=ActionKind.choices)
    item = models.CharField(max_length=40)  # "reassign:<case>" or "notify:<case>:<commitment>"
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    done_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["decision", "item"], name="plan_action_once_per_item")]

    def __str__(self) -> str:
        return f"{self.decision_id} {self.item}: {self.kind}"


class DecisionReview(models.Model):
    """Predicted against actual after the window (`measure_actual`); the ratios calibrate later runs."""

    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="review")
    snapshot = models.ForeignKey(AssessmentSnapshot, null=True, on_delete=models.SET_NULL, related_name="+")
    measured_at = models.DateTimeField()
    measured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    results: Any = models.JSONField(default=dict)  # parameter -> {"predicted", "actual", "ratio"}
    note = models.TextField(_("what we learned"), blank=True)

    def __str__(self) -> str:
        return f"{self.decision} reviewed {self.measured_at:%Y-%m-%d}"

    def ratios(self) -> dict[str, float | None]:
        return {name: row.get("ratio") for name, row in (self.results or {}).items() if isinstance(row, dict)}


COUNTED = ["channel", "kind", "contacts", "follow_ups", "replies", "notes"]


class ContactHour(models.Model):
    """The assessment's history counts per team, UTC clock hour, channel and case kind (a rollup).

    What `forecast.py` counts straight from the messages, kept as they arrive (`contact_hours.py`) so the
    assessment reads ~1,000 rows per week of a team's history instead of every message: `contacts` =
    customers' inbound messages that are not automatic (a new case's first message included),
    `follow_ups` = those of them after the case was opened, `replies` = non-automatic outbound messages
    (on the message's channel), `notes` = notes (on the case's channel). The team is the case's team NOW,
    as the straight queries join it: a handoff to another team moves the case's counts.
    """

    # The case's team; 0 when it has none (a plain integer: one unique key without NULLs, and the counts
    # stay with the id if a team is deleted; the team-less total (team None) sums every row anyway).
    team_id = models.IntegerField()
    hour = models.DateTimeField()  # the clock hour's start, UTC
    channel = models.CharField(max_length=10)
    kind = models.CharField(max_length=20)
    contacts = models.IntegerField(default=0)
    follow_ups = models.IntegerField(default=0)
    replies = models.IntegerField(default=0)
    notes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team_id", "hour", "channel", "kind"], name="contact_hour_key")
        ]
        # Covering the assessment's read (PostgreSQL answers it from the index alone, ~10,000 rows of a
        # team's 8 weeks in a few pages); the second one for every team at once (team None).
        indexes = [
            models.Index(fields=["team_id", "hour", *COUNTED], name="contact_hour_team"),
            models.Index(fields=["hour", *COUNTED], name="contact_hour_at"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.hour:%Y-%m-%d %H}:00 {self.channel}/{self.kind}"
