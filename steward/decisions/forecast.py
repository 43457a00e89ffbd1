"""History read for the decision impact assessment: demand, handling time, contacts per open case and
the dissatisfaction share per exposure. Every function is a fixed number of aggregate queries.

Definitions (Steward-defined, metrics.md §5.2 leaves them open):
- A contact is an inbound customer message that is not automatic (auto-replies, bounces), counted on the
  message's channel. Opening a case records its first inbound message, so every new case counts once as a
  contact and a follow-up message counts again. Outbound replies, notes and sector work are not contacts.
- Demand λ per channel, weekday and hour: contacts in the `weeks` whole weeks before the window (or before
  now, for a window that has not started), bucketed in the team's time zone, divided by the weeks. When
  the history starts later the weeks since the first contact are used (flag `short_history`).
- Handling time per channel (AHT): the front-line time the cost ledger books for that channel's work,
  (replies × reply minutes + notes × note minutes of STEWARD_CONTACT_MINUTES) / contacts, over the whole
  clock hours (UTC) of the same weeks (`whole_hours`: the partial hours at both ends are left out, under
  two hours of 8 weeks in a ratio; counting them would scan every reply, which has no time index).
  With fewer than the minimum sample of contacts, or no booked minutes, the configured
  STEWARD_DECISION_DEFAULT_AHT_SECONDS stands in (flag `aht_default`).
- Contacts per open case per day, by case kind: follow-up contacts (inbound, after the case was opened)
  in the history weeks / the days those cases were open within them.
- Dissatisfaction share per exposure: 5-point case-survey answers of the last 365 days with CSAT ≤ 3,
  among answered cases that had the exposure:
  owner_absent = the case's owner had an absence overlapping the time the case was open;
  missed_commitment = the case has a broken next step;
  long_wait = the first reply took more than STEWARD_DECISION_LONG_WAIT_HOURS business hours.
  The shares are organisation-wide (a team rarely has n_min answers per exposure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay, Greatest, Least

from steward.accounts.models import Absence
from steward.cases.models import Case, Commitment, CommitmentState, Direction, Message, Note
from steward.costs.selectors import contact_minutes
from steward.surveys.models import QuestionnaireVersion, SurveyKind, SurveyResponse

from .contact_hours import hour_floor

DISSATISFIED_MAX = 3  # CSAT ≤ 3 of 5 (metrics.md §5.2 item 4)
P_HISTORY_DAYS = 365
# Used for a channel the setting STEWARD_DECISION_DEFAULT_AHT_SECONDS leaves out.
DEFAULT_AHT_SECONDS = {"phone": 360, "walk_in": 600, "chat": 480, "email": 600, "portal": 600, "api": 600}


def history_bounds(window_start: datetime, now: datetime, weeks: int) -> tuple[datetime, datetime]:
    end = min(window_start, now)
    return end - timedelta(weeks=weeks), end


def whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole UTC clock hours inside [start, end) (an empty range when there are none)."""
    a = hour_floor(start)
    if a < start:
        a += timedelta(hours=1)
    return a, max(a, hour_floor(end))


def _contacts(team_id: int | None, start: datetime, end: datetime) -> Any:
    qs = Message.objects.filter(
        direction=Direction.INBOUND, is_automatic=False, created_at__gte=start, created_at__lt=end
    )
    return qs.filter(case__team_id=team_id) if team_id is not None else qs


@dataclass(frozen=True)
class Demand:
    per_hour: dict[tuple[str, int, int], float]  # (channel, ISO weekday 1-7, hour) -> mean contacts
    weeks: float  # weeks the counts were divided by
    contacts: int
    flags: tuple[str, ...]

    def rate(self, channel: str, at: datetime, tz: ZoneInfo) -> float:
        local = at.astimezone(tz)
        return self.per_hour.get((channel, local.isoweekday(), local.hour), 0.0)


def demand(team_id: int | None, start: datetime, end: datetime, tz: ZoneInfo, weeks: int) -> Demand:
    """Mean contacts per channel, weekday and hour (two queries). The reference for
    contact_hours.history(), which reads the same counts from the hourly rollup."""
    qs = _contacts(team_id, start, end)
    rows = (
        qs.annotate(wd=ExtractIsoWeekDay("created_at", tzinfo=tz), hr=ExtractHour("created_at", tzinfo=tz))
        .values("channel", "wd", "hr")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(r["channel"], int(r["wd"]), int(r["hr"])): int(r["n"]) for r in rows}
    first = qs.aggregate(first=Min("created_at"))["first"]
    return demand_from(counts, first, start, end, weeks)


def demand_from(
    counts: dict[tuple[str, int, int], int],
    first: datetime | None,
    start: datetime,
    end: datetime,
    weeks: int,
) -> Demand:
    """The means from the counts and the first contact of the range (shared by both ways of counting)."""
    flags: list[str] = []
    used = float(weeks)
    if first is None:
        flags.append("no_history")
    elif first > start + timedelta(days=7):
        used = max(1.0, (end - first) / timedelta(weeks=1))
        flags.append("short_history")
    per_hour = {key: n / used for key, n in counts.items() if n}
    return Demand(per_hour, used, sum(counts.values()), tuple(flags))


@dataclass(frozen=True)
class Aht:
    seconds: dict[str, float]
    defaulted: frozenset[str]  # channels on the configured default
    contacts: dict[str, int]


def handling_times(team_id: int | None, start: datetime, end: datetime, n_min: int) -> Aht:
    """AHT per channel from the booked front-line time (two queries; the reference for the rollup)."""
    msgs = Message.objects.filter(created_at__gte=start, created_at__lt=end, is_automatic=False)
    notes = Note.objects.filter(created_at__gte=start, created_at__lt=end)
    if team_id is not None:
        msgs = msgs.filter(case__team_id=team_id)
        notes = notes.filter(case__team_id=team_id)
    by: dict[tuple[str, str], int] = {
        (r["direction"], r["channel"]): r["n"]
        for r in msgs.values("direction", "channel").annotate(n=Count("pk")).order_by()
    }
    note_counts = {
        r["case__channel"]: r["n"] for r in notes.values("case__channel").annotate(n=Count("pk")).order_by()
    }
    return aht_from(by, note_counts, n_min)


def aht_from(by: dict[tuple[str, str], int], note_counts: dict[str, int], n_min: int) -> Aht:
    """AHT per channel from (direction, channel) message counts and notes per case channel."""
    minutes = contact_minutes()
    defaults: dict[str, Any] = {**DEFAULT_AHT_SECONDS, **settings.STEWARD_DECISION_DEFAULT_AHT_SECONDS}
    seconds: dict[str, float] = {}
    defaulted: set[str] = set()
    contacts: dict[str, int] = {}
    for channel, default in defaults.items():
        inbound = by.get((Direction.INBOUND.value, channel), 0)
        contacts[channel] = inbound
        booked = (
            by.get((Direction.OUTBOUND.value, channel), 0) * minutes["reply"]
            + note_counts.get(channel, 0) * minutes["note"]
        )
        if inbound >= max(1, n_min) and booked > 0:
            seconds[channel] = booked * 60 / inbound
        else:
            seconds[channel] = float(default)
            defaulted.add(channel)
    return Aht(seconds, frozenset(defaulted), contacts)


@dataclass(frozen=True)
class ContactRate:
    per_case_day: dict[str, float]  # case kind -> follow-up contacts per open case per day
    contacts: dict[str, int]
    case_days: dict[str, float]


def contact_rates(team_id: int | None, start: datetime, end: datetime) -> ContactRate:
    """Follow-up contacts per open case per day by case kind (two queries)."""
    follow = _contacts(team_id, start, end).filter(created_at__gt=F("case__created_at"))
    contacts = {
        r["case__kind"]: int(r["n"]) for r in follow.values("case__kind").annotate(n=Count("pk")).order_by()
    }
    return rates_from(contacts, case_days(team_id, start, end))


def case_days(team_id: int | None, start: datetime, end: datetime) -> dict[str, float]:
    """Days the team's cases were open within [start, end), by case kind (one query)."""
    cases = Case.objects.filter(created_at__lt=end).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=start))
    if team_id is not None:
        cases = cases.filter(team_id=team_id)
    open_for = ExpressionWrapper(
        Least(Coalesce("closed_at", Value(end)), Value(end)) - Greatest("created_at", Value(start)),
        output_field=DurationField(),
    )
    days: dict[str, float] = {}
    for r in cases.values("kind").annotate(d=Sum(open_for)).order_by():
        d = r["d"]
        days[r["kind"]] = 0.0 if d is None else d / timedelta(days=1)
    return days


def rates_from(contacts: dict[str, int], days: dict[str, float]) -> ContactRate:
    contacts = {kind: n for kind, n in contacts.items() if n}
    rates = {kind: contacts.get(kind, 0) / d for kind, d in days.items() if d > 0}
    return ContactRate(rates, contacts, days)


@dataclass(frozen=True)
class Dissatisfaction:
    counts: dict[str, tuple[int, int]]  # exposure -> (k, n)
    baseline: tuple[int, int]  # every answered case: (k, n)


def five_point() -> Q:
    return Q(questionnaire_version__in=QuestionnaireVersion.objects.filter(csat_max=5).values("number"))


def dissatisfaction(
    now: datetime, *, customer_ids: Any = None, since: datetime | None = None, until: datetime | None = None
) -> Dissatisfaction:
    """k (CSAT ≤ 3) and n per exposure over case-survey answers (one query)."""
    lo = since or now - timedelta(days=P_HISTORY_DAYS)
    hi = until or now
    answers = SurveyResponse.objects.filter(
        five_point(),
        kind=SurveyKind.CASE,
        csat__isnull=False,
        case__isnull=False,
        responded_at__gte=lo,
        responded_at__lt=hi,
    )
    if customer_ids is not None:
        answers = answers.filter(customer_id__in=customer_ids)
    owner_away = Exists(
        Absence.objects.filter(
            user_id=OuterRef("case__owner_id"),
            starts_at__lt=Coalesce(OuterRef("case__closed_at"), Value(now)),
            ends_at__gt=OuterRef("case__created_at"),
        )
    )
    broken = Exists(Commitment.objects.filter(case_id=OuterRef("case_id"), state=CommitmentState.BROKEN))
    long_wait = Q(case__first_response_business_seconds__gt=settings.STEWARD_DECISION_LONG_WAIT_HOURS * 3600)
    low = Q(csat__lte=DISSATISFIED_MAX)
    agg = answers.annotate(owner_away=owner_away, broken=broken).aggregate(
        n_all=Count("pk"),
        k_all=Count("pk", filter=low),
        n_owner=Count("pk", filter=Q(owner_away=True)),
        k_owner=Count("pk", filter=Q(owner_away=True) & low),
        n_missed=Count("pk", filter=Q(broken=True)),
        k_missed=Count("pk", filter=Q(broken=True) & low),
        n_long=Count("pk", filter=long_wait),
        k_long=Count("pk", filter=long_wait & low),
    )
    counts = {
        "owner_absent": (agg["k_owner"], agg["n_owner"]),
        "missed_commitment": (agg["k_missed"], agg["n_missed"]),
        "long_wait": (agg["k_long"], agg["n_long"]),
    }
    return Dissatisfaction(counts, (agg["k_all"], agg["n_all"]))
