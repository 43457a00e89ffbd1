"""Without a broker, outbound mail leaves the request: a thread of the process sends it (pump.py)."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.test import override_settings

from steward.cases.services import case_reply
from steward.notifications import pump
from steward.notifications.models import MailState, OutboundMail

pytestmark = pytest.mark.django_db(transaction=True)  # the thread reads what the request committed

# The tests watch the mail the thread sends (in memory), then let the thread finish (pump.drain) before
# they read its rows: the test database is SQLite in shared-cache memory, where a read that meets the
# thread's write makes the write fail at once ("table is locked") instead of waiting for it.


def _wait_for(check, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


@override_settings(STEWARD_MAIL_SEND_IN_BACKGROUND=True, CELERY_TASK_ALWAYS_EAGER=True)
def test_the_reply_mail_is_sent_by_the_background_thread_exactly_once(personas, monkeypatch):
    sent_by: list[str] = []
    real = pump._run

    def run(q):
        import threading

        sent_by.append(threading.current_thread().name)
        real(q)

    monkeypatch.setattr(pump, "_run", run)
    before = len(mail.outbox)
    case_reply(actor=personas.adviser, case=personas.case, body="We are on it.")
    row = OutboundMail.objects.filter(case=personas.case, kind="reply").get()
    assert _wait_for(lambda: len(mail.outbox) > before)
    pump.drain()  # the thread ends once its queue is done
    assert OutboundMail.objects.get(pk=row.pk).state == MailState.SENT
    assert sent_by == ["steward-outbox"]
    assert len(mail.outbox) == before + 1 and mail.outbox[-1].to == [personas.customer.email]
    # A second hand-over of the same row (a flush, another process) sends nothing more.
    pump.submit(row.pk)
    pump.drain()
    assert len(mail.outbox) == before + 1
    assert OutboundMail.objects.get(pk=row.pk).attempts == 1


@override_settings(
    STEWARD_MAIL_SEND_IN_BACKGROUND=True, CELERY_TASK_ALWAYS_EAGER=True, STEWARD_MAIL_FLUSH_SECONDS=0.1
)
def test_the_thread_flushes_due_rows_a_dead_process_left(personas):
    """A row written but never handed over (its process died after the commit) is sent by the flush."""
    case_reply(actor=personas.adviser, case=personas.case, body="We are on it.")
    pump.drain()
    row = OutboundMail.objects.filter(case=personas.case, kind="reply").get()
    OutboundMail.objects.filter(pk=row.pk).update(state=MailState.PENDING, sent_at=None, attempts=0)
    before = len(mail.outbox)
    pump.submit(-3)  # nothing to send: only starts the thread, whose periodic flush finds the row
    assert _wait_for(lambda: len(mail.outbox) > before)
    pump.drain()
    assert OutboundMail.objects.get(pk=row.pk).state == MailState.SENT


@override_settings(STEWARD_MAIL_SEND_IN_BACKGROUND=True, CELERY_TASK_ALWAYS_EAGER=True)
def test_mails_handed_over_together_go_in_one_batch(personas, monkeypatch):
    """The thread waits a moment after the first mail, so the next requests' mails join its batch."""
    from steward.notifications import services

    batches: list[list[int]] = []
    real = services.outbound_deliver_many

    def deliver_many(*, outbound_ids, now=None):
        batches.append(list(outbound_ids))
        return real(outbound_ids=outbound_ids, now=now)

    monkeypatch.setattr(services, "outbound_deliver_many", deliver_many)
    monkeypatch.setattr(pump, "_GATHER_SECONDS", 0.5)
    pump.drain()
    before = len(mail.outbox)
    for n in range(3):
        case_reply(actor=personas.adviser, case=personas.case, body=f"Update {n}.")
    rows = list(OutboundMail.objects.filter(case=personas.case, kind="reply").order_by("pk"))
    assert _wait_for(lambda: len(mail.outbox) >= before + 3)
    pump.drain()
    assert all(OutboundMail.objects.get(pk=r.pk).state == MailState.SENT for r in rows)
    assert batches == [[r.pk for r in rows]]
