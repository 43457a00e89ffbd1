"""The API throttles: DRF's (the same sliding window, limits and answers), kept where it costs least.

DRF keeps each caller's request times as a pickled list of floats in the cache, read and written back
on every API request. Its length is the number of requests in the window: 600 for a user at the
default limit, thousands in the benchmark (its limits are raised out of wrk's reach).

- With Redis (production): the times are a sorted set, and one Lua script drops the expired ones,
  counts, and adds the new one on the server, in one round trip and atomically (two workers no longer
  read the same list and each write back their own). The request sends and receives a few bytes
  instead of the whole list: the throttle was 10 % of an API write's CPU in the benchmark (issue 9).
- Any other cache (the tests, an install without Redis): the times as the bytes of an array of
  doubles, read and written back as DRF does (20 µs for a list that took 0.8 ms to unpickle).

Both under keys of their own: DRF's throttle (an older worker during a deploy, a rollback) must never
meet them; a list DRF wrote under the compact key is read as well.
"""

from __future__ import annotations

import logging
import os
from array import array
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)

# KEYS[1] the caller's set; ARGV now, duration, limit, a unique member. DRF's steps: drop the times at
# or before now - duration, refuse when as many are left as the limit allows, else add now. Answers
# {allowed, times in the window, the oldest time} (the times as strings: Lua numbers come back as
# integers), which is what DRF's wait() reads from its list.
_SLIDE = """
local now, duration, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local n = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
if n >= limit then return {0, n, oldest} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(duration))
return {1, n + 1, oldest or ARGV[1]}
"""
# The script object, made once: Django's Redis cache hands out a new client per call (on a shared
# pool), so the script is run with the client of each call (a script kept per client grew the workers
# by a client per request).
_script: list[Any] = []


def _resolved(cache: Any) -> Any:
    """The cache itself behind `django.core.cache.cache` (DRF's default), which is a proxy to it."""
    if isinstance(cache, ConnectionProxy):
        return cache._connections[cache._alias]  # type: ignore[attr-defined]
    return cache


class CompactHistory(SimpleRateThrottle):
    num_requests: int  # set by SimpleRateThrottle.__init__ from the rate
    duration: int
    cache_format = "throttle_compact_%(scope)s_%(ident)s"

    def allow_request(self, request: Any, view: Any) -> bool:
        """SimpleRateThrottle.allow_request, reading the history from its compact form."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        cache = _resolved(self.cache)
        if isinstance(cache, RedisCache):
            return self._allow_in_redis(cache)
        stored = self.cache.get(self.key)
        history = array("d")
        if isinstance(stored, bytes):
            history.frombytes(stored)
        elif stored:
            history.extend(stored)
        self.history = history  # type: ignore[assignment]
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def throttle_success(self) -> bool:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history.tobytes(), self.duration)  # type: ignore[attr-defined]
        return True

    def _allow_in_redis(self, cache: RedisCache) -> bool:
        self.now = self.timer()
        key = cache.make_and_validate_key(f"{self.key}_z")
        try:
            client = cache._cache.get_client(key, write=True)
            if not _script:
                _script.append(client.register_script(_SLIDE))
            member = f"{self.now!r}:{os.urandom(6).hex()}"  # unique: two requests in one microsecond
            args: list[str | int | float] = [repr(self.now), self.duration, self.num_requests, member]
            allowed, count, oldest = _script[0](keys=[key], args=args, client=client)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # As the cache itself (steward.core.cache): with Redis gone, the API keeps working unthrottled.
            logger.warning("Redis unavailable, the API throttle lets the request through: %s", exc)
            allowed, count, oldest = 1, 0, None
        self._window = (int(count), float(oldest) if oldest is not None else self.now)
        return bool(allowed)

    def wait(self) -> float | None:
        """DRF's wait(), from the count and the oldest time the script answered (its list otherwise)."""
        window = getattr(self, "_window", None)
        if window is None:
            return super().wait()
        count, oldest = window
        remaining = self.duration - (self.now - oldest) if count else self.duration
        available = self.num_requests - count + 1
        return None if available <= 0 else remaining / float(available)


class CompactUserRateThrottle(CompactHistory, UserRateThrottle):
    pass


class CompactAnonRateThrottle(CompactHistory, AnonRateThrottle):
    pass
