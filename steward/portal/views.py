"""Customer portal: thin views over the portal services and selectors. Works without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.cases.models import Channel, Status
from steward.cases.selectors import case_next_step, case_waiting_on
from steward.core import timeutil
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error
from steward.customers.models import Customer
from steward.surveys.selectors import open_case_survey

from . import selectors, services, session, throttle
from .forms import NotSolvedForm, PortalCaseForm, PortalMessageForm, SignInForm
from .links import LinkState, read_solution_token
from .list_cards import cards_html
from .redirects import in_language, safe_next

WINDOW = 15 * 60
LIMIT_PER_ADDRESS = 5  # sign-in links per address per window
LIMIT_PER_IP = 20  # sign-in requests per client address per window
LIMIT_LINKS_PER_IP = 60  # sign-in and solution link pages per client address per window


def _limits(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/too_many.html", status=429)


def _ip_allowed(request: HttpRequest, scope: str, limit: int) -> bool:
    if not throttle.public_page_allowed(request.META):  # 20 a minute over all public pages
        return False
    return throttle.hit(scope, throttle.client_ip(request.META), limit=limit, window_seconds=WINDOW)


def portal_404(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A customer's 404 in the portal's own layout (the agent 404 links to the agent workspace)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "portal/not_found.html", status=404)

    return wrapper


# ---------------------------------------------------------------- sign-in


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    # The page to open after signing in; an unsafe value is dropped here and again at every later hop.
    next_path = safe_next(request.POST.get("next") if request.method == "POST" else request.GET.get("next"))
    context = {"form": form, "next": next_path}
    if request.method == "POST":
        if not _ip_allowed(request, "sign-in-ip", _limits("STEWARD_PORTAL_LIMIT_PER_IP", LIMIT_PER_IP)):
            return _too_many(request)
        if not form.is_valid():
            return render(request, "portal/sign_in.html", context, status=400)
        email = form.cleaned_data["email"].strip().lower()
        limit = _limits("STEWARD_PORTAL_LIMIT_PER_ADDRESS", LIMIT_PER_ADDRESS)
        if not throttle.hit("sign-in-address", email, limit=limit, window_seconds=WINDOW):
            return _too_many(request)
        services.login_link_request(email=email, next_path=next_path)
        # The same answer whether or not the address is known: no account enumeration.
        return redirect("portal:sign_in_sent")
    return render(request, "portal/sign_in.html", context)


def sign_in_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/sign_in_sent.html")


def _link_refused(request: HttpRequest, exc: services.LoginLinkRefused) -> HttpResponse:
    status = 410 if exc.code in ("used", "expired") else 400
    context = {"reason": exc.message, "form": SignInForm(), "next": exc.next_path}
    return render(request, "portal/sign_in_link_invalid.html", context, status=status)


@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST signs in: a mail scanner's prefetch must not use the single-use link."""
    limit = _limits("STEWARD_PORTAL_LINK_LIMIT_PER_IP", LIMIT_LINKS_PER_IP)
    if not _ip_allowed(request, "link-ip", limit):
        return _too_many(request)
    try:
        if request.method == "GET":
            services.login_token_peek(token)
            return render(request, "portal/sign_in_link.html")
        used = services.login_token_use(token)
    except services.LoginLinkRefused as exc:
        return _link_refused(request, exc)
    session.sign_in(request, used.customer)
    return _to_target_in_language(used.customer, used.next_path)


def _to_target_in_language(customer: Customer, next_path: str | None) -> HttpResponse:
    """To the page asked for before signing in if it is still a safe portal path, else the case list."""
    lang = services.customer_language(customer)
    target = safe_next(next_path)
    if target is not None:
        response = HttpResponseRedirect(in_language(target, lang))
    else:
        with translation.override(lang):
            response = HttpResponseRedirect(reverse("portal:cases"))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        lang,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    session.sign_out(request)
    messages.success(request, _("You are signed out."))
    return redirect("portal:sign_in")


# ---------------------------------------------------------------- the customer's cases


@session.customer_required
def case_list(request: HttpRequest, customer: Customer) -> HttpResponse:
    cases = list(selectors.customer_cases(customer))
    keys = services.case_keys(c.pk for c in cases)
    waiting = selectors.waiting_on_by_case(c.pk for c in cases if c.status != Status.CLOSED)
    rows = [
        {
            "case": c,
            "key": keys[c.pk],
            "status": selectors.customer_status(c.status),
            "waiting_on": waiting.get(c.pk, []),
        }
        for c in cases
    ]
    # The cards are written in Python (list_cards.py: the template engine took 6 ms for 43 cards).
    context = {"customer": customer, "rows": rows, "cards_html": cards_html(rows)}
    return render(request, "portal/case_list.html", context)


@session.customer_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = PortalCaseForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            c = form.cleaned_data
            try:
                case = services.portal_case_open(
                    customer=customer,
                    subject=c["subject"],
                    description=c["description"],
                    attachments=c["attachments"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Thank you. We received your case."))
                return redirect("portal:case", key=services.case_key(case))
        return render(request, "portal/case_new.html", {"customer": customer, "form": form}, status=400)
    return render(request, "portal/case_new.html", {"customer": customer, "form": form})


def _case_page(
    request: HttpRequest,
    customer: Customer,
    key: str,
    *,
    message_form: PortalMessageForm | None = None,
    not_solved_form: NotSolvedForm | None = None,
    status: int = 200,
) -> HttpResponse:
    case = selectors.case_for_customer(customer, key)
    now = timeutil.now()
    context = {
        "customer": customer,
        "case": case,
        "key": key,
        "status": selectors.customer_status(case.status),
        "ownership": selectors.case_public_ownership(case, now=now),
        "next_step": case_next_step(case),
        "waiting_on": case_waiting_on(case),
        "conversation": selectors.public_conversation(case),
        "proposed": case.status == Status.SOLUTION_PROPOSED,
        # The survey invitation of a closed case, while it waits for an answer (no query otherwise).
        "survey": open_case_survey(case, now=now) if case.status == Status.CLOSED else None,
        "message_form": message_form or PortalMessageForm(),
        "not_solved_form": not_solved_form or NotSolvedForm(),
    }
    return render(request, "portal/case_detail.html", context, status=status)


@portal_404
@session.customer_required
def case_detail(request: HttpRequest, customer: Customer, key: str) -> HttpResponse:
    return _case_page(request, customer, key)


@portal_404
@session.customer_required
@require_POST
def case_message(request: HttpRequest, customer: Customer, key: str) -> HttpResponse:
    case = selectors.case_for_customer(customer, key)
    form = PortalMessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.portal_message(
                case=case, body=form.cleaned_data["body"], attachments=form.cleaned_data["attachments"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("portal:case", key=key)
    return _case_page(request, customer, key, message_form=form, status=400)


@portal_404
@session.customer_required
@require_POST
def case_confirm(request: HttpRequest, customer: Customer, key: str) -> HttpResponse:
    case = selectors.case_for_customer(customer, key)
    try:
        services.portal_confirm(case=case, channel=Channel.PORTAL)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Thank you for confirming. The case is closed."))
    return redirect("portal:case", key=key)


@portal_404
@session.customer_required
@require_POST
def case_not_solved(request: HttpRequest, customer: Customer, key: str) -> HttpResponse:
    case = selectors.case_for_customer(customer, key)
    form = NotSolvedForm(request.POST)
    if form.is_valid():
        try:
            services.portal_not_solved(case=case, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Thank you. We reopened the case and will look at it again."))
            return redirect("portal:case", key=key)
    return _case_page(request, customer, key, not_solved_form=form, status=400)


@portal_404
@session.customer_required
def attachment_download(
    request: HttpRequest, customer: Customer, key: str, attachment_id: int
) -> FileResponse:
    case = selectors.case_for_customer(customer, key)
    attachment = selectors.public_attachment(case, attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- confirm / not solved links from the mail

LINK_STATUS = {
    LinkState.INVALID: 400,
    LinkState.EXPIRED: 410,
    LinkState.SUPERSEDED: 409,
    LinkState.CONFIRMED: 200,
    LinkState.ANSWERED: 200,
}


def _link_page(request: HttpRequest, token: str, *, action: str) -> HttpResponse:
    limit = _limits("STEWARD_PORTAL_LINK_LIMIT_PER_IP", LIMIT_LINKS_PER_IP)
    if not _ip_allowed(request, "link-ip", limit):
        return _too_many(request)
    link = read_solution_token(token)
    form = NotSolvedForm(request.POST or None) if action == "not_solved" else None
    context: dict[str, Any] = {"link": link, "case": link.case, "action": action, "form": form}
    if link.state != LinkState.VALID:
        return render(request, "portal/solution_link_state.html", context, status=LINK_STATUS[link.state])
    assert link.case is not None
    if request.method == "GET":  # never change state on GET: mail scanners prefetch links
        return render(request, "portal/solution_link.html", context)
    try:
        if action == "confirm":
            services.portal_confirm(case=link.case, channel=Channel.EMAIL)
        elif form is not None and form.is_valid():
            services.portal_not_solved(case=link.case, reason=form.cleaned_data["reason"])
        else:
            return render(request, "portal/solution_link.html", context, status=400)
    except DomainError:
        # Answered in the meantime (another click, the portal): show where the case stands now.
        link = read_solution_token(token)
        context.update(link=link, case=link.case)
        return render(
            request, "portal/solution_link_state.html", context, status=LINK_STATUS.get(link.state, 200)
        )
    return render(request, "portal/solution_link_done.html", context)


@require_http_methods(["GET", "POST"])
def solution_confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(request, token, action="confirm")


@require_http_methods(["GET", "POST"])
def solution_not_solved(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(request, token, action="not_solved")
