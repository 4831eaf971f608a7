"""A version number for everything public about stories; bumped whenever a story is
published or the directory changes, so cached API answers are never served stale."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from tenants.schemas import public_schema

VERSION_KEY = "public-stories-version"


def public_version() -> int:
    with public_schema():
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, 1, timeout=None)
            version = cache.get(VERSION_KEY, 1)
    return int(version)


def bump_public_version() -> None:
    bump_version(VERSION_KEY)


def bump_version(key: str) -> None:
    """Bump the version number under `key` (in the public schema's cache) now, and again
    when the transaction commits, so no reader can cache what it saw between the two. A
    missing number becomes 2: readers take a missing one as 1 (or less)."""
    _bump(key)
    transaction.on_commit(lambda: _bump(key))


def _bump(key: str) -> None:
    with public_schema():
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 2, timeout=None)
