from datetime import timedelta

import pytest

from steward.accounts.services import absence_create
from steward.cases.routing import pick_owner
from steward.core import timeutil


@pytest.mark.django_db
def test_pick_owner_prefers_the_least_loaded_adviser_who_is_present(
    adviser, backup, other_adviser, outsider, manager, case
):
    now = timeutil.now()
    chosen = pick_owner(at=now)
    assert chosen is not None and chosen.pk != case.owner_id  # the owner of `case` has one more open case
    for user in (adviser, backup, other_adviser, outsider):
        absence_create(
            actor=manager,
            user=user,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
            reason="course",
        )
    assert pick_owner(at=now) == manager  # nobody present: a manager, never no owner
