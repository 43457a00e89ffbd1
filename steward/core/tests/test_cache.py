"""The Redis cache fails open: with Redis gone, reads miss and writes are dropped, nothing raises."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from steward.core.cache import FailOpenRedisCache
from steward.core.tests.faults import ThrowawayRedis, free_port, needs_redis


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


def _same_as_drf(cache: Any, compact_key: str) -> None:
    """The same allow / refuse sequence and wait as DRF's UserRateThrottle (kept in the default cache),
    over a window that slides, for our throttle keeping its times in `cache`."""
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

    Ours.cache = cache
    request: Any = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=7))
    view: Any = None
    for step in (0, 1, 1, 1, 30, 29, 1, 60, 0.5, 0.25, 0.25, 0.25, 59.5, 0.1):
        clock["now"] += step
        a, b = Drf(), Ours()
        assert a.allow_request(request, view) == b.allow_request(request, view), step
        assert a.wait() == b.wait()
    assert any(k.startswith(compact_key) for k in _keys(cache))


def _keys(cache: Any) -> list[str]:
    if isinstance(cache, FailOpenRedisCache):
        keys: Any = cache._cache.get_client().keys("*")
        return [k.decode().split(":", 2)[-1] for k in keys]
    return [k.split(":", 2)[-1] for k in cache._cache]


def test_the_compact_throttle_keeps_drfs_window():
    """steward.core.throttling in a cache other than Redis (its history as bytes); a history DRF's
    throttle wrote (a list) under the compact key is read."""
    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    from steward.core.throttling import CompactUserRateThrottle

    cache.clear()
    _same_as_drf(cache, "throttle_compact_user_7")
    cache.set("throttle_compact_user_8", [990.0, 989.0, 988.0], 60)  # a list, as DRF writes
    other: Any = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=8))

    class At1000(CompactUserRateThrottle):
        rate = "3/min"

        def timer(self):
            return 1000.0

    view: Any = None
    assert not At1000().allow_request(other, view)
    assert UserRateThrottle().allow_request(other, view)  # DRF's throttle: its own key, no bytes


@needs_redis
def test_the_throttle_in_redis_keeps_drfs_window(tmp_path):
    """With Redis, the times are a sorted set kept by one script on the server: the same sequence."""
    from django.core.cache import cache

    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        cache.clear()
        redis_cache = FailOpenRedisCache(server.url, {"OPTIONS": {"socket_connect_timeout": 1}})
        _same_as_drf(redis_cache, "throttle_compact_user_7_z")
        from steward.core import throttling

        assert len(throttling._script) == 1  # one script object, whatever client each call had
    finally:
        server.stop()


@needs_redis
def test_drfs_default_cache_is_seen_through_to_redis(tmp_path, settings):
    """DRF's throttles use `django.core.cache.cache`, a proxy: the script must still be the path taken."""
    from django.core.cache import cache, caches
    from rest_framework.throttling import SimpleRateThrottle

    from steward.core.throttling import CompactUserRateThrottle

    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        # The setting_changed signal gives `caches` new connections (and the old ones back afterwards).
        settings.CACHES = {
            "default": {"BACKEND": "steward.core.cache.FailOpenRedisCache", "LOCATION": server.url}
        }
        assert SimpleRateThrottle.cache is cache  # DRF's own default
        request: Any = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=9))
        view: Any = None
        assert CompactUserRateThrottle().allow_request(request, view)
        redis_cache: Any = caches["default"]
        client: Any = redis_cache._cache.get_client()
        assert [client.type(k) for k in client.keys("*")] == [b"zset"]
    finally:
        server.stop()


def test_the_throttle_lets_requests_through_when_redis_is_gone():
    """Redis down: the API keeps answering, unthrottled (as the cache fails open)."""
    from steward.core.throttling import CompactUserRateThrottle

    class Ours(CompactUserRateThrottle):
        rate = "1/min"

    gone = f"redis://127.0.0.1:{free_port()}/0"
    Ours.cache = FailOpenRedisCache(gone, {"OPTIONS": {"socket_connect_timeout": 1}})
    request: Any = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=7))
    view: Any = None
    assert all(Ours().allow_request(request, view) for _ in range(3))


def test_one_redis_client_serves_every_call_of_a_pool(tmp_path):
    """Made once per connection pool (a client per call cost a third of the throttle's CPU), and still
    answering after Redis went away and came back (the pool reconnects)."""
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        cache = FailOpenRedisCache(server.url, {"OPTIONS": {"socket_connect_timeout": 1}})
        client = cache._cache.get_client()
        assert cache._cache.get_client(write=True) is client
        cache.set("k", 1, 60)
        assert cache.get("k") == 1
        server.stop()
        assert cache.get("k", "missed") == "missed"  # fails open
        server.start()
        cache.set("k", 2, 60)
        assert cache.get("k") == 2
        assert cache._cache.get_client() is client
    finally:
        server.stop()
