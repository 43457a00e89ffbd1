"""The case list's changes for scale (issue 9): search through customer ids, counts bounded."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from steward.cases import selectors
from steward.cases.models import Case
from steward.cases.selectors import CaseFilters, case_list
from steward.cases.services import case_open
from steward.core import timeutil
from steward.core.pagination import CappedCountPaginator
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


def _reference(term: str) -> list[int]:
    """The straight filter: what the case list must show for a search, in its order."""
    q = Q(subject__icontains=term) | Q(customer__name__icontains=term) | Q(customer__email__icontains=term)
    if term.lstrip("#").isdigit():
        q |= Q(pk=int(term.lstrip("#")))
    return list(Case.objects.filter(q).order_by("-created_at", "-id").values_list("pk", flat=True))


# (trust, planner): the capped count with a planner that doubles every list (PostgreSQL's estimates
# on a table this small mean nothing), and the estimate taken without counting whenever it is over the cap.
@pytest.mark.parametrize(("trust", "factor"), [(25, 2), (1, 1)])
def test_search_pages_and_counts_equal_the_straight_filter(
    client, manager, customer, monkeypatch, settings, trust, factor
):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(CappedCountPaginator, "trust", trust)
    monkeypatch.setattr("steward.core.pagination._planner_rows", lambda qs: factor * qs.count())
    monkeypatch.setattr("steward.core.pagination._table_rows", lambda qs: 1.0)  # analysed, tiny
    settings.STEWARD_CASE_PAGE_SIZE = 3
    people = [
        Customer.objects.create(name=name, email=email)
        for name, email in [
            ("Ann Charge", "ann@example.com"),
            ("Bob Stone", "charged.bob@example.org"),
            ("Élodie Ünal", "elodie@example.net"),
            ("Зоя Смирнова", "zoya@example.ru"),
        ]
    ]
    subjects = [
        "Charged twice",
        "Phone does not charge",
        "No signal",
        "DOUBLE CHARGED",
        "смена тарифа",
        "Ünal",
    ]
    opened = [
        case_open(actor=manager, customer=people[i % 4], subject=subjects[i % 6], description="x")
        for i in range(23)
    ]
    # Ties on created_at: the id decides, as in the list's ORDER BY.
    Case.objects.filter(pk__in=[c.pk for c in opened[5:9]]).update(created_at=opened[5].created_at)
    client.force_login(manager)
    terms = ["charged", "CHARGE", "ünal", "СМЕНА", "example", "bob", "nothing", str(opened[3].pk), "a"]
    for term in terms:
        expected = _reference(term)
        pages = max(1, -(-len(expected) // 3))
        for number in range(1, pages + 1):
            r = client.get("/en/cases/", {"scope": "all", "q": term, "page": number})
            page = r.context["page_obj"]
            assert [c.pk for c in page.object_list] == expected[(number - 1) * 3 : number * 3], (term, number)
            paginator = page.paginator
            if len(expected) <= 5 or number == pages and len(expected) % 3:
                assert paginator.count == len(expected) and not paginator.estimated, (term, number)
            else:
                assert paginator.count > 5 and paginator.estimated == (connection.vendor == "postgresql")
