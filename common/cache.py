"""Django's Redis cache, keeping one Redis client per connection pool.

Django's backend builds a new `redis.Redis` for every cache operation. With redis-py 8 that
set-up (its table of response callbacks) costs more Python time than the round trip itself,
and every request pays it two or three times just for its session. A `redis.Redis` over a
connection pool is safe to share between threads, and its pool reconnects after a fork, so
one client per pool does the same work without the set-up.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients.setdefault(index, super().get_client(key, write=write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
