"""A small team with a known history, built through the real services (case_open, …, `at=`).

Team "Desk" (organisation calendar: 09:00-17:00 Mon-Fri, UTC). NOW = Friday 3 April 2026 12:00; the
window is Monday 6 April 2026 (whole day). History = the 8 weeks before NOW.

- Ann (backup Ben), Ben (no backup), Cat (backup Ann): the team's three advisers.
- On each of the 8 Mondays in the history, Cat's customers phone twice between 09:00 and 10:00 (two
  phone cases) and write one e-mail between 10:00 and 11:00: λ(phone, Mon 9h) = 16 / 8 = 2 per hour,
  λ(e-mail, Mon 10h) = 8 / 8 = 1 per hour.
- Ann owns X and Y of customer Pim (X has a next step due Monday 11:00), Ben owns Z of customer Quinn;
  all three opened by e-mail on 24 March 09:00, Pim writes again on X on 30 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from steward.accounts.models import Team, User
from steward.accounts.services import user_set_backup
from steward.cases.models import Case, Channel, Commitment
from steward.cases.services import case_open, case_receive_message, commitment_set
from steward.customers.models import Customer
from steward.customers.services import customer_create
from steward.testing import make_user

NOW = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
WINDOW = (datetime(2026, 4, 6, tzinfo=UTC), datetime(2026, 4, 7, tzinfo=UTC))
H = timedelta(hours=1)
D = timedelta(days=1)
MONDAYS = [datetime(2026, 2, 9, tzinfo=UTC) + i * timedelta(weeks=1) for i in range(8)]


@dataclass
class Desk:
    team: Team
    ann: User
    ben: User
    cat: User
    pim: Customer
    quinn: Customer
    x: Case
    y: Case
    z: Case
    due: Commitment
    history: list[Case]


def build_desk() -> Desk:
    team = Team.objects.create(name="Desk")
    ann, ben, cat = (make_user(n, team=team) for n in ("ann", "ben", "cat"))
    user_set_backup(actor=None, user=ann, backup=ben)
    user_set_backup(actor=None, user=cat, backup=ann)
    caller = customer_create(actor=None, name="Caller", email="caller@example.com")
    history = []
    for monday in MONDAYS:
        for minute in (15, 45):
            history.append(
                case_open(
                    actor=cat,
                    customer=caller,
                    subject="Phone call",
                    description="Calling about my order.",
                    owner=cat,
                    channel=Channel.PHONE,
                    at=monday + 9 * H + timedelta(minutes=minute),
                )
            )
        history.append(
            case_open(
                actor=None,
                customer=caller,
                subject="Mail",
                description="Writing about my order.",
                owner=cat,
                channel=Channel.EMAIL,
                at=monday + 10 * H + timedelta(minutes=30),
            )
        )
    pim = customer_create(actor=None, name="Pim", email="pim@example.com")
    quinn = customer_create(actor=None, name="Quinn", email="quinn@example.com")
    opened = datetime(2026, 3, 24, 9, tzinfo=UTC)

    def mail(owner: User, customer: Customer) -> Case:
        return case_open(
            actor=None,
            customer=customer,
            subject="Order",
            description="Where is my order?",
            owner=owner,
            at=opened,
        )

    x, y, z = mail(ann, pim), mail(ann, pim), mail(ben, quinn)
    case_receive_message(case=x, body="Any news?", at=datetime(2026, 3, 30, 9, tzinfo=UTC))
    due = commitment_set(
        actor=ann, case=x, description="Call Pim back", due_at=WINDOW[0] + 11 * H, at=opened + H
    )
    return Desk(team, ann, ben, cat, pim, quinn, x, y, z, due, history)


def build_more_cases(desk: Desk, n: int) -> None:
    """n more open cases for Ann, each with a next step due in the window (query-count tests)."""
    opened = datetime(2026, 3, 25, 9, tzinfo=UTC)
    for i in range(n):
        customer = customer_create(actor=None, name=f"Extra {i}", email=f"extra{i}@example.com")
        case = case_open(
            actor=None,
            customer=customer,
            subject="Order",
            description="Where is it?",
            owner=desk.ann,
            at=opened,
        )
        commitment_set(
            actor=desk.ann, case=case, description="Call back", due_at=WINDOW[0] + 12 * H, at=opened + H
        )
