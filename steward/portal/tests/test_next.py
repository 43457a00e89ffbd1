"""A mail's case link opens that case, also for a customer who is not signed in yet; never elsewhere.

The target (`next`) goes from the case URL to the sign-in page, onto the sign-in token and back out
after the link's POST; it is checked at every hop, so no hop can be turned into an open redirect.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from django.utils.html import escape

from steward.cases.services import case_open, case_reply
from steward.customers.services import customer_create
from steward.notifications.models import NotificationKind, OutboundMail
from steward.portal.models import PortalLoginToken
from steward.portal.redirects import safe_next
from steward.portal.services import case_key, case_portal_url, login_token_create
from steward.portal.session import SESSION_KEY
from steward.testing import Personas

pytestmark = pytest.mark.django_db

SIGN_IN_LINK = re.compile(r"http://testserver(/\w\w/portal/sign-in/link/[\w-]+/)")
UNSAFE = [
    "https://evil.example/",
    "//evil.example",
    "/en/cases/1/",  # the agent workspace
    "///evil.example/",
    "/\\evil.example/",
    "javascript:alert(1)",
    "/en/portal/sign-in/link/abc/",  # not a page to land on
    "/en/portal/sign-out/",
    "/xx/portal/",
    "evil.example/en/portal/",
]


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.STEWARD_BASE_URL = "http://testserver"


def ask_link(client: Client, email: str, next_value: str | None) -> None:
    data = {"email": email} | ({"next": next_value} if next_value is not None else {})
    with TestCase.captureOnCommitCallbacks(execute=True):  # the mail leaves when the request commits
        assert client.post("/en/portal/sign-in/", data).status_code == 302


def link_path() -> str:
    match = SIGN_IN_LINK.search(str(mail.outbox[-1].body))
    assert match is not None, mail.outbox[-1].body
    return match.group(1)


# ---------------------------------------------------------------- the service


def test_case_portal_url_is_absolute_in_the_customers_language_and_stable(personas: Personas) -> None:
    url = case_portal_url(personas.case)
    assert url == f"http://testserver/th/portal/cases/{case_key(personas.case)}/"
    assert case_portal_url(personas.case) == url  # the key is made once
    assert case_portal_url(personas.case, language="es").startswith("http://testserver/es/portal/cases/")


# ---------------------------------------------------------------- the whole way from the mail


def test_mail_link_leads_a_signed_out_customer_through_sign_in_to_the_case(personas: Personas) -> None:
    case_reply(actor=personas.adviser, case=personas.case, body="We are checking the charger.")
    reply = OutboundMail.objects.get(case=personas.case, kind=NotificationKind.REPLY)
    case_link = case_portal_url(personas.case)
    assert case_link in reply.text_body and case_link in reply.html_body
    path = case_link.removeprefix("http://testserver")

    browser = Client()
    response = browser.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/th/portal/sign-in/?" + urlencode({"next": path})
    page = browser.get(response["Location"])
    assert f'name="next" value="{path}"' in page.content.decode()

    ask_link(browser, personas.customer.email, path)
    assert PortalLoginToken.objects.get().next_path == path

    other_browser = Client()  # the link is often opened in another browser: the token carries `next`
    sign_in_link = link_path()
    assert other_browser.get(sign_in_link).status_code == 200
    response = other_browser.post(sign_in_link)
    assert response.status_code == 302 and response["Location"] == path
    page = other_browser.get(path)
    assert page.status_code == 200 and personas.case.subject in page.content.decode()


def test_next_is_sent_in_the_customers_language(personas: Personas) -> None:
    key = case_key(personas.case)
    raw = login_token_create(customer=personas.customer, next_path=f"/en/portal/cases/{key}/")
    response = Client().post(f"/en/portal/sign-in/link/{raw}/")
    assert response["Location"] == f"/th/portal/cases/{key}/"  # Somchai reads Thai


def test_no_next_still_lands_on_the_case_list(client: Client, personas: Personas) -> None:
    ask_link(client, personas.customer.email, None)
    assert PortalLoginToken.objects.get().next_path is None
    assert client.post(link_path())["Location"] == "/th/portal/"


def test_an_expired_link_page_keeps_next_for_the_new_link(personas: Personas) -> None:
    path = f"/th/portal/cases/{case_key(personas.case)}/"
    raw = login_token_create(
        customer=personas.customer, next_path=path, at=timezone.now() - timedelta(hours=1)
    )
    browser = Client()
    page = browser.get(f"/th/portal/sign-in/link/{raw}/")
    assert page.status_code == 410 and f'name="next" value="{path}"' in page.content.decode()
    ask_link(browser, personas.customer.email, path)
    assert browser.post(link_path())["Location"] == path


# ---------------------------------------------------------------- never an open redirect


@pytest.mark.parametrize("value", UNSAFE)
def test_unsafe_next_is_refused_at_every_hop(client: Client, personas: Personas, value: str) -> None:
    assert safe_next(value) is None
    page = client.get("/en/portal/sign-in/?" + urlencode({"next": value})).content.decode()
    assert f'name="next" value="{escape(value)}"' not in page  # not carried into the sign-in form

    ask_link(client, personas.customer.email, value)
    assert PortalLoginToken.objects.get().next_path is None
    assert client.post(link_path())["Location"] == "/th/portal/"


@pytest.mark.parametrize("value", UNSAFE)
def test_an_unsafe_next_stored_on_a_token_still_goes_to_the_list(personas: Personas, value: str) -> None:
    raw = login_token_create(customer=personas.customer)
    PortalLoginToken.objects.update(next_path=value)  # as if written by an older or broken version
    response = Client().post(f"/en/portal/sign-in/link/{raw}/")
    assert response.status_code == 302 and response["Location"] == "/th/portal/"


def test_a_valid_portal_case_path_is_kept(personas: Personas) -> None:
    path = f"/en/portal/cases/{case_key(personas.case)}/"
    assert safe_next(path) == path
    assert safe_next(path + "?x=1#top") == path  # query and fragment are dropped
    assert safe_next("/en/portal/new/") == "/en/portal/new/"


def test_an_agent_case_path_resolves_but_is_refused(personas: Personas) -> None:
    assert Client().get(f"/en/cases/{personas.case.pk}/").status_code in (302, 403, 404)
    assert safe_next(f"/en/cases/{personas.case.pk}/") is None


# ---------------------------------------------------------------- isolation holds through `next`


def test_next_to_another_customers_case_signs_in_and_then_404(personas: Personas) -> None:
    ivan = customer_create(actor=None, name="Ivan Petrov", email="ivan@example.com", language="ru")
    his = case_open(
        actor=personas.adviser,
        customer=ivan,
        subject="Invoice twice",
        description="x",
        owner=personas.adviser,
    )
    path = f"/th/portal/cases/{case_key(his)}/"
    raw = login_token_create(customer=personas.customer, next_path=path)
    browser = Client()
    assert browser.post(f"/en/portal/sign-in/link/{raw}/")["Location"] == path
    assert browser.session[SESSION_KEY] == personas.customer.pk
    response = browser.get(path)
    assert response.status_code == 404 and "Invoice twice" not in response.content.decode()
