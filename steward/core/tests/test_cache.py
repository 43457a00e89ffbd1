"""The Redis cache fails open: with Redis gone, reads miss and writes are dropped, nothing raises."""

from __future__ import annotations

from steward.core.cache import FailOpenRedisCache
from steward.core.tests.faults import free_port


def test_cache_without_redis_acts_empty() -> None:
    cache = FailOpenRedisCache(
        f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 1}}
    )
    assert cache.get("throttle_user_1", []) == []
    cache.set("throttle_user_1", [1.0], 60)
    assert cache.add("k", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("k") is False
    assert not cache.has_key("k")
    cache.set_many({"a": 1})
    cache.delete_many(["a"])


def test_the_compact_throttle_keeps_drfs_window(settings):
    """steward.core.throttling: the same allow / refuse sequence and wait as DRF's UserRateThrottle, over
    a window that slides, and a history DRF's throttle wrote (a list) is read."""
    from types import SimpleNamespace
    from typing import Any

    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    from steward.core.throttling import CompactUserRateThrottle

    clock = {"now": 1000.0}

    class Drf(UserRateThrottle):
        rate = "3/min"
        cache_format = "drf_%(scope)s_%(ident)s"

        def timer(self):
            return clock["now"]

    class Ours(CompactUserRateThrottle):
        rate = "3/min"

        def timer(self):
            return clock["now"]

    cache.clear()
    request: Any = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=7))
    view: Any = None
    for step in (0, 1, 1, 1, 30, 29, 1, 60, 0.5):
        clock["now"] += step
        a, b = Drf(), Ours()
        assert a.allow_request(request, view) == b.allow_request(request, view)
        assert a.wait() == b.wait()
    cache.set("throttle_compact_user_8", [clock["now"] - 1, clock["now"] - 2, clock["now"] - 3], 60)  # a list
    other: Any = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=8))
    assert not Ours().allow_request(other, view)
    assert UserRateThrottle().allow_request(other, view)  # DRF's throttle: its own key, no bytes
