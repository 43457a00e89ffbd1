"""The sector queue and the steps on a task: thin views over the task services and selectors.

Everything works without JavaScript: each step is a plain form that posts and redirects back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from steward.accounts.models import User
from steward.cases import task_selectors as ts
from steward.cases import task_services
from steward.cases.models import SectorTask, TaskState
from steward.cases.permissions import can_act
from steward.core import timeutil
from steward.core.business_calendar import calendar_from_settings
from steward.core.errors import DomainError, NotPermitted
from steward.core.forms import add_domain_error

from . import forms as f

QUEUE_PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@dataclass(frozen=True)
class TaskAction:
    form: type[forms.Form]
    run: Callable[[User, SectorTask, dict[str, Any]], Any]
    done: Any  # success message (lazy)


TASK_ACTIONS: dict[str, TaskAction] = {
    "take": TaskAction(
        f.TakeForm, lambda u, t, c: task_services.task_take(actor=u, task=t), _("Task taken.")
    ),
    "log": TaskAction(
        f.LogWorkForm,
        lambda u, t, c: task_services.task_log_work(actor=u, task=t, minutes=c["minutes"], note=c["note"]),
        _("Work logged."),
    ),
    "complete": TaskAction(
        f.CompleteForm,
        lambda u, t, c: task_services.task_complete(actor=u, task=t, note=c["note"]),
        _("Task completed."),
    ),
    "return": TaskAction(
        f.ReturnForm,
        lambda u, t, c: task_services.task_return(actor=u, task=t, reason=c["reason"]),
        _("Task returned to the sender."),
    ),
    "cancel": TaskAction(
        f.CancelForm,
        lambda u, t, c: task_services.task_cancel(actor=u, task=t, reason=c["reason"]),
        _("Task cancelled."),
    ),
}


@dataclass
class QueueRow:
    task: SectorTask
    urgency: str
    is_member: bool
    can_cancel: bool
    forms: dict[str, forms.Form] = field(default_factory=dict)
    # A refused form whose step the task's state no longer offers (e.g. "log" on a queued task): shown
    # on its own with its errors and the user's input, so nothing typed is lost.
    stray: tuple[str, Form] | None = None

    def offers(self, action: str) -> bool:
        state = self.task.state
        if action == "take":
            return self.is_member and state == TaskState.QUEUED
        if action in ("log", "complete"):
            return self.is_member and state == TaskState.IN_PROGRESS
        if action == "return":
            return self.is_member and self.task.is_open
        return self.can_cancel


def task_rows(
    user: User, tasks: list[SectorTask], *, bound: tuple[int, str, forms.Form] | None = None
) -> list[QueueRow]:
    """Each task with its urgency and the steps this user may take (queue and case page)."""
    if not tasks:
        return []
    now = timeutil.now()
    # The calendar (a query for the holidays) only matters for open tasks: the case page of a closed
    # case has none.
    calendar = calendar_from_settings() if any(task.is_open for task in tasks) else None
    rows = []
    for task in tasks:
        row = QueueRow(
            task=task,
            urgency=ts.task_urgency(task, now=now, calendar=calendar) if calendar is not None else "",
            is_member=task_services.is_sector_member(user, task.sector_id),
            can_cancel=task.is_open and can_act(user, task.case, at=now),
            forms={name: action.form() for name, action in TASK_ACTIONS.items()},
        )
        if bound is not None and bound[0] == task.pk:
            row.forms[bound[1]] = bound[2]
            if not row.offers(bound[1]):
                row.stray = (bound[1], bound[2])
        rows.append(row)
    return rows


def _render_queue(
    request: HttpRequest,
    *,
    bound: tuple[int, str, forms.Form] | None = None,
    denied: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    form = f.QueueFilterForm(request.GET or None)
    filters = ts.QueueFilters()
    if form.is_valid():
        sector = form.cleaned_data["sector"]
        filters = ts.QueueFilters(
            sector=sector.pk if sector else None, include_ended=form.cleaned_data["ended"]
        )
    page = Paginator(ts.sector_queue(user=user, filters=filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    tasks = list(page.object_list)
    if bound is not None and all(t.pk != bound[0] for t in tasks):
        # The task with the error (e.g. already ended) is shown on top so the user sees what happened.
        tasks.insert(0, ts.task_get_for_user(user, bound[0]))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page_obj": page,
        "rows": task_rows(user, tasks, bound=bound),
        "next_url": _next_url(request),
        "sees_all": user.sees_everything,
        "sector": user.sector,
        "denied": denied,
        "query": query.urlencode(),
    }
    return render(request, "sectors/queue.html", context, status=status)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return _render_queue(request)


def _next_url(request: HttpRequest) -> str:
    """Where a step's form returns to: the page it came from (only on this site), else the queue."""
    if request.method == "GET":
        return request.get_full_path()
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("sectors:queue")


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(_next_url(request))


@login_required
@require_POST
def task_action(request: HttpRequest, pk: str, action: str) -> HttpResponse:
    user = _user(request)
    task = ts.task_get_for_user(user, pk)
    spec = TASK_ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec.form(request.POST)
    if not form.is_valid():
        return _render_queue(request, bound=(task.pk, action, form), status=400)
    try:
        spec.run(user, task, form.cleaned_data)
    except NotPermitted as exc:
        return _render_queue(request, bound=(task.pk, action, form), denied=str(exc.message), status=403)
    except DomainError as exc:
        add_domain_error(form, exc)
        return _render_queue(request, bound=(task.pk, action, form), status=400)
    messages.success(request, str(spec.done))
    return _back(request)
