"""Shared set-up for portal tests: sign a customer in without the mail round trip."""

from __future__ import annotations

from django.test import Client

from steward.cases.models import Case
from steward.customers.models import Customer
from steward.portal.services import case_key
from steward.portal.session import SESSION_KEY


def sign_in(client: Client, customer: Customer) -> None:
    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()


def case_url(case: Case, suffix: str = "", lang: str = "en") -> str:
    return f"/{lang}/portal/cases/{case_key(case)}/{suffix}"
