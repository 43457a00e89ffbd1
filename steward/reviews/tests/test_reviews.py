"""Blameless reviews: services, selectors (target vs taken per sector, follow-up before/after), views."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from steward.analytics.tests.logs import T0, CaseLog, build_known_log, open_case, value_chain
from steward.core.errors import DomainError, NotPermitted
from steward.reviews import selectors, services
from steward.reviews.models import ActionStatus, CorrectiveAction, Finding, RootCause

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(personas):
    return build_known_log(owner=personas.adviser, customer=personas.customer)


def test_the_seeded_root_cause_tree_has_the_five_families():
    parents = set(RootCause.objects.filter(parent__isnull=True).values_list("code", flat=True))
    assert parents == {"capacity", "process", "information", "tools", "supplier"}
    assert str(RootCause.objects.get(code="supplier-late")) == "Supplier › Supplier or carrier late"


def test_the_default_tree_can_be_restored_after_a_flush():
    RootCause.objects.filter(parent__isnull=False).delete()
    RootCause.objects.all().delete()
    assert services.root_causes_ensure_default() == 19
    assert services.root_causes_ensure_default() == 0


def test_no_culprit_field_anywhere():
    for model in (Finding, CorrectiveAction):
        names = {f.name for f in model._meta.get_fields()}
        assert not names & {"culprit", "blamed", "responsible_person", "person"}
    assert Finding._meta.get_field("description").verbose_name == "What made this delay possible?"
    assert CorrectiveAction._meta.get_field("description").verbose_name == "What will prevent it?"


def test_only_managers_write_reviews(personas, log):
    with pytest.raises(NotPermitted):
        services.review_open(actor=personas.executive, title="x", case=log.a.case)
    with pytest.raises(NotPermitted):
        services.review_open(actor=personas.adviser, title="x", case=log.a.case)


def test_review_scope_rules(manager, log):
    with pytest.raises(DomainError, match="either one case"):
        services.review_open(actor=manager, title="x", case=log.a.case, kind="complaint")
    with pytest.raises(DomainError, match="category or kind"):
        services.review_open(
            actor=manager, title="x", period_from=date(2026, 3, 1), period_to=date(2026, 3, 2)
        )
    with pytest.raises(DomainError, match="period"):
        services.review_open(actor=manager, title="x", kind="complaint")
    with pytest.raises(DomainError, match="end on or after"):
        services.review_open(
            actor=manager,
            title="x",
            kind="complaint",
            period_from=date(2026, 3, 2),
            period_to=date(2026, 3, 1),
        )
    with pytest.raises(DomainError, match="title"):
        services.review_open(actor=manager, title="  ", case=log.a.case)


def test_review_of_one_case_shows_each_sector_target_against_actual(
    manager, log, django_assert_max_num_queries
):
    review = services.review_open(actor=manager, title="Late parcel", case=log.a.case)
    # Constant whatever the data size: +1 on PostgreSQL (percentiles in SQL), +2 for utilisation.
    with django_assert_max_num_queries(14):
        page = selectors.review_page(review, now=log.now)
    rows = {r.sector.name: r.stats for r in page.analysis.table.rows if r.sector}
    assert set(rows) == {"Warehouse", "Logistics", "Billing"}
    assert (rows["Warehouse"].target.median, rows["Warehouse"].elapsed.median) == (7200, 10800)
    assert (rows["Logistics"].target.median, rows["Logistics"].elapsed.median) == (14400, 18000)
    assert (rows["Billing"].target.median, rows["Billing"].elapsed.median) == (3600, 3000)
    assert page.cases == 1 and page.analysis.dot.startswith("digraph")


def test_review_of_a_class_gathers_its_cases(manager, log):
    review = services.review_open(
        actor=manager,
        title="Requests",
        kind="request",
        period_from=T0.date(),
        period_to=T0.date() + timedelta(days=1),
    )
    page = selectors.review_page(review, now=log.now)
    billing = {r.sector.name: r.stats for r in page.analysis.table.rows if r.sector}["Billing"]
    assert page.cases == 1 and billing.returns == 1 and billing.open == 1


def test_findings_and_actions(manager, log):
    review = services.review_open(actor=manager, title="Late parcel", case=log.a.case)
    cause = RootCause.objects.get(code="capacity-peak")
    finding = services.finding_add(
        actor=manager,
        review=review,
        root_cause=cause,
        description="Peak week, no extra pickers.",
        sector=log.chain.warehouse,
    )
    with pytest.raises(DomainError):
        services.finding_add(actor=manager, review=review, root_cause=cause, description=" ")
    due = timezone.localdate() + timedelta(days=14)
    action = services.action_add(
        actor=manager,
        review=review,
        description="Temporary pickers in peak weeks.",
        owner_sector=log.chain.warehouse,
        due_on=due,
        finding=finding,
    )
    with pytest.raises(DomainError, match="past"):
        services.action_add(
            actor=manager,
            review=review,
            description="x",
            owner_sector=log.chain.warehouse,
            due_on=timezone.localdate() - timedelta(days=1),
        )
    other = services.review_open(actor=manager, title="Other", case=log.b.case)
    with pytest.raises(DomainError, match="another review"):
        services.action_add(
            actor=manager,
            review=other,
            description="x",
            owner_sector=log.chain.warehouse,
            due_on=due,
            finding=finding,
        )
    done = services.action_mark_done(actor=manager, action=action)
    assert done.status == ActionStatus.DONE and done.done_at is not None
    with pytest.raises(DomainError, match="already done"):
        services.action_mark_done(actor=manager, action=action)


def _tasks_in_warehouse(personas, chain, *, start, elapsed_minutes: list[int], target: int = 120) -> None:
    for i, minutes in enumerate(elapsed_minutes):
        log: CaseLog = open_case(
            owner=personas.adviser,
            customer=personas.customer,
            t0=start + timedelta(days=i),
            subject=f"Parcel {i}",
        )
        t = log.task(chain.warehouse, 1, target=target)
        log.take(t, 2)
        log.complete(t, 1 + minutes)


def test_follow_up_compares_the_same_measure_before_and_after_the_action(
    manager, personas, django_assert_max_num_queries
):
    chain = value_chain()
    done_at = T0 + timedelta(days=30)
    _tasks_in_warehouse(personas, chain, start=T0, elapsed_minutes=[180, 200, 100])  # before: 1/3 on time
    _tasks_in_warehouse(
        personas, chain, start=done_at + timedelta(days=1), elapsed_minutes=[60, 90]
    )  # after: 2/2
    review = services.review_open(actor=manager, title="Warehouse delays", case=personas.case, at=T0)
    action = services.action_add(
        actor=manager,
        review=review,
        description="Pick list twice a day",
        owner_sector=chain.warehouse,
        due_on=(T0 + timedelta(days=20)).date(),
        at=T0,
    )
    services.action_mark_done(actor=manager, action=action, at=done_at)
    services.action_add(
        actor=manager,
        review=review,
        description="Late one",
        owner_sector=chain.billing,
        due_on=(T0 + timedelta(days=1)).date(),
        at=T0,
    )
    services.action_add(
        actor=manager,
        review=review,
        description="Later one",
        owner_sector=chain.billing,
        due_on=(T0 + timedelta(days=400)).date(),
        at=T0,
    )
    with django_assert_max_num_queries(2):
        rows = selectors.action_follow_up(now=done_at + timedelta(days=10))
    by_text = {r.action.description: r for r in rows}
    row = by_text["Pick list twice a day"]
    assert row.state == "done" and row.before and row.after
    assert (row.before.tasks, row.before.on_time.value, row.before.elapsed.median) == (3, 1 / 3, 180 * 60)
    assert (row.after.tasks, row.after.on_time.value, row.after.elapsed.median) == (2, 1.0, 75 * 60)
    assert row.before.low_sample and not row.after_complete
    assert by_text["Late one"].state == "overdue" and by_text["Later one"].state == "due"


# ------------------------------------------------------------------ views


def test_manager_opens_a_review_and_records_findings_and_actions(client, manager, log):
    client.force_login(manager)
    response = client.post("/en/reviews/", {"title": "Late parcel", "case": log.a.case.pk})
    assert response.status_code == 302
    url = response["Location"]
    cause = RootCause.objects.get(code="supplier-late")
    assert (
        client.post(
            url + "findings/", {"root_cause": cause.pk, "description": "Carrier missed pickup."}
        ).status_code
        == 302
    )
    due = (timezone.localdate() + timedelta(days=10)).isoformat()
    r = client.post(
        url + "actions/",
        {"description": "Second carrier on call.", "owner_sector": log.chain.logistics.pk, "due_on": due},
    )
    assert r.status_code == 302
    html = client.get(url).content.decode()
    assert "Carrier missed pickup." in html and "Second carrier on call." in html
    assert "What made this delay possible?" in html and "What will prevent it?" in html
    assert 'data-testid="sector-table"' in html and 'id="process-map-dot"' in html


def test_review_form_errors_are_400s_that_keep_the_input(client, manager, log):
    client.force_login(manager)
    r = client.post("/en/reviews/", {"title": "Late parcel", "case": 99999999})
    assert r.status_code == 400 and "There is no case with this number." in r.content.decode()
    r = client.post("/en/reviews/", {"title": "Class", "kind": "complaint"})
    assert r.status_code == 400 and "Give the period" in r.content.decode()
    review = services.review_open(actor=manager, title="Late parcel", case=log.a.case)
    r = client.post(f"/en/reviews/{review.pk}/findings/", {"description": "No cause chosen"})
    assert r.status_code == 400 and "No cause chosen" in r.content.decode()
    r = client.post(
        f"/en/reviews/{review.pk}/actions/",
        {"description": "x", "due_on": "2000-01-01", "owner_sector": log.chain.billing.pk},
    )
    assert r.status_code == 400 and "past" in r.content.decode()


def test_executives_read_reviews_but_cannot_change_them(client, personas, log):
    review = services.review_open(actor=personas.manager, title="Late parcel", case=log.a.case)
    client.force_login(personas.executive)
    assert client.get(f"/en/reviews/{review.pk}/").status_code == 200
    assert client.post("/en/reviews/", {"title": "x", "case": log.a.case.pk}).status_code == 403
    assert client.get("/en/reviews/actions/").status_code == 200


def test_a_missing_or_foreign_action_is_a_404(client, manager, log):
    review = services.review_open(actor=manager, title="A", case=log.a.case)
    other = services.review_open(actor=manager, title="B", case=log.b.case)
    action = services.action_add(
        actor=manager,
        review=other,
        description="x",
        owner_sector=log.chain.billing,
        due_on=timezone.localdate() + timedelta(days=3),
    )
    client.force_login(manager)
    assert client.post(f"/en/reviews/{review.pk}/actions/{action.pk}/done/").status_code == 404
    assert client.get("/en/reviews/999999/").status_code == 404


def test_review_list_keeps_a_constant_query_count(client, manager, log, django_assert_max_num_queries):
    client.force_login(manager)
    services.review_open(actor=manager, title="A", case=log.a.case)
    with django_assert_max_num_queries(12) as few:
        client.get("/en/reviews/")
    for i in range(5):
        services.review_open(actor=manager, title=f"R{i}", case=log.b.case)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/en/reviews/")
