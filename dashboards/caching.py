"""Figures cached per organisation, under its data version, shared by everyone watching.

The cache's key function puts the active schema in every key, so one organisation's figures
can never be read under another's; the version in the key means a figure is recomputed only
after the data behind it changed. When several people ask at once for a figure nobody has
computed yet, one computes it and the others wait briefly for the result.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
FIGURE_TTL = 15 * 60
COMPUTE_LOCK_SECONDS = 10
_MISSING = object()


def figure_key(name: str, version: str, params: tuple) -> str:
    digest = hashlib.sha256(repr(params).encode()).hexdigest()[:24]
    return f"dashboards:figure:{name}:{version}:{digest}"


def cached_figure(
    name: str,
    version: str,
    params: tuple,
    compute: Callable[[], T],
    *,
    wait_seconds: float = 2.0,
) -> T:
    key = figure_key(name, version, params)
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        return value
    if not cache.add(f"{key}:computing", 1, COMPUTE_LOCK_SECONDS):
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            value = cache.get(key, _MISSING)
            if value is not _MISSING:
                return value
    value = compute()
    cache.set(key, value, FIGURE_TTL)
    cache.delete(f"{key}:computing")
    return value
