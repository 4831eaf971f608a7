"""The cache backend: Django's Redis cache, keeping one client per connection pool.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every cache call,
and building one fills its table of about a thousand response callbacks: a few hundred
microseconds each time, several times a request (sessions, rate limits, the API's key and
page caches). A `redis.Redis` is safe to share between threads (each command takes a
connection from the pool), and the pool itself notices a fork and starts afresh, so one
client per pool serves the whole process.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            # Two threads racing here each build one; either is as good as the other.
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
