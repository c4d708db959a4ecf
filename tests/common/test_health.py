"""/healthz and /readyz."""

from __future__ import annotations

import pytest

from tests.support.services import free_port


def test_healthz_answers_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@pytest.mark.django_db
def test_readyz_in_embedded_mode_checks_the_database_and_says_embedded(client, settings):
    settings.EMBEDDED = True
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["mode"] == "embedded"
    assert set(body["checks"]) == {"database"}
    assert "Embedded" in body["note"]


@pytest.mark.services
def test_readyz_is_ready_with_database_redis_and_a_worker_up(client, settings, celery_worker):
    settings.EMBEDDED = False
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["mode"] == "production"
    assert all(check["ok"] for check in body["checks"].values())
    assert "answered" in body["checks"]["workers"]["detail"]


@pytest.mark.django_db
def test_readyz_is_503_when_redis_is_unreachable(client, settings):
    settings.EMBEDDED = False
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["workers"]["ok"] is False


@pytest.mark.services
def test_readyz_is_503_when_no_worker_answers(client, settings, shared_redis_url, db):
    settings.EMBEDDED = False
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["redis"]["ok"] is True
    assert "no Celery worker" in body["checks"]["workers"]["detail"]
