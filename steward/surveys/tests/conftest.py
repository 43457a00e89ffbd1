import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_webhooks(settings):
    settings.STEWARD_WEBHOOK_URLS = []
    settings.STEWARD_WEBHOOK_SECRET = "test-secret"
