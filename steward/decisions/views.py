"""The decision register's screens. Managers and executives read (404 for anyone else); managers write
(403 for an executive). Views are thin: forms in, a service call, a redirect or the form with its error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.accounts.models import User
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error

from . import display, services
from .forms import (
    ApproveForm,
    AwayForm,
    BackupForm,
    DecisionForm,
    NewScenarioForm,
    ReviewForm,
    ScenarioForm,
    decision_initial,
)
from .models import QUESTIONS, AwayPeriod, Decision, Scenario
from .permissions import decision_reader, decision_writer

PAGE_SIZE = 25


def _decision(pk: int) -> Decision:
    return get_object_or_404(Decision.objects.select_related("team", "owner", "approved_scenario"), pk=pk)


def _scenario(decision: Decision, pk: int) -> Scenario:
    scenario = get_object_or_404(Scenario, pk=pk, decision=decision)
    scenario.decision = decision
    return scenario


def _detail_url(decision: Decision, anchor: str = "") -> str:
    return reverse("decisions:detail", args=[decision.pk]) + (f"#{anchor}" if anchor else "")


def _data(c: dict[str, Any]) -> services.DecisionData:
    return services.DecisionData(
        title=c["title"],
        kind=c["kind"],
        window_start=c["window_start"],
        window_end=c["window_end"],
        description=c["description"],
        goal=c["goal"],
        saving_minor=c["saving"],
        team=c["team"],
        answers={name: c[name] for name in QUESTIONS},
    )


# ------------------------------------------------------------------------------------ list, create, edit


@login_required
def decision_list(request: HttpRequest) -> HttpResponse:
    user = decision_reader(request)
    qs = Decision.objects.select_related("team", "owner").order_by("-window_start", "-id")
    page_obj = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "decisions/list.html",
        {"page_obj": page_obj, "can_write": services.can_write_decisions(user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def decision_new(request: HttpRequest) -> HttpResponse:
    user = decision_reader(request)
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        user = decision_writer(request)
        if form.is_valid():
            try:
                decision = services.decision_create(actor=user, data=_data(form.cleaned_data))
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Decision created. Now say who is away when."))
                return redirect(
                    reverse("decisions:scenario", args=[decision.pk, decision.scenarios.get().pk])
                )
        status = 400
    return render(request, "decisions/form.html", {"form": form, "decision": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def decision_edit(request: HttpRequest, pk: int) -> HttpResponse:
    decision_reader(request)
    decision = _decision(pk)
    form = DecisionForm(request.POST or None, initial=decision_initial(decision))
    status = 200
    if request.method == "POST":
        user = decision_writer(request)
        if form.is_valid():
            try:
                services.decision_update(actor=user, decision=decision, data=_data(form.cleaned_data))
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Decision saved."))
                return redirect(_detail_url(decision))
        status = 400
    return render(request, "decisions/form.html", {"form": form, "decision": decision}, status=status)


# ------------------------------------------------------------------------------------ the assessment page


def _detail_context(decision: Decision, user: User, focus: str | None = None, **forms: Any) -> dict[str, Any]:
    context = display.decision_page(decision, int(focus) if focus and focus.isdigit() else None)
    context.update(
        {
            "decision": decision,
            "can_write": services.can_write_decisions(user),
            "approve_form": ApproveForm(decision=decision, initial={"scenario": context["best_scenario_id"]}),
            "new_scenario_form": NewScenarioForm(decision=decision),
            "review_form": ReviewForm(),
            "missing_answers": services.missing_answers(decision),
            **forms,
        }
    )
    return context


@login_required
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = decision_reader(request)
    focus = request.GET.get("scenario")
    return render(request, "decisions/detail.html", _detail_context(_decision(pk), user, focus))


def _refused(request: HttpRequest, decision: Decision, exc: DomainError, anchor: str = "") -> HttpResponse:
    messages.error(request, str(exc.message))
    return redirect(_detail_url(decision, anchor))


def _transition(
    request: HttpRequest, pk: int, change: Callable[[User, Decision], str], anchor: str = ""
) -> HttpResponse:
    """A POST that calls one service: its message on success, its refusal otherwise; back to the page."""
    user = decision_writer(request)
    decision = _decision(pk)
    try:
        messages.success(request, change(user, decision))
    except DomainError as exc:
        return _refused(request, decision, exc)
    return redirect(_detail_url(decision, anchor))


@login_required
@require_POST
def decision_assess(request: HttpRequest, pk: int) -> HttpResponse:
    def assess(user: User, decision: Decision) -> str:
        snapshots = services.decision_assess(actor=user, decision=decision)
        return _("%(n)d scenarios assessed.") % {"n": len(snapshots)}

    return _transition(request, pk, assess, "compare")


@login_required
@require_POST
def decision_approve(request: HttpRequest, pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    form = ApproveForm(request.POST, decision=decision)
    if not form.is_valid():
        messages.error(request, _("Choose the scenario to approve."))
        return redirect(_detail_url(decision, "approve"))
    try:
        services.decision_approve(actor=user, decision=decision, scenario=form.cleaned_data["scenario"])
    except DomainError as exc:
        return _refused(request, decision, exc, "approve")
    messages.success(request, _("Decision approved; the absences are recorded."))
    return redirect(_detail_url(decision, "plan"))


@login_required
@require_POST
def decision_carry_out(request: HttpRequest, pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    try:
        outcome = services.decision_carry_out_plan(actor=user, decision=decision)
    except DomainError as exc:
        return _refused(request, decision, exc, "plan")
    messages.success(
        request,
        _("Action plan carried out: %(done)d done, %(already)d already done before, %(skipped)d skipped.")
        % {"done": outcome.done, "already": outcome.already, "skipped": len(outcome.skipped)},
    )
    for line in outcome.skipped[:10]:
        messages.warning(request, line)
    return redirect(_detail_url(decision, "plan"))


@login_required
@require_POST
def decision_in_effect(request: HttpRequest, pk: int) -> HttpResponse:
    def in_effect(user: User, decision: Decision) -> str:
        services.decision_mark_in_effect(actor=user, decision=decision)
        return _("The decision is in effect.")

    return _transition(request, pk, in_effect)


@login_required
@require_POST
def decision_review(request: HttpRequest, pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    form = ReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.decision_review(actor=user, decision=decision, note=note)
    except DomainError as exc:
        return _refused(request, decision, exc, "review")
    messages.success(request, _("Reviewed: predicted against actual is recorded."))
    return redirect(_detail_url(decision, "review"))


# ------------------------------------------------------------------------------------ scenarios


@login_required
@require_POST
def scenario_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    form = NewScenarioForm(request.POST, decision=decision)
    if form.is_valid():
        c = form.cleaned_data
        try:
            scenario = services.scenario_add(
                actor=user,
                decision=decision,
                name=c["name"],
                kind=c["kind"],
                mitigations=c["mitigations"],
                copy_from=c["copy_from"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Scenario added."))
            return redirect(reverse("decisions:scenario", args=[decision.pk, scenario.pk]))
    context = _detail_context(decision, user, new_scenario_form=form)
    return render(request, "decisions/detail.html", context, status=400)


def _scenario_page(
    request: HttpRequest,
    decision: Decision,
    scenario: Scenario,
    *,
    form: ScenarioForm | None = None,
    away_form: AwayForm | None = None,
    backup_form: BackupForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    periods = list(scenario.away_periods.select_related("user", "user__backup"))
    overrides = {o.user_id: o for o in scenario.backup_overrides.select_related("backup")}
    away_ids = sorted({p.user_id for p in periods})
    context = {
        "decision": decision,
        "scenario": scenario,
        "periods": periods,
        "overrides": overrides,
        "people_away": [
            (p.user, overrides[p.user_id].backup if p.user_id in overrides else p.user.backup)
            for p in {p.user_id: p for p in periods}.values()
        ],
        "can_write": services.can_write_decisions(user) and decision.editable,
        "form": form
        or ScenarioForm(
            initial={"name": scenario.name, "kind": scenario.kind, "mitigations": scenario.mitigations}
        ),
        "away_form": away_form
        or AwayForm(initial={"starts_at": decision.window_start, "ends_at": decision.window_end}),
        "backup_form": backup_form or BackupForm(away_ids=away_ids),
    }
    return render(request, "decisions/scenario.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def scenario_edit(request: HttpRequest, pk: int, scenario_pk: int) -> HttpResponse:
    decision_reader(request)
    decision = _decision(pk)
    scenario = _scenario(decision, scenario_pk)
    if request.method != "POST":
        return _scenario_page(request, decision, scenario)
    user = decision_writer(request)
    form = ScenarioForm(request.POST)
    if form.is_valid():
        c = form.cleaned_data
        try:
            services.scenario_update(
                actor=user, scenario=scenario, name=c["name"], kind=c["kind"], mitigations=c["mitigations"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Scenario saved."))
            return redirect(reverse("decisions:scenario", args=[decision.pk, scenario.pk]))
    return _scenario_page(request, decision, scenario, form=form, status=400)


@login_required
@require_POST
def scenario_delete(request: HttpRequest, pk: int, scenario_pk: int) -> HttpResponse:
    def remove(user: User, decision: Decision) -> str:
        services.scenario_remove(actor=user, scenario=_scenario(decision, scenario_pk))
        return _("Scenario removed.")

    return _transition(request, pk, remove)


@login_required
@require_POST
def away_add(request: HttpRequest, pk: int, scenario_pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    scenario = _scenario(decision, scenario_pk)
    form = AwayForm(request.POST)
    if form.is_valid():
        c = form.cleaned_data
        people = services.people_for(users=c["users"], sectors=c["sectors"], teams=c["teams"])
        try:
            periods = services.away_add(
                actor=user, scenario=scenario, people=people, starts_at=c["starts_at"], ends_at=c["ends_at"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("%(n)d people away in this scenario.") % {"n": len(periods)})
            return redirect(reverse("decisions:scenario", args=[decision.pk, scenario.pk]) + "#away")
    return _scenario_page(request, decision, scenario, away_form=form, status=400)


@login_required
@require_POST
def away_remove(request: HttpRequest, pk: int, scenario_pk: int, period_pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    scenario = _scenario(decision, scenario_pk)
    period = get_object_or_404(AwayPeriod, pk=period_pk, scenario=scenario)
    period.scenario = scenario
    try:
        services.away_remove(actor=user, period=period)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(reverse("decisions:scenario", args=[decision.pk, scenario.pk]) + "#away")


@login_required
@require_POST
def backup_set(request: HttpRequest, pk: int, scenario_pk: int) -> HttpResponse:
    user = decision_writer(request)
    decision = _decision(pk)
    scenario = _scenario(decision, scenario_pk)
    away_ids = set(scenario.away_periods.values_list("user_id", flat=True))
    form = BackupForm(request.POST, away_ids=away_ids)
    if form.is_valid():
        person: User = form.cleaned_data["user"]
        try:
            services.backup_override_set(
                actor=user, scenario=scenario, user=person, backup=form.cleaned_data["backup"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Backup saved for this scenario."))
            return redirect(reverse("decisions:scenario", args=[decision.pk, scenario.pk]) + "#backups")
    return _scenario_page(request, decision, scenario, backup_form=form, status=400)
