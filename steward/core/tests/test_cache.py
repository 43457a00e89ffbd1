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
