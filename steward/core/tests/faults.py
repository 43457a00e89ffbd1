"""Throwaway real services on loopback for the fault tests (issue 10, "Faults").

Each helper starts its own instance on a free port in a temporary folder and stops only that
instance: a PostgreSQL cluster (like scripts/pg-start.sh), a redis-server, an SMTP peer (aiosmtpd)
counting what it accepted, the app served by gunicorn, Celery workers. The machine's shared
PostgreSQL (5432) and Redis (6379) are never touched.

The fault tests are slow (real processes): they run in the PostgreSQL pass of scripts/test.sh only
and skip with the reason when a binary is missing.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

SUBPROCESS_SETTINGS = "steward.core.tests.fault_settings"


def redis_reachable(url: str) -> bool:
    """True when a Redis server answers PING at `url` (the worker tests skip otherwise)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(ON_SQLITE)


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _has_aiosmtpd() -> bool:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        return False
    return True


# Marks deciding at collection, so a skipped fault test costs nothing (no database set up for it).
ON_SQLITE = "fault test: slow (real processes); runs once, in the PostgreSQL pass of scripts/test.sh"
needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason=ON_SQLITE)
needs_pg_server = pytest.mark.skipif(
    not all(pg_bin(b) for b in ("initdb", "pg_ctl", "pg_dump", "psql")),
    reason="fault test: the PostgreSQL server binaries (initdb, pg_ctl, pg_dump, psql) are not installed",
)
needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="fault test: redis-server is not installed"
)
needs_aiosmtpd = pytest.mark.skipif(
    not _has_aiosmtpd(), reason="fault test: aiosmtpd (a dev dependency) is not installed"
)


def shared_database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def subprocess_env(
    *, database_url: str, broker_url: str | None = None, smtp_port: int | None = None
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "STEWARD_TEST_", "STEWARD_CACHE_URL", "PYTEST_", "DJANGO_"))
    }
    env |= {"DJANGO_SETTINGS_MODULE": SUBPROCESS_SETTINGS, "DATABASE_URL": database_url}
    env["STEWARD_DB_RETRY_AFTER"] = "3"
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    if smtp_port:
        env["STEWARD_TEST_SMTP_PORT"] = str(smtp_port)
    return env


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- PostgreSQL


class ThrowawayPostgres:
    """A cluster of its own (trust auth, user postgres) that the test may stop and start at will.

    Unlike scripts/pg-start.sh it keeps synchronous_commit on: an acknowledged commit must survive
    the restart for real (fsync stays off, the test does not crash the machine).
    """

    def __init__(self, root: Path) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            pytest.skip("fault test: PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.initdb: str = initdb
        self.pg_ctl: str = pg_ctl
        self.root = root
        self.port = free_port()
        self.run_as: list[str] = []
        if os.getuid() == 0:  # PostgreSQL refuses to run as root
            self.run_as = ["runuser", "-u", "postgres", "--"]
            if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:  # like pg-start.sh
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            shutil.chown(root, "postgres")
        self.data = root / "data"
        self._run(
            [self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/steward"

    def _run(self, command: list[str]) -> None:
        subprocess.run(
            [*self.run_as, *command], cwd="/", check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(
            [self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options, "start"]
        )

    def stop(self, mode: str = "fast") -> None:
        self._run([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"])

    def destroy(self) -> None:
        subprocess.run(
            [*self.run_as, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def copy_database(self, source_url: str) -> None:
        """Create `steward` as a copy of the test database (schema and rows): much faster than migrate."""
        pg_dump, psql = pg_bin("pg_dump"), pg_bin("psql")
        if not pg_dump or not psql:
            pytest.skip("fault test: pg_dump / psql are not installed")
        here = f"postgresql://postgres@127.0.0.1:{self.port}"
        subprocess.run([psql, "-q", f"{here}/postgres", "-c", "CREATE DATABASE steward"], check=True)
        dump = subprocess.run(
            [pg_dump, "--no-owner", "--no-privileges", source_url.replace("postgres://", "postgresql://", 1)],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(
            [psql, "-q", "-v", "ON_ERROR_STOP=1", f"{here}/steward"],
            input=dump,
            check=True,
            stdout=subprocess.DEVNULL,
        )


# ---------------------------------------------------------------- Redis


class ThrowawayRedis:
    """A redis-server of its own, no persistence (a restart loses what was queued, like a crash)."""

    def __init__(self, root: Path) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.skip("fault test: redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = root / f"redis-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.binary or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        if not wait_until(self.answers, 10):
            raise RuntimeError(f"redis-server did not start: {self.log.read_text()[-500:]}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


# ---------------------------------------------------------------- SMTP


class SmtpPeer:
    """An SMTP server (aiosmtpd) that counts accepted mail by Message-ID.

    Setting `hold` makes it stall inside the next DATA (`held` is set then) until `released` is set,
    so a sender can be killed mid-conversation; that mail is refused, never counted.
    """

    def __init__(self) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            pytest.skip("fault test: aiosmtpd (a dev dependency) is not installed")
        self.port = free_port()
        self.accepted: Counter[str] = Counter()
        self.kinds: dict[str, str] = {}
        self.lock = threading.Lock()
        self.hold, self.held, self.released = threading.Event(), threading.Event(), threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold.is_set():
            # Stall this one mail until the test releases it, then refuse it (451, not counted): its
            # sender was killed meanwhile, so the server never accepted it.
            self.hold.clear()
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.accepted["".join(str(message["Message-ID"]).split())] += 1  # unfolded
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.accepted.values())

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {mid: n for mid, n in self.accepted.items() if n > 1}

    def __enter__(self) -> SmtpPeer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


# ---------------------------------------------------------------- Steward processes


def celery_worker(
    name: str, env: dict[str, str], log: Path, *, pool: str = "solo"
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", pool, "-c", "1"]
    command += [
        "-n",
        f"{name}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "info",
    ]
    with log.open("a") as out:
        # A session of its own: the test can kill the worker with its pool processes (os.killpg).
        return subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The pids of a prefork worker's pool processes (its children)."""
    try:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def worker_ready(log: Path) -> bool:
    return log.exists() and " ready." in log.read_text()


@contextmanager
def app_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """Steward served by gunicorn (the production server) on a free port; yields its base URL.

    One process with two threads, the app loaded before the fork (--preload): quick to start.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "--preload"]
    command += ["-w", "1", "-k", "gthread", "--threads", "2", "--timeout", "30", "--graceful-timeout", "2"]
    with log.open("a") as out:
        proc = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            # Any answer will do: a GET on the token endpoint is a quick 405 that needs no database.
            urllib.request.urlopen(f"{base}/api/v1/auth/token/", timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return proc.poll() is not None

    try:
        if not wait_until(answers, 30, 0.2) or proc.poll() is not None:
            raise RuntimeError(f"gunicorn did not start: {log.read_text()[-1500:]}")
        yield base
    finally:
        stop_process(proc)


def http(
    method: str,
    url: str,
    *,
    token: str = "",
    body: dict[str, Any] | None = None,
    timeout: float = 10,
    session: str = "",
) -> tuple[int, dict[str, str], Any]:
    """One call: (status, headers, parsed JSON or text). Never raises for an HTTP status.

    With `token` an API call (JSON); with `session` (a session id) a page as a signed-in browser sees it.
    """
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Token {token}")
        request.add_header("Accept", "application/json")
    if session:
        request.add_header("Cookie", f"{settings.SESSION_COOKIE_NAME}={session}")
        request.add_header("Accept", "text/html")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, dict(exc.headers), exc.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode(errors="replace")
