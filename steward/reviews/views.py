"""Blameless review screens: managers run reviews, executives read them, others get a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.accounts.models import User
from steward.analytics.permissions import analysis_reader
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted
from steward.core.forms import add_domain_error

from . import selectors, services
from .forms import ActionForm, FindingForm, ReviewOpenForm
from .models import CorrectiveAction, Review


def _writer(user: User) -> None:
    if not services.can_run_reviews(user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def review_list(request: HttpRequest) -> HttpResponse:
    user = analysis_reader(request)
    form = ReviewOpenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _writer(user)
        if form.is_valid():
            c = form.cleaned_data
            try:
                review = services.review_open(
                    actor=user,
                    title=c["title"],
                    case=c["case"],
                    kind=c["kind"],
                    category=c["category"],
                    period_from=c["period_from"],
                    period_to=c["period_to"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Review opened."))
                return redirect("reviews:detail", pk=review.pk)
        status = 400
    reviews = selectors.reviews_for(user)[:200]
    return render(
        request,
        "reviews/list.html",
        {"form": form, "reviews": reviews, "can_write": services.can_run_reviews(user)},
        status=status,
    )


def _detail(request: HttpRequest, user: User, review: Review, **bound: Any) -> HttpResponse:
    page = selectors.review_page(review, now=timeutil.now())
    context = {
        "page": page,
        "analysis": page.analysis,
        "finding_form": bound.get("finding_form") or FindingForm(),
        "action_form": bound.get("action_form")
        or ActionForm(review=review, initial={"due_on": selectors.due_date_default(timeutil.now())}),
        "can_write": services.can_run_reviews(user),
    }
    return render(request, "reviews/detail.html", context, status=400 if bound else 200)


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = analysis_reader(request)
    return _detail(request, user, selectors.review_get_for_user(user, pk))


def _post_to_review(
    request: HttpRequest,
    pk: int,
    *,
    form_key: str,
    make_form: Callable[[Review], forms.Form],
    run: Callable[[User, Review, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """A manager's form on the review page: the service on success, else the page with the form's errors."""
    user = analysis_reader(request)
    review = selectors.review_get_for_user(user, pk)
    _writer(user)
    form = make_form(review)
    if form.is_valid():
        try:
            run(user, review, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("reviews:detail", pk=review.pk)
    return _detail(request, user, review, **{form_key: form})


@login_required
@require_POST
def finding_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_to_review(
        request,
        pk,
        form_key="finding_form",
        make_form=lambda review: FindingForm(request.POST),
        run=lambda user, review, c: services.finding_add(
            actor=user,
            review=review,
            root_cause=c["root_cause"],
            description=c["description"],
            sector=c["sector"],
        ),
        done=_("Finding recorded."),
    )


@login_required
@require_POST
def action_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_to_review(
        request,
        pk,
        form_key="action_form",
        make_form=lambda review: ActionForm(request.POST, review=review),
        run=lambda user, review, c: services.action_add(
            actor=user,
            review=review,
            description=c["description"],
            owner_sector=c["owner_sector"],
            due_on=c["due_on"],
            finding=c["finding"],
        ),
        done=_("Corrective action agreed."),
    )


@login_required
@require_POST
def action_done(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    user = analysis_reader(request)
    review = selectors.review_get_for_user(user, pk)
    action = CorrectiveAction.objects.filter(review=review, pk=action_pk).first()
    if action is None:
        raise Http404
    _writer(user)
    try:
        services.action_mark_done(actor=user, action=action)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Action marked done."))
    return redirect("reviews:detail", pk=review.pk)


@login_required
def action_follow_up(request: HttpRequest) -> HttpResponse:
    analysis_reader(request)
    rows = selectors.action_follow_up(now=timeutil.now())
    return render(
        request, "reviews/actions.html", {"rows": rows, "window_days": selectors.FOLLOW_UP_WINDOW_DAYS}
    )
