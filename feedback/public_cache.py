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
    """Bump now, and again when the transaction commits (so no reader can cache what it saw
    between the two)."""
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    with public_schema():
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.add(VERSION_KEY, 2, timeout=None)
