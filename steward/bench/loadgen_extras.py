"""Load data of the surveys and costs apps, hung on each generated case (issue 9).

What the services would have written for a played case (`loadgen.CaseSim`), step for step:

- `surveys.services.survey_send`, scheduled by the receiver on the case's first SOLUTION_CONFIRMED or
  CLOSED_UNCONFIRMED and run by the task seconds later: one case survey per case (a reopened and
  re-closed case keeps its first survey), `asks_solved` when the case closed unconfirmed, the link
  valid STEWARD_SURVEY_LINK_DAYS, event SURVEY_SENT (no actor). History is muted: no mail, no webhook.
- `survey_answer` for about a third of them, before the link expires: a SurveyResponse with the
  questions the questionnaire asks a case survey (CSAT, CES, solved when asked, the three yes/no
  questions, sometimes a comment; no NPS, which only the relationship survey asks), event
  SURVEY_ANSWERED; a low CSAT or "not solved" opens a FollowUp for the manager of the owner's team
  (`follow_up_assignee`) with event SURVEY_FOLLOW_UP, most of them done later (SURVEY_FOLLOW_UP_DONE).
- `nps_campaign_run` once a quarter (segment: customers with a case closed in the last 90 days, as
  `selectors.segment_customers` reads it at the campaign's date; the quarter is longer than the quiet
  period, so nobody is skipped): relationship surveys (NPS 0-10 and a comment), a quarter of them
  answered; a detractor opens a follow-up for the manager who sent the campaign (no case, no event).
- `costs.services.compensation_request` on some closed complaints, by the acting owner: within the
  approval limit approved at once (two events at the same instant), above it decided later by a
  manager (`compensation_decide`), a few still pending.

Scores follow the case's shape (handoffs, reopenings, an unconfirmed closure, a complaint, a long case
lower them). A random generator of its own keeps the cases themselves identical to a run without it.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from steward.accounts.models import Role, User
from steward.cases.models import Closure, EventKind, Kind
from steward.costs.demo import REASONS
from steward.costs.models import Compensation, CompensationKind, CompensationState
from steward.costs.money import exponent, org_currency
from steward.costs.services import approval_limit_minor
from steward.notifications.notices import mail_language
from steward.surveys import questionnaire
from steward.surveys.demo import COMMENTS_BAD, COMMENTS_GOOD, DONE_NOTES
from steward.surveys.models import (
    CampaignState,
    FollowUp,
    FollowUpReason,
    FollowUpState,
    NpsCampaign,
    Survey,
    SurveyKind,
    SurveyResponse,
)
from steward.surveys.services import LOW_CSAT, NPS_DETRACTOR

from .loadgen import CaseSim, Context, Ids, Person, Sink, _cum, _pick

# Response rates: customers who confirmed answer more often than those whose case was closed for them.
RESPONSE_RATE: dict[str, float] = {Closure.CONFIRMED: 0.38, Closure.UNCONFIRMED: 0.22}
COMPENSATION_SHARE = 0.15  # of the closed complaints
# Amounts in major units of the organisation's currency, with their weights (most are small gestures).
AMOUNTS = [(10, 20), (15, 15), (25, 20), (40, 12), (50, 10), (75, 9), (120, 7), (150, 4), (250, 3)]
COMPENSATION_KINDS = [
    (CompensationKind.REFUND, 35),
    (CompensationKind.CREDIT, 30),
    (CompensationKind.GOODWILL, 25),
    (CompensationKind.REPLACEMENT, 10),
]
REJECT_NOTE = "Already credited on the last invoice."
FOLLOW_UP_DONE_SHARE = 0.85

SURVEY_COLUMNS = [
    "id",
    "kind",
    "case_id",
    "customer_id",
    "campaign_id",
    "language",
    "questionnaire_version",
    "asks_solved",
    "token_hash",
    "sent_at",
    "expires_at",
    "responded_at",
    "sent_by_id",
]
RESPONSE_COLUMNS = [
    "id",
    "survey_id",
    "case_id",
    "customer_id",
    "kind",
    "responded_at",
    "questionnaire_version",
    "csat",
    "ces",
    "nps",
    "solved",
    "explained_more_than_once",
    "knew_owner_and_next_step",
    "solved_first_contact",
    "comment",
]
FOLLOW_UP_COLUMNS = [
    "id",
    "response_id",
    "case_id",
    "customer_id",
    "assignee_id",
    "reason",
    "state",
    "created_at",
    "due_at",
    "done_at",
    "done_by_id",
    "resolution_note",
]
COMPENSATION_COLUMNS = [
    "id",
    "case_id",
    "kind",
    "amount_minor",
    "currency",
    "original_amount_minor",
    "original_currency",
    "fx_rate",
    "reason",
    "requested_by_id",
    "approved_by_id",
    "rejected_by_id",
    "needs_approval",
    "state",
    "decision_note",
    "created_at",
    "decided_at",
]
CAMPAIGN_COLUMNS = [
    "id",
    "created_by_id",
    "created_at",
    "segment",
    "matched",
    "sent",
    "skipped",
    "state",
    "finished_at",
]
NPS_EVERY = timedelta(days=91)  # longer than the default quiet period (STEWARD_NPS_QUIET_DAYS = 90)
NPS_WINDOW_DAYS = 90  # the segment: closed within the last 90 days
NPS_RESPONSE_RATE = 0.25
MODELS_AND_COLUMNS = [
    (NpsCampaign, CAMPAIGN_COLUMNS),
    (Survey, SURVEY_COLUMNS),
    (SurveyResponse, RESPONSE_COLUMNS),
    (FollowUp, FOLLOW_UP_COLUMNS),
    (Compensation, COMPENSATION_COLUMNS),
]


@dataclass
class Extras:
    """What the hooks read once per run (settings, the questionnaire, who follows up)."""

    ctx: Context
    rng: random.Random
    prefix: str
    version: int
    csat_max: int
    ces_max: int
    link: timedelta
    follow_up_days: timedelta
    currency: str
    scale: int
    limit: int
    managers_by_team: dict[int, tuple[int, int | None]]  # team -> (manager id, sector id)
    first_manager: tuple[int, int | None] | None
    campaigns: list[datetime]  # when each quarterly NPS campaign went out
    # Per campaign: the customers in its segment, with how badly their recent cases went (the worst).
    segments: list[dict[int, float]]

    # ---------------------------------------------------------------- the case survey

    def survey(self, sim: CaseSim) -> None:
        if sim.first_close is None:
            return
        rng, ctx = self.rng, self.ctx
        closed_at, closure = sim.first_close
        sent_at = closed_at + timedelta(seconds=rng.uniform(2, 120))  # the task, after the commit
        if sent_at > ctx.end:
            return
        survey_id = ctx.ids.take(Survey)
        language = mail_language(sim.lang)
        expires_at = sent_at + self.link
        asks_solved = closure == Closure.UNCONFIRMED
        # 6 minutes to 2 weeks, most within the first day.
        answered_at = sent_at + timedelta(hours=0.1 * (24 * 14 / 0.1) ** (rng.random() ** 1.6))
        answered = (
            rng.random() < RESPONSE_RATE[closure] and answered_at < expires_at and answered_at <= ctx.end
        )
        # token: only a hash is stored; nobody holds the raw token of a generated survey.
        token = hashlib.sha256(f"loadgen:{survey_id}:{rng.getrandbits(64)}".encode()).hexdigest()
        ctx.sinks[Survey].add(
            (
                survey_id,
                SurveyKind.CASE,
                sim.id,
                sim.customer_id,
                None,
                language,
                self.version,
                asks_solved,
                token,
                sent_at,
                expires_at,
                answered_at if answered else None,
                None,
            )
        )
        email = f"{self.prefix}-customer-{sim.customer_id}@example.com"
        sim.late_event(
            sent_at, EventKind.SURVEY_SENT, None, {"survey": survey_id, "to": email, "language": language}
        )
        if answered:
            self._answer(sim, survey_id, answered_at, asks_solved)

    def _trouble(self, sim: CaseSim) -> float:
        closed_at, closure = sim.first_close or (sim.at, "")
        long_case = (closed_at - sim.created_at) > timedelta(days=7)
        return (
            0.7 * min(sim.handoffs, 2)
            + 1.0 * min(sim.reopen_count, 2)
            + (1.5 if closure == Closure.UNCONFIRMED else 0.0)
            + (0.6 if sim.kind == Kind.COMPLAINT else 0.0)
            + (0.5 if long_case else 0.0)
        )

    def _answer(self, sim: CaseSim, survey_id: int, at: datetime, asks_solved: bool) -> None:
        rng, ctx = self.rng, self.ctx
        trouble = min(self._trouble(sim), 3.5)
        on5 = rng.gauss(4.55 - 0.75 * trouble, 0.85)  # satisfaction on a 1-5 scale, before rounding
        csat = max(1, min(self.csat_max, round(1 + (on5 - 1) * (self.csat_max - 1) / 4)))
        ces: int | None = max(1, min(self.ces_max, round(rng.gauss(6.2 - 1.1 * trouble, 1.0))))
        if rng.random() < 0.05:
            ces = None  # an optional question skipped
        solved = (rng.random() < 0.6 - 0.1 * trouble) if asks_solved else None
        explained = rng.random() < 0.08 + 0.2 * min(sim.handoffs + sim.reopen_count, 3)
        knew = rng.random() < 0.92 - 0.12 * trouble
        first_contact = (
            sim.reopen_count == 0 and sim.handoffs == 0 and rng.random() < 0.7 - 0.1 * sim.messages
        )
        comment = ""
        if rng.random() < 0.25:
            comment = rng.choice(COMMENTS_GOOD if on5 >= 3.5 else COMMENTS_BAD)
        response_id = ctx.ids.take(SurveyResponse)
        ctx.sinks[SurveyResponse].add(
            (
                response_id,
                survey_id,
                sim.id,
                sim.customer_id,
                SurveyKind.CASE,
                at,
                self.version,
                csat,
                ces,
                None,
                solved,
                explained,
                knew,
                first_contact,
                comment,
            )
        )
        answers: dict[str, Any] = {"csat": csat}
        if ces is not None:
            answers["ces"] = ces
        if solved is not None:
            answers["solved"] = solved
        answers["explained_more_than_once"] = explained
        answers["knew_owner_and_next_step"] = knew
        answers["solved_first_contact"] = first_contact
        sim.late_event(
            at, EventKind.SURVEY_ANSWERED, None, {"survey": survey_id, "response": response_id, **answers}
        )
        # services.is_low_score: the bottom two boxes of 1-5 (three of 1-7), else "not solved".
        low = LOW_CSAT if self.csat_max == 5 else 3
        reason = (
            FollowUpReason.LOW_CSAT if csat <= low else FollowUpReason.NOT_SOLVED if solved is False else ""
        )
        if reason:
            self._follow_up(sim, response_id, at, reason)

    def _follow_up(self, sim: CaseSim, response_id: int, at: datetime, reason: str) -> None:
        rng, ctx = self.rng, self.ctx
        # services.follow_up_assignee: the manager of the owner's team, of the case's team, else the first.
        assignee = self.managers_by_team.get(sim.owner.team_id or 0) or self.first_manager
        follow_up_id = ctx.ids.take(FollowUp)
        done_at = at + timedelta(hours=1 * 72 ** rng.random())
        done = assignee is not None and rng.random() < FOLLOW_UP_DONE_SHARE and done_at <= ctx.end
        note = rng.choice(DONE_NOTES) if done else ""
        ctx.sinks[FollowUp].add(
            (
                follow_up_id,
                response_id,
                sim.id,
                sim.customer_id,
                assignee[0] if assignee else None,
                reason,
                FollowUpState.DONE if done else FollowUpState.OPEN,
                at,
                at + self.follow_up_days,
                done_at if done else None,
                assignee[0] if done and assignee else None,
                note,
            )
        )
        sim.late_event(
            at,
            EventKind.SURVEY_FOLLOW_UP,
            None,
            {"follow_up": follow_up_id, "reason": reason, "assignee": assignee[0] if assignee else None},
        )
        if done and assignee is not None:
            # services.follow_up_complete by the assignee: the event carries the manager's sector.
            manager_id, sector_id = assignee
            data = {"follow_up": follow_up_id, "note": note}
            sim.late.append((done_at, EventKind.SURVEY_FOLLOW_UP_DONE, manager_id, sector_id, data))

    # ---------------------------------------------------------------- relationship NPS

    def nps_segment(self, sim: CaseSim) -> None:
        """Which campaign's segment this case puts its customer in: closed at the campaign's date,
        closed within the window before it (one campaign at most per closed interval)."""
        if not sim.closed_intervals:
            return
        trouble = self._trouble(sim)
        for closed_from, closed_until in sim.closed_intervals:
            i = bisect.bisect_left(self.campaigns, closed_from)
            if i == len(self.campaigns):
                continue
            at = self.campaigns[i]
            if at - closed_from <= timedelta(days=NPS_WINDOW_DAYS) and (
                closed_until is None or closed_until > at
            ):
                seg = self.segments[i]
                seg[sim.customer_id] = max(seg.get(sim.customer_id, 0.0), trouble)

    def nps_campaigns(self) -> None:
        """nps_campaign_run for each quarter, with its surveys, answers and detractor follow-ups."""
        rng, ctx = self.rng, self.ctx
        sender = ctx.staff.managers[0]
        languages = {cid: mail_language(lang) for cid, lang in ctx.customers}
        for at, segment in zip(self.campaigns, self.segments, strict=True):
            if not segment:
                continue
            campaign_id = ctx.ids.take(NpsCampaign)
            ctx.sinks[NpsCampaign].add(
                (
                    campaign_id,
                    sender.id,
                    at,
                    {"closed_within_days": NPS_WINDOW_DAYS},
                    len(segment),
                    len(segment),
                    0,
                    CampaignState.DONE,
                    at + timedelta(minutes=1 + len(segment) // 2000),
                )
            )
            for customer_id in sorted(segment):
                survey_id = ctx.ids.take(Survey)
                answered_at = at + timedelta(hours=0.5 * (24 * 20 / 0.5) ** (rng.random() ** 1.6))
                answered = rng.random() < NPS_RESPONSE_RATE and answered_at <= ctx.end
                token = hashlib.sha256(f"loadgen:{survey_id}:{rng.getrandbits(64)}".encode()).hexdigest()
                ctx.sinks[Survey].add(
                    (
                        survey_id,
                        SurveyKind.RELATIONSHIP,
                        None,
                        customer_id,
                        campaign_id,
                        languages.get(customer_id, "en"),
                        self.version,
                        False,
                        token,
                        at,
                        at + self.link,
                        answered_at if answered else None,
                        sender.id,
                    )
                )
                if not answered:
                    continue
                trouble = min(segment[customer_id], 3.5)
                score = max(0, min(10, round(rng.gauss(9.0 - 1.0 * trouble, 1.6))))
                comment = ""
                if rng.random() < 0.2:
                    comment = rng.choice(COMMENTS_GOOD if score >= 7 else COMMENTS_BAD)
                response_id = ctx.ids.take(SurveyResponse)
                ctx.sinks[SurveyResponse].add(
                    (
                        response_id,
                        survey_id,
                        None,
                        customer_id,
                        SurveyKind.RELATIONSHIP,
                        answered_at,
                        self.version,
                        None,
                        None,
                        score,
                        None,
                        None,
                        None,
                        None,
                        comment,
                    )
                )
                if score <= NPS_DETRACTOR:
                    # follow_up_assignee without a case: the manager who sent the campaign. No case event.
                    done_at = answered_at + timedelta(hours=1 * 72 ** rng.random())
                    done = rng.random() < FOLLOW_UP_DONE_SHARE and done_at <= ctx.end
                    ctx.sinks[FollowUp].add(
                        (
                            ctx.ids.take(FollowUp),
                            response_id,
                            None,
                            customer_id,
                            sender.id,
                            FollowUpReason.DETRACTOR,
                            FollowUpState.DONE if done else FollowUpState.OPEN,
                            answered_at,
                            answered_at + self.follow_up_days,
                            done_at if done else None,
                            sender.id if done else None,
                            rng.choice(DONE_NOTES) if done else "",
                        )
                    )

    # ---------------------------------------------------------------- compensation

    def compensation(self, sim: CaseSim) -> None:
        if sim.kind != Kind.COMPLAINT or sim.first_close is None:
            return
        rng, ctx = self.rng, self.ctx
        if rng.random() >= COMPENSATION_SHARE:
            return
        at = sim.first_close[0] + timedelta(hours=0.2 * 120 ** rng.random())  # 12 minutes to a day
        if at > ctx.end:
            return
        actor: Person = sim.owner
        if actor.is_away(at) and actor.backup_id:  # services.can_act: the backup while the owner is away
            actor = ctx.staff.by_id.get(actor.backup_id, actor)
        kind = _pick(rng, KIND_T)
        amount = _pick(rng, AMOUNT_T) * self.scale
        needs_approval = amount > self.limit
        comp_id = ctx.ids.take(Compensation)
        reason = REASONS[kind]
        state: str = CompensationState.APPROVED
        approved_by: int | None = actor.id
        rejected_by: int | None = None
        decided_at: datetime | None = at
        note = ""
        decider: Person | None = None
        if needs_approval:
            state, approved_by, decided_at = CompensationState.PENDING, None, None
            decide_at = at + timedelta(hours=1 * 72 ** rng.random())
            if rng.random() < 0.95 and decide_at <= ctx.end:
                decider = rng.choice(ctx.staff.managers)
                decided_at = decide_at
                if rng.random() < 0.85:
                    state, approved_by = CompensationState.APPROVED, decider.id
                else:
                    state, rejected_by, note = CompensationState.REJECTED, decider.id, REJECT_NOTE
        ctx.sinks[Compensation].add(
            (
                comp_id,
                sim.id,
                kind,
                amount,
                self.currency,
                amount,
                self.currency,
                None,
                reason,
                actor.id,
                approved_by,
                rejected_by,
                needs_approval,
                state,
                note,
                at,
                decided_at,
            )
        )
        sim.late_event(
            at,
            EventKind.COMPENSATION_REQUESTED,
            actor,
            {"compensation": comp_id, "kind": kind, "needs_approval": needs_approval, "reason": reason},
        )
        if not needs_approval:
            sim.late_event(
                at,
                EventKind.COMPENSATION_APPROVED,
                actor,
                {"compensation": comp_id, "kind": kind, "within_limit": True},
            )
        elif decider is not None and decided_at is not None:
            data: dict[str, Any] = {"compensation": comp_id, "kind": kind}
            if note:
                data["reason"] = note
            approved = state == CompensationState.APPROVED
            sim.late_event(
                decided_at,
                EventKind.COMPENSATION_APPROVED if approved else EventKind.COMPENSATION_REJECTED,
                decider,
                data,
            )


KIND_T = _cum([(k.value, w) for k, w in COMPENSATION_KINDS])
AMOUNT_T = _cum([(a, w) for a, w in AMOUNTS])


def _managers() -> tuple[dict[int, tuple[int, int | None]], tuple[int, int | None] | None]:
    """follow_up_assignee's lookups, once: active managers by team (lowest id first), and the first."""
    by_team: dict[int, tuple[int, int | None]] = {}
    first: tuple[int, int | None] | None = None
    rows = User.objects.filter(is_active=True, role=Role.MANAGER).order_by("id")
    for pk, team_id, sector_id in rows.values_list("id", "team_id", "sector_id"):
        if first is None:
            first = (pk, sector_id)
        if team_id is not None and team_id not in by_team:
            by_team[team_id] = (pk, sector_id)
    return by_team, first


def install(ctx: Context, ids: Ids, *, seed: int, prefix: str, start: datetime) -> list[type[Any]]:
    """Add the sinks and the per-case hooks to `ctx`; returns the models written."""

    for model, columns in MODELS_AND_COLUMNS:
        ids.start(model)
        ctx.sinks[model] = Sink(model, columns)
    version = questionnaire.current_version()
    currency = org_currency()
    by_team, first = _managers()
    campaigns = []
    at = start + timedelta(days=100, hours=10)  # a quarter of history first, then every quarter
    while at <= ctx.end - timedelta(days=7):
        campaigns.append(at)
        at += NPS_EVERY
    extras = Extras(
        ctx=ctx,
        rng=random.Random(f"loadgen-extras-{seed}"),
        prefix=prefix,
        version=version.number,
        csat_max=version.csat_max,
        ces_max=version.ces_max,
        link=timedelta(days=settings.STEWARD_SURVEY_LINK_DAYS),
        follow_up_days=timedelta(days=settings.STEWARD_SURVEY_FOLLOW_UP_DAYS),
        currency=currency,
        scale=10 ** exponent(currency),
        limit=approval_limit_minor(),
        managers_by_team=by_team,
        first_manager=first,
        campaigns=campaigns,
        segments=[{} for _ in campaigns],
    )
    # Order matters for the event log: the survey is sent on closure, compensation comes later.
    ctx.case_hooks += [extras.survey, extras.compensation, extras.nps_segment]
    ctx.finishers.append(extras.nps_campaigns)
    return [model for model, _columns in MODELS_AND_COLUMNS]
