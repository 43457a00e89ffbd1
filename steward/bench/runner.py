"""The benchmark driver behind scripts/bench.sh: scenarios, wrk runs, ceilings, ratios, JSON.

Add a page to the benchmark with ONE line in `SCENARIOS`. A path may hold placeholders, filled per
request by wrk's Lua script from lists prepared here: {case} (any case), {open_case} (a case that is not
closed), {customer} (any customer), {date_from} / {date_to} (the last full quarter of the data).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from django.test import Client
from django.test.utils import CaptureQueriesContext

# kind: "json"/"insert" are the two ceilings; "page" is compared with the JSON ceiling (target 40×),
# "report" too (target 500×), "write" with the INSERT ceiling (p50 10×, throughput at least 15 %).
TARGETS = {"page": 40.0, "report": 500.0, "write": 10.0}
WRITE_MIN_THROUGHPUT = 0.15


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # json | insert | page | report | write
    path: str
    method: str = "GET"
    auth: str = "session"  # session (staff), portal / portal_writer (customers), token (API), none
    body: str = ""
    content_type: str = "application/json"


SCENARIOS = [
    Scenario("ceiling: tiny JSON", "json", "/bench/json/", auth="none"),
    Scenario("ceiling: one INSERT", "insert", "/bench/insert/", method="POST", auth="none"),
    Scenario("case list", "page", "/en/cases/"),
    Scenario("case list: status filter", "page", "/en/cases/?status=waiting_customer"),
    Scenario("case list: team filter", "page", "/en/cases/?scope=team"),
    Scenario("case list: text search", "page", "/en/cases/?q=charged"),
    Scenario("case page", "page", "/en/cases/{case}/"),
    Scenario("portal: case list", "page", "/en/portal/", auth="portal"),
    Scenario("portal: case page", "page", "/en/portal/cases/{portal_case}/", auth="portal"),
    Scenario("API: case list", "page", "/api/v1/cases/", auth="token"),
    Scenario("API: case detail", "page", "/api/v1/cases/{case}/", auth="token"),
    Scenario(
        "sector report (quarter)", "report", "/en/analytics/sectors/?date_from={date_from}&date_to={date_to}"
    ),
    Scenario(
        "process map (quarter)",
        "report",
        "/en/analytics/process-map/?date_from={date_from}&date_to={date_to}",
    ),
    Scenario("manager dashboard (month)", "report", "/en/analytics/service/?period=last_month"),
    Scenario("manager dashboard (year)", "report", "/en/analytics/service/?period=year"),
    Scenario("cost-of-quality page (12 months)", "report", "/en/analytics/economics/quality/"),
    # Assesses the decision's scenario (every adviser of the biggest team away for a day) and stores
    # its snapshot: the POST a manager makes; the redirect to the page is not followed.
    Scenario(
        "decision assessment (a day)",
        "report",
        "/en/decisions/{decision}/assess/",
        method="POST",
        body="",
        content_type="application/x-www-form-urlencoded",
    ),
    Scenario(
        "API: open a case",
        "write",
        "/api/v1/cases/",
        method="POST",
        auth="token",
        # The first contacts of the demo's kinds of need, as the generator writes them: the opened cases
        # go to the head of every list, and a fixed subject ("Bench: phone does not charge") made the
        # head of the list one that no search matched (36,566 such cases after a day of runs: the
        # text search then scanned past all of them, 20 ms).
        body='{"customer": {customer}, "subject": "{subject}", "description": "{description}"}',
    ),
    Scenario(
        "portal: customer writes on a case",
        "write",
        "/en/portal/cases/{writer_case}/message/",
        method="POST",
        auth="portal_writer",
        body="body=Any+news+about+my+phone%3F",
        content_type="application/x-www-form-urlencoded",
    ),
    Scenario(
        "API: reply on a case",
        "write",
        "/api/v1/cases/{open_case}/messages/",
        method="POST",
        auth="token",
        body='{"body": "Thank you, I am looking into this now."}',
    ),
]
INSERT_CEILING = next(s for s in SCENARIOS if s.kind == "insert")
BENCH_USERNAME = "bench-manager"
# A fixed CSRF secret for the benchmark's form posts (sent as cookie and header, as a browser would).
CSRF_SECRET = "BenchCsrfSecretBenchCsrfSecret32"
# Scenarios the issue names that have no page yet (reported as missing, not measured).
MISSING: dict[str, str] = {}
BENCH_DECISION_TITLE = "Bench: the biggest team on a course for a day"


@dataclass
class Fixtures:
    """What the scenarios need: signed-in sessions, a token, ids to pick from."""

    session: str
    portal_session: str
    token: str
    values: dict[str, list[str]] = field(default_factory=dict)
    writer_session: str = ""  # the customer who writes in the portal (not the one whose pages are read)
    # (session, case key) of each customer writing in the portal scenario; wrk picks one per request.
    writers: list[tuple[str, str]] = field(default_factory=list)


def first_contacts() -> dict[str, list[str]]:
    """The subjects and first messages of the demo's kinds of need (English), as JSON string contents
    for the body of "API: open a case"."""
    from steward.cases.management.commands.seed_demo import TEXTS

    texts = TEXTS["en"].values()
    return {
        "subject": [json.dumps(subject)[1:-1] for subject, _first, _again in texts],
        "description": [json.dumps(first)[1:-1] for _subject, first, _again in texts],
    }


def prepare(rng: random.Random) -> Fixtures:
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from steward.accounts.models import Role, Team, User
    from steward.cases.models import Case
    from steward.portal.services import case_keys
    from steward.portal.session import SESSION_KEY

    team = Team.objects.annotate(n=Count("case")).order_by("-n").first()
    user, _ = User.objects.get_or_create(
        username=BENCH_USERNAME,
        defaults={"role": Role.MANAGER, "first_name": "Bench", "last_name": "Manager", "team": team},
    )
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    token = Token.objects.get_or_create(user=user)[0].key
    # The portal: the customer with the most cases (the heaviest list a customer sees).
    top = Case.objects.values("customer").annotate(n=Count("id")).order_by("-n").first()
    if top is None:
        raise SystemExit("No cases: run manage.py generate_load_data first.")
    store = SessionStore()
    store[SESSION_KEY] = top["customer"]
    store.create()
    top_id = Case.objects.aggregate(m=Max("id"))["m"]
    cases = [str(rng.randint(1, top_id)) for _ in range(2000)]
    cases = [str(i) for i in Case.objects.filter(pk__in=cases).values_list("pk", flat=True)]
    open_cases = [str(i) for i in sample_open_cases(rng, user)]
    customers = [str(i) for i in Case.objects.values_list("customer_id", flat=True).filter(pk__in=cases)]
    # The portal pages read the top customer's cases; other customers (portal_writers) write, so the
    # pages measured do not grow with every run's messages (a first version wrote on the top
    # customer's one open case: 950 bench messages on it after four runs).
    portal_cases = list(
        case_keys(Case.objects.filter(customer_id=top["customer"]).values_list("pk", flat=True)).values()
    )
    writers = portal_writers(rng, [int(c) for c in open_cases], exclude=top["customer"])
    if not writers:  # no open case: the top customer writes on their own cases
        writers = [(store.session_key or "", key) for key in portal_cases[:1]]
    warm_up()
    decision = bench_decision(user, team)
    last = Case.objects.aggregate(m=Max("created_at"))["m"].date()
    q_start_month = ((last.month - 1) // 3) * 3 + 1
    q_end = date(last.year, q_start_month, 1) - timedelta(days=1)
    q_start = date(q_end.year, ((q_end.month - 1) // 3) * 3 + 1, 1)
    return Fixtures(
        session=session,
        portal_session=store.session_key or "",
        token=token,
        writer_session=writers[0][0] if writers else "",
        writers=writers,
        values={
            "case": cases,
            "open_case": open_cases or cases,
            "customer": customers,
            "portal_case": portal_cases,
            "writer_case": [writers[0][1]] if writers else portal_cases,
            **first_contacts(),
            "date_from": [q_start.isoformat()],
            "date_to": [q_end.isoformat()],
            "decision": [str(decision)],
        },
    )


# Customers who write in the portal scenario, each on one open case of their own.
PORTAL_WRITERS = 24


def sample_open_cases(rng: random.Random, bench_user: Any, size: int = 5000) -> list[int]:
    """Open cases of the generated data, a sample fixed by the seed, in id order.

    Not the newest open cases: those were the ones the benchmark itself had opened in earlier runs
    (every run of "API: open a case" adds a thousand or more), never answered, so what a reply cost (a
    first reply, or a later one) moved with the history of runs (164 to 226 req/s between two runs of
    the same code)."""
    from steward.cases.models import Case, Status

    generated_open = list(
        Case.objects.exclude(status=Status.CLOSED)
        .exclude(opened_by=bench_user)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sorted(rng.sample(generated_open, min(size, len(generated_open))))


def portal_writers(rng: random.Random, open_cases: list[int], *, exclude: int) -> list[tuple[str, str]]:
    """(session key, case key) of up to PORTAL_WRITERS customers, each with one of their open cases.

    Customers write on their own cases, a few at a time. A first version had one customer, drawn at
    random, write every request: with one open case the four connections queued on that case's lock
    (81 req/s), with four they did not (318 req/s), so the figure said which customer was drawn."""
    from django.contrib.sessions.backends.db import SessionStore

    from steward.cases.models import Case
    from steward.portal.services import case_keys
    from steward.portal.session import SESSION_KEY

    owners = dict(Case.objects.filter(pk__in=open_cases).values_list("pk", "customer_id"))
    by_customer: dict[int, int] = {}
    for case_id in sorted(owners):
        if owners[case_id] != exclude:
            by_customer.setdefault(owners[case_id], case_id)
    chosen = rng.sample(sorted(by_customer), min(PORTAL_WRITERS, len(by_customer)))
    keys = case_keys([by_customer[c] for c in chosen])
    writers = []
    for customer in chosen:
        store = SessionStore()
        store[SESSION_KEY] = customer
        store.create()
        writers.append((store.session_key or "", keys[by_customer[customer]]))
    return writers


def bench_decision(user: Any, team: Any) -> int:
    """The decision the assessment scenario posts to (made once per database, through the services):
    every adviser of the biggest team away from 08:00 to 18:00 on the next weekday."""
    from datetime import time as dt_time

    from django.utils import timezone

    from steward.accounts.models import Role, User
    from steward.decisions.models import Decision, DecisionKind
    from steward.decisions.services import DecisionData, away_add, decision_create

    found = Decision.objects.filter(title=BENCH_DECISION_TITLE).values_list("pk", flat=True).first()
    if found is not None:
        return int(found)
    day = timezone.localdate() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, dt_time(8)), tz)
    end = timezone.make_aware(datetime.combine(day, dt_time(18)), tz)
    decision = decision_create(
        actor=user,
        data=DecisionData(
            title=BENCH_DECISION_TITLE,
            kind=DecisionKind.STAFF_ABSENCE,
            window_start=start,
            window_end=end,
            team=team,
        ),
    )
    advisers = User.objects.filter(team=team, role=Role.ADVISER, is_active=True)
    away_add(actor=user, scenario=decision.scenarios.get(), people=advisers, starts_at=start, ends_at=end)
    return decision.pk


def warm_up() -> None:
    """Fill the shared cache the pages read (the complaint churn estimate's population figures, the
    decision assessment's population figures), as a running installation has it: the first complaint page or
    assessment would otherwise compute them inside a request."""
    from django.utils import timezone

    from steward.analytics.economics_selectors import case_expected_loss
    from steward.cases.models import Case, Kind
    from steward.core import timeutil

    complaint = Case.objects.filter(kind=Kind.COMPLAINT).order_by("-pk").first()
    if complaint is not None:
        case_expected_loss(complaint, today=timezone.localdate(timeutil.now()))
    # The decision assessment's population figures, which the periodic job keeps in the cache.
    from steward.decisions.assessment import refresh_population_figures

    refresh_population_figures(timeutil.now())


def _headers(s: Scenario, fx: Fixtures) -> dict[str, str]:
    h: dict[str, str] = {}
    if s.auth == "session":
        h["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={fx.session}"
    elif s.auth == "portal":
        h["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={fx.portal_session}"
    elif s.auth == "portal_writer":
        h["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={fx.writer_session}"
    elif s.auth == "token":
        h["Authorization"] = f"Token {fx.token}"
    if s.body:
        h["Content-Type"] = s.content_type
    if s.method == "POST" and s.auth in ("session", "portal", "portal_writer"):
        # Django's CSRF check for a form post: the token in a header, the secret in a cookie.
        h["Cookie"] += f"; {settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"
        h["X-CSRFToken"] = CSRF_SECRET
        h["Referer"] = "http://127.0.0.1/"
    return h


def _fill(text: str, fx: Fixtures, rng: random.Random) -> str:
    for key, values in fx.values.items():
        text = text.replace("{" + key + "}", rng.choice(values))
    return text


def lua_script(s: Scenario, fx: Fixtures) -> str:
    """wrk script: fills the placeholders per request and prints the summary as one JSON line."""
    used = [k for k in fx.values if "{" + k + "}" in s.path + s.body]
    lines = ["math.randomseed(os.time())", f"wrk.method = {json.dumps(s.method)}"]
    for k, v in _headers(s, fx).items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    for k in used:
        lines.append(f"local v_{k} = {{{', '.join(json.dumps(x) for x in fx.values[k])}}}")
    lines.append(f"local path_t = {json.dumps(s.path)}")
    lines.append(f"local body_t = {json.dumps(s.body)}")
    writers = s.auth == "portal_writer" and len(fx.writers) > 1
    if writers:  # a customer per request: their session cookie and their case
        cookie = _headers(s, fx)["Cookie"].split(";", 1)[1]  # the CSRF cookie after the session's
        cookies = [json.dumps(f"{settings.SESSION_COOKIE_NAME}={w[0]};{cookie}") for w in fx.writers]
        lines.append(f"local w_cookie = {{{', '.join(cookies)}}}")
        lines.append(f"local w_case = {{{', '.join(json.dumps(w[1]) for w in fx.writers)}}}")
    lines.append("request = function()")
    lines.append("  local p, b = path_t, body_t")
    for k in used:
        lines.append(f"  local x_{k} = v_{k}[math.random(#v_{k})]")
        lines.append(f'  p = p:gsub("{{{k}}}", x_{k}); b = b:gsub("{{{k}}}", x_{k})')
    if writers:
        lines.append("  local i = math.random(#w_case)")
        lines.append('  p = path_t:gsub("{writer_case}", w_case[i])')
        lines.append("  local h = {}")
        lines.append("  for name, value in pairs(wrk.headers) do h[name] = value end")
        lines.append('  h["Cookie"] = w_cookie[i]')
    lines.append("  if b == '' then b = nil end")
    lines.append(f"  return wrk.format(nil, p, {'h' if writers else 'nil'}, b)")
    lines.append("end")
    lines.append(WRK_DONE)
    return "\n".join(lines) + "\n"


# wrk's summary as one JSON line on stdout (read by run_wrk).
WRK_DONE = (
    "done = function(summary, latency, requests)\n"
    "  local e = summary.errors\n"
    '  io.write(string.format(\'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, '
    '"p95_us": %d, "p99_us": %d, "errors": %d, "non2xx3xx": %d}\\n\', summary.requests, '
    "summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99), "
    "e.connect + e.read + e.write + e.timeout, e.status))\n"
    "end"
)


# A report whose single request takes longer than this in-process is not run through wrk: its runs would
# keep both workers busy for minutes and tell nothing more than "far over the target" (issue 9).
REPORT_PROBE_SECONDS = float(os.environ.get("BENCH_REPORT_PROBE_SECONDS", "15"))


def count_queries(s: Scenario, fx: Fixtures, rng: random.Random) -> tuple[int, int]:
    """Queries one request makes (Django's test client in this process), and its status code.

    A report's SQL is stopped after REPORT_PROBE_SECONDS (statement_timeout on PostgreSQL): the status is
    then 504 and the report is not run through wrk.
    """
    limit = s.kind == "report" and connection.vendor == "postgresql"
    if limit:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(REPORT_PROBE_SECONDS * 1000)}")
    try:
        return _count_queries(s, fx, rng)
    except Exception as exc:  # noqa: BLE001 (a cancelled statement: the report is too slow to measure)
        if not limit or "statement timeout" not in str(exc):
            raise
        return -1, 504
    finally:
        if limit:
            connection.close()  # a fresh connection: no timeout, no aborted transaction


def _count_queries(s: Scenario, fx: Fixtures, rng: random.Random) -> tuple[int, int]:
    client = Client(HTTP_HOST="127.0.0.1")
    extra: dict[str, Any] = {}
    if s.auth in ("session", "portal", "portal_writer"):
        sessions = {"session": fx.session, "portal": fx.portal_session, "portal_writer": fx.writer_session}
        client.cookies[settings.SESSION_COOKIE_NAME] = sessions[s.auth]
    elif s.auth == "token":
        extra["HTTP_AUTHORIZATION"] = f"Token {fx.token}"
    path = _fill(s.path, fx, rng)
    with CaptureQueriesContext(connection) as ctx:
        if s.method == "POST":
            response = client.post(path, data=_fill(s.body, fx, rng), content_type=s.content_type, **extra)
        else:
            response = client.get(path, **extra)
    return len(ctx.captured_queries), response.status_code


class RssSampler(threading.Thread):
    """Resident memory of gunicorn's workers (children of the master), sampled every half second."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.max_kb = 0
        self.scenario_max_kb = 0  # since the last reset: which scenario made a worker grow
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            out = subprocess.run(
                ["ps", "-o", "rss=", "--ppid", str(self.master_pid)], capture_output=True, text=True
            ).stdout
            for line in out.split():
                self.max_kb = max(self.max_kb, int(line))
                self.scenario_max_kb = max(self.scenario_max_kb, int(line))


def run_wrk(script: str, url: str, *, duration: int, connections: int, threads: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "30s",
                "-s",
                path,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
        )
    finally:
        os.unlink(path)
    for line in out.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            r: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
            return r
    raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")


def ingest_throughput(count: int, rng: random.Random) -> dict[str, Any]:
    """Inbound e-mail through steward.mail.services.mail_receive, in this process: messages per second."""
    from steward.customers.models import Customer
    from steward.mail.services import mail_receive

    emails = list(
        Customer.objects.exclude(email="").order_by("?").values_list("email", flat=True)[: count // 2]
    )
    stamp = int(time.time())
    raws = []
    for i in range(count):
        sender = emails[i % len(emails)] if emails and i % 2 == 0 else f"bench-{stamp}-{i}@example.net"
        raws.append(
            (
                f"From: Customer <{sender}>\r\nTo: support@steward.localhost\r\n"
                f"Subject: Bench mail {i}: my phone does not charge\r\n"
                f"Message-ID: <bench-{stamp}-{i}@example.net>\r\n"
                f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                f"My phone stopped charging after three days. Message {i}.\r\n"
            ).encode()
        )
    started = time.monotonic()
    states: dict[str, int] = {}
    for raw in raws:
        inbound = mail_receive(raw=raw)
        states[inbound.state] = states.get(inbound.state, 0) + 1
    elapsed = time.monotonic() - started
    return {
        "messages": count,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed, 1),
        "states": states,
    }


def drain(base_url: str, timeout: float = 180) -> None:
    """Wait until both workers are free again: a slow page wrk gave up on still runs to its end."""
    import urllib.request

    def hit() -> None:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{base_url}/bench/json/", timeout=timeout).read()

    threads = [threading.Thread(target=hit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


def write_ratios(
    runs: list[dict[str, Any]], ceiling_runs: list[dict[str, Any]]
) -> tuple[float | None, float | None]:
    """(p50 as a multiple of the INSERT ceiling's p50, req/s as a share of its req/s) for a write: the
    median over the write's runs, each compared with the ceiling run made right before it.

    These machines are shared: the speed they give moves by a quarter within minutes (the INSERT
    ceiling measured 1,156 to 1,344 req/s in runs of one afternoon). A ceiling measured once at the start
    of the run compared later writes with another machine; each write run is compared with a ceiling
    run of the same minute. With fewer ceiling runs than write runs (an older result), the last one
    stands for the rest."""
    if not runs or not ceiling_runs:
        return None, None
    p50s, shares = [], []
    for i, run in enumerate(runs):
        base = ceiling_runs[min(i, len(ceiling_runs) - 1)]
        if base.get("p50_us"):
            p50s.append(run["p50_us"] / base["p50_us"])
        if base.get("rps"):
            shares.append(run["rps"] / base["rps"])
    return (
        round(statistics.median(p50s), 1) if p50s else None,
        round(statistics.median(shares), 3) if shares else None,
    )


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def run(
    *,
    base_url: str,
    master_pid: int,
    duration: int,
    connections: int,
    threads: int,
    repeat: int,
    only: list[str],
    out: Path,
    ingest: int,
    report: Any = print,
) -> dict[str, Any]:
    from steward.cases.models import Case, CaseEvent

    rng = random.Random(7)
    fx = prepare(rng)
    sampler = RssSampler(master_pid)
    sampler.start()
    scenarios = [
        s for s in SCENARIOS if s.kind in ("json", "insert") or not only or any(o in s.name for o in only)
    ]
    results = []
    for s in scenarios:
        sampler.scenario_max_kb = 0
        started = time.monotonic()
        queries, status = count_queries(s, fx, rng)
        probe_s = time.monotonic() - started
        if status >= 400:
            report(f"  ! {s.name}: the test client got HTTP {status}")
        # A report may take seconds: fewer connections, a longer run, so some requests complete.
        slow = s.kind == "report"
        too_slow = slow and (status == 504 or probe_s > REPORT_PROBE_SECONDS)
        if too_slow:
            report(f"  ! {s.name}: one request took {probe_s:.1f} s in-process; not run through wrk")
        runs, adjacent = [], []
        for _ in range(0 if too_slow else repeat):
            if s.kind == "write":
                # The INSERT ceiling again, right before each run of a write: see write_ratios.
                adjacent.append(
                    run_wrk(
                        lua_script(INSERT_CEILING, fx),
                        base_url,
                        duration=duration,
                        connections=connections,
                        threads=threads,
                    )
                )
                drain(base_url)
            runs.append(
                run_wrk(
                    lua_script(s, fx),
                    base_url,
                    duration=max(duration, 20) if slow else duration,
                    connections=min(connections, 2) if slow else connections,
                    threads=min(threads, 2 if slow else threads),
                )
            )
            drain(base_url)
        r = {
            "name": s.name,
            "kind": s.kind,
            "method": s.method,
            "path": s.path,
            "queries": queries,
            "status": status,
            "probe_s": round(probe_s, 2),
            "rps": round(_median(runs, "rps"), 1) if runs else 0.0,
            "p50_ms": round(_median(runs, "p50_us") / 1000, 2) if runs else 0.0,
            "p95_ms": round(_median(runs, "p95_us") / 1000, 2) if runs else 0.0,
            "errors": sum(x["errors"] + x["non2xx3xx"] for x in runs),
            "completed": sum(x["requests"] for x in runs),
            "worker_rss_max_mb": round(sampler.scenario_max_kb / 1024, 1),
            "runs": runs,
        }
        if adjacent:
            r["ceiling_runs"] = adjacent
        results.append(r)
        report(
            f"  {s.name}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, errors {r['errors']}"
        )
    sampler.stop.set()
    sampler.join()
    ceiling = {r["kind"]: r for r in results if r["kind"] in ("json", "insert")}
    for r in results:
        if not r["completed"]:  # nothing finished within the run: no latency to compare
            r["ratio_p50"], r["throughput_share"], r["ok"] = None, None, False
            r["target"] = (
                f"not run: one request took {r['probe_s']} s in-process"
                if r.get("probe_s", 0) > REPORT_PROBE_SECONDS or r["status"] == 504
                else "no request completed"
            )
        elif r["kind"] in ("page", "report"):
            base = ceiling["json"]
            r["ratio_p50"] = round(r["p50_ms"] / base["p50_ms"], 1) if base["p50_ms"] else None
            r["target"] = f"p50 ≤ {TARGETS[r['kind']]:.0f}× JSON, 0 errors"
            r["ok"] = r["ratio_p50"] is not None and r["ratio_p50"] <= TARGETS[r["kind"]] and r["errors"] == 0
        elif r["kind"] == "write":
            r["ratio_p50"], r["throughput_share"] = write_ratios(
                r["runs"], r.get("ceiling_runs") or ceiling["insert"]["runs"]
            )
            r["target"] = f"p50 ≤ {TARGETS['write']:.0f}× INSERT, throughput ≥ {WRITE_MIN_THROUGHPUT:.0%}"
            r["ok"] = (
                r["ratio_p50"] is not None
                and r["ratio_p50"] <= TARGETS["write"]
                and (r["throughput_share"] or 0) >= WRITE_MIN_THROUGHPUT
                and r["errors"] == 0
            )
    mail = ingest_throughput(ingest, rng) if ingest else None
    db = connection.settings_dict
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": Case.objects.count(),
        "events": CaseEvent.objects.count(),
        "database": database_version(),
        "database_name": db.get("NAME"),
        "machine": machine(),
        "wrk": {"duration_s": duration, "connections": connections, "threads": threads, "repeat": repeat},
        "gunicorn_workers": 2,
        "worker_rss_max_mb": round(sampler.max_kb / 1024, 1),
        "worker_rss_ok": sampler.max_kb / 1024 < 300,
        "mail_ingest": mail,
        "scenarios": results,
        "missing": MISSING,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    report("")
    report(table(result))
    return result


def database_version() -> str:
    if connection.vendor != "postgresql":
        return connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {"cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1), "cpu": cpu}


def table(result: dict[str, Any]) -> str:
    """The Markdown table the README's Performance section shows."""
    rows = [
        "| scenario | req/s | p50 ms | p95 ms | errors | queries | RSS MB | ratio | target | ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in result["scenarios"]:
        if r["kind"] in ("json", "insert"):
            ratio, target, ok = "1×", "(ceiling)", ""
        else:
            ratio = f"{r['ratio_p50']}×" if r["ratio_p50"] is not None else "n/a"
            if r["kind"] == "write" and r["throughput_share"] is not None:
                ratio += f", {r['throughput_share']:.1%} of INSERT req/s"
                if r.get("ceiling_runs"):
                    adjacent = statistics.median(c["rps"] for c in r["ceiling_runs"])
                    ratio += f" (INSERT beside it: {adjacent:,.0f})"
            target, ok = r["target"], "yes" if r["ok"] else "**no**"
        rows.append(
            f"| {r['name']} | {r['rps']:.0f} | {r['p50_ms']} | {r['p95_ms']} | {r['errors']} | "
            f"{r['queries']} | {r.get('worker_rss_max_mb', '')} | {ratio} | {target} | {ok} |"
        )
    m = result["mail_ingest"]
    tail = [
        "",
        f"{result['cases']:,} cases, {result['events']:,} events · {result['database']} · "
        f"{result['machine']['cores']} cores, {result['machine']['ram_gb']} GB · gunicorn 2 sync workers · "
        f"wrk {result['wrk']['connections']} connections × {result['wrk']['duration_s']} s, median of "
        f"{result['wrk']['repeat']} · worker RSS max {result['worker_rss_max_mb']} MB (limit 300) · "
        f"{result['date']}",
    ]
    if m:
        tail.append(
            f"E-mail ingestion (in-process, mail_receive): {m['per_second']} messages/s "
            f"({m['messages']} messages)"
        )
    for name, why in result.get("missing", {}).items():
        tail.append(f"Not measured: {name} ({why})")
    return "\n".join(rows + tail)
