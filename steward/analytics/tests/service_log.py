"""Cases with known service figures, built through the REAL services (case_open, case_reply, …, `at=`).

March 2026 (UTC), read at NOW = 3 April 2026 12:00, so a case closed on 30 March is still inside its
7-day FCR window (pending) and an open next step due on 31 March is overdue (not kept).

======  ==========  ================================================================  =========
case    channel     what happens                                                      closed
======  ==========  ================================================================  =========
A       e-mail      reply after 1 h, next step kept on time, solution confirmed      3 Mar
B       phone       reply after 2 h, customer writes again, adviser flags "explained  5 Mar
                    again", next step broken, manager closes it unconfirmed
C       e-mail      reply after 30 min, handed over, proposed, reopened, confirmed    10 Mar
D       portal      reply after 10 min, confirmed; the customer comes back 3 days     6 Mar
                    later about the same need: E (a follow-up, repeat contact)
E       portal      follow-up of D, never answered, still open                        open
G       e-mail      reply after 4 h, next step still open (due 31 Mar), confirmed     30 Mar
                    — pending for FCR until 6 April
F       e-mail      opened and closed in February (outside the period)                25 Feb
======  ==========  ================================================================  =========

Survey answers (March), through the surveys services (survey_send after the close, survey_answer;
relationship NPS through nps_survey_send), as the questionnaire asks them: a case survey asks CSAT, CES,
the three yes/no items and "solved?" only after an unconfirmed close; NPS is the relationship survey's.
Case answers CSAT/CES/solved/explained again/knew owner/solved at first contact:
A 5/7/-/no/yes/yes, B 2/3/NO/YES/-/no, C 4/5/-/no/-/-, D 3/6/-/YES/no/-; F's answer in February (CSAT 5).
Relationship NPS in March: Ana 10, Bo 3, Chai 8, Dao 9, Gita 6 (no case: no team, owner or category).
D's "yes, I explained again" makes D a repeat-explanation case (not exposed: one contact, no handoff).

Expected (March): closed A B C D G = 5; FCR 1 of 4 (A; G pending); reopen 1 of 5 (C); confirmed 4 of 5
(not B); repeat explanation 1 of 2 exposed (B; C exposed by its handoff), 2 of 5 over all (B, D);
owner changed 1 of 5 (C); opened A B C D E G = 6, repeat contacts 1 (E), unanswered 1 (E);
promise kept 1 of 3 (A kept; B broken; G open and overdue); first response 1 h, 30 min, 10 min, 4 h
(B was opened by staff on the phone: none); requester wait A 24 h, B 48 h, C 96 h, D 1 h, G 48 h.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from steward.accounts.models import User
from steward.cases.models import Case, Category, Channel, Commitment, CommitmentState, Kind
from steward.cases.services import (
    case_close_unconfirmed,
    case_confirm_solution,
    case_flag_repeat_explanation,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_receive_message,
    case_reopen,
    case_reply,
    commitment_resolve,
    commitment_set,
)
from steward.customers.models import Customer
from steward.customers.services import customer_create
from steward.surveys.models import SurveyResponse
from steward.surveys.services import nps_survey_send, survey_answer, survey_send
from steward.testing import DONE, NEED

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class ServiceLog:
    a: Case
    b: Case
    c: Case
    d: Case
    e: Case
    f: Case
    g: Case
    delivery: Category


def _customer(name: str):
    return customer_create(actor=None, name=name, email=f"{name.lower()}@example.com")


def _open(owner: User, name: str, at: datetime, *, channel: str, category: Category, customer=None) -> Case:
    # The customer opens mail and portal cases (actor None); staff open phone and walk-in cases, which
    # have no first response time.
    by_staff = channel in (Channel.PHONE, Channel.WALK_IN)
    return case_open(
        actor=owner if by_staff else None,
        customer=customer or _customer(name),
        subject=f"{name}'s parcel",
        description="My parcel has not arrived.",
        owner=owner,
        kind=Kind.COMPLAINT,
        category=category,
        channel=channel,
        at=at,
    )


def _solve(case: Case, actor: User, at: datetime, *, confirm: bool = True) -> None:
    case_propose_solution(actor=actor, case=case, solution="Your parcel is at the door now.", at=at)
    if confirm:
        case_confirm_solution(case=case, at=at + H)
    else:
        case_close_unconfirmed(actor=actor, case=case, reason="The customer never answered us.", at=at + H)


def answer(case: Case, at: datetime, **answers: Any) -> SurveyResponse:
    """The case survey, sent an hour before `at` (the case is closed) and answered at `at`."""
    survey = survey_send(case=case, at=at - H)
    assert survey is not None
    return survey_answer(survey=survey, answers=answers, at=at)


def relationship_answer(customer: Customer, at: datetime, nps: int) -> SurveyResponse:
    """A relationship (NPS) survey to one customer, answered at `at`: it has no case."""
    survey = nps_survey_send(customer=customer, campaign=None, actor=None, at=at - H)
    assert survey is not None
    return survey_answer(survey=survey, answers={"nps": nps}, at=at)


def build_service_log(*, owner: User, other: User, manager: User) -> ServiceLog:
    delivery = Category.objects.get_or_create(name="Delivery")[0]
    t = MARCH + timedelta(days=1, hours=9)  # Monday 2 March 09:00

    a = _open(owner, "Ana", t, channel=Channel.EMAIL, category=delivery)
    case_reply(actor=owner, case=a, body="We are on it.", at=t + H)
    kept = commitment_set(actor=owner, case=a, description="Call the courier", due_at=t + 5 * H, at=t + H)
    commitment_resolve(actor=owner, commitment=kept, state=CommitmentState.KEPT, at=t + 4 * H)
    _solve(a, owner, t + 24 * H)  # closed 3 March 10:00

    tb = t + D
    b = _open(owner, "Bo", tb, channel=Channel.PHONE, category=delivery)
    case_reply(actor=owner, case=b, body="Checking.", at=tb + 2 * H)
    case_receive_message(case=b, body="Any news? As I said, the parcel never came.", at=tb + 3 * H)
    case_flag_repeat_explanation(actor=owner, case=b, comment="Told the story again", at=tb + 3 * H)
    broken = commitment_set(
        actor=owner, case=b, description="Send a new parcel", due_at=tb + D, at=tb + 3 * H
    )
    commitment_resolve(actor=owner, commitment=broken, state=CommitmentState.BROKEN, at=tb + 2 * D)
    cancelled = commitment_set(actor=owner, case=b, description="Refund", due_at=tb + D, at=tb + 3 * H)
    commitment_resolve(actor=owner, commitment=cancelled, state=CommitmentState.CANCELLED, at=tb + 4 * H)
    case_close_unconfirmed(actor=manager, case=b, reason="The customer never answered us.", at=tb + 2 * D)

    tc = t + 2 * D
    c = _open(owner, "Chai", tc, channel=Channel.EMAIL, category=delivery)
    case_reply(actor=owner, case=c, body="Looking into it.", at=tc + H / 2)
    case_hand_off(actor=owner, case=c, to_user=other, customer_need=NEED, done_so_far=DONE, at=tc + H)
    case_propose_solution(actor=other, case=c, solution="Delivered today.", at=tc + 2 * D)
    case_reopen(actor=other, case=c, reason="The customer says it did not arrive", at=tc + 3 * D)
    _solve(c, other, tc + 5 * D)  # closed 9 March 10:00 + 1 h

    td = t + 3 * D
    d = _open(owner, "Dao", td, channel=Channel.PORTAL, category=delivery)
    case_reply(actor=owner, case=d, body="Sent again.", at=td + H / 6)
    _solve(d, owner, td + H)  # closed 5 March 11:00
    e = _open(owner, "Dao", td + 3 * D, channel=Channel.PORTAL, category=delivery, customer=d.customer)

    tg = MARCH + timedelta(days=27, hours=9)  # 28 March
    g = _open(owner, "Gita", tg, channel=Channel.EMAIL, category=delivery)
    case_reply(actor=owner, case=g, body="We are on it.", at=tg + 4 * H)
    commitment_set(actor=owner, case=g, description="Call back", due_at=tg + 3 * D, at=tg + 4 * H)
    _solve(g, owner, tg + 2 * D)  # closed 30 March 10:00

    tf = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
    f = _open(owner, "Fah", tf, channel=Channel.EMAIL, category=delivery)
    case_reply(actor=owner, case=f, body="On it.", at=tf + H)
    _solve(f, owner, tf + 5 * D)

    yes, no = True, False
    answer(
        a,
        t + 26 * H,
        csat=5,
        ces=7,
        explained_more_than_once=no,
        knew_owner_and_next_step=yes,
        solved_first_contact=yes,
    )
    answer(b, tb + 3 * D, csat=2, ces=3, solved=no, explained_more_than_once=yes, solved_first_contact=no)
    answer(c, tc + 6 * D, csat=4, ces=5, explained_more_than_once=no)
    answer(d, td + 2 * D, csat=3, ces=6, explained_more_than_once=yes, knew_owner_and_next_step=no)
    answer(f, tf + 6 * D, csat=5)
    for case, score in ((a, 10), (b, 3), (c, 8), (d, 9), (g, 6)):
        relationship_answer(case.customer, MARCH + 20 * D, score)

    assert e.follow_up_of_id == d.pk and e.is_repeat_contact
    assert Commitment.objects.filter(case=g, state=CommitmentState.OPEN).count() == 1
    fresh = {x.pk: x for x in Case.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk, e.pk, f.pk, g.pk])}
    return ServiceLog(
        a=fresh[a.pk],
        b=fresh[b.pk],
        c=fresh[c.pk],
        d=fresh[d.pk],
        e=fresh[e.pk],
        f=fresh[f.pk],
        g=fresh[g.pk],
        delivery=delivery,
    )
