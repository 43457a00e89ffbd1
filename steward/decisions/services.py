"""Every state change of a decision: one function each, in a transaction, refusing with DomainError.

draft → assessed (decision_assess) → approved (decision_approve) → in_effect (decision_mark_in_effect)
→ reviewed (decision_review). Editing the decision or a scenario sends an assessed decision back to draft:
its assessment no longer describes it. The engine (steward.decisions.assessment / actuals, pure figures
over the database) is called here; nothing in this module computes a figure itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from steward.accounts.models import Absence, Role, Team, User
from steward.accounts.services import absence_create
from steward.cases.models import Case, Commitment, CommitmentState, Direction, Status
from steward.cases.permissions import can_own_cases
from steward.cases.services import case_hand_off, case_reply, commitment_resolve, commitment_set
from steward.cases.summaries import summary_problem
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted
from steward.sectors.models import Sector

from .assessment import MAX_WINDOW, Assessment, ScenarioSpec, assess
from .assessment import AwayPeriod as Away
from .models import (
    ANSWER_FIELDS,
    QUESTIONS,
    ActionKind,
    AssessmentSnapshot,
    AwayPeriod,
    BackupOverride,
    Decision,
    DecisionKind,
    DecisionReview,
    DecisionState,
    Mitigation,
    PlanAction,
    Scenario,
    ScenarioKind,
)

MAX_SAVING_MINOR = 10**12
MAX_DISTANCE = timedelta(days=5 * 366)  # a typo'd year (0001, 9999) is refused, not assessed
FIGURE_FIELDS = ("window_start", "window_end", "team", "saving_minor")


def can_write_decisions(user: object) -> bool:
    """Service managers (and administrators) write decisions; executives read them."""
    return isinstance(user, User) and user.is_active and user.manages_cases


def _require_writer(actor: User) -> None:
    if not can_write_decisions(actor):
        raise NotPermitted(_("Only a service manager may change a decision."))


def _lock(decision: Decision) -> Decision:
    Decision.objects.select_for_update().filter(pk=decision.pk).values_list("pk", flat=True).get()
    return Decision.objects.select_related("team", "owner", "approved_scenario").get(pk=decision.pk)


def _begin(
    actor: User, decision: Decision, at: datetime | None, *, editable: bool = False
) -> tuple[Decision, datetime]:
    """The start of every change: a manager, the clock, the decision locked (and still editable)."""
    _require_writer(actor)
    decision = _lock(decision)
    if editable:
        _require_editable(decision)
    return decision, at or timeutil.now()


def _require_editable(decision: Decision) -> None:
    if not decision.editable:
        raise DomainError(
            _("This decision is %(state)s: it can no longer be changed.")
            % {"state": decision.get_state_display().lower()}
        )


def _touched(decision: Decision, at: datetime, fields: Iterable[str] = ()) -> None:
    """Save `fields`; an assessed decision that changed goes back to draft (its figures are stale)."""
    names = [*fields, "updated_at"]
    decision.updated_at = at
    if decision.state == DecisionState.ASSESSED:
        decision.state = DecisionState.DRAFT
        names.append("state")
    decision.save(update_fields=names)


# ------------------------------------------------------------------------------------ the decision


@dataclass
class DecisionData:
    title: str
    kind: str
    window_start: datetime
    window_end: datetime
    description: str = ""
    goal: str = ""
    saving_minor: int = 0
    team: Team | None = None
    answers: Mapping[str, str] = field(default_factory=dict)  # ANSWER_FIELDS -> text


def _clean(data: DecisionData) -> dict[str, Any]:
    title = (data.title or "").strip()
    if not title:
        raise DomainError(_("Give the decision a title."), field="title")
    if data.kind not in DecisionKind.values:
        raise DomainError(_("Choose what kind of decision this is."), field="kind")
    if data.window_end <= data.window_start:
        raise DomainError(_("The window must end after it starts."), field="window_end")
    if data.window_end - data.window_start > MAX_WINDOW:
        raise DomainError(_("The window can last 31 days at most."), field="window_end")
    if abs(data.window_start - timeutil.now()) > MAX_DISTANCE:
        raise DomainError(_("The window must start within five years of today."), field="window_start")
    if not isinstance(data.saving_minor, int) or data.saving_minor < 0:
        raise DomainError(_("The saving cannot be negative."), field="saving_minor")
    if data.saving_minor > MAX_SAVING_MINOR:
        raise DomainError(_("The saving is too large."), field="saving_minor")
    values: dict[str, Any] = {
        "title": title[:200],
        "kind": data.kind,
        "description": (data.description or "").strip(),
        "goal": (data.goal or "").strip(),
        "saving_minor": data.saving_minor,
        "window_start": data.window_start,
        "window_end": data.window_end,
        "team": data.team,
    }
    for name in ANSWER_FIELDS:
        if name in data.answers:
            values[name] = (data.answers[name] or "").strip()
    return values


@transaction.atomic
def decision_create(*, actor: User, data: DecisionData, at: datetime | None = None) -> Decision:
    """A new decision in draft, with the scenario "as proposed" ready to be filled in."""
    _require_writer(actor)
    at = at or timeutil.now()
    decision = Decision.objects.create(owner=actor, created_at=at, updated_at=at, **_clean(data))
    Scenario.objects.create(
        decision=decision, name=_("As proposed"), kind=ScenarioKind.PROPOSED, created_at=at
    )
    return decision


@transaction.atomic
def decision_update(
    *, actor: User, decision: Decision, data: DecisionData, at: datetime | None = None
) -> Decision:
    decision, at = _begin(actor, decision, at, editable=True)
    values = _clean(data)
    if any(
        p.starts_at < values["window_start"] or p.ends_at > values["window_end"]
        for p in AwayPeriod.objects.filter(scenario__decision=decision)
    ):
        raise DomainError(
            _("Some away periods of the scenarios fall outside this window: change them first."),
            field="window_start",
        )
    changed = [name for name, value in values.items() if getattr(decision, name) != value]
    for name in changed:
        setattr(decision, name, values[name])
    # Only the window, the team and the saving change figures: other edits keep the assessment current.
    figures_changed = [name for name in changed if name in FIGURE_FIELDS]
    if figures_changed:
        _touched(decision, at, changed)
    elif changed:
        decision.updated_at = at
        decision.save(update_fields=[*changed, "updated_at"])
    return decision


# ------------------------------------------------------------------------------------ scenarios


def _clean_scenario(name: str, kind: str, mitigations: Iterable[str]) -> tuple[str, str, list[str]]:
    name = (name or "").strip()[:120]
    if not name:
        raise DomainError(_("Give the scenario a name."), field="name")
    if kind not in ScenarioKind.values:
        raise DomainError(_("Choose the kind of scenario."), field="kind")
    codes = list(dict.fromkeys(mitigations))
    unknown = [c for c in codes if c not in Mitigation.values]
    if unknown:
        raise DomainError(_("Unknown mitigation: %(code)s.") % {"code": unknown[0]}, field="mitigations")
    return name, kind, codes


def _refuse_duplicate_name(decision: Decision, name: str, exclude: int | None = None) -> None:
    same = decision.scenarios.filter(name__iexact=name)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise DomainError(_("This decision already has a scenario with this name."), field="name")


@transaction.atomic
def scenario_add(
    *,
    actor: User,
    decision: Decision,
    name: str,
    kind: str = ScenarioKind.CUSTOM,
    mitigations: Iterable[str] = (),
    copy_from: Scenario | None = None,
    at: datetime | None = None,
) -> Scenario:
    """A new scenario; `copy_from` copies its away periods and backups (then change who is away when)."""
    decision, at = _begin(actor, decision, at, editable=True)
    name, kind, codes = _clean_scenario(name, kind, mitigations)
    _refuse_duplicate_name(decision, name)
    scenario = Scenario.objects.create(
        decision=decision, name=name, kind=kind, mitigations=codes, created_at=at
    )
    if copy_from is not None:
        if copy_from.decision_id != decision.pk:
            raise DomainError(_("Copy a scenario of this decision."), field="copy_from")
        AwayPeriod.objects.bulk_create(
            AwayPeriod(scenario=scenario, user_id=p.user_id, starts_at=p.starts_at, ends_at=p.ends_at)
            for p in copy_from.away_periods.all()
        )
        BackupOverride.objects.bulk_create(
            BackupOverride(scenario=scenario, user_id=o.user_id, backup_id=o.backup_id)
            for o in copy_from.backup_overrides.all()
        )
    _touched(decision, at)
    return scenario


@transaction.atomic
def scenario_update(
    *,
    actor: User,
    scenario: Scenario,
    name: str,
    kind: str,
    mitigations: Iterable[str],
    at: datetime | None = None,
) -> Scenario:
    decision, at = _begin(actor, scenario.decision, at, editable=True)
    name, kind, codes = _clean_scenario(name, kind, mitigations)
    _refuse_duplicate_name(decision, name, exclude=scenario.pk)
    scenario.name, scenario.kind, scenario.mitigations = name, kind, codes
    scenario.save(update_fields=["name", "kind", "mitigations"])
    _touched(decision, at)
    return scenario


@transaction.atomic
def scenario_remove(*, actor: User, scenario: Scenario, at: datetime | None = None) -> None:
    decision, at = _begin(actor, scenario.decision, at, editable=True)
    if decision.scenarios.count() <= 1:
        raise DomainError(_("A decision keeps at least one scenario."))
    scenario.delete()
    _touched(decision, at)


def people_for(
    *, users: Iterable[User] = (), sectors: Iterable[Sector] = (), teams: Iterable[Team] = ()
) -> list[User]:
    """The people chosen, with whole sectors and teams expanded to their active members (each once)."""
    chosen: dict[int, User] = {u.pk: u for u in users}
    sector_ids = [s.pk for s in sectors]
    team_ids = [t.pk for t in teams]
    if sector_ids or team_ids:
        members = User.objects.filter(is_active=True).exclude(role=Role.EXECUTIVE)
        for u in members.filter(sector_id__in=sector_ids) | members.filter(team_id__in=team_ids):
            chosen.setdefault(u.pk, u)
    return sorted(chosen.values(), key=lambda u: (u.display_name, u.pk))


def _when(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


@transaction.atomic
def away_add(
    *,
    actor: User,
    scenario: Scenario,
    people: Iterable[User],
    starts_at: datetime,
    ends_at: datetime,
    at: datetime | None = None,
) -> list[AwayPeriod]:
    """Take `people` away in this scenario; an overlap with the same person's period is refused."""
    decision, at = _begin(actor, scenario.decision, at, editable=True)
    people = list(people)
    if not people:
        raise DomainError(_("Choose at least one person, sector or team."), field="users")
    if ends_at <= starts_at:
        raise DomainError(_("The away period must end after it starts."), field="ends_at")
    if starts_at < decision.window_start or ends_at > decision.window_end:
        raise DomainError(
            _("The away period must lie within the decision's window (%(start)s – %(end)s).")
            % {"start": _when(decision.window_start), "end": _when(decision.window_end)},
            field="starts_at",
        )
    clashes = (
        scenario.away_periods.filter(user__in=people, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )
    names = sorted({str(p.user) for p in clashes})
    if names:
        raise DomainError(
            _("Already away in this scenario at that time: %(people)s.") % {"people": ", ".join(names)},
            field="starts_at",
        )
    periods = AwayPeriod.objects.bulk_create(
        AwayPeriod(scenario=scenario, user=u, starts_at=starts_at, ends_at=ends_at) for u in people
    )
    _touched(decision, at)
    return periods


@transaction.atomic
def away_remove(*, actor: User, period: AwayPeriod, at: datetime | None = None) -> None:
    decision, at = _begin(actor, period.scenario.decision, at, editable=True)
    period.delete()
    _touched(decision, at)


@transaction.atomic
def backup_override_set(
    *, actor: User, scenario: Scenario, user: User, backup: User | None, at: datetime | None = None
) -> BackupOverride | None:
    """In this scenario, `backup` covers `user` (None: back to the person's usual backup)."""
    decision, at = _begin(actor, scenario.decision, at, editable=True)
    BackupOverride.objects.filter(scenario=scenario, user=user).delete()
    override = None
    if backup is not None:
        if backup.pk == user.pk:
            raise DomainError(_("A person cannot be their own backup."), field="backup")
        if not can_own_cases(backup):
            raise DomainError(_("The backup must be an active adviser or manager."), field="backup")
        override = BackupOverride.objects.create(scenario=scenario, user=user, backup=backup)
    _touched(decision, at)
    return override


# ------------------------------------------------------------------------------------ assessment


def spec_for(scenario: Scenario, *, calibration: Mapping[str, float] | None = None) -> ScenarioSpec:
    """The engine's input for one scenario of its decision."""
    decision = scenario.decision
    return ScenarioSpec(
        window_start=decision.window_start,
        window_end=decision.window_end,
        away=tuple(Away(p.user_id, p.starts_at, p.ends_at) for p in scenario.away_periods.all()),
        team_id=decision.team_id,
        mitigations=frozenset(scenario.mitigations),
        backup_overrides={o.user_id: o.backup_id for o in scenario.backup_overrides.all()},
        internal_saving_minor=decision.saving_minor,
        calibration=dict(calibration or {}),
    )


def current_calibration() -> dict[str, float]:
    """actual / predicted factors from every reviewed decision (the engine pools them)."""
    reviews = list(DecisionReview.objects.filter(decision__state=DecisionState.REVIEWED).only("results"))
    if not reviews:
        return {}
    from .actuals import calibration_from

    return dict(calibration_from([r.ratios() for r in reviews]))


def run_assessment(spec: ScenarioSpec, *, now: datetime | None = None) -> Assessment:
    """The engine's entry point (a seam for tests that fake it)."""
    return assess(spec, now=now)


def _jsonable(value: Any) -> Any:
    """The engine's `inputs` made JSON-safe (it promises to_json() is; inputs may hold dates)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@transaction.atomic
def decision_assess(
    *, actor: User, decision: Decision, at: datetime | None = None
) -> list[AssessmentSnapshot]:
    """Assess every scenario on the same figures, store one snapshot each; the decision is then assessed."""
    decision, at = _begin(actor, decision, at, editable=True)
    scenarios = list(decision.scenarios.prefetch_related("away_periods", "backup_overrides"))
    if not any(s.away_periods.all() for s in scenarios):
        raise DomainError(_("Say who is away when in at least one scenario before assessing."))
    calibration = current_calibration()
    snapshots = []
    for scenario in scenarios:
        scenario.decision = decision
        try:
            result = run_assessment(spec_for(scenario, calibration=calibration), now=at)
        except ValidationError as exc:
            raise DomainError(
                _("%(scenario)s cannot be assessed: %(problem)s")
                % {"scenario": scenario.name, "problem": " ".join(exc.messages)}
            ) from exc
        snapshots.append(
            AssessmentSnapshot.objects.create(
                scenario=scenario,
                computed_at=at,
                computed_by=actor,
                result=result.to_json(),
                inputs=_jsonable(getattr(result, "inputs", {}) or {}),
                calibration=calibration,
            )
        )
    decision.state = DecisionState.ASSESSED
    decision.updated_at = at
    decision.save(update_fields=["state", "updated_at"])
    return snapshots


def latest_snapshot(scenario: Scenario) -> AssessmentSnapshot | None:
    return scenario.snapshots.order_by("-computed_at", "-id").first()


# ------------------------------------------------------------------------------------ approval


def missing_answers(decision: Decision) -> list[str]:
    return [str(QUESTIONS[name]) for name in ANSWER_FIELDS if not (getattr(decision, name) or "").strip()]


@transaction.atomic
def decision_approve(
    *, actor: User, decision: Decision, scenario: Scenario, at: datetime | None = None
) -> Decision:
    """Approve one scenario: needs the current assessment and the four answers; creates the absences."""
    decision, at = _begin(actor, decision, at)
    if decision.state != DecisionState.ASSESSED:
        if decision.state == DecisionState.DRAFT:
            raise DomainError(_("Assess the decision (again) before approving it: it changed since."))
        raise DomainError(_("This decision is already approved."))
    if scenario.decision_id != decision.pk:
        raise DomainError(_("Choose one of this decision's scenarios."), field="scenario")
    if latest_snapshot(scenario) is None:
        raise DomainError(_("This scenario has no assessment yet."), field="scenario")
    missing = missing_answers(decision)
    if missing:
        raise DomainError(
            _("Answer each of the four questions before approving. Missing: %(questions)s")
            % {"questions": " · ".join(missing)},
            field="answer_impact",
        )
    periods = list(scenario.away_periods.select_related("user"))
    if not periods:
        raise DomainError(_("This scenario takes nobody away."), field="scenario")
    reason = _("Decision: %(title)s") % {"title": decision.title}
    created = []
    for period in periods:
        try:
            created.append(
                absence_create(
                    actor=actor,
                    user=period.user,
                    starts_at=period.starts_at,
                    ends_at=period.ends_at,
                    reason=reason[:200],
                )
            )
        except DomainError as exc:
            raise DomainError(
                _("%(person)s cannot be taken away: %(problem)s")
                % {"person": period.user, "problem": exc.message},
                field="scenario",
            ) from exc
    decision.absences.add(*created)
    decision.state = DecisionState.APPROVED
    decision.approved_scenario = scenario
    decision.approved_by = actor
    decision.approved_at = at
    decision.updated_at = at
    decision.save(update_fields=["state", "approved_scenario", "approved_by", "approved_at", "updated_at"])
    return decision


# ------------------------------------------------------------------------------------ action plan


@dataclass
class PlanOutcome:
    done: int = 0
    already: int = 0
    skipped: list[str] = field(default_factory=list)


def approved_assessment(decision: Decision) -> tuple[AssessmentSnapshot | None, Assessment | None]:
    if decision.approved_scenario_id is None:
        return None, None
    snap = (
        AssessmentSnapshot.objects.filter(scenario_id=decision.approved_scenario_id)
        .order_by("-computed_at", "-id")
        .first()
    )
    return snap, (Assessment.from_json(snap.result) if snap else None)


def plan_targets(decision: Decision, assessment: Assessment) -> dict[int, int | None]:
    """Whom each case of the plan goes to: the colleague the assessment assigned (a mitigation or a
    backup override), else a present adviser of the decision's team, in turn (the least given first).

    "Present" means away neither in the approved scenario nor in a recorded absence while the owner is
    away. None when nobody is present. A fixed number of queries whatever the number of cases.
    """
    rows = assessment.cases_to_reassign
    targets: dict[int, int | None] = {r.case_id: r.to_user_id for r in rows}
    open_rows = [r for r in rows if r.to_user_id is None]
    if not open_rows:
        return targets
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    for a in assessment.spec.away:
        spans.setdefault(a.user_id, []).append((a.starts_at, a.ends_at))
    staff = User.objects.filter(is_active=True, role=Role.ADVISER)
    if decision.team_id is not None:
        staff = staff.filter(team_id=decision.team_id)
    candidates = sorted(staff.values_list("pk", flat=True))
    for uid, start, end in (
        Absence.objects.filter(user_id__in=candidates)
        .overlapping(decision.window_start, decision.window_end)
        .values_list("user_id", "starts_at", "ends_at")
    ):
        spans.setdefault(uid, []).append((start, end))
    given: dict[int, int] = dict.fromkeys(candidates, 0)

    def free(uid: int, owner_spans: list[tuple[datetime, datetime]]) -> bool:
        return not any(s < oe and e > os for os, oe in owner_spans for s, e in spans.get(uid, []))

    for r in open_rows:
        owner_spans = spans.get(r.from_user_id, [(decision.window_start, decision.window_end)])
        present = [uid for uid in candidates if uid != r.from_user_id and free(uid, owner_spans)]
        if present:
            chosen = min(present, key=lambda uid: (given[uid], uid))
            given[chosen] += 1
            targets[r.case_id] = chosen
    return targets


def _summaries(case: Case, decision: Decision, away: User) -> tuple[str, str]:
    first = case.messages.filter(direction=Direction.INBOUND).order_by("created_at", "id").first()
    need = case.subject if first is None else f"{case.subject}: {first.body}"
    need = " ".join(need.split())[:600]
    if summary_problem(need):
        need = _("The customer's request: %(subject)s (see the first message for their words).") % {
            "subject": case.subject
        }
    step = case.commitments.filter(state=CommitmentState.OPEN).order_by("due_at").first()
    done = _(
        'Status %(status)s. %(owner)s is away for the decision "%(title)s" (%(start)s – %(end)s), '
        "so the case is handed over with its history."
    ) % {
        "status": case.get_status_display(),
        "owner": away,
        "title": decision.title,
        "start": _when(decision.window_start),
        "end": _when(decision.window_end),
    }
    if step is not None:
        done += " " + _("Open next step: %(step)s, due %(due)s.") % {
            "step": step.description,
            "due": _when(step.due_at),
        }
    return need, done


def _plan_item(
    decision: Decision, key: str, kind: str, case_id: int | None, detail: str, at: datetime
) -> None:
    PlanAction.objects.create(
        decision=decision, item=key[:40], kind=kind, case_id=case_id, detail=detail[:300], done_at=at
    )


@transaction.atomic
def decision_carry_out_plan(*, actor: User, decision: Decision, at: datetime | None = None) -> PlanOutcome:
    """Carry out the approved scenario's action plan in one step: hand cases over (with summaries), tell
    customers with next steps in the window, move next steps when that mitigation applies. Each item is
    recorded once (PlanAction), so running it again does nothing twice."""
    decision, at = _begin(actor, decision, at)
    if decision.state not in (DecisionState.APPROVED, DecisionState.IN_EFFECT):
        raise DomainError(_("Approve the decision before carrying out its action plan."))
    snap, assessment = approved_assessment(decision)
    if assessment is None:
        raise DomainError(_("The approved scenario has no assessment."))
    targets = plan_targets(decision, assessment)
    reassign = [(r.case_id, r.from_user_id, targets.get(r.case_id)) for r in assessment.cases_to_reassign]
    notify = [(r.customer_id, r.case_id, r.commitment_id) for r in assessment.customers_to_notify]
    mitigations = set(decision.approved_scenario.mitigations if decision.approved_scenario else [])
    done_keys = set(PlanAction.objects.filter(decision=decision).values_list("item", flat=True))
    outcome = PlanOutcome()
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in={r[2] for r in reassign if r[2]} | {r[1] for r in reassign})
    }
    cases = {c.pk: c for c in Case.objects.filter(pk__in={r[0] for r in reassign} | {n[1] for n in notify})}
    for case_id, from_id, to_id in reassign:
        key = f"reassign:{case_id}"
        if key in done_keys:
            outcome.already += 1
            continue
        case = cases.get(case_id)
        to_user = users.get(to_id) if to_id else None
        if case is None or case.status == Status.CLOSED or case.owner_id != from_id:
            _plan_item(
                decision,
                key,
                ActionKind.SKIPPED,
                case_id,
                _("The case closed or changed owner meanwhile."),
                at,
            )
            outcome.skipped.append(_("Case %(id)s: closed or changed owner meanwhile.") % {"id": case_id})
            continue
        if to_user is None:
            _plan_item(decision, key, ActionKind.SKIPPED, case_id, _("Nobody to hand it to."), at)
            outcome.skipped.append(_("Case %(id)s: nobody to hand it to.") % {"id": case_id})
            continue
        need, done = _summaries(case, decision, users.get(from_id) or case.owner)
        try:
            case_hand_off(
                actor=actor, case=case, to_user=to_user, customer_need=need, done_so_far=done, at=at
            )
        except DomainError as exc:
            _plan_item(decision, key, ActionKind.SKIPPED, case_id, str(exc.message), at)
            outcome.skipped.append(f"#{case_id}: {exc.message}")
            continue
        _plan_item(
            decision, key, ActionKind.HANDOFF, case_id, _("Handed to %(user)s.") % {"user": to_user}, at
        )
        outcome.done += 1
    for _customer_id, case_id, commitment_id in notify:
        key = f"notify:{case_id}:{commitment_id or 0}"
        if key in done_keys:
            outcome.already += 1
            continue
        case = cases.get(case_id)
        if case is None or case.status == Status.CLOSED:
            _plan_item(decision, key, ActionKind.SKIPPED, case_id, _("The case is closed."), at)
            continue
        case.refresh_from_db()
        kind, detail = _tell_customer(
            actor, case, decision, commitment_id, move="move_next_steps" in mitigations, at=at
        )
        _plan_item(decision, key, kind, case_id, detail, at)
        if kind == ActionKind.SKIPPED:
            outcome.skipped.append(f"#{case_id}: {detail}")
        else:
            outcome.done += 1
    if decision.plan_carried_out_at is None:
        decision.plan_carried_out_at = at
        decision.plan_carried_out_by = actor
        decision.save(update_fields=["plan_carried_out_at", "plan_carried_out_by"])
    return outcome


def _tell_customer(
    actor: User, case: Case, decision: Decision, commitment_id: int | None, *, move: bool, at: datetime
) -> tuple[str, str]:
    """Tell the customer in advance (a reply through the outbox); move the next step after the window."""
    step = (
        Commitment.objects.filter(pk=commitment_id, case=case, state=CommitmentState.OPEN).first()
        if commitment_id
        else None
    )
    try:
        if move and step is not None and step.due_at < decision.window_end:
            commitment_resolve(
                actor=actor,
                commitment=step,
                state=CommitmentState.CANCELLED,
                note=_('Moved after the window of "%(title)s".') % {"title": decision.title},
                at=at,
            )
            # As far after the window as it was into it, and never before the window ends.
            new_due = max(step.due_at + (decision.window_end - decision.window_start), decision.window_end)
            commitment_set(actor=actor, case=case, description=step.description, due_at=new_due, at=at)
            return ActionKind.MOVE_STEP, _("Next step moved to %(due)s.") % {"due": _when(new_due)}
        body = _(
            "Dear customer, between %(start)s and %(end)s the people who usually handle your request are "
            "away. Your case stays in good hands: whoever covers it sees its whole history, so you will not "
            "need to explain anything again."
        ) % {"start": _when(decision.window_start), "end": _when(decision.window_end)}
        if step is not None:
            body += " " + _("Your next step (%(step)s, due %(due)s) is planned and followed.") % {
                "step": step.description,
                "due": _when(step.due_at),
            }
        case_reply(actor=actor, case=case, body=body, at=at)
    except DomainError as exc:
        return ActionKind.SKIPPED, str(exc.message)
    return ActionKind.NOTIFY, _("Customer told in advance.")


# ------------------------------------------------------------------------------------ in effect, review


@transaction.atomic
def decision_mark_in_effect(*, actor: User, decision: Decision, at: datetime | None = None) -> Decision:
    decision, at = _begin(actor, decision, at)
    if decision.state != DecisionState.APPROVED:
        raise DomainError(_("Only an approved decision can take effect."))
    decision.state = DecisionState.IN_EFFECT
    decision.in_effect_at = at
    decision.updated_at = at
    decision.save(update_fields=["state", "in_effect_at", "updated_at"])
    return decision


@transaction.atomic
def decision_review(
    *, actor: User, decision: Decision, note: str = "", at: datetime | None = None
) -> DecisionReview:
    """After the window: predicted against actual for the approved scenario; the ratios are kept."""
    decision, at = _begin(actor, decision, at)
    if decision.state != DecisionState.IN_EFFECT:
        raise DomainError(_("Only a decision in effect can be reviewed."))
    if at < decision.window_end:
        raise DomainError(_("Review after the window ends (%(end)s).") % {"end": _when(decision.window_end)})
    snap, assessment = approved_assessment(decision)
    if snap is None or assessment is None or decision.approved_scenario is None:
        raise DomainError(_("The approved scenario has no assessment."))
    from .actuals import measure_actual

    spec = spec_for(decision.approved_scenario, calibration=snap.calibration or {})
    results = _jsonable(measure_actual(spec, assessment, now=at))
    review = DecisionReview.objects.create(
        decision=decision,
        snapshot=snap,
        measured_at=at,
        measured_by=actor,
        results=results,
        note=(note or "").strip(),
    )
    decision.state = DecisionState.REVIEWED
    decision.updated_at = at
    decision.save(update_fields=["state", "updated_at"])
    return review
