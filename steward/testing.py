"""Test personas and builders, kept in the package so app tests and e2e tests share them."""

from __future__ import annotations

from dataclasses import dataclass

from steward.accounts.models import Role, Team, User
from steward.accounts.services import user_create, user_set_backup
from steward.cases.models import Case
from steward.cases.services import case_open
from steward.customers.models import Customer
from steward.customers.services import customer_create
from steward.sectors.models import Distance, Sector
from steward.sectors.services import sector_create

PASSWORD = "correct-horse-battery"

# A handoff summary that passes the "real summary" rule, for tests that are not about it.
NEED = "The customer needs a working replacement phone before Friday."
DONE = "Checked warranty: valid. Ordered a replacement from the warehouse."


@dataclass
class Personas:
    adviser: User
    backup: User
    other_adviser: User
    sector_member: User
    manager: User
    executive: User
    outsider: User
    customer: Customer
    case: Case
    team: Team
    other_team: Team
    front_desk: Sector
    billing: Sector


def make_user(username: str, role: str = Role.ADVISER, **kwargs) -> User:
    return user_create(username=username, password=PASSWORD, role=role, first_name=username.title(), **kwargs)


def build_personas() -> Personas:
    front_desk = sector_create(actor=None, name="Front desk", distance=Distance.FRONT_LINE)
    billing = sector_create(actor=None, name="Billing", distance=Distance.BACK_OFFICE)
    team = Team.objects.create(name="Store A")
    other_team = Team.objects.create(name="Store B")
    adviser = make_user("adviser", team=team, sector_id=front_desk.pk)
    backup = make_user("backup", team=other_team, sector_id=front_desk.pk)
    user_set_backup(actor=None, user=adviser, backup=backup)
    other = make_user("other", team=other_team, sector_id=front_desk.pk)
    sector_member = make_user("billing1", role=Role.SECTOR_MEMBER, sector_id=billing.pk)
    manager = make_user("manager", role=Role.MANAGER)
    executive = make_user("executive", role=Role.EXECUTIVE)
    outsider = user_create(username="outsider", password=PASSWORD, role=Role.ADVISER)
    outsider.is_active = True
    customer = customer_create(actor=None, name="Somchai Jaidee", email="somchai@example.com", language="th")
    case = case_open(
        actor=adviser,
        customer=customer,
        subject="Phone does not charge",
        description="My new phone stopped charging after two days.",
        owner=adviser,
    )
    return Personas(
        adviser=adviser,
        backup=backup,
        other_adviser=other,
        sector_member=sector_member,
        manager=manager,
        executive=executive,
        outsider=outsider,
        customer=customer,
        case=case,
        team=team,
        other_team=other_team,
        front_desk=front_desk,
        billing=billing,
    )
