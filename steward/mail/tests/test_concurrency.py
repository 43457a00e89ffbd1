"""The same mail received twice at once (two pollers, a retry racing the first run): one case message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from steward.cases.models import Message
from steward.mail.models import InboundMail, InboundState
from steward.mail.services import mail_receive

from .helpers import make_mail

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.parametrize("sender", ["somchai@example.com", "brand.new@example.net"])
def test_one_message_id_received_concurrently_is_processed_once(personas, sender):
    raw = make_mail(sender=sender, message_id="<race@client.example>")
    barrier = threading.Barrier(2)
    states: list[str] = []
    errors: list[BaseException] = []

    def receive():
        try:
            barrier.wait(timeout=10)
            states.append(mail_receive(raw=raw).state)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(states) == [InboundState.IGNORED_DUPLICATE, InboundState.PROCESSED]
    assert Message.objects.filter(external_id="<race@client.example>").count() == 1
    assert InboundMail.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")
def test_two_first_mails_from_an_unknown_sender_at_once_make_one_customer_and_one_case(personas):
    from steward.cases.models import Case
    from steward.customers.models import Customer

    sender = "first.timer@example.net"
    raws = [make_mail(sender=sender, message_id=f"<first-{n}@client.example>") for n in (1, 2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def receive(raw: bytes) -> None:
        try:
            barrier.wait(timeout=10)
            mail_receive(raw=raw)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=receive, args=(raw,)) for raw in raws]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert Customer.objects.filter(email=sender).count() == 1
    case = Case.objects.get(customer__email=sender)
    assert case.messages.count() == 2
