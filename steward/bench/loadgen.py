"""Load data at scale (issue 9): customers, staff and cases over two years, written in bulk.

Cases are played by a small state machine that mirrors `steward.cases.services` and
`steward.cases.task_services` step for step (same statuses, same event kinds and data, same version
counter), but instead of one service call per row, rows are buffered and written in batches: PostgreSQL
COPY (psycopg `cursor.copy`) or `bulk_create` elsewhere. The test `test_loadgen` checks the result
against the invariants the services keep.

Columns that other apps add later are tolerated: a concrete field the generator does not know is written
with its default (or NULL). A required field without a default stops the run with a clear message.

Data of other apps that hangs on a case's life (the case survey and its answer and follow-up,
compensation on complaints) is written by `steward.bench.loadgen_extras`: per-case hooks
(`ctx.case_hooks`) run when the case has been played, add their rows to the sinks and schedule their
events with `CaseSim.late_event`; those events are merged into the case's log in time order (a survey
may be answered after a reopening), with the versions renumbered, like `_record` would have numbered
them. `EXTRA_WRITERS` (callables `writer(ctx, closed_cases)`, called after each batch) remains for data
that needs a whole batch rather than one case.
"""

from __future__ import annotations

import bisect
import contextlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from steward.accounts.models import Absence, Role, Team, User
from steward.cases.management.commands.seed_demo import (
    CATEGORIES,
    CUSTOMER_NAMES,
    HANDOFF_TEXTS,
    REPLIES,
    SECTORS,
    TASK_KINDS,
    TASK_RESULTS,
    TASK_RETURN_REASONS,
    TEXTS,
    UNCONFIRMED_REASONS,
)
from steward.cases.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Closure,
    Direction,
    EventKind,
    Handoff,
    Message,
    SectorTask,
    Status,
    TaskState,
    WorkLog,
)
from steward.core.business_calendar import BusinessCalendar, add_business_minutes, calendar_from_settings
from steward.customers.models import Customer
from steward.sectors.models import Sector, TaskKind

SPAN_DAYS = 730
FOLLOW_UP_DAYS = 7  # settings.STEWARD_FOLLOW_UP_WINDOW_DAYS default; read at run time below
HOUR_WEIGHTS = [0.2] * 7 + [1, 3, 5, 5, 5, 4, 4, 5, 5, 4, 3, 2, 1.5, 1, 0.5, 0.3, 0.2]
LANGS = ["en", "th", "ru", "es"]
LANG_WEIGHTS = [40, 25, 15, 20]
KINDS = [("question", 45), ("request", 35), ("complaint", 20)]
PRIORITIES = [("normal", 70), ("low", 10), ("high", 15), ("urgent", 5)]
CHANNELS = [("email", 50), ("portal", 20), ("phone", 20), ("chat", 7), ("walk_in", 3)]
STAFF_OPENED = {"phone", "chat", "walk_in"}
# How many messages a case holds in all (first contact, replies, the solution, later customer mail).
MESSAGE_TARGET = [(1, 6), (2, 14), (3, 24), (4, 22), (5, 14), (6, 9), (7, 6), (8, 5)]
TASK_SHARE = 0.30
HANDOFF_SHARE = 0.14
TASK_SECTORS = ["Billing", "Warehouse", "Logistics"]


def _cum(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values, cum, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


def _pick(rng: random.Random, table: tuple[list[Any], list[float]]) -> Any:
    values, cum = table
    return values[bisect.bisect(cum, rng.random() * cum[-1])]


# ------------------------------------------------------------------------------------------ sinks


class Sink:
    """Rows for one model, in a fixed column order, plus defaults for the columns others added."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]):
        self.model = model
        self.columns = list(columns)
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        known = set(self.columns)
        self.extra_columns: list[str] = []
        self.extra_values: list[Any] = []
        self.extra_fields: list[models.Field[Any, Any]] = []
        for f in model._meta.concrete_fields:
            if f.attname in known:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value: Any = timezone.now()
            elif f.has_default() or f.null or f.empty_strings_allowed:
                value = f.get_default()
            elif getattr(f, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED:
                continue  # the database fills it
            else:
                raise RuntimeError(
                    f"{model.__name__}.{f.name} is required and has no default: teach "
                    "steward/bench/loadgen.py what to write in it."
                )
            self.extra_columns.append(f.attname)
            self.extra_fields.append(f)
            self.extra_values.append(value)
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        missing = [c for c in self.columns if c not in by_attname]
        if missing:  # fails loudly on a renamed or removed column
            raise RuntimeError(
                f"{model.__name__} has no column(s) {missing}: update steward/bench/loadgen.py."
            )
        self.db_columns = [by_attname[c].column for c in self.columns] + [f.column for f in self.extra_fields]

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    def flush(self, cursor: Any, is_pg: bool) -> None:
        if not self.rows:
            return
        if is_pg:
            self._copy(cursor)
        else:
            self._bulk_create()
        self.written += len(self.rows)
        self.rows = []

    def _copy(self, cursor: Any) -> None:
        opts = self.model._meta
        cols = self.db_columns
        extra = tuple(self.extra_values)  # dicts go out as jsonb (a dumper registered on the cursor)
        quoted = ", ".join(connection.ops.quote_name(str(c)) for c in cols)
        with cursor.copy(f"COPY {connection.ops.quote_name(opts.db_table)} ({quoted}) FROM STDIN") as cp:
            write = cp.write_row
            if extra:
                for row in self.rows:
                    write(row + extra)
            else:
                for row in self.rows:
                    write(row)

    def _bulk_create(self) -> None:
        cols = self.columns + self.extra_columns
        extra = tuple(self.extra_values)
        objs = [self.model(**dict(zip(cols, row + extra, strict=True))) for row in self.rows]
        self.model._default_manager.bulk_create(objs, batch_size=500)


# ------------------------------------------------------------------------------------------ people


@dataclass
class Person:
    id: int
    team_id: int | None
    sector_id: int | None
    backup_id: int | None = None
    away: list[tuple[datetime, datetime]] = field(default_factory=list)

    def is_away(self, at: datetime) -> bool:
        return any(a <= at < b for a, b in self.away)


@dataclass
class Staff:
    advisers: list[Person]
    by_id: dict[int, Person]
    managers: list[Person]
    members: dict[int, list[Person]]  # sector id -> members
    task_sectors: list[tuple[int, list[tuple[int, int]]]]  # (sector id, [(task kind id, target)])
    categories: list[tuple[int, str]]


def ensure_staff(
    *, n_advisers: int, rng: random.Random, start: datetime, end: datetime, prefix: str
) -> Staff:
    """Sectors, task kinds, categories, teams, advisers (with backups and absences), managers, members.

    Reuses what a previous run with the same prefix made, so a second run adds cases to the same staff.
    """
    sectors = {}
    for name, distance in SECTORS:
        sectors[name] = Sector.objects.get_or_create(
            name=name, defaults={"slug": slugify(name)[:60], "distance": distance}
        )[0]
    task_sectors = []
    for name in TASK_SECTORS:
        kinds = [
            TaskKind.objects.get_or_create(
                sector=sectors[name], name=kind, defaults={"target_minutes": target}
            )[0]
            for kind, target in TASK_KINDS[name]
        ]
        task_sectors.append((sectors[name].pk, [(k.pk, k.target_minutes) for k in kinds]))
    categories = [(c.pk, c.name) for c in (Category.objects.get_or_create(name=n)[0] for n in CATEGORIES)]
    n_teams = max(2, n_advisers // 10)
    teams = [Team.objects.get_or_create(name=f"{prefix} team {i + 1:03d}")[0] for i in range(n_teams)]
    password = make_password(None)  # unusable: load users sign in only through the bench's own session

    def users(role: str, count: int, tag: str, **extra: Any) -> list[User]:
        existing = {u.username: u for u in User.objects.filter(username__startswith=f"{prefix}-{tag}-")}
        fresh = []
        for i in range(count):
            username = f"{prefix}-{tag}-{i + 1:04d}"
            if username not in existing:
                team = teams[i % n_teams] if role == Role.ADVISER else None
                fresh.append(
                    User(
                        username=username,
                        password=password,
                        role=role,
                        first_name=tag.capitalize(),
                        last_name=f"{i + 1:04d}",
                        email=f"{username}@load.steward.localhost",
                        team=team,
                        language=LANGS[i % 4],
                        **extra,
                    )
                )
        User.objects.bulk_create(fresh, batch_size=500)
        return list(User.objects.filter(username__startswith=f"{prefix}-{tag}-").order_by("username")[:count])

    advisers = users(Role.ADVISER, n_advisers, "adviser", sector=sectors["Front desk"])
    managers = users(Role.MANAGER, max(2, n_advisers // 25), "manager", sector=sectors["Front desk"])
    members: dict[int, list[Person]] = {}
    for name in TASK_SECTORS:
        ms = users(Role.SECTOR_MEMBER, max(3, n_advisers // 8), slugify(name), sector=sectors[name])
        members[sectors[name].pk] = [Person(u.pk, None, u.sector_id) for u in ms]
    # Backups: the next adviser in the same team.
    people = [Person(u.pk, u.team_id, u.sector_id, u.backup_id) for u in advisers]
    for i, p in enumerate(people):
        if p.backup_id is None:
            p.backup_id = people[(i + n_teams) % len(people)].id if len(people) > 1 else None
            User.objects.filter(pk=p.id).update(backup_id=p.backup_id)
    # Absences: holidays and sick days, about three per adviser and year.
    by_id = {p.id: p for p in people}
    have = set(Absence.objects.filter(user_id__in=by_id).values_list("user_id", flat=True))
    absences = []
    manager_id = managers[0].pk
    for p in people:
        for _ in range(6):
            s = start + timedelta(days=rng.uniform(0, (end - start).days - 1))
            s = s.replace(hour=0, minute=0, second=0, microsecond=0)
            days = rng.choice([1, 1, 2, 3, 5, 7, 10, 14])
            p.away.append((s, s + timedelta(days=days)))
            if p.id not in have:
                absences.append(
                    Absence(
                        user_id=p.id,
                        starts_at=s,
                        ends_at=s + timedelta(days=days),
                        reason="Holiday" if days > 3 else "Sick leave",
                        created_by_id=manager_id,
                    )
                )
    Absence.objects.bulk_create(absences, batch_size=500)
    return Staff(
        advisers=people,
        by_id=by_id,
        managers=[Person(u.pk, u.team_id, u.sector_id) for u in managers],
        members=members,
        task_sectors=task_sectors,
        categories=categories,
    )


# ------------------------------------------------------------------------------------------ cases


class ClosedCase(NamedTuple):
    id: int
    customer_id: int
    closed_at: datetime
    closure: str
    kind: str


class Ids:
    """The next primary key of every table written, so rows can point at each other before writing."""

    def __init__(self) -> None:
        self.next: dict[type[models.Model], int] = {}

    def start(self, model: type[models.Model]) -> None:
        top = model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0
        self.next[model] = top + 1

    def take(self, model: type[models.Model]) -> int:
        n = self.next[model]
        self.next[model] = n + 1
        return n


@dataclass
class Context:
    rng: random.Random
    end: datetime
    staff: Staff
    calendar: BusinessCalendar
    ids: Ids
    sinks: dict[type[models.Model], Sink]
    customers: list[tuple[int, str]]  # (id, language)
    follow_up_window: timedelta
    # Per customer, their most recent cases: (case id, category id, kind, closed intervals).
    recent: dict[int, list[tuple[int, int | None, str, list[tuple[datetime, datetime | None]]]]] = field(
        default_factory=dict
    )
    closed: list[ClosedCase] = field(default_factory=list)
    # Per-case hooks, called with the CaseSim once it is played, before its row is written.
    case_hooks: list[Callable[[CaseSim], None]] = field(default_factory=list)
    # Called once after the last case (data that needs the whole period, e.g. NPS campaigns).
    finishers: list[Callable[[], None]] = field(default_factory=list)

    def sink(self, model: type[models.Model]) -> Sink:
        return self.sinks[model]


KIND_T = _cum(KINDS)
PRIORITY_T = _cum(PRIORITIES)
CHANNEL_T = _cum(CHANNELS)
LANG_T = _cum(list(zip(LANGS, LANG_WEIGHTS, strict=True)))
MSG_T = _cum(MESSAGE_TARGET)
HOUR_T = _cum(list(enumerate(HOUR_WEIGHTS)))


class Stop(Exception):
    """The next step would happen after the end of the period: the case stays as it is."""


class CaseSim:
    """One case, played like the services would: every step appends the event the service appends."""

    def __init__(self, ctx: Context, at: datetime):
        self.ctx = ctx
        self.rng = ctx.rng
        self.id = ctx.ids.take(Case)
        self.at = at
        self.created_at = at
        self.version = 0
        self.status = Status.NEW
        self.first_response_at: datetime | None = None
        self.solution_proposed_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.closure = ""
        self.closure_note = ""
        self.reopen_count = 0
        self.messages = 0
        self.open_tasks = 0
        self.closed_intervals: list[tuple[datetime, datetime | None]] = []
        self.handoffs = 0
        # The first confirmation or unconfirmed closure (at, closure): what schedules the case survey.
        self.first_close: tuple[datetime, str] | None = None
        # Events of other apps, (at, kind, actor id, sector id, data), merged into the log in time order.
        self.late: list[tuple[datetime, str, int | None, int | None, dict[str, Any]]] = []
        self.first_event = len(ctx.sinks[CaseEvent].rows)  # this case's events are the sink's tail

    # -------------------------------------------------------------- clock

    def later(self, low_hours: float, high_hours: float) -> datetime:
        """The next step, log-uniformly between low and high hours later; Stop past the end."""
        lo = max(low_hours, 1 / 60)
        at = self.at + timedelta(hours=lo * (high_hours / lo) ** self.rng.random())
        if at > self.ctx.end:
            raise Stop
        self.at = at
        return at

    # -------------------------------------------------------------- recording (services._record)

    def event(
        self, kind: str, actor: Person | None, data: dict[str, Any], sector_id: int | None = None
    ) -> None:
        self.version += 1
        self.ctx.sinks[CaseEvent].add(
            (
                self.ctx.ids.take(CaseEvent),
                self.id,
                kind,
                self.at,
                actor.id if actor else None,
                sector_id if sector_id is not None else (actor.sector_id if actor else None),
                self.version,
                data,
            )
        )

    def late_event(
        self,
        at: datetime,
        kind: str,
        actor: Person | None,
        data: dict[str, Any],
        sector_id: int | None = None,
    ) -> None:
        """An event another app records at `at` (after the case's own events were played)."""
        sector = sector_id if sector_id is not None else (actor.sector_id if actor else None)
        self.late.append((at, kind, actor.id if actor else None, sector, data))

    def _merge_late(self) -> None:
        """Put the late events into the case's log in time order and renumber ids and versions.

        The case's events are the tail of the event sink (one case is played at a time), with
        consecutive ids; the merged log takes the same ids plus the late ones, in time order.
        """
        rows = self.ctx.sinks[CaseEvent].rows
        late = sorted(self.late, key=lambda e: e[0])
        take = self.ctx.ids.take
        if late[0][0] >= rows[-1][3]:  # the usual case: everything after the last own event
            for at, kind, actor_id, sector_id, data in late:
                self.version += 1
                rows.append((take(CaseEvent), self.id, kind, at, actor_id, sector_id, self.version, data))
        else:
            own = rows[self.first_event :]
            first_id = own[0][0]
            for _ in late:
                take(CaseEvent)
            merged = [(r[3], r[2], r[4], r[5], r[7]) for r in own] + late
            merged.sort(key=lambda e: e[0])  # stable: at equal times the case's own events come first
            rows[self.first_event :] = [
                (first_id + i, self.id, kind, at, actor_id, sector_id, i + 1, data)
                for i, (at, kind, actor_id, sector_id, data) in enumerate(merged)
            ]
            self.version = len(merged)
        self.at = max(self.at, late[-1][0])  # updated_at: the last event's time

    def message(self, direction: str, author: Person | None, body: str) -> int:
        mid = self.ctx.ids.take(Message)
        self.ctx.sinks[Message].add(
            (
                mid,
                self.id,
                direction,
                self.channel,
                author.id if author else None,
                body,
                "",
                False,
                "",
                self.at,
            )
        )
        self.messages += 1
        return mid

    def acting(self) -> Person:
        """The owner, or the backup while the owner is away (services.can_act)."""
        if self.owner.is_away(self.at) and self.owner.backup_id:
            return self.ctx.staff.by_id.get(self.owner.backup_id, self.owner)
        return self.owner

    # -------------------------------------------------------------- the case's life

    def play(self, customer: tuple[int, str]) -> None:
        ctx, rng = self.ctx, self.rng
        self.customer_id, lang = customer
        self.lang = lang
        self.kind = _pick(rng, KIND_T)
        self.priority = _pick(rng, PRIORITY_T)
        self.channel = _pick(rng, CHANNEL_T)
        cat_id, cat_name = rng.choice(ctx.staff.categories)
        self.category_id: int | None = cat_id if rng.random() < 0.9 else None
        self.cat_name = cat_name
        owner = rng.choice(ctx.staff.advisers)
        if owner.is_away(self.at):
            owner = rng.choice(ctx.staff.advisers)
        self.owner = owner
        self.opened_by: Person | None = owner if self.channel in STAFF_OPENED else None
        self.follow_up_of = self._follow_up_origin()
        subject, first, again = TEXTS[lang][cat_name]
        self.subject, self.again = subject, again
        self.budget = _pick(rng, MSG_T)
        # case_open: OPENED, MESSAGE_IN (the description), FOLLOW_UP_LINKED when it follows a closed case
        self.event(
            EventKind.OPENED,
            self.opened_by,
            {"owner": owner.id, "channel": self.channel, "kind": self.kind, "priority": self.priority},
        )
        mid = self.message(Direction.INBOUND, None, first)
        self.event(EventKind.MESSAGE_IN, None, {"message": mid, "automatic": False})
        if self.follow_up_of is not None:
            self.event(
                EventKind.FOLLOW_UP_LINKED,
                self.opened_by,
                {"follow_up_of": self.follow_up_of, "repeat_contact": True},
            )
        with contextlib.suppress(Stop):
            self._life()
        for hook in ctx.case_hooks:
            hook(self)
        if self.late:
            self._merge_late()
        self._write()

    def _follow_up_origin(self) -> int | None:
        """services.find_follow_up_origin over this customer's recent cases, as they stood at `at`."""
        best: tuple[datetime, int] | None = None
        for case_id, category_id, kind, intervals in self.ctx.recent.get(self.customer_id, ()):
            if (self.category_id is not None and category_id != self.category_id) or (
                self.category_id is None and kind != self.kind
            ):
                continue
            for closed_from, closed_until in intervals:
                closed_now = closed_from <= self.at and (closed_until is None or closed_until > self.at)
                recent = self.at - closed_from <= self.ctx.follow_up_window
                if closed_now and recent and (best is None or closed_from > best[0]):
                    best = (closed_from, case_id)
        return best[1] if best else None

    def _life(self) -> None:
        rng = self.rng
        if self.budget == 1:
            # A single message: still new, or (old enough) closed unconfirmed by a manager.
            self.later(24 * 7, 24 * 20)
            self.close_unconfirmed()
            return
        self.later(0.1, 30)  # first response
        if rng.random() < 0.04:
            self.hand_off()
        self.reply(wait=rng.random() < 0.35)
        if rng.random() < HANDOFF_SHARE:
            self.later(0.5, 48)
            self.hand_off()
        if rng.random() < TASK_SHARE:
            self.sector_work()
        # The conversation, leaving one message for the solution.
        while self.messages < self.budget - 1:
            if self.status == Status.WAITING_CUSTOMER or rng.random() < 0.5:
                self.later(1, 72)
                self.receive(self.again)
            else:
                self.later(0.5, 48)
                self.reply(wait=rng.random() < 0.4)
        self.later(0.5, 72)
        self.propose()
        self.outcome()

    def outcome(self) -> None:
        rng = self.rng
        r = rng.random()
        # A reopening costs two more messages (the customer's, the new solution): at most 8 in all.
        can_reopen = self.messages <= 6
        if not can_reopen and 0.72 <= r < 0.84:
            r = 0.0
        if r < 0.72:
            self.later(1, 96)
            self.confirm()
            if can_reopen and rng.random() < 0.06:  # a later reply reopens it, within the follow-up window
                self.later(2, 24 * 6)
                self.receive(self.again, force=True)
                self.later(0.5, 24)
                self.propose(force=True)
                self.later(1, 72)
                self.confirm()
        elif r < 0.84:
            self.later(2, 96)
            self.receive(self.again, force=True)  # not solved: the proposal reopens
            self.later(0.5, 48)
            self.propose(force=True)
            self.later(1, 96)
            self.confirm()
        else:
            self.later(24 * 10, 24 * 21)
            self.close_unconfirmed()

    # -------------------------------------------------------------- services, one by one

    def receive(self, body: str, *, force: bool = False) -> None:
        """services.case_receive_message (recorded_by=None: the customer wrote)."""
        if self.messages >= 8 and not force:
            return
        if (
            self.status == Status.CLOSED
            and self.closed_at
            and self.at - self.closed_at > self.ctx.follow_up_window
        ):
            raise Stop  # the service refuses; the customer would open a follow-up instead
        mid = self.message(Direction.INBOUND, None, body)
        self.event(EventKind.MESSAGE_IN, None, {"message": mid, "automatic": False})
        if self.status in (Status.SOLUTION_PROPOSED, Status.CLOSED):
            self.status = Status.REOPENED
            self.reopen_count += 1
            if self.closed_at is not None:
                self.closed_intervals[-1] = (self.closed_intervals[-1][0], self.at)
            self.closed_at = None
            self.closure = ""
            self.closure_note = ""
            self.event(EventKind.REOPENED, None, {"reason": "customer_wrote"})
        elif self.status == Status.WAITING_CUSTOMER:
            self.status = Status.OPEN
            self.event(EventKind.STATUS, None, {"from": Status.WAITING_CUSTOMER, "to": Status.OPEN})

    def reply(self, *, wait: bool) -> None:
        """services.case_reply."""
        actor = self.acting()
        mid = self.message(Direction.OUTBOUND, actor, REPLIES[self.lang][0])
        if self.first_response_at is None:
            self.first_response_at = self.at
        old = self.status
        if self.status != Status.SOLUTION_PROPOSED:
            if wait:
                self.status = Status.WAITING_CUSTOMER
            elif self.status in (Status.NEW, Status.REOPENED):
                self.status = Status.OPEN
        self.event(EventKind.MESSAGE_OUT, actor, {"message": mid, "from": old, "to": self.status})

    def hand_off(self) -> None:
        """services.case_hand_off."""
        actor = self.acting()
        to = self.rng.choice(self.ctx.staff.advisers)
        if to.id == self.owner.id:
            return
        hid = self.ctx.ids.take(Handoff)
        need, done = HANDOFF_TEXTS[self.cat_name]
        self.ctx.sinks[Handoff].add((hid, self.id, self.owner.id, to.id, actor.id, need, done, self.at))
        from_id = self.owner.id
        self.owner = to
        self.handoffs += 1
        self.event(EventKind.HANDOFF, actor, {"handoff": hid, "from": from_id, "to": to.id})

    def propose(self, *, force: bool = False) -> None:
        """services.case_propose_solution."""
        actor = self.acting()
        mid = self.message(Direction.OUTBOUND, actor, REPLIES[self.lang][1])
        old = self.status
        self.status = Status.SOLUTION_PROPOSED
        self.solution_proposed_at = self.at
        if self.first_response_at is None:
            self.first_response_at = self.at
        self.event(EventKind.SOLUTION_PROPOSED, actor, {"message": mid, "from": old})

    def confirm(self) -> None:
        """services.case_confirm_solution, by the customer (portal or e-mail link) or recorded by staff."""
        if self.rng.random() < 0.15:
            actor: Person | None = self.acting()
            channel = self.rng.choice([Channel.PHONE, Channel.CHAT, Channel.WALK_IN])
            note = "Customer called back and confirmed it works now."
        else:
            actor, channel, note = None, self.rng.choice([Channel.PORTAL, Channel.EMAIL]), ""
        self._close(Closure.CONFIRMED, note)
        self.event(
            EventKind.SOLUTION_CONFIRMED, actor, {"channel": channel, "recorded_by_staff": actor is not None}
        )

    def close_unconfirmed(self) -> None:
        """services.case_close_unconfirmed (a manager)."""
        actor = self.rng.choice(self.ctx.staff.managers)
        reason = self.rng.choice(UNCONFIRMED_REASONS)
        old = self.status
        self._close(Closure.UNCONFIRMED, reason)
        self.event(EventKind.CLOSED_UNCONFIRMED, actor, {"from": old, "reason": reason})

    def _close(self, closure: str, note: str) -> None:
        if self.first_close is None:
            self.first_close = (self.at, closure)
        self.status = Status.CLOSED
        self.closed_at = self.at
        self.closure = closure
        self.closure_note = note
        self.closed_intervals.append((self.at, None))

    def sector_work(self) -> None:
        """task_services: create, take, log work, then complete, return (and send again) or cancel."""
        rng = self.rng
        sector_id, kinds = rng.choice(self.ctx.staff.task_sectors)
        for attempt in range(2):
            self.later(0.2, 24)
            kind_id, target = rng.choice(kinds)
            task_id = self.ctx.ids.take(SectorTask)
            created_at = self.at
            due_at = add_business_minutes(created_at, target, self.ctx.calendar)
            creator = self.acting()
            old = self.status
            self.status = Status.WAITING_SECTOR
            self.open_tasks += 1
            self.event(
                EventKind.TASK_CREATED,
                creator,
                {
                    "task": task_id,
                    "target_minutes": target,
                    "due_at": due_at.isoformat(),
                    "task_kind": kind_id,
                    "from": old,
                    "to": self.status,
                },
                sector_id=sector_id,
            )
            task: dict[str, Any] = {
                "state": TaskState.QUEUED,
                "assignee": None,
                "taken_at": None,
                "completed_at": None,
                "completion_note": "",
                "returned_at": None,
                "return_reason": "",
                "cancelled_at": None,
            }
            try:
                self._task_steps(task, task_id, sector_id, due_at, attempt)
            finally:
                self.ctx.sinks[SectorTask].add(
                    (
                        task_id,
                        self.id,
                        sector_id,
                        kind_id,
                        "Please handle this step for the customer.",
                        creator.id,
                        task["assignee"],
                        task["state"],
                        target,
                        due_at,
                        created_at,
                        task["taken_at"],
                        task["completed_at"],
                        task["completion_note"],
                        task["returned_at"],
                        task["return_reason"],
                        task["cancelled_at"],
                        None,
                    )
                )
            if task["state"] != TaskState.RETURNED:
                return
            if rng.random() < 0.4:
                return  # the adviser solves it without the sector

    def _task_steps(
        self, task: dict[str, Any], task_id: int, sector_id: int, due_at: datetime, attempt: int
    ) -> None:
        rng = self.rng
        if rng.random() < 0.04:
            self.later(0.5, 24)
            self._end_task(task, task_id, sector_id, EventKind.TASK_CANCELLED, self.acting(), {})
            task["state"], task["cancelled_at"] = TaskState.CANCELLED, self.at
            return
        self.later(0.1, 30)
        member = rng.choice(self.ctx.staff.members[sector_id])
        task["state"], task["assignee"], task["taken_at"] = TaskState.IN_PROGRESS, member.id, self.at
        self.event(EventKind.TASK_TAKEN, member, {"task": task_id}, sector_id=sector_id)
        if attempt == 0 and rng.random() < 0.12:
            self.later(0.2, 8)
            reason = rng.choice(TASK_RETURN_REASONS)
            self._end_task(task, task_id, sector_id, EventKind.TASK_RETURNED, member, {"reason": reason})
            task["state"], task["returned_at"], task["return_reason"] = TaskState.RETURNED, self.at, reason
            return
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            self.later(0.2, 20)
            minutes = rng.choice([5, 10, 15, 20, 30, 45, 60, 90, 120, 240])
            log_id = self.ctx.ids.take(WorkLog)
            self.ctx.sinks[WorkLog].add((log_id, task_id, member.id, minutes, "", self.at))
            self.event(
                EventKind.TASK_WORK_LOGGED,
                member,
                {"task": task_id, "minutes": minutes, "log": log_id},
                sector_id=sector_id,
            )
        self.later(0.1, 12)
        note = rng.choice(TASK_RESULTS)
        self._end_task(
            task, task_id, sector_id, EventKind.TASK_COMPLETED, member, {"on_time": self.at <= due_at}
        )
        task["state"], task["completed_at"], task["completion_note"] = TaskState.DONE, self.at, note

    def _end_task(
        self,
        task: dict[str, Any],
        task_id: int,
        sector_id: int,
        kind: str,
        actor: Person,
        extra: dict[str, Any],
    ) -> None:
        """task_services._status_after_task_ends: back to open when the last open task ended."""
        self.open_tasks -= 1
        if self.open_tasks == 0 and self.status == Status.WAITING_SECTOR:
            self.status = Status.OPEN
            status = {"from": Status.WAITING_SECTOR, "to": Status.OPEN}
        else:
            status = {"from": self.status, "to": self.status}
        self.event(kind, actor, {"task": task_id, **status, **extra}, sector_id=sector_id)

    # -------------------------------------------------------------- the case row

    def _write(self) -> None:
        ctx = self.ctx
        created_at = self.created_at
        ctx.sinks[Case].add(
            (
                self.id,
                self.customer_id,
                self.subject,
                self.kind,
                self.category_id,
                self.priority,
                self.channel,
                self.status,
                self.owner.id,
                self.owner.team_id,
                self.opened_by.id if self.opened_by else None,
                created_at,
                self.first_response_at,
                self.solution_proposed_at,
                self.closed_at,
                self.closure,
                self.closure_note,
                self.reopen_count,
                self.follow_up_of,
                self.follow_up_of is not None,
                self.version,
                self.at,  # updated_at: the last event's time
            )
        )
        recent = ctx.recent.setdefault(self.customer_id, [])
        recent.append((self.id, self.category_id, self.kind, self.closed_intervals))
        if len(recent) > 3:
            del recent[0]
        if self.status == Status.CLOSED and self.closed_at is not None:
            ctx.closed.append(ClosedCase(self.id, self.customer_id, self.closed_at, self.closure, self.kind))


CASE_COLUMNS = [
    "id",
    "customer_id",
    "subject",
    "kind",
    "category_id",
    "priority",
    "channel",
    "status",
    "owner_id",
    "team_id",
    "opened_by_id",
    "created_at",
    "first_response_at",
    "solution_proposed_at",
    "closed_at",
    "closure",
    "closure_note",
    "reopen_count",
    "follow_up_of_id",
    "is_repeat_contact",
    "version",
    "updated_at",
]
EVENT_COLUMNS = ["id", "case_id", "kind", "at", "actor_id", "sector_id", "version", "data"]
MESSAGE_COLUMNS = [
    "id",
    "case_id",
    "direction",
    "channel",
    "author_id",
    "body",
    "body_html",
    "is_automatic",
    "external_id",
    "created_at",
]
HANDOFF_COLUMNS = [
    "id",
    "case_id",
    "from_user_id",
    "to_user_id",
    "by_id",
    "customer_need",
    "done_so_far",
    "created_at",
]
TASK_COLUMNS = [
    "id",
    "case_id",
    "sector_id",
    "task_kind_id",
    "description",
    "created_by_id",
    "assignee_id",
    "state",
    "target_minutes",
    "due_at",
    "created_at",
    "taken_at",
    "completed_at",
    "completion_note",
    "returned_at",
    "return_reason",
    "cancelled_at",
    "near_breach_notified_at",
]
WORKLOG_COLUMNS = ["id", "task_id", "user_id", "minutes", "note", "logged_at"]
CUSTOMER_COLUMNS = ["id", "name", "email", "phone", "language", "organisation", "created_at"]

# Later data (surveys, compensation, costs): writer(ctx, closed_cases_of_the_batch), see the module doc.
EXTRA_WRITERS: list[Callable[[Context, list[ClosedCase]], None]] = []


# ------------------------------------------------------------------------------------------ the run


def arrival_times(rng: random.Random, n: int, start: datetime, days: int) -> Iterator[datetime]:
    """n instants over `days` days from `start`, in order: fewer at weekends and at night, slow growth."""
    weights = []
    for d in range(days):
        wd = (start + timedelta(days=d)).weekday()
        weights.append((1.0 if wd < 5 else 0.45 if wd == 5 else 0.25) * (0.8 + 0.4 * d / max(days, 1)))
    total = sum(weights)
    done, acc = 0, 0.0
    for d, w in enumerate(weights):
        acc += w
        upto = n if d == days - 1 else round(n * acc / total)
        count = upto - done
        done = upto
        day = start + timedelta(days=d)
        secs = sorted(_pick(rng, HOUR_T) * 3600 + rng.randrange(3600) for _ in range(count))
        for s in secs:
            yield day + timedelta(seconds=s)


@dataclass
class Progress:
    total: int
    report: Callable[[str], None]
    started: float = field(default_factory=time.monotonic)
    last: float = 0.0

    def tick(self, done: int, rows: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < 5:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate else 0
        self.report(
            f"  cases {done:,}/{self.total:,} ({done * 100 // max(self.total, 1)} %) · "
            f"{rate:,.0f} cases/s · {rows / elapsed:,.0f} rows/s · {rows:,} rows · "
            f"elapsed {elapsed:,.0f} s · ETA {eta:,.0f} s"
        )


def generate(
    *,
    cases: int,
    seed: int,
    end: datetime,
    batch: int = 5000,
    prefix: str = "load",
    report: Callable[[str], None] = print,
    fast_pg: bool = True,
    rebuild_indexes: bool | None = None,
) -> dict[str, int]:
    """Write `cases` cases (and customers, staff) ending at `end`. Returns rows written per table."""
    from django.conf import settings

    rng = random.Random(seed)
    end = end.astimezone(UTC)
    start = (end - timedelta(days=SPAN_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    is_pg = connection.vendor == "postgresql"
    n_customers = max(1, cases // 5)
    n_advisers = max(20, cases // 5000)
    report(
        f"staff: {n_advisers} advisers; customers: {n_customers:,}; cases: {cases:,} "
        f"({start:%Y-%m-%d} .. {end:%Y-%m-%d})"
    )
    with transaction.atomic():
        staff = ensure_staff(n_advisers=n_advisers, rng=rng, start=start, end=end, prefix=prefix)
    ids = Ids()
    for model in (Customer, Case, CaseEvent, Message, Handoff, SectorTask, WorkLog):
        ids.start(model)
    sinks: dict[type[models.Model], Sink] = {
        Customer: Sink(Customer, CUSTOMER_COLUMNS),
        Case: Sink(Case, CASE_COLUMNS),
        Message: Sink(Message, MESSAGE_COLUMNS),
        Handoff: Sink(Handoff, HANDOFF_COLUMNS),
        SectorTask: Sink(SectorTask, TASK_COLUMNS),
        WorkLog: Sink(WorkLog, WORKLOG_COLUMNS),
        CaseEvent: Sink(CaseEvent, EVENT_COLUMNS),
    }
    ctx = Context(
        rng=rng,
        end=end,
        staff=staff,
        calendar=calendar_from_settings(),
        ids=ids,
        sinks=sinks,
        customers=[],
        follow_up_window=timedelta(days=getattr(settings, "STEWARD_FOLLOW_UP_WINDOW_DAYS", FOLLOW_UP_DAYS)),
    )
    # The surveys and compensation the services would have added to these cases (loadgen_extras).
    from .loadgen_extras import install

    install(ctx, ids, seed=seed, prefix=prefix, start=start)
    progress = Progress(cases, report)

    with connection.cursor() as django_cursor:
        raw = getattr(django_cursor, "cursor", django_cursor)
        if is_pg:
            from psycopg.types.json import JsonbDumper

            raw.adapters.register_dumper(dict, JsonbDumper)
            if fast_pg:
                # Bulk load: the generator writes rows that already satisfy every foreign key (it assigns
                # the ids), so row-by-row FK triggers are skipped for this session only. Needs a superuser;
                # without one the load still works, just slower.
                try:
                    with transaction.atomic():
                        raw.execute("SET session_replication_role = replica")
                except Exception:
                    report("  (not a superuser: foreign-key triggers stay on, the load is slower)")
            raw.execute("SET synchronous_commit = off")

        def flush() -> None:
            for writer in EXTRA_WRITERS:
                writer(ctx, ctx.closed)
            ctx.closed = []
            with transaction.atomic():
                for sink in sinks.values():
                    sink.flush(raw, is_pg)

        dropped: list[str] = []
        if is_pg and (rebuild_indexes if rebuild_indexes is not None else cases >= REBUILD_INDEXES_FROM):
            dropped = drop_secondary_indexes(raw, [m._meta.db_table for m in sinks])
            report(f"  {len(dropped)} secondary indexes dropped for the load; rebuilt at the end")
        try:
            done = _load(ctx, rng, sinks, flush, progress, cases, n_customers, start, prefix, batch)
        finally:
            if dropped:
                report(f"  rebuilding {len(dropped)} indexes")
                built = time.monotonic()
                raw.execute("SET maintenance_work_mem = '256MB'")
                for definition in dropped:
                    raw.execute(definition)
                report(f"  indexes rebuilt in {time.monotonic() - built:,.0f} s")
        if is_pg:
            for sink_model in sinks:
                table = sink_model._meta.db_table
                raw.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}))"
                )
            if fast_pg:
                raw.execute("SET session_replication_role = DEFAULT")
            report("  analysing the tables")
            for sink_model in sinks:
                raw.execute(f"ANALYZE {connection.ops.quote_name(sink_model._meta.db_table)}")
    rows = {model.__name__: sink.written for model, sink in sinks.items()}
    progress.tick(done, sum(rows.values()), final=True)
    return rows


# From this many cases on, PostgreSQL loads faster without the secondary indexes, built once at the end.
REBUILD_INDEXES_FROM = 50_000


def drop_secondary_indexes(cursor: Any, tables: Sequence[str]) -> list[str]:
    """Drop the indexes of `tables` that back no constraint; return their definitions to recreate."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c
            WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass
          )
        ORDER BY i.indexname
        """,
        [list(tables)],
    )
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [definition for _name, definition in found]


def _load(
    ctx: Context,
    rng: random.Random,
    sinks: dict[type[models.Model], Sink],
    flush: Callable[[], None],
    progress: Progress,
    cases: int,
    n_customers: int,
    start: datetime,
    prefix: str,
    batch: int,
) -> int:
    """Customers first (cases point at them by id), then the cases in order of arrival."""
    langs = LANG_T
    for _ in range(n_customers):
        cid = ctx.ids.take(Customer)
        lang = _pick(rng, langs)
        first, last = CUSTOMER_NAMES[lang]
        created = start - timedelta(days=rng.randrange(1, 1500))
        sinks[Customer].add(
            (
                cid,
                f"{rng.choice(first)} {rng.choice(last)}",
                f"{prefix}-customer-{cid}@example.com",
                f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                lang,
                "",
                created,
            )
        )
        ctx.customers.append((cid, lang))
        if len(sinks[Customer].rows) >= 50_000:
            flush()
    flush()
    # Some customers write much more than others (a few heavy accounts).
    weights_cum = []
    acc = 0.0
    for i in range(n_customers):
        acc += 1.0 / (1 + (i % 97)) ** 0.5
        weights_cum.append(acc)
    order = list(range(n_customers))
    rng.shuffle(order)

    done = 0
    for at in arrival_times(rng, cases, start, SPAN_DAYS):
        k = order[bisect.bisect(weights_cum, rng.random() * acc) % n_customers]
        sim = CaseSim(ctx, at)
        sim.play(ctx.customers[k])
        done += 1
        if done % batch == 0:
            flush()
            progress.tick(done, sum(s.written for s in sinks.values()))
    flush()
    for finish in ctx.finishers:
        finish()
    flush()
    return done


def default_end() -> datetime:
    """Today at 00:00 UTC: the same seed gives the same data all day."""
    today: date = timezone.now().astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)
