"""Personas shared by every test. Set-up data goes through the services, as in production."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from steward.testing import Personas, build_personas  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(
            reason=f"{CHROMIUM} not installed (scripts/test.sh installs it when run as root)"
        )
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _default_language():
    """A request under /th/… leaves Thai active in the thread (LocaleMiddleware activates, nothing
    resets); every test starts and ends in the default language so no test depends on the order."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (cached figures such as the case page's churn estimate and
    throttle counters never leak from one test's data into another's)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def personas(db) -> Personas:
    return build_personas()


@pytest.fixture
def adviser(personas):
    return personas.adviser


@pytest.fixture
def backup(personas):
    return personas.backup


@pytest.fixture
def other_adviser(personas):
    return personas.other_adviser


@pytest.fixture
def sector_member(personas):
    return personas.sector_member


@pytest.fixture
def manager(personas):
    return personas.manager


@pytest.fixture
def executive(personas):
    return personas.executive


@pytest.fixture
def outsider(personas):
    return personas.outsider


@pytest.fixture
def customer(personas):
    return personas.customer


@pytest.fixture
def case(personas):
    return personas.case


@pytest.fixture
def in_an_hour():
    from django.utils import timezone

    return timezone.now() + timedelta(hours=1)
