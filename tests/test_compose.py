"""docker-compose.yml can't be run here; check its shape and that it names real code."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = load()["services"]
    assert {"web", "worker", "worker-urgent", "beat", "postgres", "redis", "mailpit"} <= set(
        services
    )
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "8000:8000" in services["web"]["ports"]
    for name in ("web", "worker", "worker-urgent", "postgres", "redis"):
        assert "healthcheck" in services[name], name


def test_django_services_share_one_definition():
    services = load()["services"]
    for name in ("web", "worker", "worker-urgent", "beat"):
        assert services[name]["image"] == "threshold:latest"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")


def test_redis_keeps_queued_work():
    command = load()["services"]["redis"]["command"]
    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command


def test_commands_name_real_modules_and_queues():
    services = load()["services"]
    web = services["web"]["command"]
    assert "gunicorn config.wsgi" in web
    importlib.import_module("config.wsgi")
    for name in ("worker", "worker-urgent", "beat"):
        args = shlex.split(services[name]["command"])
        assert args[:3] == ["celery", "-A", "config"]
        importlib.import_module("config.celery")
    assert "urgent" in services["worker-urgent"]["command"]
    assert (ROOT / "Dockerfile").exists()
