"""The case list's changes for scale (issue 9): search through customer ids, counts bounded."""

from __future__ import annotations

import pytest

from steward.cases import selectors
from steward.cases.selectors import CaseFilters, case_list
from steward.cases.services import case_open
from steward.core import timeutil
from steward.customers.models import Customer


@pytest.fixture
def cases(manager, customer, case):
    other = Customer.objects.create(name="Zebedee Quartermain", email="zq@example.com")
    mine = case_open(actor=manager, customer=other, subject="Router keeps rebooting", description="x")
    return case, mine


def _found(user, q: str) -> set[int]:
    return set(
        case_list(user=user, filters=CaseFilters(scope="all", q=q), now=timeutil.now()).values_list(
            "pk", flat=True
        )
    )


def test_search_finds_cases_by_subject_customer_name_and_email(manager, cases):
    first, second = cases
    assert _found(manager, "rebooting") == {second.pk}
    assert _found(manager, "quartermain") == {second.pk}
    assert _found(manager, "ZQ@EXAMPLE") == {second.pk}
    assert _found(manager, "nothing like this") == set()


def test_search_matching_many_customers_falls_back_to_a_join(manager, cases, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_CUSTOMER_IDS", 0)
    first, second = cases
    assert _found(manager, "quartermain") == {second.pk}


def test_case_list_page_queries_stay_constant_as_cases_grow(
    client, manager, customer, django_assert_max_num_queries
):
    client.force_login(manager)
    client.get("/en/cases/?q=phone")
    for i in range(30):
        case_open(actor=manager, customer=customer, subject=f"Phone case {i}", description="x")
    with django_assert_max_num_queries(9):
        assert client.get("/en/cases/?q=phone").status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get("/en/cases/").status_code == 200
