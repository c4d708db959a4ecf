"""Personas and real-service fixtures shared by the whole suite.

Personas: a service with an assessor, coordinator, therapist and service admin, and a member
of staff of another service (who must never see the first service's data).

Two-factor sign-in is on in every test, as in production. `client.force_login(user)` (and the
browser tests' `sign_in`, which uses it) signs in *and* passes the code step, with an
authenticator made for the user (`_force_login_passes_the_code_step`,
tests/support/two_factor.py). A test of the code step signs in with
`tests.support.two_factor.sign_in_unverified`, or through the form with `current_code`.
"""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from common import roles
from config.celery import app as celery_app
from tests import factories
from tests.support import two_factor
from tests.support.services import Worker, require_postgres, require_redis

# Every Celery key this run writes to the shared Redis carries its own prefix, so the suite
# never sees (or disturbs) anything else on that server, and can remove exactly its own keys.
TEST_KEY_PREFIX = settings.TEST_REDIS_PREFIX
celery_app.conf.broker_transport_options = {
    **celery_app.conf.broker_transport_options,
    "global_keyprefix": TEST_KEY_PREFIX,
}


@pytest.fixture(scope="session", autouse=True)
def _remove_own_redis_keys():
    yield
    if settings.REDIS_URL:
        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
            keys = list(client.scan_iter(match=f"{TEST_KEY_PREFIX}*", count=500))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass


@pytest.fixture(autouse=True)
def _force_login_passes_the_code_step(monkeypatch):
    """`Client.force_login` also verifies the session (see the module's docstring)."""
    monkeypatch.setattr(Client, "force_login", two_factor.force_login_verified)


@pytest.fixture
def service(db):
    return factories.ServiceFactory(slug="riverside", name="Riverside Talking Therapies")


@pytest.fixture
def other_service(db):
    return factories.ServiceFactory(slug="hillside", name="Hillside Psychological Therapies")


@pytest.fixture
def assessor(service):
    return factories.UserFactory(username="alice", service=service, roles=[roles.ASSESSOR])


@pytest.fixture
def coordinator(service):
    return factories.UserFactory(username="bob", service=service, roles=[roles.COORDINATOR])


@pytest.fixture
def therapist_user(service):
    return factories.UserFactory(username="charlie", service=service, roles=[roles.THERAPIST])


@pytest.fixture
def service_admin(service):
    return factories.UserFactory(username="dana", service=service, roles=[roles.SERVICE_ADMIN])


@pytest.fixture
def other_staff(other_service):
    """Staff of another service, holding every staff role: still sees nothing of ours. (An
    integration account holds no staff role: the partner role alone refuses every page.)"""
    return factories.UserFactory(username="erin", service=other_service, roles=list(roles.STAFF))


@pytest.fixture
def postgres(db):
    require_postgres()


@pytest.fixture(scope="session")
def shared_redis_url():
    return require_redis()


@pytest.fixture
def worker_log(tmp_path_factory):
    return tmp_path_factory.mktemp("worker") / "worker.log"


@pytest.fixture
def celery_worker(transactional_db, shared_redis_url, worker_log):
    """A real Celery worker process consuming this run's queues on the shared Redis."""
    require_postgres()
    worker = Worker(redis_url=shared_redis_url, key_prefix=TEST_KEY_PREFIX, log_path=worker_log)
    worker.start()
    try:
        worker.wait_ready(celery_app)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: the draft save and resume limits count there.

    Only this run's own keys are removed from a shared Redis, never the whole database.
    """
    cache = caches["default"]
    for local in (cache, getattr(cache, "_fallback", None)):
        if isinstance(local, LocMemCache):
            local.clear()
    if settings.REDIS_URL:
        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
            keys = list(client.scan_iter(match=f"{TEST_KEY_PREFIX}cache:*", count=1000))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass  # a test that needs Redis says so itself
    yield


@pytest.fixture(autouse=True)
def _forget_memoised_service():
    """Each test builds its own services; none may see a previous test's."""
    from intake import selectors

    selectors._SERVICE_MEMO.clear()
    yield
    selectors._SERVICE_MEMO.clear()
