"""Querysets compiled once and run with other ids give what the queryset itself gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from steward.cases import selectors
from steward.cases.models import Attachment, Case, CaseEvent, Handoff
from steward.cases.services import case_add_note, case_hand_off, case_open, case_reply
from steward.core.compiled import Compiled
from steward.notifications.models import OutboundMail
from steward.notifications.selectors import _failed_mail, failed_mail_list
from steward.testing import DONE, NEED

pytestmark = pytest.mark.django_db


def _state(objects: list) -> list:
    """Every loaded field of each object and of the related objects select_related loaded."""
    out = []
    for obj in objects:
        row = {
            f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname in obj.__dict__
        }
        cached = getattr(obj._state, "fields_cache", {})
        row["related"] = {name: _state([rel])[0] if rel is not None else None for name, rel in cached.items()}
        out.append((type(obj), row))
    return out


@pytest.fixture
def cases(personas):
    p = personas
    made = [p.case]
    for i in range(3):
        case = case_open(
            actor=p.adviser, customer=p.customer, subject=f"Case {i}", description="x", owner=p.adviser
        )
        for j in range(i + 1):
            case_reply(actor=p.adviser, case=case, body=f"Reply {j}")
            case_add_note(actor=p.backup if j % 2 else p.adviser, case=case, body=f"Note {j}")
        made.append(case)
    case = made[-1]
    case.refresh_from_db()
    case_hand_off(
        actor=p.adviser,
        case=case,
        to_user=p.other_adviser,
        customer_need=NEED,
        done_so_far=DONE,
        expected_version=case.version,
    )
    OutboundMail.objects.create(
        case=case,
        to="a@example.com",
        recipient_kind="customer",
        language="en",
        kind="reply",
        subject="Re",
        text_body="x",
        message_id="<x@example.com>",
        state="failed",
        created_at=timezone.now() - timedelta(hours=1),
        next_attempt_at=timezone.now(),
    )
    return made


def test_compiled_reads_equal_the_querysets_for_every_case(cases):
    pairs: list[tuple[Any, Any]] = [
        (
            Compiled(
                CaseEvent,
                lambda c: (
                    CaseEvent.objects.filter(case_id=c).select_related("actor", "sector").order_by("at", "id")
                ),
            ),
            lambda c: (
                CaseEvent.objects.filter(case_id=c).select_related("actor", "sector").order_by("at", "id")
            ),
        ),
        (selectors._attachments, lambda c: list(Attachment.objects.filter(case_id=c))),
        (
            selectors._handoffs,
            lambda c: Handoff.objects.filter(case_id=c).select_related("from_user", "to_user").order_by(),
        ),
        (failed_mail_list, _failed_mail),  # deferred fields (only)
    ]
    missing = max(c.pk for c in cases) + 1000
    for compiled, plain in pairs:
        for case_id in [*(c.pk for c in cases), missing, cases[0].pk]:
            assert _state(compiled(case_id)) == _state(list(plain(case_id))), (compiled, case_id)
    assert _state(failed_mail_list(cases[-1].pk)) and _state(selectors._handoffs(cases[-1].pk))


def test_two_ids_and_a_sliced_queryset(cases):
    customer = cases[0].customer_id
    for case in cases:
        expected = list(
            Case.objects.filter(customer_id=customer).exclude(pk=case.pk).order_by("-created_at")[:10]
        )
        assert _state(selectors._other_cases_seen_by_all(customer, case.pk)) == _state(expected)


def test_an_id_written_into_the_sql_falls_back_to_the_queryset(cases):
    compiled = Compiled(Case, lambda n: Case.objects.order_by("pk")[:n])  # LIMIT n: part of the SQL text
    assert [c.pk for c in compiled(2)] == [c.pk for c in Case.objects.order_by("pk")[:2]]
    assert [c.pk for c in compiled(3)] == [c.pk for c in Case.objects.order_by("pk")[:3]]
    assert next(iter(compiled._compiled.values())) is None


def test_the_case_page_reads_stay_the_users_visibility(personas, cases, client):
    """Who sees every case reads through the compiled query; anyone else through visible_to."""
    p = personas
    hidden = cases[1]
    assert selectors.case_get_for_user(p.manager, hidden.pk) == hidden
    hidden.owner = p.other_adviser
    hidden.team = p.other_team
    hidden.save()
    client.force_login(p.adviser)
    assert client.get(f"/en/cases/{hidden.pk}/").status_code == 404
    client.force_login(p.manager)
    assert client.get(f"/en/cases/{hidden.pk}/").status_code == 200
    for bad in ["99999999999999999999", "-99999999999999999999", "9007199254740000", "x"]:
        assert client.get(f"/en/cases/{bad}/").status_code == 404
    others = {c.pk for c in selectors.case_other_cases(cases[0], user=p.adviser)}
    assert hidden.pk not in others and others
    assert hidden.pk in {c.pk for c in selectors.case_other_cases(cases[0], user=p.manager)}


def test_a_values_list_with_a_limit(cases, personas):
    first = Compiled(
        Case, lambda c: Case.objects.filter(customer_id=c).order_by("pk").values_list("pk", flat=True)[:1]
    )
    customer = personas.customer.pk
    assert first(customer) == [min(c.pk for c in cases)]
    assert first(customer + 1000) == []
