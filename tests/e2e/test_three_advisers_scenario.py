"""Release scenario "three advisers" (issue 4) end to end, in a real browser.

A customer writes by e-mail three times; three advisers handle the case one after another with
handoff summaries; in the portal the customer always sees who owns the case and what happens next;
each adviser sees the whole history; the case closes only when the customer confirms from the link
in the "solution proposed" mail.

The mails are real RFC 5322 bytes through the inbound service (as `ingest_mail` and IMAP deliver
them), the notifications go through the outbox and the mail backend, and every agent and customer
action is a click in Chromium. The week is real for Steward: every service and page reads the time
from `steward.core.timeutil.now`, and the live server runs in this process, so moving that clock to
six, three and zero days ago makes the event log, due dates and the portal span a week.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.accounts.models import User
from steward.cases.models import Case, CaseEvent, Closure, Direction, Status
from steward.core import timeutil
from steward.mail.services import mail_receive
from steward.notifications.models import MailState, OutboundMail

from .test_handoff_scenario import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CUSTOMER = "olga.petrova@example.com"
FIRST = "My internet has been dropping every evening since Monday."
SECOND = "It dropped again last night at 21:00, for about twenty minutes."
THIRD = "Still dropping. I work from home, please fix it this week."


def customer_mail(body: str, *, subject: str, in_reply_to: str = "") -> bytes:
    now = timeutil.now()
    msg = EmailMessage()
    msg["From"] = f"Olga Petrova <{CUSTOMER}>"
    msg["To"] = "support@steward.localhost"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<olga.{now.timestamp()}@example.com>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return bytes(msg)


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def hand_over(page: Page, to: User, need: str, done: str) -> None:
    page.click("summary:has-text('Hand over')")
    page.select_option("select[name=to_user]", str(to.pk))
    page.fill("textarea[name=customer_need]", need)
    page.fill("textarea[name=done_so_far]", done)
    page.click("text=Hand over with this summary")
    expect(page.get_by_test_id("owner")).to_have_text(to.display_name)


def promise_next_step(page: Page, description: str, days: int) -> None:
    page.click("summary:has-text('Promise a next step')")
    page.fill("input[name=description]", description)
    due = timezone.localtime(timeutil.now()) + timedelta(days=days)
    page.fill("input[name=due_at]", due.strftime("%Y-%m-%dT%H:%M"))
    page.click("button:has-text('Promise')")
    expect(page.get_by_test_id("next-step")).to_have_text(description)


def keep_next_step(page: Page) -> None:
    """Record the promised next step as kept before promising the next one."""
    steps = page.locator("details:has(summary:has-text('Open next steps'))")
    steps.locator("summary").click()
    steps.locator("select[name=state]").select_option("kept")
    steps.locator("button[type=submit]").first.click()
    expect(page.get_by_test_id("next-step")).not_to_have_text("Line test by the technical team")


def portal_shows(page: Page, base: str, case: Case, owner: User, next_step: str) -> None:
    page.goto(f"{base}/en/portal/")
    page.click(f"text={case.subject}")
    expect(page.get_by_test_id("owner")).to_have_text(f"{owner.display_name} (Adviser)")
    expect(page.get_by_test_id("next-step")).to_contain_text(next_step)


def test_three_advisers_handle_three_mails_and_the_customer_confirms_from_the_mail(
    live_server, browser, personas, settings, monkeypatch
):
    real_now = timeutil.now

    def day(n: int) -> None:
        """Steward's clock on day n of the week (day 6 is today)."""
        monkeypatch.setattr(timeutil, "now", lambda: real_now() - timedelta(days=6 - n))

    settings.STEWARD_BASE_URL = live_server.url
    cache.clear()  # portal throttles
    base = live_server.url
    # Three advisers present; routing gives a new case to the least loaded one (backup: no cases).
    User.objects.filter(username="outsider").update(is_active=False)
    first, second, third = personas.backup, personas.other_adviser, personas.adviser
    agent: Page = browser.new_context().new_page()
    customer: Page = browser.new_context().new_page()  # a separate browser profile: the customer

    # Day 0: the first mail opens a case; the customer is told who owns it.
    day(0)
    mail_receive(raw=customer_mail(FIRST, subject="Internet drops every evening"))
    case = Case.objects.get(customer__email=CUSTOMER)
    assert case.owner == first and case.channel == "email"
    received = mails_to(CUSTOMER)[-1]
    assert first.display_name in received.body
    assert re.search(r"\[ST#\d+-[0-9a-f]{8}\]", received.subject)

    # The customer signs in to the portal by a magic link.
    customer.goto(f"{base}/en/portal/")
    customer.fill("input[name=email]", CUSTOMER)
    customer.click("button.p-primary")
    link = re.search(r"https?://\S+/sign-in/link/\S+/", mails_to(CUSTOMER)[-1].body)
    assert link is not None
    customer.goto(link.group(0))
    customer.click("button.p-primary")
    customer.click(f"text={case.subject}")
    expect(customer.get_by_test_id("owner")).to_have_text(f"{first.display_name} (Adviser)")

    # Adviser 1 answers, promises a next step and hands over with a summary.
    sign_in(agent, base, first.username)
    agent.goto(f"{base}/en/cases/{case.pk}/")
    agent.fill("#id_body", "We see the drops on our side and are checking the line.")
    agent.click("text=Send reply")
    promise_next_step(agent, "Line test by the technical team", days=2)
    hand_over(
        agent,
        second,
        need="Stable internet in the evenings; she works from home.",
        done="Confirmed drops since Monday on our monitoring; line test promised within two days.",
    )
    sign_out(agent)
    portal_shows(customer, base, case, second, "Line test by the technical team")

    # Day 3: the customer answers the handoff mail; it threads into the same case by In-Reply-To.
    day(3)
    handoff_mail = mails_to(CUSTOMER)[-1]
    mail_receive(
        raw=customer_mail(
            SECOND,
            subject="Re: " + handoff_mail.subject,
            in_reply_to=handoff_mail.extra_headers["Message-ID"],
        )
    )
    assert Case.objects.filter(customer__email=CUSTOMER).count() == 1

    # Adviser 2 reads everything without asking again, then hands over.
    sign_in(agent, base, second.username)
    agent.goto(f"{base}/en/cases/{case.pk}/")
    history = agent.locator(".timeline")
    expect(history).to_contain_text(FIRST)
    expect(history).to_contain_text(SECOND)
    expect(agent.get_by_test_id("handoff-summary")).to_contain_text("works from home")
    keep_next_step(agent)  # the line test happened
    promise_next_step(agent, "Technician visit on Friday morning", days=3)
    hand_over(
        agent,
        third,
        need="Evening drops fixed for good; she works from home and has written twice.",
        done="Line test showed a faulty port; technician visit booked for Friday morning.",
    )
    sign_out(agent)
    portal_shows(customer, base, case, third, "Technician visit on Friday morning")

    # Day 6: a new mail with only the case token in the subject joins the case too.
    day(6)
    token = re.search(r"\[ST#\d+-[0-9a-f]{8}\]", received.subject).group(0)
    mail_receive(raw=customer_mail(THIRD, subject=f"Internet again {token}"))
    case.refresh_from_db()
    assert case.messages.filter(direction=Direction.INBOUND).count() == 3

    # Adviser 3 sees the whole history and proposes the solution; it is not closed yet.
    sign_in(agent, base, third.username)
    agent.goto(f"{base}/en/cases/{case.pk}/")
    for text in (FIRST, SECOND, THIRD, "checking the line"):
        expect(agent.locator(".timeline")).to_contain_text(text)
    agent.click("summary:has-text('Propose a solution')")
    agent.fill("textarea[name=solution]", "The technician replaced the faulty port; the line is stable now.")
    agent.click("text=Propose solution")
    expect(agent.get_by_test_id("case-status")).to_have_text("Solution proposed")
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED and case.closed_at is None

    # The customer confirms from the link in the mail: a page with a button (scanners only GET).
    proposed = mails_to(CUSTOMER)[-1]
    confirm = re.search(r"https?://\S+/portal/solution/\S+/confirm/", proposed.body) or re.search(
        r"https?://\S*confirm\S*", proposed.body
    )
    assert confirm is not None, proposed.body
    customer.goto(confirm.group(0).rstrip(".>)"))
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED  # opening the link changed nothing
    customer.locator("form button[type=submit]").first.click()
    expect(customer.get_by_test_id("link-result")).to_be_visible()
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closure == Closure.CONFIRMED

    # The adviser sees the closed case with its whole history; the portal shows it solved.
    agent.goto(f"{base}/en/cases/{case.pk}/")
    expect(agent.get_by_test_id("case-status")).to_have_text("Closed")
    for text in (FIRST, SECOND, THIRD):
        expect(agent.locator(".timeline")).to_contain_text(text)
    customer.goto(f"{base}/en/portal/")
    customer.click(f"text={case.subject}")
    expect(customer.get_by_test_id("case-status")).to_have_text("Solved and closed")
    # The event log spans the week: opened on day 0, the second mail on day 3, closed on day 6.
    log = list(CaseEvent.objects.filter(case=case).order_by("at", "id"))
    assert (log[-1].at - log[0].at) > timedelta(days=5, hours=23)
    assert [e.at for e in log] == sorted(e.at for e in log)
    inbound = list(case.messages.filter(direction=Direction.INBOUND).order_by("created_at"))
    assert [round((m.created_at - inbound[0].created_at) / timedelta(days=1)) for m in inbound] == [0, 3, 6]
    # One case, three inbound mails, and no customer mail was answered twice or lost.
    assert Case.objects.filter(customer__email=CUSTOMER).count() == 1
    assert OutboundMail.objects.filter(case=case).exclude(state=MailState.SENT).count() == 0
