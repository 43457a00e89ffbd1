"""Agent workspace: thin views that parse a form, call one service or selector, and render."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from steward.accounts.models import User
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted, StaleVersion
from steward.core.forms import add_domain_error
from steward.core.pagination import CappedCountPaginator
from steward.sectors.views import task_rows

from . import forms as f
from . import selectors, services, task_selectors, task_services
from .list_rows import rows_html
from .models import Attachment, Case, Commitment, EventKind, Status
from .timeline_html import timeline_html


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    data = request.GET.copy()
    data.setdefault("scope", "mine" if user.role == "adviser" else "all")
    form = f.CaseFilterForm(data)
    filters = selectors.CaseFilters()
    if form.is_valid():
        c = form.cleaned_data
        filters = selectors.CaseFilters(
            scope=c["scope"] or "all",
            status=c["status"],
            kind=c["kind"],
            owner=c["owner"].pk if c["owner"] else None,
            customer=c["customer"],
            sector=c["sector"].pk if c["sector"] else None,
            overdue=c["overdue"],
            q=c["q"],
        )
    now = timeutil.now()
    # Exact up to 1,000 cases, then the planner's estimate: no COUNT(*) over the whole table per view.
    page = CappedCountPaginator(
        selectors.case_list_rows(user=user, filters=filters, now=now), settings.STEWARD_CASE_PAGE_SIZE
    )
    page_obj = page.get_page(request.GET.get("page"))
    query = data.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page_obj": page_obj,
        "now": now,
        "query": query.urlencode(),
        "scope": filters.scope,
        "rows_html": rows_html(page_obj.object_list, now),
    }
    template = "cases/list.html#results" if request.htmx else "cases/list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    initial = {"owner": user.pk, "customer": request.GET.get("customer")}
    form = f.CaseOpenForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            c = form.cleaned_data
            try:
                case = services.case_open(
                    actor=user,
                    customer=c["customer"],
                    subject=c["subject"],
                    description=c["description"],
                    owner=c["owner"],
                    kind=c["kind"],
                    category=c["category"],
                    priority=c["priority"],
                    channel=c["channel"],
                    attachments=c["attachments"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Case #%(n)s opened.") % {"n": case.number})
                return redirect("cases:detail", pk=case.pk)
        status = 400
    return render(request, "cases/new.html", {"form": form}, status=status)


# ------------------------------------------------------------------ case page and actions


@dataclass(frozen=True)
class Action:
    form: type[forms.Form]
    run: Callable[[User, Case, dict[str, Any]], Any]
    done: Any  # success message (lazy)
    files: bool = False


def _resolve_commitment(user: User, case: Case, c: dict[str, Any]) -> Any:
    commitment = Commitment.objects.filter(case=case, pk=c["commitment"]).first()
    if commitment is None:
        raise Http404
    return services.commitment_resolve(actor=user, commitment=commitment, state=c["state"], note=c["note"])


ACTIONS: dict[str, Action] = {
    "reply": Action(
        f.ReplyForm,
        lambda u, case, c: services.case_reply(
            actor=u,
            case=case,
            body=c["body"],
            expected_version=c["expected_version"],
            wait_for_customer=c["wait_for_customer"],
            attachments=c["attachments"],
        ),
        gettext_lazy("Reply sent."),
        files=True,
    ),
    "note": Action(
        f.NoteForm,
        lambda u, case, c: services.case_add_note(
            actor=u, case=case, body=c["body"], attachments=c["attachments"]
        ),
        gettext_lazy("Note added."),
        files=True,
    ),
    "handoff": Action(
        f.HandoffForm,
        lambda u, case, c: services.case_hand_off(
            actor=u,
            case=case,
            to_user=c["to_user"],
            customer_need=c["customer_need"],
            done_so_far=c["done_so_far"],
            expected_version=c["expected_version"],
        ),
        gettext_lazy("Case handed over with its summary."),
    ),
    "next-step": Action(
        f.NextStepForm,
        lambda u, case, c: services.commitment_set(
            actor=u, case=case, description=c["description"], due_at=c["due_at"]
        ),
        gettext_lazy("Next step promised."),
    ),
    "resolve-step": Action(f.CommitmentResolveForm, _resolve_commitment, gettext_lazy("Next step updated.")),
    "propose": Action(
        f.ProposeForm,
        lambda u, case, c: services.case_propose_solution(
            actor=u, case=case, solution=c["solution"], expected_version=c["expected_version"]
        ),
        gettext_lazy("Solution proposed. The case closes when the customer confirms it."),
    ),
    "confirm": Action(
        f.ConfirmForm,
        lambda u, case, c: services.case_confirm_solution(
            actor=u, case=case, channel=c["channel"], note=c["note"]
        ),
        gettext_lazy("The customer's confirmation is recorded; the case is closed."),
    ),
    "close-unconfirmed": Action(
        f.ReasonForm,
        lambda u, case, c: services.case_close_unconfirmed(actor=u, case=case, reason=c["reason"]),
        gettext_lazy("Case closed unconfirmed."),
    ),
    "reopen": Action(
        f.ReasonForm,
        lambda u, case, c: services.case_reopen(actor=u, case=case, reason=c["reason"]),
        gettext_lazy("Case reopened."),
    ),
    "repeat-explanation": Action(
        f.RepeatExplanationForm,
        lambda u, case, c: services.case_flag_repeat_explanation(actor=u, case=case, comment=c["comment"]),
        gettext_lazy("Recorded: the customer had to explain again."),
    ),
    "task": Action(
        f.SectorTaskForm,
        lambda u, case, c: task_services.task_create(
            actor=u,
            case=case,
            sector=c["sector"],
            task_kind=c["task_kind"],
            description=c["description"],
            target_minutes=c["target_minutes"],
        ),
        gettext_lazy("Step handed to the sector."),
    ),
    "status": Action(
        f.StatusForm,
        lambda u, case, c: services.case_set_status(
            actor=u, case=case, status=c["status"], expected_version=c["expected_version"]
        ),
        gettext_lazy("Status changed."),
    ),
}


class _BlankForms(dict[str, forms.Form]):
    """The action forms, each built when the template first reads it: a closed case shows 3 of the 12
    (building the others cost 0.8 ms per page, issue 9). Keys use underscores: "next-step" is reached
    as forms.next_step."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        self.version = case.version

    def __missing__(self, key: str) -> forms.Form:
        action = ACTIONS.get(key.replace("_", "-"))
        if action is None:
            raise KeyError(key)
        initial = {"expected_version": self.version} if issubclass(action.form, f.VersionedForm) else None
        form = self[key] = action.form(initial=initial)
        return form


def _blank_forms(case: Case) -> dict[str, forms.Form]:
    return _BlankForms(case)


def _render_case(
    request: HttpRequest,
    case: Case,
    *,
    bound: tuple[str, forms.Form] | None = None,
    stale: StaleVersion | None = None,
    denied: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    now = timeutil.now()
    action_forms = _blank_forms(case)
    if bound is not None:
        name, form = bound
        if stale is not None:
            # Keep what the user wrote, but carry the new version so a resubmit is a conscious choice.
            data = form.data.copy()  # type: ignore[attr-defined]
            data["expected_version"] = str(stale.current_version)
            form = ACTIONS[name].form(data)
            form.is_valid()
        action_forms[name.replace("-", "_")] = form
    timeline, commitments = selectors.case_timeline_with_commitments(case)
    open_steps = selectors.open_commitments_of(commitments)
    context = {
        "case": case,
        "ownership": selectors.case_ownership(case, user=user, now=now),
        "next_step": open_steps[0] if open_steps else None,
        "open_steps": open_steps,
        "timeline": timeline,
        "timeline_html": timeline_html(timeline, case),
        "other_cases": _with_status_labels(selectors.case_other_cases(case, user=user)),
        "forms": action_forms,
        "open_action": bound[0] if bound else "",
        "stale": stale,
        "denied": denied,
        "now": now,
        "is_manager": user.manages_cases,
        "task_rows": task_rows(user, _tasks(case, timeline)),
    }
    return render(request, "cases/detail.html", context, status=status)


def _tasks(case: Case, timeline: list[selectors.TimelineEntry]) -> list[Any]:
    """The case's sector tasks, read only when its event log shows one was created (every task is)."""
    if not any(entry.event.kind == EventKind.TASK_CREATED for entry in timeline):
        return []
    return task_selectors.case_tasks(case)


def _with_status_labels(cases: Iterable[Case]) -> list[Case]:
    """The cases with their status label looked up in one dict (get_status_display() builds one per call)
    and their link from one reversed pattern (a {% url %} per case cost 0.05 ms each)."""
    statuses = {value: str(label) for value, label in Status.choices}
    marker = 999_999_999
    link = reverse("cases:detail", args=[marker]).replace(str(marker), "{}")
    rows = list(cases)
    for c in rows:
        c.status_label = statuses.get(c.status, c.status)  # type: ignore[attr-defined]
        c.link = link.format(c.pk)  # type: ignore[attr-defined]
    return rows


@login_required
def case_detail(request: HttpRequest, pk: str) -> HttpResponse:
    return _render_case(request, selectors.case_get_for_user(_user(request), pk))


@login_required
@require_POST
def case_action(request: HttpRequest, pk: str, action: str) -> HttpResponse:
    user = _user(request)
    case = selectors.case_get_for_user(user, pk)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, request.FILES if spec.files else None)
    if not form.is_valid():
        return _render_case(request, case, bound=(action, form), status=400)
    try:
        spec.run(user, case, form.cleaned_data)
    except StaleVersion as exc:
        case = selectors.case_get_for_user(user, pk)
        return _render_case(request, case, bound=(action, form), stale=exc, status=409)
    except NotPermitted as exc:
        return _render_case(request, case, bound=(action, form), denied=str(exc.message), status=403)
    except DomainError as exc:
        add_domain_error(form, exc)
        case = selectors.case_get_for_user(user, pk)
        return _render_case(request, case, bound=(action, form), status=400)
    messages.success(request, str(spec.done))
    return redirect("cases:detail", pk=case.pk)


@login_required
def attachment_download(request: HttpRequest, pk: str, attachment_id: int) -> FileResponse:
    case = selectors.case_get_for_user(_user(request), pk)
    attachment = Attachment.objects.filter(case=case, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
