"""The loyalty review page (monthly or annual) and its CSV: managers and executives only (404 otherwise)."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from steward.core import timeutil

from . import loyalty
from . import service_figures as sf
from .exports import _Line
from .forms import LoyaltyReviewForm
from .permissions import analysis_reader
from .service_display import show


def _form(request: HttpRequest) -> tuple[LoyaltyReviewForm, bool]:
    today = timezone.localdate(timeutil.now(), sf.org_tz())
    form = LoyaltyReviewForm(request.GET or None, today=today)
    return form, (not request.GET) or form.is_valid()


def _review(form: LoyaltyReviewForm, now: datetime) -> loyalty.Review:
    kind, first = form.kind_and_first()
    periods = loyalty.review_periods(kind, first, today=form.today)  # type: ignore[arg-type]
    return loyalty.loyalty_review(periods, form.scope(), now=now)


def loyalty_review(request: HttpRequest) -> HttpResponse:
    """A month against the previous month and the same month last year, or a year against the last."""
    analysis_reader(request)
    form, ok = _form(request)
    context: dict[str, Any] = {"form": form, "query": request.GET.urlencode()}
    if not ok:
        return render(request, "analytics/loyalty.html", context, status=400)
    now = timeutil.now()
    review = _review(form, now)
    sections = [
        (
            title,
            [(r, show(r.current), show(r.previous) if r.previous else None, show(r.last_year)) for r in rows],
        )
        for title, rows in review.sections
    ]
    context.update(review=review, periods=review.periods, sections=sections, now=now)
    return render(request, "analytics/loyalty.html", context)


def loyalty_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The same review as CSV, streamed."""
    analysis_reader(request)
    form, ok = _form(request)
    if not ok:
        return render(request, "analytics/loyalty.html", {"form": form, "query": ""}, status=400)
    review = _review(form, timeutil.now())
    writer = csv.writer(_Line())
    response = StreamingHttpResponse(
        (writer.writerow(line) for line in loyalty.csv_lines(review)), content_type="text/csv; charset=utf-8"
    )
    p = review.periods.current
    response["Content-Disposition"] = (
        f'attachment; filename="steward-loyalty-review-{p.first:%Y%m%d}-{p.last:%Y%m%d}.csv"'
    )
    return response
