"""Two advisers acting on the same case version at the same moment: one wins, the other is told."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from steward.cases.models import Case
from steward.cases.services import case_reply
from steward.core.errors import StaleVersion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks across connections (PostgreSQL)"
)
def test_concurrent_replies_on_one_version_never_both_succeed(personas, manager):
    case, adviser = personas.case, personas.adviser
    version = case.version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def reply(actor, text):
        try:
            barrier.wait(timeout=10)
            case_reply(actor=actor, case=Case.objects.get(pk=case.pk), body=text, expected_version=version)
            outcomes.append("sent")
        except StaleVersion:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reply, args=(u, f"reply by {u}")) for u in (adviser, manager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["sent", "stale"]
    assert case.messages.filter(direction="out").count() == 1
