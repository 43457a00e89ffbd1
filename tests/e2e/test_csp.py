"""The Content-Security-Policy in a real browser: no page breaks it (no inline script or style, charts,
the process map's WebAssembly, htmx and the API docs all run), and the security pages work."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from steward.cases.task_services import task_create
from tests.e2e.test_handoff_scenario import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def _violations(page: Page) -> list[str]:
    return page.evaluate("window.__csp || []")


def test_no_page_violates_the_policy(live_server, page: Page, personas):
    p = personas
    task_create(actor=p.adviser, case=p.case, sector=p.billing, description="Refund the fee")
    base = live_server.url
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, base, "manager")
    pages = [
        "/en/cases/",
        f"/en/cases/{p.case.pk}/",
        "/en/analytics/service/",
        "/en/analytics/process-map/",
        "/en/analytics/loyalty/",
        "/en/audit/",
        "/en/accounts/users/",
        f"/en/customers/{p.customer.pk}/personal-data/",
        "/en/portal/sign-in/",
    ]
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if path.endswith("process-map/") and page.locator("#process-map").count():
            expect(page.locator("#process-map")).to_have_attribute("data-rendered", "true")
        if path.endswith("service/") and page.locator("figure[data-testid=chart] canvas").count():
            expect(page.locator("figure[data-testid=chart] canvas").first).to_have_attribute(
                "data-rendered", "true"
            )
        assert _violations(page) == [], path
    page.goto(base + "/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()  # Swagger UI ran from its split script
    assert _violations(page) == []
    page.goto(base + "/api/redoc/")
    expect(page.locator("redoc h1, [role=navigation], .api-content").first).to_be_visible(timeout=15000)
    # Redoc's "API docs by Redocly" logo comes from Redocly's CDN: blocked on purpose (no third-party
    # requests); nothing else may be.
    assert [v for v in _violations(page) if not v.startswith("img-src https://cdn.redoc.ly/")] == []
    assert [m for m in console if "cdn.redoc.ly" not in m] == []


def test_manager_deactivates_a_user_after_confirming(live_server, page: Page, personas):
    base = live_server.url
    sign_in(page, base, "manager")
    page.goto(base + "/en/accounts/users/")
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("user-other").get_by_role("button", name="Deactivate").click()
    expect(page.get_by_test_id("user-other")).to_contain_text("no")
    personas.other_adviser.refresh_from_db()
    assert not personas.other_adviser.is_active
