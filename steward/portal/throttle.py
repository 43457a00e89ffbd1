"""Fixed-window request counters in the shared cache (locmem in tests, Redis in production).

The cache, not process memory, holds the counts, so every gunicorn process sees the same totals.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _key(scope: str, ident: str) -> str:
    # Hashed so an e-mail address never appears in the cache as such, and any input fits a cache key.
    return "portal-throttle:" + scope + ":" + hashlib.sha256(ident.encode()).hexdigest()


def hit(scope: str, ident: str, *, limit: int, window_seconds: int) -> bool:
    """Count one request; True while the count within the window stays at or under `limit`."""
    key = _key(scope, ident)
    cache.add(key, 0, timeout=window_seconds)  # starts the window; no-op when it is already running
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: start again
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def client_ip(meta: dict[str, object]) -> str:
    """The peer address. Behind a proxy, the proxy must set REMOTE_ADDR (gunicorn --forwarded-allow-ips)."""
    return str(meta.get("REMOTE_ADDR") or "unknown")


def public_page_allowed(meta: dict[str, object]) -> bool:
    """Every public page reached without an account (survey links, magic sign-in links, the sign-in
    form, confirm / not solved links) counts against one limit per client address and minute,
    STEWARD_PUBLIC_LIMIT_PER_MINUTE (20), on top of each page's own limit over a longer window."""
    from django.conf import settings

    limit = int(getattr(settings, "STEWARD_PUBLIC_LIMIT_PER_MINUTE", 20))
    return hit("public-ip-minute", client_ip(meta), limit=limit, window_seconds=60)
