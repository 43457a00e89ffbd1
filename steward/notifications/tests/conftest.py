"""Staff with mail addresses and languages, so every notification has somewhere to go."""

from __future__ import annotations

import pytest

from steward.notifications.tests.backends import FlakyBackend
from steward.testing import Personas


@pytest.fixture
def staff(personas: Personas) -> Personas:
    """The personas, with staff addresses: the adviser reads Russian, the other adviser Spanish."""
    for user, language in (
        (personas.adviser, "ru"),
        (personas.other_adviser, "es"),
        (personas.backup, "en"),
        (personas.manager, "en"),
    ):
        user.email = f"{user.username}@staff.example"
        user.language = language
        user.save(update_fields=["email", "language"])
    return personas


@pytest.fixture(autouse=True)
def reset_flaky():
    """The failing backend's counters start from zero in every test (they are class attributes)."""
    FlakyBackend.failures_left = 0
    FlakyBackend.calls = 0
    yield
    FlakyBackend.failures_left = 0
