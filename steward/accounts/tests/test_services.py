"""People, roles, backups and absences: the services behind continuity while an owner is away."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from steward.accounts.models import Absence, Role, User
from steward.accounts.services import absence_create, user_create, user_set_backup, user_set_language
from steward.core.errors import DomainError, NotPermitted
from steward.testing import make_user

pytestmark = pytest.mark.django_db


def away(user: User, start, hours: float, *, actor: User | None = None, reason: str = "Course") -> Absence:
    return absence_create(
        actor=actor, user=user, starts_at=start, ends_at=start + timedelta(hours=hours), reason=reason
    )


# ---------------------------------------------------------------- users and roles


@pytest.mark.parametrize("role", Role.values)
def test_a_user_is_created_with_each_of_the_five_roles(role):
    user = user_create(username=f"u-{role}", password="pw-long-enough", role=role)
    assert user.role == role and user.check_password("pw-long-enough")
    # Only administrators reach the Django admin.
    assert user.is_staff == user.is_superuser == (role == Role.ADMIN)


def test_an_unknown_role_is_rejected():
    with pytest.raises(DomainError) as err:
        user_create(username="x", role="wizard")
    assert err.value.field == "role"
    assert not User.objects.filter(username="x").exists()


def test_a_taken_username_is_rejected_whatever_its_case():
    user_create(username="ana")
    with pytest.raises(DomainError) as err:
        user_create(username="Ana")
    assert err.value.field == "username"
    with pytest.raises(DomainError):
        user_create(username="  ")


def test_a_user_created_without_a_password_cannot_log_in():
    assert not user_create(username="imported").has_usable_password()


def test_language_must_be_one_steward_speaks(personas):
    assert user_set_language(user=personas.adviser, language="th").language == "th"
    with pytest.raises(DomainError):
        user_set_language(user=personas.adviser, language="xx")


# ---------------------------------------------------------------- backups


def test_each_adviser_has_a_named_backup(adviser, backup):
    assert adviser.backup == backup


def test_a_backup_can_be_changed_and_cleared(adviser, other_adviser):
    assert user_set_backup(actor=None, user=adviser, backup=other_adviser).backup == other_adviser
    assert user_set_backup(actor=None, user=adviser, backup=None).backup is None


def test_nobody_is_their_own_backup(adviser):
    with pytest.raises(DomainError) as err:
        user_set_backup(actor=None, user=adviser, backup=adviser)
    assert err.value.field == "backup"


def test_the_backup_must_be_active_and_able_to_own_cases(adviser, sector_member, executive):
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    for candidate in (gone, sector_member, executive):
        with pytest.raises(DomainError) as err:
            user_set_backup(actor=None, user=adviser, backup=candidate)
        assert err.value.field == "backup"
    adviser.refresh_from_db()
    assert adviser.backup is not None and adviser.backup.username == "backup"


def test_a_manager_may_be_a_backup(adviser, manager):
    assert user_set_backup(actor=None, user=adviser, backup=manager).backup == manager


# ---------------------------------------------------------------- absences


def test_an_absence_records_from_to_and_reason(adviser, manager):
    t = timezone.now()
    absence = away(adviser, t, 8, actor=manager, reason="  Product course  ")
    assert (absence.starts_at, absence.ends_at) == (t, t + timedelta(hours=8))
    assert absence.reason == "Product course"
    assert absence.created_by == manager


@pytest.mark.parametrize(
    ("start_h", "hours"),
    [(7, 2), (-1, 2), (2, 1), (-1, 10), (0, 8)],
    ids=["overlaps-the-end", "overlaps-the-start", "inside", "covers", "same"],
)
def test_an_overlapping_absence_is_refused_with_a_clear_error(adviser, start_h, hours):
    t = timezone.now()
    first = away(adviser, t, 8)
    with pytest.raises(DomainError) as err:
        away(adviser, t + timedelta(hours=start_h), hours, reason="Doctor")
    assert err.value.field == "starts_at"
    assert "overlaps an existing absence" in err.value.message and str(first) in err.value.message
    assert Absence.objects.filter(user=adviser).count() == 1


def test_absences_that_only_touch_are_allowed(adviser):
    t = timezone.now()
    away(adviser, t, 8)
    away(adviser, t + timedelta(hours=8), 1, reason="Doctor")  # starts when the course ends
    away(adviser, t - timedelta(hours=2), 2, reason="Dentist")  # ends when the course starts
    assert Absence.objects.filter(user=adviser).count() == 3


def test_absences_of_different_people_may_overlap(adviser, other_adviser):
    t = timezone.now()
    away(adviser, t, 8)
    away(other_adviser, t, 8)
    assert Absence.objects.count() == 2


@pytest.mark.parametrize("hours", [-24, 0])
def test_an_absence_that_ends_before_or_when_it_starts_is_refused(adviser, hours):
    with pytest.raises(DomainError) as err:
        away(adviser, timezone.now(), hours)
    assert err.value.field == "ends_at"
    assert not Absence.objects.exists()


def test_an_absence_needs_a_reason(adviser):
    with pytest.raises(DomainError) as err:
        away(adviser, timezone.now(), 8, reason="   ")
    assert err.value.field == "reason"


def test_only_a_manager_records_another_persons_absence(adviser, other_adviser, manager):
    t = timezone.now()
    with pytest.raises(NotPermitted):
        away(adviser, t, 8, actor=other_adviser)
    away(adviser, t, 8, actor=adviser)  # one's own
    away(other_adviser, t, 8, actor=manager)
    assert Absence.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks across connections")
def test_two_overlapping_absences_recorded_at_once_never_both_pass(personas):
    adviser = personas.adviser
    t = timezone.now()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def record(offset_hours: int) -> None:
        try:
            barrier.wait(timeout=10)
            away(User.objects.get(pk=adviser.pk), t + timedelta(hours=offset_hours), 8)
            outcomes.append("recorded")
        except DomainError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=record, args=(h,)) for h in (0, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["recorded", "refused"]
    assert Absence.objects.filter(user=adviser).count() == 1
