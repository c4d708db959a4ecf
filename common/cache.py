"""Django's Redis cache, kept out of the way when Redis is down.

Two changes to Django's backend:

- One Redis client per connection pool. Django's backend builds a new `redis.Redis` for
  every cache operation; with redis-py 8 that set-up (its table of response callbacks) costs
  more Python time than the round trip itself. A `redis.Redis` over a connection pool is
  safe to share between threads, and its pool reconnects after a fork.
- Redis being unreachable is not an error. The cache holds nothing that must be right
  (sessions live in the database; the cache holds rate-limit counters), so when Redis
  refuses or times out, each operation goes to this process's memory instead, and Redis
  is not tried again for `DOWN_SECONDS`: a request never waits on a server that is gone
  for more than one short connect timeout per interval. Other Redis errors still raise.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

logger = logging.getLogger("threshold.cache")

# How long to use memory alone after Redis failed, before trying it again.
DOWN_SECONDS = 5.0
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


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


class _Outage:
    """Whether Redis at one address is taken to be down; shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0
        self._down = False

    def skip(self) -> bool:
        return time.monotonic() < self._until

    def failed(self, location: str, error: Exception) -> None:
        with self._lock:
            self._until = time.monotonic() + DOWN_SECONDS
            first = not self._down
            self._down = True
        if first:
            logger.warning(
                "cache: Redis at %s is unreachable (%s); using this process's memory",
                _safe(location),
                type(error).__name__,
            )

    def answered(self, location: str) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                logger.warning("cache: Redis at %s answers again", _safe(location))


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


def _safe(location: str) -> str:
    """The address without a password."""
    return location.rsplit("@", 1)[-1]


def _tolerant(name: str):
    redis_method = getattr(DjangoRedisCache, name)

    def method(self, *args, **kwargs):
        if not self._outage.skip():
            try:
                result = redis_method(self, *args, **kwargs)
            except UNREACHABLE as error:
                self._outage.failed(self._location, error)
            else:
                self._outage.answered(self._location)
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = redis_method.__doc__
    return method


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
        self._location = ",".join(self._servers)
        self._outage = _outage_for(self._location)
        # LocMemCache keeps its data per name, so every thread's instance shares it.
        self._fallback = LocMemCache(
            f"threshold-redis-fallback:{self._location}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": 10_000},
            },
        )

    add = _tolerant("add")
    get = _tolerant("get")
    set = _tolerant("set")
    touch = _tolerant("touch")
    delete = _tolerant("delete")
    get_many = _tolerant("get_many")
    has_key = _tolerant("has_key")
    incr = _tolerant("incr")
    set_many = _tolerant("set_many")
    delete_many = _tolerant("delete_many")
    clear = _tolerant("clear")
