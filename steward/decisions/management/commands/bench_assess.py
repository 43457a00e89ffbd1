"""Benchmark the decision impact assessment: a day for a 60-adviser team with 2,000 open cases.

    python manage.py bench_assess [--advisers 60] [--open-cases 2000] [--weeks 9] [--runs 5]

Builds, in the current database and only once (idempotent: a second run reuses it), a team named
"bench-dec <advisers>x<open cases>" with advisers "bench-dec-<n>-adviser-<i>", customers
"bench-dec-<n>-customer-<i>", open cases (a quarter with a next step due in the window), closed history
cases spread over the last `weeks` weeks with their inbound and outbound messages, all through bulk
inserts (no signals, no events: the assessment reads cases, messages, commitments and absences).
Then it times `assess()` for the next Monday with every adviser away, without and with all
mitigations, and prints the median of `runs` and the query count. A benchmark, never a timed test.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from steward.accounts.models import Absence, Role, Team, User
from steward.cases.models import Case, Channel, Commitment, CommitmentState, Direction, Kind, Message, Status
from steward.costs.models import SectorRate
from steward.costs.selectors import front_line_sector_id
from steward.customers.models import Customer
from steward.decisions import contact_hours
from steward.decisions.assessment import MITIGATIONS, AwayPeriod, ScenarioSpec, assess
from steward.sectors.models import Distance, Sector
from steward.surveys import questionnaire
from steward.surveys.models import Survey, SurveyKind, SurveyResponse

PREFIX = "bench-dec"
CHANNEL_MIX = [Channel.EMAIL] * 5 + [Channel.PHONE] * 3 + [Channel.PORTAL, Channel.CHAT]


def next_monday(now: datetime) -> datetime:
    day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(7 - day.weekday()) or 7)


def _advisers(team: Team, prefix: str, n: int, password: str) -> None:
    User.objects.bulk_create(
        User(
            username=f"{prefix}-{i}", password=password, role=Role.ADVISER, team=team, first_name=f"Bench {i}"
        )
        for i in range(n)
    )


class Command(BaseCommand):
    help = "Time assess() for a day with every adviser of a large team away (median of N runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--advisers", type=int, default=60)
        parser.add_argument("--open-cases", type=int, default=2000)
        parser.add_argument("--weeks", type=int, default=9, help="weeks of closed history cases")
        parser.add_argument("--history-per-day", type=int, default=120, help="closed cases per working day")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--seed", type=int, default=8)

    def handle(self, *args: Any, **opts: Any) -> None:
        n_adv, n_open = opts["advisers"], opts["open_cases"]
        now = timezone.now()
        window_start = next_monday(now)
        window_end = window_start + timedelta(days=1)
        team = self.build(
            n_adv, n_open, opts["weeks"], opts["history_per_day"], opts["seed"], now, window_start
        )
        advisers = list(User.objects.filter(team=team, role=Role.ADVISER).values_list("pk", flat=True))
        away = tuple(AwayPeriod(uid, window_start, window_end) for uid in advisers)
        open_cases = Case.objects.filter(team=team).exclude(status=Status.CLOSED).count()
        self.stdout.write(f"team {team.name}: {len(advisers)} advisers, {open_cases} open cases")
        for label, mitigations in (
            ("all away", frozenset()),
            ("all away + mitigations", frozenset(MITIGATIONS)),
        ):
            spec = ScenarioSpec(window_start, window_end, away, team_id=team.pk, mitigations=mitigations)
            times = []
            queries = 0
            result = None
            for _run in range(max(1, opts["runs"])):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    result = assess(spec)
                    times.append(time.perf_counter() - t0)
                queries = len(ctx.captured_queries)
            assert result is not None
            self.stdout.write(
                f"{label}: median {statistics.median(times) * 1000:.0f} ms over {len(times)} runs "
                f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}), {queries} queries; "
                f"gaps {len(result.gaps_open)}/{len(result.ownership_gaps)}, "
                f"commitments at risk {sum(c.at_risk for c in result.commitments_due)}, "
                f"affected {result.affected_count}, E[D] {result.expected_dissatisfied.base:.1f}, "
                f"E[C] {result.expected_cost.base:.0f}, worst SL {result.worst_service_level}; "
                f"flags {', '.join(result.flags) or '-'}"
            )

    @transaction.atomic
    def build(
        self,
        n_adv: int,
        n_open: int,
        weeks: int,
        per_day: int,
        seed: int,
        now: datetime,
        window_start: datetime,
    ) -> Team:
        name = f"{PREFIX} {n_adv}x{n_open}"
        existing = Team.objects.filter(name=name).first()
        if existing is not None:
            self.stdout.write(f"reusing {name}")
            return existing
        t0 = time.perf_counter()
        rng = random.Random(seed)
        tag = f"{PREFIX}-{n_adv}x{n_open}"
        team = Team.objects.create(name=name)
        password = make_password(None)
        _advisers(team, f"{tag}-adviser", n_adv, password)
        advisers = list(User.objects.filter(team=team).order_by("pk"))
        # Everyone is everyone's neighbour's backup: all away makes every backup away too.
        for i, u in enumerate(advisers):
            u.backup = advisers[(i + 1) % len(advisers)]
        User.objects.bulk_update(advisers, ["backup"])
        # Colleagues of another team who can cover with full access (the backups mitigation).
        cover = Team.objects.create(name=f"{name} cover")
        _advisers(cover, f"{tag}-cover", 5, password)
        # A loaded rate for the front line, so the cost of staff time is priced (only when none is set).
        if front_line_sector_id() is None:
            front = Sector.objects.create(
                name=f"{tag} front line", slug=f"{tag}-front", distance=Distance.FRONT_LINE
            )
            SectorRate.objects.create(
                sector=front,
                effective_from=date(2000, 1, 1),
                hourly_rate_minor=4500,
                currency=settings.STEWARD_CURRENCY,
                created_at=now,
            )
        n_customers = max(1, n_open // 2)
        Customer.objects.bulk_create(
            Customer(
                name=f"{tag}-customer-{i}",
                email=f"{tag}-{i}@example.com",
                monthly_margin_minor=rng.choice([None, 2000, 5000]),
            )
            for i in range(n_customers)
        )
        customers = list(
            Customer.objects.filter(name__startswith=f"{tag}-customer-").values_list("pk", flat=True)
        )

        def case(created: datetime, *, closed: bool) -> Case:
            owner = rng.choice(advisers)
            return Case(
                customer_id=rng.choice(customers),
                subject="Bench case",
                kind=rng.choice([Kind.QUESTION, Kind.QUESTION, Kind.REQUEST, Kind.COMPLAINT]),
                channel=rng.choice(CHANNEL_MIX),
                status=Status.CLOSED if closed else Status.OPEN,
                owner=owner,
                team=team,
                created_at=created,
                closed_at=created + timedelta(hours=rng.randint(1, 72)) if closed else None,
                updated_at=created,
            )

        history_start = now - timedelta(weeks=weeks)
        history: list[Case] = []
        day = history_start
        while day < now:
            if day.weekday() < 5:
                for _i in range(per_day):
                    at = day.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(
                        seconds=rng.randint(0, 8 * 3600 - 1)
                    )
                    if at < now - timedelta(days=3):
                        history.append(case(at, closed=True))
            day += timedelta(days=1)
        opened = [case(now - timedelta(days=rng.uniform(0.1, 20)), closed=False) for _i in range(n_open)]
        Case.objects.bulk_create(history + opened, batch_size=2000)
        all_cases = history + opened
        messages = []
        for c in all_cases:
            messages.append(
                Message(
                    case=c,
                    direction=Direction.INBOUND,
                    channel=c.channel,
                    body="Hello",
                    created_at=c.created_at,
                )
            )
            for _k in range(rng.randint(0, 2)):
                at = c.created_at + timedelta(hours=rng.uniform(1, 48))
                if at < now:
                    messages.append(
                        Message(
                            case=c,
                            direction=Direction.INBOUND,
                            channel=c.channel,
                            body="Any news?",
                            created_at=at,
                        )
                    )
            messages.append(
                Message(
                    case=c,
                    direction=Direction.OUTBOUND,
                    channel=c.channel,
                    body="On it",
                    created_at=c.created_at + timedelta(minutes=30),
                )
            )
        Message.objects.bulk_create(messages, batch_size=5000)
        contact_hours.rebuild(team_ids=[team.pk])  # bulk inserts bypass the services' upkeep
        Commitment.objects.bulk_create(
            Commitment(
                case=c,
                description="Call back",
                promised_by=c.owner,
                due_at=window_start + timedelta(hours=rng.randint(9, 16)),
                created_at=c.created_at,
            )
            for c in opened[: max(1, n_open // 4)]
        )
        answered = self.history_outcomes(tag, history, advisers, rng, now)
        self.stdout.write(
            f"built {name}: {len(all_cases)} cases ({n_open} open), {len(messages)} messages, "
            f"{answered} survey answers "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        return team

    def history_outcomes(
        self, tag: str, history: list[Case], advisers: list[User], rng: random.Random, now: datetime
    ) -> int:
        """What p_type reads: a past absence per adviser, broken next steps on a tenth of the closed cases,
        case-survey answers on 40 % of them (CSAT 1-5)."""
        Absence.objects.bulk_create(
            Absence(
                user=u,
                starts_at=now - timedelta(days=rng.randint(5, 50)),
                ends_at=now - timedelta(days=4),
                reason=f"{tag} past absence",
            )
            for u in advisers
        )
        Commitment.objects.bulk_create(
            Commitment(
                case=c,
                description="Call back",
                promised_by=c.owner,
                due_at=c.created_at + timedelta(hours=4),
                state=CommitmentState.BROKEN,
                created_at=c.created_at,
                resolved_at=c.created_at + timedelta(hours=5),
            )
            for c in history[::10]
        )
        version = questionnaire.current_version().number
        sampled = [(c, c.closed_at) for c in history if c.closed_at is not None and rng.random() < 0.4]
        surveys = Survey.objects.bulk_create(
            (
                Survey(
                    kind=SurveyKind.CASE,
                    case=c,
                    customer_id=c.customer_id,
                    language="en",
                    questionnaire_version=version,
                    token_hash=f"{tag}-{c.pk}",
                    sent_at=closed,
                    expires_at=closed + timedelta(days=30),
                    responded_at=closed + timedelta(hours=2),
                )
                for c, closed in sampled
            ),
            batch_size=2000,
        )
        SurveyResponse.objects.bulk_create(
            (
                SurveyResponse(
                    survey=sv,
                    case=c,
                    customer_id=c.customer_id,
                    kind=SurveyKind.CASE,
                    responded_at=closed + timedelta(hours=2),
                    questionnaire_version=version,
                    csat=rng.choice([1, 2, 3, 4, 4, 5, 5, 5]),
                )
                for sv, (c, closed) in zip(surveys, sampled, strict=True)
            ),
            batch_size=2000,
        )
        return len(surveys)
