"""Fixed-window rate limits on Django's cache (Redis when deployed, shared by all web workers).

Keys are hashed and, through the cache's tenant-aware key function, prefixed with the active
schema: a limit counted on one organisation's login page never touches another's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest

from config import proxies


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window_seconds: int


def client_address(request: HttpRequest) -> str:
    """The caller's address: the connection's, or behind TRUSTED_PROXIES the one they saw.

    A direct client's X-Forwarded-For is ignored, so it cannot pick a fresh bucket.
    """
    return proxies.client_address(request.META)


def _key(limit: Limit, identity: str) -> str:
    digest = hashlib.sha256(identity.lower().encode()).hexdigest()[:32]
    return f"ratelimit:{limit.scope}:{digest}"


def count(limit: Limit, identity: str) -> int:
    return int(cache.get(_key(limit, identity), 0))


def is_limited(limit: Limit, identity: str) -> bool:
    return count(limit, identity) >= limit.limit


def hit(limit: Limit, identity: str) -> int:
    """Count one attempt and return the total in this window."""
    key = _key(limit, identity)
    # TRICKY: `cache` is a proxy, never an instance of the backend's class: ask the backend.
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # TRICKY: add-then-incr is two round trips; if the key expires between them, INCR
        # recreates it without an expiry and the identity is refused for ever. One MULTI
        # sets the window and counts together. (Django's RedisCache stores ints as plain
        # numbers, so INCR and cache.get agree.)
        full_key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(full_key, write=True)
        with client.pipeline(transaction=True) as pipe:
            pipe.set(full_key, 0, nx=True, ex=limit.window_seconds)
            pipe.incr(full_key)
            _, count = pipe.execute()
        return int(count)
    cache.add(key, 0, timeout=limit.window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr (per-process memory cache only)
        cache.set(key, 1, timeout=limit.window_seconds)
        return 1


def reset(limit: Limit, identity: str) -> None:
    cache.delete(_key(limit, identity))


def login_limits() -> tuple[Limit, Limit]:
    window = settings.LOGIN_RATE_WINDOW_SECONDS
    per_account = Limit("login-account", settings.LOGIN_RATE_LIMIT, window)
    # An address may try a few more accounts before it is stopped (shared NHS networks).
    per_address = Limit("login-address", settings.LOGIN_RATE_LIMIT * 4, window)
    return per_account, per_address


def public_form_limit(form_name: str) -> Limit:
    return Limit(
        f"form-{form_name}",
        settings.PUBLIC_FORM_RATE_LIMIT,
        settings.PUBLIC_FORM_RATE_WINDOW_SECONDS,
    )
