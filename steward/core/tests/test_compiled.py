"""Reads compiled once (steward.core.compiled) give what the ORM gives: the same rows, the same related
objects, for every kind of user and case (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from steward.accounts.models import Role
from steward.cases import selectors
from steward.cases import services as cs
from steward.cases.models import Case, Category
from steward.cases.task_services import task_create
from steward.testing import make_user

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
