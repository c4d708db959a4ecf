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


def worker_queues(command: str) -> set[str]:
    """The queues a `celery worker` command consumes (`--queues a,b` or `-Q a,b`)."""
    args = shlex.split(command)
    for flag in ("--queues", "-Q"):
        if flag in args:
            return set(args[args.index(flag) + 1].split(","))
        for arg in args:
            if arg.startswith(flag + "="):
                return set(arg.split("=", 1)[1].split(","))
    return {"celery"}


def procfile() -> dict[str, str]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


def test_make_run_keeps_risk_alerts_on_their_own_worker_like_compose():
    """`make run` (honcho, Procfile) is the production shape: an allocation run or a print
    batch on the default queue must never hold up a risk alert on the urgent queue."""
    workers = {
        name: worker_queues(command)
        for name, command in procfile().items()
        if " worker" in command and "celery" in command
    }
    assert {"urgent"} in workers.values(), workers
    assert {"default"} in workers.values(), workers
    for name, queues in workers.items():
        if "urgent" in queues:
            assert queues == {"urgent"}, f"{name} serves urgent with {queues - {'urgent'}}"

    compose = {
        frozenset(worker_queues(service["command"]))
        for service in load()["services"].values()
        if "worker" in str(service.get("command", "")).split()
    }
    assert set(map(frozenset, workers.values())) == compose
    # Two workers on one host need different node names, or celery warns and pings clash.
    node_names = []
    for name in workers:
        args = shlex.split(procfile()[name])
        assert "-n" in args, f"{name} has no node name"
        node_names.append(args[args.index("-n") + 1])
    assert len(set(node_names)) == len(workers), node_names
