"""Survey pages: the customer's answer page (public token link or portal), and managers' pages.

The customer's pages work without JavaScript: a plain form, radio buttons as large tap targets.
Every bad link gets a clear page with a 4xx status, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.accounts.models import User
from steward.core import timeutil
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error
from steward.customers.models import Customer
from steward.portal import session, throttle

from . import questionnaire, selectors, services
from .forms import AnswerForm, FollowUpDoneForm, ScaleForm, SegmentForm, WordingForm
from .models import FollowUp, FollowUpState, NpsCampaign, Survey

WINDOW = 15 * 60
LIMIT_PER_IP = 60  # survey page views and answers per client address per window
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


def _limit() -> int:
    return int(getattr(settings, "STEWARD_SURVEY_LIMIT_PER_IP", LIMIT_PER_IP))


def _state_page(request: HttpRequest, state: str, status: int) -> HttpResponse:
    return render(request, "surveys/state.html", {"state": state}, status=status)


STATE_STATUS = {
    services.TokenState.INVALID: 404,
    services.TokenState.EXPIRED: 410,
}


def _answer_page(request: HttpRequest, survey: Survey, *, action: str) -> HttpResponse:
    """GET: the questions. POST: store the answer (the first wins), then the thank-you page."""
    state = services.survey_state(survey)
    if state == services.TokenState.ANSWERED:
        return _state_page(request, state, 409 if request.method == "POST" else 200)
    if state == services.TokenState.EXPIRED:
        return _state_page(request, state, 410)
    version = questionnaire.version_scales(survey.questionnaire_version)
    language = translation.get_language() or survey.language
    texts = questionnaire.wording(language, questionnaire.questions_for(survey))
    form = AnswerForm(request.POST or None, survey=survey, version=version, texts=texts)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.survey_answer(survey=survey, answers=form.answers())
            except services.AlreadyAnswered:
                return _state_page(request, services.TokenState.ANSWERED, 409)
            except services.SurveyExpired:
                return _state_page(request, services.TokenState.EXPIRED, 410)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return redirect("surveys:thanks")
        status = 400
    context = {"survey": survey, "form": form, "action": action, "case": survey.case}
    return render(request, "surveys/answer.html", context, status=status)


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the mail: a random single-use token (only its hash is stored)."""
    if not throttle.public_page_allowed(request.META) or not throttle.hit(
        "survey-ip", throttle.client_ip(request.META), limit=_limit(), window_seconds=WINDOW
    ):
        return render(request, "portal/too_many.html", status=429)
    if not TOKEN_SHAPE.match(token):
        return _state_page(request, services.TokenState.INVALID, 400)
    check = services.token_check(token)
    if check.survey is None or check.state in STATE_STATUS:
        return _state_page(request, check.state, STATE_STATUS.get(check.state, 404))
    return _answer_page(request, check.survey, action=request.path)


@session.customer_required
@require_http_methods(["GET", "POST"])
def portal_answer(request: HttpRequest, customer: Customer, survey_id: int) -> HttpResponse:
    """The same questions for a customer signed in to the portal (the invitation on the case page)."""
    survey = selectors.survey_for_customer(customer, survey_id)
    if survey is None:
        return render(request, "portal/not_found.html", {"customer": customer}, status=404)
    return _answer_page(request, survey, action=request.path)


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "surveys/thanks.html", {"customer": session.current_customer(request)})


# ---------------------------------------------------------------- managers


def _manager(request: HttpRequest) -> User:
    """Managers only; the pages do not exist for anyone else (404)."""
    user = request.user
    if not services.can_handle_follow_ups(user):
        raise Http404
    assert isinstance(user, User)
    return user


@login_required
def follow_ups(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    state = request.GET.get("state", FollowUpState.OPEN)
    if state not in FollowUpState.values:
        state = FollowUpState.OPEN
    mine = request.GET.get("mine") == "1"
    qs = selectors.follow_ups(state=state, assignee_id=user.pk if mine else None)
    page_obj = Paginator(qs, settings.STEWARD_CASE_PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "page_obj": page_obj,
        "state": state,
        "mine": mine,
        "now": timeutil.now(),
        "done_form": FollowUpDoneForm(),
    }
    return render(request, "surveys/follow_ups.html", context)


@login_required
@require_POST
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    user = _manager(request)
    follow_up = FollowUp.objects.select_related("customer", "case").filter(pk=pk).first()
    if follow_up is None:
        raise Http404
    form = FollowUpDoneForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_complete(actor=user, follow_up=follow_up, note=form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Follow-up done."))
            return redirect("surveys:follow_ups")
    else:
        messages.error(request, _("Say what was done for the customer (at least 10 characters)."))
    return redirect(reverse("surveys:follow_ups") + "?state=open")


@login_required
@require_http_methods(["GET", "POST"])
def questions(request: HttpRequest) -> HttpResponse:
    """Managers edit the wording of every question per language, and the CSAT scale (a new version)."""
    user = _manager(request)
    codes = [code for code, _name in questionnaire.languages()]
    language = (
        request.GET.get("language") or request.POST.get("language") or translation.get_language() or "en"
    )
    if language not in codes:
        language = settings.LANGUAGE_CODE
    rows = questionnaire.wording_rows(language)
    form = WordingForm(request.POST if request.method == "POST" else None, rows=rows, language=language)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = questionnaire.wording_update(actor=user, language=language, texts=form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Questions saved (%(count)s changed).") % {"count": changed})
                return redirect(reverse("surveys:questions") + f"?language={language}")
        status = 400
    version = questionnaire.current_version()
    context = {
        "form": form,
        "language": language,
        "languages": questionnaire.languages(),
        "version": version,
        "scale_form": ScaleForm(initial={"csat_max": version.csat_max}),
    }
    return render(request, "surveys/questions.html", context, status=status)


@login_required
@require_POST
def scales(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    form = ScaleForm(request.POST)
    if form.is_valid():
        try:
            version = questionnaire.questionnaire_scales_change(
                actor=user, csat_max=form.cleaned_data["csat_max"], note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("New questionnaire version %(number)s.") % {"number": version.number})
    else:
        messages.error(request, _("Choose a scale and say why it changes."))
    return redirect("surveys:questions")


@login_required
def nps_list(request: HttpRequest) -> HttpResponse:
    _manager(request)
    page_obj = Paginator(selectors.campaigns(), settings.STEWARD_CASE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "surveys/nps_list.html", {"page_obj": page_obj})


@login_required
@require_http_methods(["GET", "POST"])
def nps_new(request: HttpRequest) -> HttpResponse:
    """Choose a segment, see how many customers it reaches, confirm, send in the background."""
    user = _manager(request)
    data = request.POST if request.method == "POST" else (request.GET if request.GET else None)
    form = SegmentForm(data)
    counts = None
    status = 200
    if data is not None:
        if form.is_valid():
            segment = form.segment()
            counts = selectors.segment_counts(segment, now=timeutil.now())
            if request.method == "POST" and request.POST.get("confirm") == "1":
                try:
                    campaign = services.nps_campaign_start(actor=user, segment=segment)
                except DomainError as exc:
                    add_domain_error(form, exc)
                    status = 400
                else:
                    messages.success(request, _("The survey is being sent."))
                    return redirect("surveys:nps_detail", pk=campaign.pk)
        else:
            status = 400
    context = {"form": form, "counts": counts, "quiet_days": settings.STEWARD_NPS_QUIET_DAYS}
    return render(request, "surveys/nps_new.html", context, status=status)


@login_required
def nps_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _manager(request)
    campaign: NpsCampaign | None = selectors.campaigns().filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return render(request, "surveys/nps_detail.html", {"campaign": campaign})
