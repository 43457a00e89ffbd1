"""Customer value and the monthly economics inputs: managers only, money typed in major units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from steward.core.errors import DomainError, NotPermitted
from steward.customers.models import EconomicsInputs
from steward.customers.services import customer_value_set, economics_inputs_set

pytestmark = pytest.mark.django_db


def test_manager_enters_a_month_in_major_units_stored_as_minor(client, manager):
    client.force_login(manager)
    r = client.post(
        "/en/customers/economics/",
        {
            "month": "2026-03",
            "currency": "eur",
            "revenue_minor": "125000.50",
            "sales_marketing_minor": "4000",
            "margin_per_customer_minor": "-12.25",
            "discount_rate_annual": "0.1",
        },
    )
    assert r.status_code == 302
    row = EconomicsInputs.objects.get()
    assert (row.month, row.currency, row.revenue_minor) == (date(2026, 3, 1), "EUR", 12_500_050)
    assert (row.sales_marketing_minor, row.margin_per_customer_minor) == (400_000, -1_225)
    assert row.account_management_minor is None  # not entered, never 0
    assert row.discount_rate_annual == Decimal("0.1")
    page = client.get("/en/customers/economics/2026-03/").content.decode()
    assert "125000.50" in page


def test_saving_a_month_again_replaces_its_inputs(manager):
    economics_inputs_set(actor=manager, month=date(2026, 3, 17), currency="EUR", revenue_minor=1)
    economics_inputs_set(actor=manager, month=date(2026, 3, 1), currency="EUR", revenue_minor=2)
    assert list(EconomicsInputs.objects.values_list("revenue_minor", flat=True)) == [2]


def test_bad_inputs_get_a_form_error_not_a_500(client, manager):
    client.force_login(manager)
    r = client.post("/en/customers/economics/", {"month": "2026-13", "currency": "EU", "revenue_minor": "-5"})
    assert r.status_code == 400
    assert EconomicsInputs.objects.count() == 0
    with pytest.raises(DomainError):
        economics_inputs_set(actor=manager, month=date(2026, 1, 1), currency="E1R")


@pytest.mark.parametrize("who", ["adviser", "sector_member", "executive"])
def test_only_managers_reach_the_inputs(client, personas, who):
    user = getattr(personas, who)
    client.force_login(user)
    assert client.get("/en/customers/economics/").status_code == 404
    assert client.get(f"/en/customers/{personas.customer.pk}/value/").status_code == 404
    with pytest.raises(NotPermitted):
        economics_inputs_set(actor=user, month=date(2026, 1, 1), currency="EUR")


def test_unknown_month_is_a_404(client, manager):
    client.force_login(manager)
    assert client.get("/en/customers/economics/2026-02/").status_code == 404
    assert client.get("/en/customers/economics/nonsense/").status_code == 404


def test_manager_records_customer_value(client, manager, customer):
    client.force_login(manager)
    r = client.post(
        f"/en/customers/{customer.pk}/value/",
        {"acquired_on": "2024-05-02", "churned_on": "", "monthly_margin_minor": "30"},
    )
    assert r.status_code == 302
    customer.refresh_from_db()
    assert (customer.acquired_on, customer.churned_on, customer.monthly_margin_minor) == (
        date(2024, 5, 2),
        None,
        3_000,
    )


def test_a_customer_cannot_be_lost_before_being_acquired(manager, customer):
    with pytest.raises(DomainError):
        customer_value_set(
            actor=manager,
            customer=customer,
            acquired_on=date(2025, 1, 1),
            churned_on=date(2024, 1, 1),
            monthly_margin_minor=None,
        )


def test_inputs_list_query_count_is_constant(client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    for m in range(1, 4):
        economics_inputs_set(actor=manager, month=date(2025, m, 1), currency="EUR")
    with django_assert_max_num_queries(12) as ctx:
        client.get("/en/customers/economics/")
    few = len(ctx.captured_queries)
    for m in range(4, 13):
        economics_inputs_set(actor=manager, month=date(2025, m, 1), currency="EUR")
    with django_assert_max_num_queries(few):
        client.get("/en/customers/economics/")


def test_demo_seed_enters_every_month_and_dates_customers(personas):
    from datetime import UTC, datetime

    from steward.customers.demo import seed_economics
    from steward.customers.models import Customer

    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert seed_economics(manager=personas.manager, now=now, horizon_days=180) == Customer.objects.count()
    months = list(EconomicsInputs.objects.order_by("month").values_list("month", flat=True))
    assert months[0] == date(2024, 12, 1) and months[-1] == date(2026, 6, 1) and len(months) == 19
    assert not EconomicsInputs.objects.filter(revenue_minor__isnull=True).exists()
    assert not Customer.objects.filter(acquired_on__isnull=True).exists()
