"""The Redis cache backend: Django's, with one client per connection pool."""

from __future__ import annotations

import secrets
import socket
import threading
import time

import pytest
import redis
from django.conf import settings

from common import cache as cache_module
from common.cache import RedisCache
from tests.support.services import RedisServer, require_redis


@pytest.fixture
def cache():
    url = require_redis()
    backend = RedisCache(url, {"KEY_PREFIX": f"test-cache-{secrets.token_hex(4)}"})
    yield backend
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{backend.key_prefix}*"):
        client.delete(key)


@pytest.mark.services
def test_values_round_trip_and_expire_as_with_djangos_backend(cache):
    cache.set("answer", {"step": "about", "dob": [17, 5, 1990]}, timeout=60)
    assert cache.get("answer") == {"step": "about", "dob": [17, 5, 1990]}
    assert cache.add("answer", "other") is False
    cache.delete("answer")
    assert cache.get("answer", "gone") == "gone"


@pytest.mark.services
def test_one_client_serves_every_operation_and_every_thread(cache):
    clients = set()

    def use():
        for n in range(20):
            cache.set(f"k{n}", n)
            assert cache.get(f"k{n}") == n
            clients.add(id(cache._cache.get_client(write=True)))

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(clients) == 1
    assert cache._cache.get_client() is cache._cache.get_client()


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """The backend as settings.py configures it, on a private redis-server."""
    monkeypatch.setattr(cache_module, "DOWN_SECONDS", 0.5, raising=False)
    server = RedisServer(tmp_path)
    server.start()
    options = settings.CACHES["default"].get("OPTIONS", {})
    backend = RedisCache(
        server.url, {"KEY_PREFIX": f"test-cache-{secrets.token_hex(4)}", "OPTIONS": options}
    )
    yield server, backend
    server.stop()


@pytest.mark.services
def test_with_redis_down_the_cache_answers_from_memory_at_once(private_cache, caplog):
    server, cache = private_cache
    cache.set("kept-in-redis", "yes")
    server.stop()

    started = time.monotonic()
    assert cache.get("kept-in-redis", "missing") == "missing"
    assert cache.add("tries", 1, timeout=60) is True
    assert cache.incr("tries") == 2
    assert cache.get("tries") == 2
    cache.delete("tries")
    assert "tries" not in cache
    took = time.monotonic() - started

    assert took < 1.0
    [warning] = [r for r in caplog.records if r.name == "threshold.cache"]
    assert "unreachable" in warning.getMessage()
    assert server.url.split("@")[-1].split("/")[2] in warning.getMessage()


@pytest.mark.services
def test_the_cache_goes_back_to_redis_when_it_answers_again(private_cache):
    server, cache = private_cache
    server.stop()
    cache.set("during", "memory")
    server.start()  # the same port, empty
    time.sleep(0.6)  # past DOWN_SECONDS

    assert cache.get("during") is None  # read from Redis again, not memory
    cache.set("after", "redis")
    client = redis.Redis.from_url(server.url)
    assert client.exists(cache.make_key("after")) == 1


@pytest.mark.services
def test_a_redis_that_accepts_but_never_answers_costs_one_short_timeout(private_cache):
    """A hung Redis (here: a listening socket that never replies) is given up on after the
    socket timeout, and not waited for again on the next operations."""
    server, cache = private_cache
    server.stop()
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", server.port))
        hung.listen(16)
        started = time.monotonic()
        for n in range(20):
            assert cache.get(f"k{n}") is None
        took = time.monotonic() - started

    assert took < 2.5
