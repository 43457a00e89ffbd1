"""Abuse limits (issue 10): public pages 20 a minute per client address, and every throttle count
(these and DRF's 60/600 a minute) kept in the shared cache, so several processes share one count."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from steward.portal import throttle

REDIS_URL = os.environ.get("STEWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def test_drf_rates_are_60_anonymous_and_600_signed_in():
    from rest_framework.settings import api_settings

    rates = api_settings.DEFAULT_THROTTLE_RATES
    assert (rates["anon"], rates["user"]) == ("60/min", "600/min")
    assert AnonRateThrottle().parse_rate("60/min") == (60, 60)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/en/surveys/s/{junk}/", "/en/portal/sign-in/link/{junk}/", "/en/portal/solution/{junk}/confirm/"],
)
def test_public_pages_allow_20_a_minute_per_address(client, path):
    path = path.format(junk="Z" * 43)
    codes = [client.get(path, REMOTE_ADDR="10.20.0.1").status_code for _ in range(21)]
    assert 429 not in codes[:20] and codes[20] == 429
    # The limit is per address: another client is served.
    assert client.get(path, REMOTE_ADDR="10.20.0.2").status_code != 429


@pytest.mark.django_db
def test_the_minute_limit_counts_all_public_pages_together(client):
    junk = "Z" * 43
    for _ in range(10):
        client.get(f"/en/surveys/s/{junk}/", REMOTE_ADDR="10.20.0.3")
        client.get(f"/en/portal/sign-in/link/{junk}/", REMOTE_ADDR="10.20.0.3")
    assert client.get(f"/en/portal/solution/{junk}/confirm/", REMOTE_ADDR="10.20.0.3").status_code == 429


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


CHILD = """
import django
django.setup()
from django.conf import settings
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle
from steward.portal import throttle
import sys
ip = sys.argv[1]
assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), settings.CACHES
public = sum(throttle.public_page_allowed({"REMOTE_ADDR": ip}) for _ in range(15))
anon = sum(
    AnonRateThrottle().allow_request(Request(RequestFactory().get("/api/v1/cases/", REMOTE_ADDR=ip)), None)
    for _ in range(40)
)
print(public, anon)
"""


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_two_processes_share_the_counts_in_redis():
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        STEWARD_SECRET_KEY="child-process-" + uuid.uuid4().hex,
        STEWARD_CACHE_URL=REDIS_URL,
    )
    root = Path(settings.BASE_DIR)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, ip], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["15", "40"]  # all allowed in the other process
    redis_cache = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    with override_settings(CACHES=redis_cache):
        # This process continues the other's counts: 5 more public pages, 20 more anonymous calls.
        public = [throttle.public_page_allowed({"REMOTE_ADDR": ip}) for _ in range(6)]
        assert public == [True] * 5 + [False]
        anon = [
            AnonRateThrottle().allow_request(Request(RequestFactory().get("/", REMOTE_ADDR=ip)), APIView())
            for _ in range(21)
        ]
        assert anon == [True] * 20 + [False]
        from django.core.cache import cache

        cache.delete_many([throttle._key("public-ip-minute", ip), f"throttle_anon_{ip}"])


def test_signed_in_api_throttle_counts_per_user_not_per_address():
    class Signed:
        is_authenticated = True
        pk = 4242

    request = Request(RequestFactory().get("/", REMOTE_ADDR="10.30.0.1"))
    request._user = Signed()  # type: ignore[attr-defined]
    user_throttle = UserRateThrottle()
    assert user_throttle.get_rate() == "600/min"
    assert user_throttle.get_cache_key(request, APIView()) == "throttle_user_4242"
    assert AnonRateThrottle().get_cache_key(request, APIView()) is None  # the anonymous limit does not apply
