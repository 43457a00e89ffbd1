"""The API throttles: DRF's (the same sliding window, limits and answers), with a compact history.

DRF keeps each caller's request times as a pickled list of floats in the cache, read and written back
on every API request. Its length is the number of requests in the window: 600 for a user at the
default limit, thousands in the benchmark (its limits are raised out of wrk's reach), where pickling
and unpickling the list took 0.8 ms of CPU per request (issue 9). Here the same times are kept as the
bytes of an array of doubles: 20 µs for the same list. Under its own cache key: DRF's throttle (an
older worker during a deploy, a rollback) cannot read the bytes, and must never meet them; a list
found there is read as well.
"""

from __future__ import annotations

from array import array
from typing import Any

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


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


class CompactUserRateThrottle(CompactHistory, UserRateThrottle):
    pass


class CompactAnonRateThrottle(CompactHistory, AnonRateThrottle):
    pass
