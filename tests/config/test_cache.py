"""The Redis cache keeps one client per connection pool (config/cache.py) instead of
building a new one, with its table of response callbacks, for every cache call."""

from __future__ import annotations

import threading

import pytest
import redis
from django.conf import settings
from django.core.cache import cache, caches

from config.cache import SharedClientRedisCache

pytestmark = pytest.mark.skipif(
    not settings.CACHE_URL,
    reason="the cache is Redis only when CACHE_URL names one (the launcher always does)",
)


def test_the_configured_cache_is_the_shared_client_one() -> None:
    assert isinstance(caches["default"], SharedClientRedisCache)


def test_every_call_uses_the_same_client_and_values_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = []
    original = redis.Redis.__init__

    def counting(self, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    client = cache._cache.get_client(write=True)
    cache.set("shared-client-check", {"n": 1}, timeout=30)
    assert cache.get("shared-client-check") == {"n": 1}
    assert cache.add("shared-client-check", 2) is False
    cache.set("shared-client-count-check", 0, timeout=30)
    assert cache.incr("shared-client-count-check") == 1
    cache.delete_many(["shared-client-check", "shared-client-count-check"])
    assert cache._cache.get_client() is client
    assert made == []


def test_threads_share_the_client_safely() -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.set(f"shared-thread-{n}-{i}", i, timeout=30)
                assert cache.get(f"shared-thread-{n}-{i}") == i
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.delete_many([f"shared-thread-{n}-{i}" for n in range(4) for i in range(50)])
    assert errors == []
