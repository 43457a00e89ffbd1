"""Outbound mail without a broker, sent off the request: one background thread per process (issue 9).

With a broker, `send_outbound` runs on a Celery worker after the commit. Without one Celery runs the
task eagerly, that is inside the request that committed the change: the request waited for the claim,
the read, the mail's build, the SMTP conversation and the "sent" write (two thirds of the cost of a
reply in the benchmark went to its notification). `STEWARD_MAIL_SEND_IN_BACKGROUND` (on by default
when no broker is set; off in the tests, which read the sent mail right after the commit) hands the
row's id to this thread instead; the request answers at once.

Nothing is lost with the process: the rows are in the outbox, written in the change's transaction.
The thread also does what beat's `flush_outbox` does with a broker (an install without a broker has
no beat either): every STEWARD_MAIL_FLUSH_SECONDS it sends the due rows, those a process that died
left behind and retries whose time has come. Each send claims its rows first
(services.outbound_deliver_many), so several processes never send a mail twice. At interpreter exit
(a management command) the thread finishes its queue before the process ends.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

_FLUSH = -1  # queue item: send the due rows (the periodic flush)
_STOP = -2  # queue item: finish and end the thread
_EXIT_WAIT_SECONDS = 30
# The connection's age and health are checked before a batch at most this often: the check is a
# round trip (SELECT 1), and under load batches follow each other closely (issue 9: a fifth of the
# thread's work when it checked before each). After a failed send it is checked before the next batch.
_CHECK_EVERY_SECONDS = 1.0
# The thread sends the mails handed over in a batch: claimed in one statement, sent over one SMTP
# session, marked sent in one statement (services.outbound_deliver_many). Under load a request hands
# over a mail every few milliseconds; waiting this long after the first gathers the next few (the
# customer gets the mail a tenth of a second later). At most _BATCH_MAX mails a batch.
_GATHER_SECONDS = 0.1
_BATCH_MAX = 100

_lock = threading.Lock()
_state: dict[str, object] = {"pid": None, "thread": None, "queue": None}


def enabled() -> bool:
    """Background sending applies only where Celery would otherwise run the task in the request."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER and settings.STEWARD_MAIL_SEND_IN_BACKGROUND)


def submit(outbound_id: int) -> None:
    """Send this outbox row soon, from the process's sender thread (started on first use)."""
    _queue().put(outbound_id)


def _queue() -> queue.SimpleQueue[int]:
    pid = os.getpid()
    with _lock:
        thread = _state["thread"]
        # A forked worker (gunicorn) inherits the parent's objects but not its threads: start its own.
        if _state["pid"] != pid or not isinstance(thread, threading.Thread) or not thread.is_alive():
            q: queue.SimpleQueue[int] = queue.SimpleQueue()
            thread = threading.Thread(target=_run, args=(q,), name="steward-outbox", daemon=True)
            _state.update(pid=pid, thread=thread, queue=q)
            thread.start()
        return _state["queue"]  # type: ignore[return-value]


def _run(q: queue.SimpleQueue[int]) -> None:
    from . import services

    period = float(settings.STEWARD_MAIL_FLUSH_SECONDS)
    checked = float("-inf")
    try:
        while True:
            try:
                item = q.get(timeout=period)
            except queue.Empty:
                item = _FLUSH
            if item >= 0:
                time.sleep(_GATHER_SECONDS)  # let the mails of the next few requests join this one
            batch = [item]
            while len(batch) < _BATCH_MAX:  # whatever else arrived meanwhile, in one go
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            if time.monotonic() - checked >= _CHECK_EVERY_SECONDS:
                close_old_connections()  # the connection's age and health, as at a request's start
                checked = time.monotonic()
            ids = [outbound_id for outbound_id in batch if outbound_id >= 0]
            try:
                if ids:
                    # A transient failure leaves the row pending with its next attempt time: the
                    # periodic flush retries it, as beat's flush_outbox does with a broker.
                    services.outbound_deliver_many(outbound_ids=ids)
                if _FLUSH in batch:
                    services.outbox_flush()
            except Exception:
                logger.exception("Outbound mail %s: sending failed (the flush tries again)", ids)
                checked = float("-inf")
            if _STOP in batch:
                return
    finally:
        connections.close_all()


def drain(timeout: float = _EXIT_WAIT_SECONDS) -> None:
    """Finish what was handed over (process exit, tests): the thread sends its queue, then ends."""
    with _lock:
        thread, q = _state["thread"], _state["queue"]
        if _state["pid"] != os.getpid() or not isinstance(thread, threading.Thread) or not thread.is_alive():
            return
        _state.update(thread=None, queue=None)
    q.put(_STOP)  # type: ignore[attr-defined]
    thread.join(timeout)


atexit.register(drain)
