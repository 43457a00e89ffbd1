"""Every URL pattern against every persona. A new route without an entry here fails the suite.

Invisible objects are a 404 (never a 403 that would confirm they exist); anonymous users are sent
to sign in (HTML) or refused (API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from steward.cases.services import case_add_note, case_open, commitment_set
from steward.cases.task_services import task_create
from steward.cases.views import ACTIONS
from steward.costs.models import EntryKind
from steward.costs.services import compensation_request, cost_entry_create
from steward.customers.services import economics_inputs_set
from steward.reviews.services import action_add, review_open
from steward.sectors.views import TASK_ACTIONS
from steward.testing import Personas

pytestmark = pytest.mark.django_db

ALL = ("adviser", "backup", "other_adviser", "sector_member", "manager", "executive", "outsider")
CASE_VISIBLE = {"adviser", "backup", "manager", "executive"}
STAFF = {"adviser", "backup", "other_adviser", "manager", "executive", "outsider"}
READERS = {"manager", "executive"}  # analysis and reviews (executives read, managers also write)
MANAGERS = {"manager"}  # survey follow-ups, questions and relationship NPS

# Routes that are not about objects, with the reason they are not in the matrix.
EXEMPT = {
    "admin": "Django admin: its own staff permission checks (is_staff), tested by Django",
    "schema": "OpenAPI schema: public description of the API, no data",
    "api-docs": "Swagger UI over the schema, no data",
    "api-redoc": "Redoc over the schema, no data",
    "set_language": "Django's language switch, no data",
    "home": "redirect to the case list",
    "accounts:login": "sign-in page",
    "accounts:logout": "sign-out",
    "accounts:language": "language switch for the current user only",
    "accounts:preferences": "the current user's own preferences",
    "accounts:absences": "managers only (403 for others), no per-object data; tested in accounts tests",
    "api:token": "exchanges the caller's own credentials for a token",
    "cases:new": "a form; the customer list is staff-wide by design",
    "customers:new": "a form for staff (403 for sector members); covered by customer view tests",
    # Customer portal sign-in: no object until the customer is signed in (the pages behind it are in
    # PORTAL below, with the customer persona).
    "portal:sign_in": "customer portal: asks for a sign-in link (throttled, enumeration-safe)",
    "portal:sign_in_sent": "customer portal: static answer after asking for a link",
    "portal:sign_in_link": "customer portal: single-use hashed token; tested in portal tests",
    "portal:sign_out": "customer portal: ends the customer's own session",
    "portal:case_new": "customer portal: a form that opens a case for the signed-in customer",
    "portal:solution_confirm": "signed single-use link from the mail; tested in portal link tests",
    "portal:solution_not_solved": "signed single-use link from the mail; tested in portal link tests",
    # Surveys answered by customers through a random single-use token (only its hash stored).
    "surveys:answer": "survey link from the mail: single-use hashed token; tested in surveys view tests",
    "surveys:thanks": "static thank-you page after answering a survey, no data",
    # Security (issue 10): the caller's own token only.
    "accounts:token_revoke": "revokes the current user's own API token",
    "api:token-current": "revokes the caller's own API token",
}


@dataclass
class Route:
    method: str
    path: str  # formatted with case, attachment, commitment and customer ids
    visible: set[str] = field(default_factory=lambda: set(CASE_VISIBLE))

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def _objects(p: Personas) -> dict:
    note = case_add_note(
        actor=p.adviser,
        case=p.case,
        body="See the photo.",
        attachments=[SimpleUploadedFile("photo.txt", "สวัสดี".encode(), content_type="text/plain")],
    )
    step = commitment_set(
        actor=p.adviser, case=p.case, description="Call back", due_at=timezone.now() + timedelta(days=1)
    )
    review = review_open(actor=p.manager, title="Late parcel", case=p.case)
    action = action_add(
        actor=p.manager,
        review=review,
        description="Daily pick list",
        owner_sector=p.billing,
        due_on=timezone.localdate() + timedelta(days=7),
    )
    # A task for billing on a second case of the adviser: billing's member sees that case, not p.case.
    task_case = case_open(
        actor=p.adviser, customer=p.customer, subject="Refund", description="Charged twice.", owner=p.adviser
    )
    task = task_create(actor=p.adviser, case=task_case, sector=p.billing, description="Refund the fee")
    inputs = economics_inputs_set(actor=p.manager, month=timezone.localdate(), currency="EUR")
    entry = cost_entry_create(
        actor=p.manager,
        incurred_on=timezone.localdate(),
        kind=EntryKind.TRAINING,
        description="Course",
        amount_minor=10000,
        currency="EUR",
    )
    compensation = compensation_request(
        actor=p.adviser, case=p.case, kind="refund", amount_minor=999999, currency="EUR", reason="Broken"
    )
    # A low survey score (a follow-up) and a relationship NPS campaign, for the managers' survey pages.
    from steward.cases.services import case_confirm_solution, case_propose_solution
    from steward.surveys.services import nps_campaign_start, survey_answer, survey_send, surveys_muted

    with surveys_muted():
        closed = case_open(
            actor=p.adviser,
            customer=p.customer,
            subject="Broken lid",
            description="Cracked.",
            owner=p.adviser,
        )
        case_propose_solution(actor=p.adviser, case=closed, solution="A new lid was sent.")
        case_confirm_solution(case=closed)
    survey = survey_send(case=closed)
    assert survey is not None
    follow_up = survey_answer(survey=survey, answers={"csat": 1}).follow_up
    campaign = nps_campaign_start(actor=p.manager, segment={})
    return {
        "month": inputs.month.strftime("%Y-%m"),
        "entry": entry.pk,
        "compensation": compensation.pk,
        "follow_up": follow_up.pk,
        "campaign": campaign.pk,
        "task": task.pk,
        "task_case": task_case.pk,
        "case": p.case.pk,
        "attachment": note.attachments.get().pk,
        "commitment": step.pk,
        "customer": p.customer.pk,
        "review": review.pk,
        "action": action.pk,
        "adviser_user": p.adviser.pk,
        **_decision_objects(p),
    }


# ---- Decisions (issue 8): a draft decision with one scenario taking the adviser away for a day.
def _decision_objects(p: Personas) -> dict:
    from steward.decisions.services import DecisionData, away_add, decision_create

    start = timezone.now() + timedelta(days=7)
    decision = decision_create(
        actor=p.manager,
        data=DecisionData(
            title="Course", kind="staff_absence", window_start=start, window_end=start + timedelta(days=1)
        ),
    )
    scenario = decision.scenarios.get()
    (period,) = away_add(
        actor=p.manager,
        scenario=scenario,
        people=[p.adviser],
        starts_at=start,
        ends_at=start + timedelta(hours=8),
    )
    return {"decision": decision.pk, "scenario": scenario.pk, "away": period.pk}


API_CASE_ROUTES = {
    "messages": ("get", "post"),
    "notes": ("get", "post"),
    "handoffs": ("get", "post"),
    "commitments": ("get", "post"),
    "propose": ("post",),
    "confirm": ("post",),
    "close-unconfirmed": ("post",),
    "reopen": ("post",),
    "repeat-explanation": ("post",),
    "status": ("post",),
    "events": ("get",),
    "tasks": ("get", "post"),
}
# Who reaches a task: those who see its case, and the members of its sector (billing1).
TASK_VISIBLE = CASE_VISIBLE | {"sector_member"}
MATRIX: dict[str, list[Route]] = {
    "cases:detail": [Route("get", "/en/cases/{case}/")],
    "cases:attachment": [Route("get", "/en/cases/{case}/attachments/{attachment}/")],
    "cases:action": [Route("post", "/en/cases/{case}/" + action + "/") for action in ACTIONS],
    "api:case-detail": [Route("get", "/api/v1/cases/{case}/")],
    **{
        f"api:case-{name}": [Route(m, "/api/v1/cases/{case}/" + name + "/") for m in methods]
        for name, methods in API_CASE_ROUTES.items()
    },
    "api:case-attachments": [Route("get", "/api/v1/cases/{case}/attachments/")],
    "api:case-attachment": [Route("get", "/api/v1/cases/{case}/attachments/{attachment}/")],
    "api:case-resolve-commitment": [Route("post", "/api/v1/cases/{case}/commitments/{commitment}/resolve/")],
    "sectors:task-action": [
        Route("post", "/en/sectors/tasks/{task}/" + action + "/", visible=TASK_VISIBLE)
        for action in TASK_ACTIONS
    ],
    "api:task-detail": [Route("get", "/api/v1/tasks/{task}/", visible=TASK_VISIBLE)],
    **{
        f"api:task-{name}": [Route("post", "/api/v1/tasks/{task}/" + name + "/", visible=TASK_VISIBLE)]
        for name in ("take", "log", "complete", "return", "cancel")
    },
    "customers:detail": [Route("get", "/en/customers/{customer}/", visible=STAFF)],
    "api:customer-detail": [Route("get", "/api/v1/customers/{customer}/", visible=STAFF)],
    "analytics:sectors": [Route("get", "/en/analytics/sectors/", visible=READERS)],
    "analytics:process_map": [Route("get", "/en/analytics/process-map/", visible=READERS)],
    "analytics:loyalty": [Route("get", "/en/analytics/loyalty/", visible=READERS)],
    "analytics:loyalty_export": [Route("get", "/en/analytics/loyalty/export/", visible=READERS)],
    "analytics:service": [Route("get", "/en/analytics/service/", visible=READERS)],
    "analytics:service_cases": [Route("get", "/en/analytics/service/cases/fcr/k/", visible=READERS)],
    "analytics:service_export": [
        Route("get", "/en/analytics/service/export/figures/", visible=READERS),
        Route("get", "/en/analytics/service/export/overdue/", visible=READERS),
    ],
    "analytics:export": [
        Route("get", "/en/analytics/export/csv/", visible={"manager"}),
        Route("get", "/en/analytics/export/xes/", visible={"manager"}),
    ],
    # Economics (money): managers and executives read; managers keep the inputs.
    **{
        f"analytics:{name}": [Route("get", path, visible=READERS)]
        for name, path in (
            ("economics", "/en/analytics/economics/"),
            ("cost_of_quality", "/en/analytics/economics/quality/"),
            ("cost_lines", "/en/analytics/economics/quality/lines/"),
            ("complaint_cost", "/en/analytics/economics/complaints/"),
            ("loyalty_economics", "/en/analytics/economics/loyalty/"),
            ("scorecards", "/en/analytics/economics/sectors/"),
        )
    },
    "customers:economics_inputs": [
        Route("get", "/en/customers/economics/", visible={"manager"}),
        Route("post", "/en/customers/economics/", visible={"manager"}),
    ],
    "customers:economics_inputs_month": [
        Route("get", "/en/customers/economics/{month}/", visible={"manager"})
    ],
    "customers:value": [
        Route("get", "/en/customers/{customer}/value/", visible={"manager"}),
        Route("post", "/en/customers/{customer}/value/", visible={"manager"}),
    ],
    "reviews:list": [
        Route("get", "/en/reviews/", visible=READERS),
        Route("post", "/en/reviews/", visible=READERS),
    ],
    "reviews:actions": [Route("get", "/en/reviews/actions/", visible=READERS)],
    "reviews:detail": [Route("get", "/en/reviews/{review}/", visible=READERS)],
    "reviews:finding": [Route("post", "/en/reviews/{review}/findings/", visible=READERS)],
    "reviews:action": [Route("post", "/en/reviews/{review}/actions/", visible=READERS)],
    "reviews:action_done": [Route("post", "/en/reviews/{review}/actions/{action}/done/", visible=READERS)],
    # Money: managers and executives read it (executives get a 403 on writes); everyone else a 404.
    "costs:ledger": [Route("get", "/en/costs/", visible=READERS)],
    "costs:ledger_csv": [
        Route("get", "/en/costs/ledger.csv?start=2026-03-01&end=2026-03-31", visible=READERS)
    ],
    "costs:override": [
        Route("get", "/en/costs/override/?source=entry&id={entry}", visible=READERS),
        Route("post", "/en/costs/override/", visible=READERS),
    ],
    "costs:rates": [
        Route("get", "/en/costs/rates/", visible=READERS),
        Route("post", "/en/costs/rates/", visible=READERS),
    ],
    "costs:entries": [Route("get", "/en/costs/entries/", visible=READERS)],
    "costs:entry_new": [Route("get", "/en/costs/entries/new/", visible=READERS)],
    "costs:entry_edit": [Route("get", "/en/costs/entries/{entry}/", visible=READERS)],
    "costs:entry_delete": [Route("get", "/en/costs/entries/{entry}/delete/", visible=READERS)],
    "costs:approvals": [Route("get", "/en/costs/compensation/", visible=READERS)],
    "costs:decide": [Route("post", "/en/costs/compensation/{compensation}/decide/", visible=READERS)],
    "costs:meetings": [Route("get", "/en/costs/meetings/", visible=READERS)],
    # Requesting compensation: who sees the case (acting on it is then a 403 for the others).
    "costs:compensation_request": [
        Route("get", "/en/costs/cases/{case}/compensation/"),
        Route("post", "/en/costs/cases/{case}/compensation/"),
    ],
    # Surveys: managers only (a 404 for everyone else, executives included: they read the figures).
    "surveys:follow_ups": [Route("get", "/en/surveys/follow-ups/", visible=MANAGERS)],
    "surveys:follow_up_done": [Route("post", "/en/surveys/follow-ups/{follow_up}/done/", visible=MANAGERS)],
    "surveys:questions": [
        Route("get", "/en/surveys/questions/", visible=MANAGERS),
        Route("post", "/en/surveys/questions/", visible=MANAGERS),
    ],
    "surveys:scales": [Route("post", "/en/surveys/questions/scales/", visible=MANAGERS)],
    "surveys:nps_list": [Route("get", "/en/surveys/nps/", visible=MANAGERS)],
    "surveys:nps_new": [
        Route("get", "/en/surveys/nps/new/", visible=MANAGERS),
        Route("post", "/en/surveys/nps/new/", visible=MANAGERS),
    ],
    "surveys:nps_detail": [Route("get", "/en/surveys/nps/{campaign}/", visible=MANAGERS)],
    # Security (issue 10): the audit log, users and their tokens, personal data: managers only.
    "audit:log": [Route("get", "/en/audit/", visible=MANAGERS)],
    "accounts:users": [Route("get", "/en/accounts/users/", visible=MANAGERS)],
    "accounts:user_token_revoke": [
        Route("post", "/en/accounts/users/{adviser_user}/token/revoke/", visible=MANAGERS)
    ],
    "accounts:user_active": [Route("post", "/en/accounts/users/{adviser_user}/active/", visible=MANAGERS)],
    "api:user-token": [Route("delete", "/api/v1/users/{adviser_user}/token/", visible=MANAGERS)],
    "customers:personal_data": [Route("get", "/en/customers/{customer}/personal-data/", visible=MANAGERS)],
    "customers:personal_data_export": [
        Route("get", "/en/customers/{customer}/personal-data/export/", visible=MANAGERS)
    ],
    "customers:personal_data_erase": [
        Route("post", "/en/customers/{customer}/personal-data/erase/", visible=MANAGERS)
    ],
    # Decisions (issue 8): managers write, executives read (a 403 on writing), a 404 for everyone else.
    "decisions:list": [Route("get", "/en/decisions/", visible=READERS)],
    "decisions:new": [
        Route("get", "/en/decisions/new/", visible=READERS),
        Route("post", "/en/decisions/new/", visible=READERS),
    ],
    "decisions:detail": [Route("get", "/en/decisions/{decision}/", visible=READERS)],
    "decisions:edit": [
        Route("get", "/en/decisions/{decision}/edit/", visible=READERS),
        Route("post", "/en/decisions/{decision}/edit/", visible=READERS),
    ],
    **{
        f"decisions:{name}": [Route("post", "/en/decisions/{decision}/" + path, visible=READERS)]
        for name, path in (
            ("assess", "assess/"),
            ("approve", "approve/"),
            ("carry_out", "carry-out/"),
            ("in_effect", "in-effect/"),
            ("review", "review/"),
            ("scenario_new", "scenarios/"),
            ("scenario_delete", "scenarios/{scenario}/delete/"),
            ("away_add", "scenarios/{scenario}/away/"),
            ("away_remove", "scenarios/{scenario}/away/{away}/delete/"),
            ("backup", "scenarios/{scenario}/backup/"),
        )
    },
    "decisions:scenario": [
        Route("get", "/en/decisions/{decision}/scenarios/{scenario}/", visible=READERS),
        Route("post", "/en/decisions/{decision}/scenarios/{scenario}/", visible=READERS),
    ],
}
# Route names as the resolver reports them, mapped to the matrix keys above.
ROUTE_NAME_ALIASES = {
    "api:case-set-status": "api:case-status",
}


def _route_names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            if entry.app_name == "admin":
                names.add("admin")
                continue
            names |= _route_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{prefix}{entry.name}")
    return names


def test_every_route_is_in_the_matrix_or_exempt():
    names = {ROUTE_NAME_ALIASES.get(n, n) for n in _route_names(get_resolver())}
    covered = MATRIX.keys() | EXEMPT.keys() | LISTS.keys() | PORTAL.keys()
    missing = sorted(n for n in names if n not in covered)
    assert not missing, f"routes without an authorization matrix entry: {missing}"


def test_every_case_action_is_in_the_matrix():
    assert len(MATRIX["cases:action"]) == len(ACTIONS)


CASES = [(name, i) for name, routes in MATRIX.items() for i in range(len(routes))]


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}[{i}]" for n, i in CASES])
@pytest.mark.parametrize("persona", ALL)
def test_persona_sees_only_what_it_may(client, personas, name, index, persona):
    route = MATRIX[name][index]
    path = route.path.format(**_objects(personas))
    client.force_login(getattr(personas, persona))
    response = getattr(client, route.method)(path, {} if route.method == "post" else None)
    if persona in route.visible:
        assert response.status_code not in (404, 500), (path, response.status_code)
    else:
        assert response.status_code == 404, (path, persona, response.status_code)


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}[{i}]" for n, i in CASES])
def test_anonymous_is_refused(client, personas, name, index):
    route = MATRIX[name][index]
    path = route.path.format(**_objects(personas))
    response = getattr(client, route.method)(path)
    if route.api:
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ------------------------------------------------------------------------------------------------
# Security (issue 10): lists, the customer persona (a portal session), and CSRF on every route.

CUSTOMER = "customer"  # signed in to the portal as the case's customer; no staff account
OTHER_CUSTOMER = "other_customer"  # signed in to the portal as another customer


def _portal_session(client, customer) -> None:
    from steward.portal.session import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()


# Lists: every persona gets a 200, and the object appears in it exactly for those who may see it.
# (path, object in the list, how the object shows, who sees it)
LISTS: dict[str, tuple[str, str, str, set[str]]] = {
    "cases:list": ("/en/cases/?scope=all", "case", 'href="/en/cases/{id}/"', CASE_VISIBLE),
    "customers:list": ("/en/customers/", "customer", 'href="/en/customers/{id}/"', STAFF),
    "sectors:queue": ("/en/sectors/", "task", 'id="task-{id}"', {"sector_member", "manager", "executive"}),
    "api:case-list": ("/api/v1/cases/", "case", "id", CASE_VISIBLE),
    "api:customer-list": ("/api/v1/customers/", "customer", "id", STAFF),
    "api:task-list": ("/api/v1/tasks/", "task", "id", {"sector_member", "manager", "executive"}),
}


@pytest.mark.parametrize("name", LISTS)
def test_lists_hold_only_what_the_persona_may_see(personas, name):
    from django.test import Client

    path, obj, shows, visible = LISTS[name]
    object_id = _objects(personas)[obj]
    for persona in ALL:  # one set of objects for every persona (lean on CI time)
        client = Client()
        client.force_login(getattr(personas, persona))
        response = client.get(path)
        if response.status_code == 404:  # a list page the persona has no access to at all
            assert persona not in visible, (path, persona)
            continue
        assert response.status_code == 200, (path, persona, response.status_code)
        if shows == "id":
            listed = object_id in {row["id"] for row in response.json()["results"]}
        else:
            listed = shows.format(id=object_id) in response.content.decode()
        assert listed == (persona in visible), (path, persona)


def _portal_objects(p) -> dict:
    from steward.cases.services import case_confirm_solution, case_open, case_propose_solution, case_reply
    from steward.customers.services import customer_create
    from steward.portal.models import PortalCaseKey
    from steward.surveys.services import survey_send, surveys_muted

    reply = case_reply(
        actor=p.adviser,
        case=p.case,
        body="The label is attached.",
        attachments=[SimpleUploadedFile("label.txt", b"label", content_type="text/plain")],
    )
    with surveys_muted():
        closed = case_open(
            actor=p.adviser, customer=p.customer, subject="Lid", description="Cracked.", owner=p.adviser
        )
        case_propose_solution(actor=p.adviser, case=closed, solution="A new lid was sent.")
        case_confirm_solution(case=closed)
    survey = survey_send(case=closed)
    assert survey is not None
    other = customer_create(actor=None, name="Ivan Petrov", email="ivan@example.com", language="ru")
    return {
        "key": PortalCaseKey.objects.get_or_create(case=p.case)[0].key,
        "portal_attachment": reply.attachments.get().pk,
        "survey": survey.pk,
        "other_customer": other,
    }


# The customer's own pages: the customer reaches them, another customer gets a 404, staff (no portal
# session) are sent to the portal sign-in.
PORTAL: dict[str, list[Route]] = {
    "portal:cases": [Route("get", "/en/portal/")],
    "portal:case": [Route("get", "/en/portal/cases/{key}/")],
    "portal:case_message": [Route("post", "/en/portal/cases/{key}/message/")],
    "portal:case_confirm": [Route("post", "/en/portal/cases/{key}/confirm/")],
    "portal:case_not_solved": [Route("post", "/en/portal/cases/{key}/not-solved/")],
    "portal:attachment": [Route("get", "/en/portal/cases/{key}/files/{portal_attachment}/")],
    "surveys:portal_answer": [Route("get", "/en/surveys/portal/{survey}/")],
}
PORTAL_CASES = [(name, i) for name, routes in PORTAL.items() for i in range(len(routes))]


@pytest.mark.parametrize(("name", "index"), PORTAL_CASES, ids=[f"{n}[{i}]" for n, i in PORTAL_CASES])
def test_portal_pages_are_the_customers_own(personas, name, index):
    from django.test import Client

    route = PORTAL[name][index]
    objects = _portal_objects(personas)
    path = route.path.format(**objects)
    # Refused personas first, so a state change by the customer cannot hide a leak.
    for persona in ("adviser", "manager", OTHER_CUSTOMER, CUSTOMER):
        client = Client()
        if persona == CUSTOMER:
            _portal_session(client, personas.customer)
        elif persona == OTHER_CUSTOMER:
            _portal_session(client, objects["other_customer"])
        else:
            client.force_login(getattr(personas, persona))
        response = getattr(client, route.method)(path, {} if route.method == "post" else None)
        if persona == CUSTOMER:
            assert response.status_code not in (404, 500), (path, response.status_code)
            if name == "portal:cases":
                assert objects["key"] in response.content.decode()
        elif persona == OTHER_CUSTOMER:
            if name == "portal:cases":  # the list: 200, without the other customer's case
                assert response.status_code == 200 and objects["key"] not in response.content.decode()
            else:
                assert response.status_code == 404, (path, response.status_code)
        else:
            assert response.status_code == 302 and "/portal/sign-in/" in response["Location"], path


def test_a_customer_portal_session_opens_no_staff_route(client, personas):
    objects = _objects(personas)
    _portal_session(client, personas.customer)
    for name, index in CASES:  # one set of objects for every route (lean on CI time)
        route = MATRIX[name][index]
        path = route.path.format(**objects)
        response = getattr(client, route.method)(path)
        if route.api:
            assert response.status_code in (401, 403), (path, response.status_code)
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], path


# CSRF: every route, whatever it is, refuses a POST without the token (403), or refuses POST at all
# (405). Walked from the resolver, so a new route is covered without an entry.
CSRF_EXEMPT = {
    "api:token": "no cookie: the caller sends credentials in the body and gets a token (lockout applies)",
}


def _reverse_with_any(name: str, params: list[str]) -> str:
    """The route's path with placeholder arguments (the CSRF check runs before the view looks them up)."""
    from django.urls import NoReverseMatch, reverse

    for sample in ("1", "a", "2026-01", "2026-01-01", "csv"):
        try:
            return reverse(name, kwargs=dict.fromkeys(params, sample))
        except NoReverseMatch:
            continue
    raise AssertionError(f"add a sample argument for {name} to _reverse_with_any")


def _all_route_paths(resolver: URLResolver | None = None, prefix: str = "") -> dict[str, str]:
    resolver = resolver or get_resolver()
    paths: dict[str, str] = {}
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                paths["admin"] = "/en/admin/login/"
                continue
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            paths.update(_all_route_paths(entry, ns))
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{prefix}{entry.name}"
            pattern = entry.pattern
            params = list(getattr(pattern, "converters", {}) or pattern.regex.groupindex)
            paths[name] = _reverse_with_any(name, params)
    return paths


def test_every_post_without_the_csrf_token_is_refused(personas):
    from django.test import Client

    from steward.accounts.models import Role
    from steward.testing import make_user

    admin = make_user("root", role=Role.ADMIN)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    _portal_session(browser, personas.customer)  # portal pages too
    refused = {}
    paths = _all_route_paths()
    assert len(paths) > 100
    for name, path in sorted(paths.items()):
        if name in CSRF_EXEMPT:
            continue
        status = browser.post(path, {"x": "1"}).status_code
        if status not in (403, 405):
            refused[name] = (path, status)
    assert not refused, f"POST without a CSRF token was not refused: {refused}"
