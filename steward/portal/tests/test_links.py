"""Confirm / not-solved links from the mail: signed, single use, expiring; GET never changes anything."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from steward.cases.models import EventKind, Status
from steward.cases.services import case_propose_solution, case_reopen
from steward.portal.links import LinkState, read_solution_token, solution_links

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposed(personas, case):
    return case_propose_solution(actor=personas.adviser, case=case, solution="A new charger is on its way.")


def path_of(url):
    return url.removeprefix("https://steward.example")


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.STEWARD_BASE_URL = "https://steward.example"


def in_english(url):
    return path_of(url).replace("/th/", "/en/", 1)


def test_links_are_absolute_and_in_the_customers_language(proposed):
    confirm, not_solved = solution_links(proposed)
    assert confirm.startswith("https://steward.example/th/portal/solution/") and confirm.endswith("/confirm/")
    assert not_solved.startswith("https://steward.example/th/portal/solution/")
    assert not_solved.endswith("/not-solved/")


def test_get_on_either_link_changes_nothing(client, proposed):
    version = proposed.version
    for url in solution_links(proposed):
        response = client.get(in_english(url))
        assert response.status_code == 200
        assert "<form" in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == Status.SOLUTION_PROPOSED and proposed.version == version


def test_confirm_link_closes_the_case_once_without_signing_in(client, proposed):
    confirm, _ = solution_links(proposed)
    response = client.post(in_english(confirm))
    assert response.status_code == 200
    assert "You confirmed the solution. The case is closed." in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == Status.CLOSED
    event = proposed.events.get(kind=EventKind.SOLUTION_CONFIRMED)
    assert event.actor is None and event.data["channel"] == "email"

    for method in (client.get, client.post):
        again = method(in_english(confirm))
        assert again.status_code == 200
        assert "You already confirmed this solution." in again.content.decode()
    assert proposed.events.filter(kind=EventKind.SOLUTION_CONFIRMED).count() == 1


def test_not_solved_link_asks_for_the_reason_then_reopens(client, proposed):
    confirm, not_solved = solution_links(proposed)
    page = client.get(in_english(not_solved)).content.decode()
    assert 'name="reason"' in page
    assert client.post(in_english(not_solved), {"reason": ""}).status_code == 400
    proposed.refresh_from_db()
    assert proposed.status == Status.SOLUTION_PROPOSED

    response = client.post(in_english(not_solved), {"reason": "It still does not charge."})
    assert response.status_code == 200
    proposed.refresh_from_db()
    assert proposed.status == Status.REOPENED
    assert proposed.events.get(kind=EventKind.REOPENED).data["reason"] == "It still does not charge."

    # Both links of this proposal are now answered.
    for url in (confirm, not_solved):
        again = client.post(in_english(url), {"reason": "again"})
        assert again.status_code == 200
        assert "This solution is no longer waiting for your answer." in again.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == Status.REOPENED and proposed.reopen_count == 1


def test_link_for_an_older_proposal_is_refused_after_a_new_one(client, personas, proposed):
    old_confirm, old_not_solved = solution_links(proposed)
    case_reopen(actor=personas.adviser, case=proposed, reason="Customer called: wrong model")
    newer = case_propose_solution(
        actor=personas.adviser,
        case=proposed,
        solution="The right charger.",
        at=timezone.now() + timedelta(seconds=1),
    )
    for url in (old_confirm, old_not_solved):
        response = client.post(in_english(url), {"reason": "x"})
        assert response.status_code == 409
        assert "This link is for an older solution." in response.content.decode()
    newer.refresh_from_db()
    assert newer.status == Status.SOLUTION_PROPOSED
    new_confirm, _ = solution_links(newer)
    assert new_confirm != old_confirm
    assert client.post(in_english(new_confirm)).status_code == 200
    newer.refresh_from_db()
    assert newer.status == Status.CLOSED


def test_expired_link_is_refused_clearly(client, proposed):
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 15 * 86400):
        confirm, _ = solution_links(proposed)
    for method in (client.get, client.post):
        response = method(in_english(confirm))
        assert response.status_code == 410
        assert "This link has expired." in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == Status.SOLUTION_PROPOSED


@override_settings(STEWARD_SOLUTION_LINK_DAYS=30)
def test_link_age_limit_comes_from_the_setting(proposed):
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 15 * 86400):
        confirm, _ = solution_links(proposed)
    token = confirm.split("/solution/")[1].split("/")[0]
    assert read_solution_token(token).state == LinkState.VALID


@pytest.mark.parametrize(
    "mangle", [lambda t: t + "x", lambda t: "x" + t[1:], lambda t: "garbage", lambda t: t[:-5]]
)
def test_forged_or_mangled_link_is_refused(client, proposed, mangle):
    confirm, _ = solution_links(proposed)
    token = confirm.split("/solution/")[1].split("/")[0]
    response = client.post(f"/en/portal/solution/{mangle(token)}/confirm/")
    assert response.status_code == 400
    assert "This link is not valid." in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == Status.SOLUTION_PROPOSED


def test_a_token_signed_for_another_purpose_is_refused(client, proposed):
    from django.core import signing

    token = signing.dumps({"c": proposed.pk, "p": 0})  # no salt: e.g. from another feature
    assert client.post(f"/en/portal/solution/{token}/confirm/").status_code == 400


@override_settings(STEWARD_PORTAL_LINK_LIMIT_PER_IP=2)
def test_link_pages_are_throttled(client, proposed):
    confirm, _ = solution_links(proposed)
    assert client.get(in_english(confirm)).status_code == 200
    assert client.get(in_english(confirm)).status_code == 200
    assert client.post(in_english(confirm)).status_code == 429
    proposed.refresh_from_db()
    assert proposed.status == Status.SOLUTION_PROPOSED


def test_solution_links_need_a_proposal(case):
    with pytest.raises(ValueError):
        solution_links(case)


def test_links_fall_back_to_the_default_language_for_an_unknown_one(proposed):
    proposed.customer.language = "pt"
    confirm, _ = solution_links(proposed)
    assert confirm.startswith("https://steward.example/en/portal/solution/")
