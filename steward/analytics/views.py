"""Analysis screens (managers and executives) and the event-log export (managers). Read only."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from steward.core import timeutil

from . import exports, selectors
from .forms import SelectionForm
from .permissions import analysis_reader, can_export_log


def _selection_page(request: HttpRequest, template: str) -> HttpResponse:
    analysis_reader(request)
    form = SelectionForm(request.GET or None)
    result = None
    status = 200
    if not request.GET or form.is_valid():
        selection = form.selection() if request.GET else selectors.Selection()
        result = selectors.analysis(selection, now=timeutil.now())
    else:
        status = 400
    context = {"form": form, "analysis": result, "query": request.GET.urlencode()}
    return render(request, template, context, status=status)


def sector_report(request: HttpRequest) -> HttpResponse:
    """Per sector: tasks, on-time rate, queue / work / elapsed time, lateness, returns, handoffs."""
    return _selection_page(request, "analytics/sectors.html")


def process_map(request: HttpRequest) -> HttpResponse:
    """The directly-follows graph of sectors for a selection, with its bottleneck."""
    return _selection_page(request, "analytics/process_map.html")


def export_log(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The selected cases' event log as CSV or XES, streamed."""
    if not can_export_log(request.user) or fmt not in ("csv", "xes"):
        raise Http404
    form = SelectionForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "analytics/sectors.html", {"form": form, "analysis": None}, status=400)
    selection = form.selection() if request.GET else selectors.Selection()
    rows = selectors.export_rows(selection)
    stamp = timezone.localtime(timeutil.now()).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_lines(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(
            exports.xes_lines(rows), content_type="application/xml; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="steward-event-log-{stamp}.{fmt}"'
    # The event log names staff and cases: an export of personal data, kept in the audit log.
    from steward.audit.services import audit_record

    audit_record("data_exported", actor=request.user, request=request, export="event_log", format=fmt)
    return response
