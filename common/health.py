"""Readiness checks: the database, Redis and at least one Celery worker."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means not ready; the detail says which
        return Check("database", False, f"{type(exc).__name__}: {exc}".strip())
    return Check("database", True, connection.vendor)


def check_redis() -> Check:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, f"{type(exc).__name__}: {exc}")
    return Check("redis", True, "ping answered")


def check_workers(timeout: float = 1.0) -> Check:
    from config.celery import app

    try:
        replies = app.control.ping(timeout=timeout)
    except Exception as exc:  # the broker itself is unreachable
        return Check("workers", False, f"{type(exc).__name__}: {exc}")
    if not replies:
        return Check("workers", False, f"no Celery worker answered a ping within {timeout:g}s")
    names = sorted(name for reply in replies for name in reply)
    return Check("workers", True, f"{len(names)} answered: {', '.join(names)}")


def readiness() -> tuple[bool, dict]:
    checks = [check_database()]
    if settings.EMBEDDED:
        mode = "embedded"
    else:
        mode = "production"
        redis_check = check_redis()
        checks.append(redis_check)
        if redis_check.ok:
            checks.append(check_workers())
        else:
            checks.append(Check("workers", False, "not checked: Redis is unreachable"))
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "unavailable",
        "mode": mode,
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    if settings.EMBEDDED:
        body["note"] = "Embedded mode: tasks run in-process; there is no Redis or worker to check."
    return ready, body
