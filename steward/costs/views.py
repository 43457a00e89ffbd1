"""Cost-of-quality screens. Money pages are a 404 for anyone but managers and executives; writing is
for service managers (403 for an executive, who may read). Compensation requests come from the case."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.accounts.models import User
from steward.cases.permissions import can_act
from steward.cases.selectors import case_get_for_user
from steward.core import timeutil
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error
from steward.sectors.models import Sector

from . import classification, selectors, services
from .forms import (
    CompensationForm,
    CostEntryForm,
    DecisionForm,
    MeetingForm,
    OverrideForm,
    PeriodForm,
    RateForm,
    entry_initial,
)
from .models import Compensation, CompensationState, CostCategory, CostEntry, ReviewMeeting
from .permissions import can_manage_costs, money_reader

PAGE_SIZE = 50


def _writer(user: User) -> None:
    if not can_manage_costs(user):
        raise PermissionDenied


# ------------------------------------------------------------------------------------ rates


@login_required
@require_http_methods(["GET", "POST"])
def rates(request: HttpRequest) -> HttpResponse:
    user = money_reader(request)
    form = RateForm(request.POST or None, initial={"sector": request.GET.get("sector")})
    status = 200
    if request.method == "POST":
        _writer(user)
        if form.is_valid():
            c = form.cleaned_data
            try:
                rate = services.rate_set(
                    actor=user,
                    sector=c["sector"],
                    effective_from=c["effective_from"],
                    hourly_rate_minor=c["hourly_rate_minor"],
                    wages_minor=c["wages_minor"],
                    employer_taxes_minor=c["employer_taxes_minor"],
                    benefits_minor=c["benefits_minor"],
                    overhead_minor=c["overhead_minor"],
                    productive_hours=c["productive_hours"],
                    note=c["note"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Rate for %(sector)s from %(date)s saved.")
                    % {"sector": rate.sector.name, "date": rate.effective_from.isoformat()},
                )
                return redirect(f"{reverse('costs:rates')}#sector-{rate.sector_id}")
        status = 400
    context = {
        "sectors": selectors.sector_rates(timezone.localdate()),
        "form": form,
        "can_write": can_manage_costs(user),
        "today": timezone.localdate(),
    }
    return render(request, "costs/rates.html", context, status=status)


# ------------------------------------------------------------------------------------ cost entries


@login_required
def entries(request: HttpRequest) -> HttpResponse:
    user = money_reader(request)
    page_obj = Paginator(selectors.cost_entries(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "costs/entries.html", {"page_obj": page_obj, "can_write": can_manage_costs(user)})


def _entry_kwargs(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "incurred_on": c["incurred_on"],
        "kind": c["kind"],
        "category": c["category"] or None,
        "description": c["description"],
        "amount_minor": c["amount_minor"],
        "currency": c["currency"],
        "sector": c["sector"],
        "case": c["case"],
    }


@login_required
@require_http_methods(["GET", "POST"])
def entry_new(request: HttpRequest) -> HttpResponse:
    return _entry_form(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def entry_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _entry_form(request, pk)


def _entry_form(request: HttpRequest, pk: int | None) -> HttpResponse:
    """Add a cost entry (pk None) or edit one: the same form, page and error handling."""
    user = money_reader(request)
    _writer(user)
    entry = get_object_or_404(CostEntry, pk=pk) if pk is not None else None
    initial = entry_initial(entry) if entry else {"incurred_on": timezone.localdate()}
    form = CostEntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if entry is None:
                services.cost_entry_create(actor=user, **_entry_kwargs(form.cleaned_data))
            else:
                services.cost_entry_update(actor=user, entry=entry, **_entry_kwargs(form.cleaned_data))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Cost entry added.") if entry is None else _("Cost entry saved."))
            return redirect("costs:entries")
    status = 400 if request.method == "POST" else 200
    return render(request, "costs/entry_form.html", {"form": form, "entry": entry}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def entry_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    user = money_reader(request)
    _writer(user)
    entry = get_object_or_404(CostEntry, pk=pk)
    if request.method == "POST":
        services.cost_entry_delete(actor=user, entry=entry)
        messages.success(request, _("Cost entry deleted."))
        return redirect("costs:entries")
    return render(request, "costs/entry_delete.html", {"entry": entry})


# ------------------------------------------------------------------------------------ ledger


def _default_period(today: date) -> tuple[date, date]:
    start = today.replace(day=1)
    return start, today


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    user = money_reader(request)
    today = timezone.localdate()
    start, end = _default_period(today)
    bound = "start" in request.GET or "end" in request.GET
    period = PeriodForm(request.GET if bound else None, initial={"start": start, "end": end})
    status = 200
    if bound:
        if period.is_valid():
            start, end = period.cleaned_data["start"], period.cleaned_data["end"]
        else:
            status = 400
    page_obj = Paginator(selectors.ledger_queryset(start, end), PAGE_SIZE).get_page(request.GET.get("page"))
    lines = selectors.as_lines(page_obj.object_list)
    overrides = selectors.overrides_of(lines)
    sector_ids = {ln.sector_id for ln in lines if ln.sector_id}
    sectors = Sector.objects.in_bulk(sector_ids) if sector_ids else {}
    rows = [
        {
            "line": ln,
            "sector": sectors.get(ln.sector_id) if ln.sector_id else None,
            "rule": classification.RULES.get(ln.rule),
            "override": overrides.get((ln.source, ln.source_id)),
        }
        for ln in lines
    ]
    # PAF order (prevention, appraisal, internal failure, external failure), then ordinary service.
    order = {c: i for i, c in enumerate(CostCategory.values)}
    totals = sorted(selectors.ledger_totals(start, end), key=lambda t: order.get(t.key[0], len(order)))
    context = {
        "period": period,
        "start": start,
        "end": end,
        "page_obj": page_obj,
        "rows": rows,
        "totals": totals,
        "query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
        "can_write": can_manage_costs(user),
        "rules": classification.RULES.values(),
    }
    return render(request, "costs/ledger.html", context, status=status)


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "date",
    "source",
    "source_id",
    "case",
    "sector",
    "minutes",
    "amount",
    "currency",
    "category",
    "rule",
    "overridden",
    "estimated",
    "reason",
]


def _csv_rows(rows: Any) -> Any:
    import csv

    from .money import exponent

    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for ln in selectors.as_lines(rows):
        amount = (
            ""
            if ln.amount_minor is None
            else f"{ln.amount_minor / 10 ** exponent(ln.currency):.{exponent(ln.currency)}f}"
        )
        yield writer.writerow(
            [
                ln.incurred_on.isoformat(),
                ln.source,
                ln.source_id,
                ln.case_id or "",
                ln.sector_id or "",
                "" if ln.minutes is None else ln.minutes,
                amount,
                ln.currency,
                ln.category or "",
                ln.rule,
                int(ln.overridden),
                int(ln.estimated),
                ln.reason,
            ]
        )


@login_required
def ledger_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The period's ledger lines as CSV (machine-readable: codes, amounts in major units, empty = unknown)."""
    money_reader(request)
    period = PeriodForm(request.GET)
    if not period.is_valid():
        return HttpResponse(
            "\n".join(str(e) for errors in period.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    start, end = period.cleaned_data["start"], period.cleaned_data["end"]
    rows = selectors.ledger_queryset(start, end).iterator(chunk_size=2000)
    response = StreamingHttpResponse(_csv_rows(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="steward-ledger-{start}-{end}.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def override(request: HttpRequest) -> HttpResponse:
    user = money_reader(request)
    _writer(user)
    data = request.POST if request.method == "POST" else None
    source = (request.POST if data is not None else request.GET).get("source", "")
    raw_id = (request.POST.get("source_id") if data is not None else request.GET.get("id")) or ""
    line = selectors.ledger_line(source, int(raw_id)) if raw_id.isdigit() else None
    if line is None and request.method == "GET":
        raise Http404
    form = OverrideForm(data, initial={"source": source, "source_id": raw_id})
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            services.line_override(
                actor=user,
                source=c["source"],
                source_id=c["source_id"],
                category=c["category"],
                reason=c["reason"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Line reclassified."))
            back = request.POST.get("next", "")
            return redirect(back if back.startswith("/") and not back.startswith("//") else "costs:ledger")
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "line": line,
        "rule": classification.RULES.get(line.rule) if line else None,
        "sector": Sector.objects.filter(pk=line.sector_id).first() if line and line.sector_id else None,
        "next": request.GET.get("next") or request.POST.get("next", ""),
    }
    return render(request, "costs/override.html", context, status=status)


# ------------------------------------------------------------------------------------ compensation


@login_required
@require_http_methods(["GET", "POST"])
def compensation_request(request: HttpRequest, case_pk: int) -> HttpResponse:
    """The full-page form (also where a refused request from the case page shows its errors)."""
    assert isinstance(request.user, User)
    user = request.user
    case = case_get_for_user(user, case_pk)
    if not can_act(user, case, at=timeutil.now()):
        raise PermissionDenied
    form = CompensationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            comp = services.compensation_request(
                actor=user,
                case=case,
                kind=c["kind"],
                amount_minor=c["amount_minor"],
                currency=c["currency"],
                reason=c["reason"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if comp.state == CompensationState.PENDING:
                messages.success(request, _("Compensation requested: it waits for a manager's approval."))
            else:
                messages.success(request, _("Compensation approved within your limit."))
            return redirect("cases:detail", pk=case.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "costs/compensation_request.html",
        {"case": case, "form": form, "limit_minor": services.approval_limit_minor()},
        status=status,
    )


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    user = money_reader(request)
    page_obj = Paginator(selectors.pending_compensations(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "costs/approvals.html",
        {"page_obj": page_obj, "can_write": can_manage_costs(user), "form": DecisionForm()},
    )


@login_required
@require_POST
def compensation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = money_reader(request)
    _writer(user)
    comp = get_object_or_404(Compensation.objects.select_related("case", "requested_by"), pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.compensation_decide(
                actor=user,
                compensation=comp,
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Decision recorded."))
    else:
        messages.error(request, _("Choose approve or reject."))
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("cases:detail", pk=comp.case_id)


# ------------------------------------------------------------------------------------ review meetings


@login_required
@require_http_methods(["GET", "POST"])
def meetings(request: HttpRequest) -> HttpResponse:
    user = money_reader(request)
    form = MeetingForm(
        request.POST or None, initial={"held_on": timezone.localdate(), "review": request.GET.get("review")}
    )
    status = 200
    if request.method == "POST":
        _writer(user)
        if form.is_valid():
            c = form.cleaned_data
            try:
                services.review_meeting_record(
                    actor=user,
                    review=c["review"],
                    held_on=c["held_on"],
                    duration_minutes=c["duration_minutes"],
                    participants=list(c["participants"]),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Review meeting recorded."))
                return redirect("costs:meetings")
        status = 400
    page_obj = Paginator(
        ReviewMeeting.objects.select_related("review", "recorded_by").prefetch_related("participants__user"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "costs/meetings.html",
        {"form": form, "page_obj": page_obj, "can_write": can_manage_costs(user)},
        status=status,
    )
