"""Reads compiled once (steward.core.compiled) give what the ORM gives: the same rows, the same related
objects, for every kind of user and case (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.http import Http404
from django.utils import timezone

from steward.accounts.models import Role
from steward.cases import selectors
from steward.cases import services as cs
from steward.cases.models import Attachment, Case, CaseEvent, Category, Handoff
from steward.cases.services import case_add_note, case_hand_off, case_open, case_reply
from steward.cases.task_services import task_create
from steward.core.compiled import Compiled
from steward.notifications.models import OutboundMail
from steward.notifications.selectors import _failed_mail, failed_mail_list
from steward.testing import DONE, NEED, make_user

pytestmark = pytest.mark.django_db


def same(a, b) -> bool:
    """Same model and column values."""
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and all(
        getattr(a, f.attname) == getattr(b, f.attname) for f in a._meta.concrete_fields
    )


def reference_case_for_user(user, pk):
    """case_get_for_user as the ORM reads it (the definition)."""
    return (
        Case.objects.visible_to(user)
        .select_related("customer", "owner", "owner__backup", "category", "team")
        .filter(pk=pk)
        .first()
    )


def test_case_get_for_user_reads_what_the_orm_reads(personas):
    p = personas
    category = Category.objects.create(name="Charging")
    cases = [
        p.case,  # the adviser's, with a backup
        cs.case_open(actor=p.manager, customer=p.customer, subject="M", description="M", category=category),
        cs.case_open(actor=p.other_adviser, customer=p.customer, subject="O", description="O"),
    ]
    handed = cs.case_open(actor=p.adviser, customer=p.customer, subject="H", description="H")
    cs.case_hand_off(
        actor=p.adviser,
        case=handed,
        to_user=p.other_adviser,
        customer_need="The phone does not charge after the update.",
        done_so_far="Checked the cable and the charger; both work with another phone.",
    )
    cases.append(handed)  # the adviser handed it over: still readable by them
    task_create(actor=p.other_adviser, case=cases[2], sector=p.billing, description="Refund")
    loner = make_user("loner")  # an adviser without a team
    inactive = make_user("gone", role=Role.MANAGER)
    inactive.is_active = False
    boss = make_user("root", role=Role.ADVISER)
    boss.is_superuser = True
    boss.save(update_fields=["is_superuser"])
    users = [
        p.adviser,
        p.backup,
        p.other_adviser,
        p.sector_member,
        p.manager,
        p.executive,
        loner,
        inactive,
        boss,
    ]
    seen = 0
    for user in users:
        for pk in [c.pk for c in cases] + [10**9, 2**63, -1]:
            expected = reference_case_for_user(user, pk) if -(2**63) <= pk < 2**63 else None
            try:
                got = selectors.case_get_for_user(user, pk)
            except Http404:
                got = None
            assert same(got, expected), (user.username, pk)
            if expected is None:
                continue
            seen += 1
            assert got is not None
            for name in ("customer", "owner", "category", "team"):
                field: Any = Case._meta.get_field(name)
                assert field.is_cached(got) == field.is_cached(expected)
                assert same(getattr(got, name), getattr(expected, name)), name
            assert same(got.owner.backup, expected.owner.backup)
    assert seen >= 12
    with pytest.raises(Http404):
        selectors.case_get_for_user(p.manager, "abc")


def test_the_other_compiled_reads_answer_as_the_orm(personas):
    """The portal's reads, the absences, the follow-up origin: compiled and through the ORM."""
    from datetime import timedelta

    from django.utils import timezone

    from steward.accounts.models import Absence
    from steward.accounts.selectors import away_user_ids, user_is_away
    from steward.accounts.services import absence_create
    from steward.portal import selectors as portal
    from steward.portal.services import case_keys

    p = personas
    now = timezone.now()
    absence_create(
        actor=None,
        user=p.adviser,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="Training",
    )
    for at in (now - timedelta(hours=2), now, now + timedelta(hours=1), now + timedelta(days=1)):
        for user in (p.adviser, p.backup, p.manager):
            reference = Absence.objects.filter(user=user).covering(at).exists()
            assert user_is_away(user, at=at) is reference
        for ids in ([p.adviser.pk], [p.adviser.pk, p.backup.pk], [p.backup.pk, p.adviser.pk], [p.manager.pk]):
            reference_ids = set(
                Absence.objects.covering(at).filter(user_id__in=ids).values_list("user_id", flat=True)
            )
            assert away_user_ids(at=at, user_ids=ids) == reference_ids
    assert same(portal.customer_get(p.customer.pk), p.customer)
    assert portal.customer_get(10**9) is None and portal.customer_get("x") is None
    assert portal.customer_get(2**64) is None
    other = p.customer.__class__.objects.create(name="Other", email="other@example.com")
    key = case_keys([p.case.pk])[p.case.pk]
    got = portal.case_for_customer(p.customer, key)
    assert same(got, p.case) and same(got.owner.backup, p.backup) and same(got.customer, p.customer)
    for customer, k in ((other, key), (p.customer, "nope"), (p.customer, key.upper())):
        with pytest.raises(Http404):
            portal.case_for_customer(customer, k)
    # The follow-up origin: a closed case of the customer within the window, by category or kind.
    category = Category.objects.create(name="Charging")
    closed = cs.case_open(
        actor=p.manager, customer=p.customer, subject="X", description="X", category=category, at=now
    )
    cs.case_close_unconfirmed(actor=p.manager, case=closed, reason="No answer for two weeks", at=now)

    def reference_origin(customer, category, kind, at):
        qs = Case.objects.filter(
            customer=customer,
            status="closed",
            closed_at__gte=at - cs.follow_up_window(),
            closed_at__lte=at,
        )
        qs = qs.filter(category=category) if category is not None else qs.filter(kind=kind)
        return qs.order_by("-closed_at").first()

    found = 0
    for at in (now - timedelta(minutes=1), now, now + timedelta(days=3), now + timedelta(days=400)):
        for cat in (None, category):
            for kind in ("question", "complaint", closed.kind):
                for customer in (p.customer, other):
                    expected = reference_origin(customer, cat, kind, at)
                    found += expected is not None
                    origin = cs.find_follow_up_origin(customer=customer, category=cat, kind=kind, at=at)
                    assert same(origin, expected)
    assert found


def test_the_models_written_through_compiled_sql_have_no_save_receivers():
    """`compiled.insert` / `update` send no pre_save/post_save: nothing may listen to these models."""
    from django.db.models.signals import post_save, pre_save

    from steward.cases.models import CaseEvent, Message
    from steward.notifications.models import OutboundMail
    from steward.portal.models import PortalCaseKey

    for model in (Case, Message, CaseEvent, OutboundMail, PortalCaseKey):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model


def test_insert_writes_what_create_writes(personas):
    """The same row, read back, as Model.objects.create() makes (defaults, JSON, foreign keys)."""
    from django.utils import timezone

    from steward.cases.models import CaseEvent
    from steward.core.compiled import insert

    at = timezone.now()
    spec = {"case": personas.case, "kind": "note", "at": at, "actor": personas.adviser, "version": 9}
    a = CaseEvent(**spec, data={"x": [1, "é"]})
    b = CaseEvent(**spec, data={"x": [1, "é"]})
    insert(a)
    b.save(force_insert=True)
    assert a.pk and a.pk != b.pk and not a._state.adding
    found: Any = CaseEvent.objects.filter(pk__in=[a.pk, b.pk]).values()
    rows = {r["id"]: {**r, "id": None} for r in found}
    assert rows[a.pk] == rows[b.pk]


def test_upsert_writes_what_bulk_create_with_update_conflicts_writes(personas):
    """`compiled.upsert`: a new row inserted, an existing one updated, as bulk_create(update_conflicts)."""
    from steward.analytics.models import CaseContacts
    from steward.core.compiled import upsert

    other = case_open(actor=personas.manager, customer=personas.customer, subject="S", description="D")
    fields = [f.attname for f in CaseContacts._meta.concrete_fields if not f.primary_key]
    CaseContacts.objects.filter(case__in=[personas.case, other]).delete()
    at = timezone.now()

    def rows(n: int) -> list[CaseContacts]:
        return [
            CaseContacts(case=personas.case, inbound_before_close=n, last_inbound_at=at, channel="email"),
            CaseContacts(case=other, owner_changes=n, team=personas.manager.team, repeat_flagged=True),
        ]

    def stored() -> list[Any]:
        return list(CaseContacts.objects.filter(case__in=[personas.case, other]).order_by("case_id").values())

    upsert(rows(1)[:1], unique=["case"], update=fields)  # one new row
    upsert(rows(2), unique=["case"], update=fields)  # one updated, one new
    mine = stored()
    CaseContacts.objects.filter(case__in=[personas.case, other]).delete()
    CaseContacts.objects.bulk_create(
        rows(1)[:1], update_conflicts=True, unique_fields=["case"], update_fields=fields
    )
    CaseContacts.objects.bulk_create(
        rows(2), update_conflicts=True, unique_fields=["case"], update_fields=fields
    )
    assert mine == stored() and len(mine) == 2 and mine[0]["inbound_before_close"] == 2
    upsert([], unique=["case"], update=fields)  # nothing to write: no statement


def test_a_values_queryset_compiled_gives_its_dicts(cases):
    from steward.core.compiled import compiled, standin

    query = compiled(
        ("test_dicts",), lambda: Case.objects.filter(pk=standin(0)).values("pk", "subject", "status")
    )
    case = cases[0]
    assert query.dicts({standin(0): case.pk}) == list(
        Case.objects.filter(pk=case.pk).values("pk", "subject", "status")
    )
    assert query.dicts({standin(0): 0}) == []


def test_the_values_a_save_writes_are_djangos_for_every_field(personas):
    """`save_values` hands some values over as they are: for every field of the models written here,
    on this database, what Django's pre_save and get_db_prep_save give (text choices, None, booleans,
    references, JSON, times)."""
    from django.db import connection
    from django.utils import timezone

    from steward.cases.models import CaseEvent, Message, Status
    from steward.core.compiled import save_plan, save_values
    from steward.notifications.models import OutboundMail
    from steward.portal.models import PortalCaseKey

    case = Case.objects.get(pk=personas.case.pk)
    case.status = Status.OPEN  # a text choice (a str subclass)
    case.closure_note = None  # type: ignore[assignment]  # None where text goes
    objs = [
        case,
        Message.objects.filter(case=case).first(),
        CaseEvent(case=case, kind="note", at=timezone.now(), actor=None, version=3, data={"a": [1, None]}),
        OutboundMail.objects.filter(case=case).first(),
        PortalCaseKey(case_id=case.pk),
    ]
    for obj in objs:
        assert obj is not None
        fields = [f for f in obj._meta.local_concrete_fields if not f.primary_key]
        plan = save_plan(fields, connection)
        assert any(kind is not None for _f, _a, kind in plan), type(obj)  # the shortcut is taken
        for add in (True, False):
            expected = [f.get_db_prep_save(f.pre_save(obj, add), connection) for f in fields]
            got = save_values(plan, obj, connection, add=add)
            # (psycopg's JSON wrapper has no equality of its own: its object is compared)
            assert [(type(v), getattr(v, "obj", v)) for v in got] == [
                (type(v), getattr(v, "obj", v)) for v in expected
            ], type(obj)


def test_update_and_insert_writes_what_update_then_insert_write(personas):
    """One statement on PostgreSQL: the same rows as `update` then `insert`; a missing row raises the same
    error and writes no event."""
    from django.utils import timezone

    from steward.cases.models import CaseEvent
    from steward.core.compiled import update_and_insert

    case = Case.objects.get(pk=personas.case.pk)
    case.version += 1
    case.subject = "x" * 300  # the column's full width (a cast to its varchar(n) would cut more)
    event = CaseEvent(
        case=case, kind="note", at=timezone.now(), actor=None, sector_id=None, version=case.version, data={}
    )
    update_and_insert(case, ["version", "subject"], event)
    assert event.pk and not event._state.adding
    case.refresh_from_db()
    stored = CaseEvent.objects.get(pk=event.pk)
    assert (case.version, case.subject) == (event.version, "x" * 300)
    assert (stored.case_id, stored.kind, stored.actor_id, stored.data, stored.version) == (
        case.pk,
        "note",
        None,
        {},
        case.version,
    )
    assert stored.at == event.at

    gone = Case.objects.get(pk=personas.case.pk)
    gone.pk = 987654321
    orphan = CaseEvent(case_id=gone.pk, kind="note", at=timezone.now(), version=1, data={"a": 1})
    before = CaseEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic():
        update_and_insert(gone, ["version"], orphan)
    assert CaseEvent.objects.count() == before


def test_the_api_customer_field_answers_as_drf_does(personas):
    """CaseCreateSerializer's customer: the same value or the same error as DRF's PrimaryKeyRelatedField
    over `customers_visible_to`, for staff and for a sector member (who sees no customer)."""
    from decimal import Decimal

    from rest_framework import serializers

    from steward.cases.serializers import VisibleCustomerField
    from steward.customers.selectors import customers_visible_to

    def answer(field, value):
        try:
            return ("ok", field.to_internal_value(value).pk)
        except serializers.ValidationError as exc:
            return ("error", exc.detail)

    pk = personas.customer.pk
    inputs = [
        pk,
        str(pk),
        f" {pk} ",
        float(pk),
        Decimal(pk),
        10**9,
        2**64,
        -1,
        "abc",
        "1.5",
        True,
        None,
        [],
        {},
    ]
    for user in (personas.manager, personas.adviser, personas.sector_member):
        ours = VisibleCustomerField()
        ours.bind("customer", serializers.Serializer(context={"user": user}))
        drf: Any = serializers.PrimaryKeyRelatedField(queryset=customers_visible_to(user))
        for value in inputs:
            assert answer(ours, value) == answer(drf, value), (user.username, value)


def test_the_session_store_loads_what_djangos_loads():
    """steward.core.sessions: a live session loads, an expired or unknown one does not (its key is
    dropped), as with Django's database store."""
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore as DjangoStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from steward.core.sessions import SessionStore

    live = SessionStore()
    live["portal_customer_id"] = 7
    live.create()
    expired = SessionStore()
    expired["x"] = 1
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (live.session_key, expired.session_key, "nosuchsessionkeyatall0123456789x"):
        ours, django = SessionStore(session_key=key), DjangoStore(session_key=key)
        assert ours.load() == django.load()
        assert ours.session_key == django.session_key
    assert SessionStore(session_key=live.session_key).load() == {"portal_customer_id": 7}


def test_a_cases_portal_key_is_made_once(personas):
    """portal.services.case_key: the first mail of a case makes its key, later ones read it, and a key
    another request made first is the one used."""
    from steward.portal.models import PortalCaseKey
    from steward.portal.services import _new_key, case_key

    case = cs.case_open(actor=personas.manager, customer=personas.customer, subject="K", description="K")
    PortalCaseKey.objects.filter(case=case).delete()
    key = case_key(Case.objects.get(pk=case.pk))
    assert PortalCaseKey.objects.get(case=case).key == key
    assert case_key(Case.objects.get(pk=case.pk)) == key
    assert _new_key(case.pk) == key  # made by someone else meanwhile: theirs


# ------------------------------------------------------------------ Compiled (the case page's reads by id)


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
    assert compiled._takes == {("Compiled", id(compiled), 1): False}


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
