"""The Redis cache, failing open: when Redis is down the cache acts empty instead of raising.

Steward's cache holds nothing that must survive (API throttle counters, other short-lived values), and
Redis is also the Celery broker, so when Redis goes away the cache goes with it. Django's RedisCache
then raised on every read: every API request (the throttle reads its counter first) answered 500,
although PostgreSQL, the system of record, was fine (found by
steward/notifications/tests/test_fault_broker.py). Here a connection error is logged and the cache
answers as if empty: reads miss, writes are dropped. Throttling is off until Redis is back (counters
start again from zero), which is the right trade: the service keeps working.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Log the outage once a minute per process, not on every request.
_WARN_EVERY = 60.0
_last_warning = 0.0


class FailOpenRedisCacheClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        """Django's client, made once per connection pool instead of once per call: a `redis.Redis`
        registers its ~170 response callbacks when made, a third of the API throttle's CPU (issue 9).
        A client holds nothing of its own but the pool (it takes a connection from the pool for each
        command, and the pool starts afresh in a forked process), so one serves every call and thread.
        """
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        made = self.__dict__.setdefault("_clients", {})
        client = made.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = made[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def _or(self, fallback: T, call: Callable[[], T]) -> T:
        global _last_warning
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            now = time.monotonic()
            if now - _last_warning > _WARN_EVERY:
                _last_warning = now
                logger.warning("Redis cache unavailable, acting as an empty cache: %s", exc)
            return fallback

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        return self._or(False, lambda: super(FailOpenRedisCacheClient, self).add(key, value, timeout))

    def get(self, key: Any, default: Any) -> Any:
        return self._or(default, lambda: super(FailOpenRedisCacheClient, self).get(key, default))

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        self._or(None, lambda: super(FailOpenRedisCacheClient, self).set(key, value, timeout))

    def touch(self, key: Any, timeout: Any) -> bool:
        return self._or(False, lambda: super(FailOpenRedisCacheClient, self).touch(key, timeout))

    def delete(self, key: Any) -> bool:
        return self._or(False, lambda: super(FailOpenRedisCacheClient, self).delete(key))

    def get_many(self, keys: Any) -> dict[Any, Any]:
        return self._or({}, lambda: super(FailOpenRedisCacheClient, self).get_many(keys))

    def has_key(self, key: Any) -> bool:
        return self._or(False, lambda: super(FailOpenRedisCacheClient, self).has_key(key))

    def set_many(self, data: Any, timeout: Any) -> None:
        self._or(None, lambda: super(FailOpenRedisCacheClient, self).set_many(data, timeout))

    def delete_many(self, keys: Any) -> None:
        self._or(None, lambda: super(FailOpenRedisCacheClient, self).delete_many(keys))

    # incr and clear still raise: a missing key is an error there anyway, and clear is an admin act.


class FailOpenRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = FailOpenRedisCacheClient
