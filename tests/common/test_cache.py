"""The Redis cache backend: Django's, with one client per connection pool."""

from __future__ import annotations

import secrets
import threading

import pytest

from common.cache import RedisCache
from tests.support.services import require_redis


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
