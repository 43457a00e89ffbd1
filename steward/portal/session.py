"""The customer's portal session: the customer id in the Django session, as for agents.

Kept apart from Django's auth user so an agent signed in on the same browser stays signed in, and a
customer session never grants anything in the agent workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from steward.customers.models import Customer

from . import selectors
from .redirects import safe_next

SESSION_KEY = "portal_customer_id"


def sign_in(request: HttpRequest, customer: Customer) -> None:
    request.session.cycle_key()  # a new session key: a planted session id is worth nothing afterwards
    request.session[SESSION_KEY] = customer.pk


def sign_out(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def current_customer(request: HttpRequest) -> Customer | None:
    customer_id = request.session.get(SESSION_KEY)
    return selectors.customer_get(customer_id) if customer_id is not None else None


def customer_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        customer = current_customer(request)
        if customer is None:
            return _to_sign_in(request)
        return view(request, customer, *args, **kwargs)

    return wrapper


def _to_sign_in(request: HttpRequest) -> HttpResponseBase:
    """To the sign-in page, keeping the page asked for (a GET of a portal page) to come back to it."""
    target = safe_next(request.path) if request.method == "GET" else None
    if target is None or target == reverse("portal:cases"):  # the list is where sign-in leads anyway
        return redirect("portal:sign_in")
    return HttpResponseRedirect(f"{reverse('portal:sign_in')}?{urlencode({'next': target})}")
