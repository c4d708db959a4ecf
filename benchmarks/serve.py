"""Serving the project under gunicorn for a benchmark: one helper for every benchmark."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def field_key() -> str:
    """A fresh FIELD_ENCRYPTION_KEYS value for a benchmark's scratch database."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def bench_env(database_url: str, **overrides: str) -> dict:
    """The environment a benchmark serves the project in: production settings (DEBUG off,
    a fresh secret and field key) on a scratch database, plain HTTP on 127.0.0.1, no Redis
    unless a benchmark names one in `overrides` (REDIS_URL=...). `overrides` are added
    last, so a benchmark can change any of these."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_hex(32),
        "FIELD_ENCRYPTION_KEYS": field_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("REDIS_URL", None)
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(
    *, python: str, cwd: Path, env: dict, workers: int
) -> tuple[subprocess.Popen, int]:
    """gunicorn on a spare loopback port, in its own process group (stop it with
    os.killpg); returns once the port accepts connections, or after 10 s."""
    port = free_port()
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, port


# The public pages' rate limits (docs/security.md) would refuse a benchmark's traffic from
# one address after a few referrals: a benchmark measures throughput, so they are lifted.
NO_RATE_LIMITS = {
    name: "1000000/h"
    for name in (
        "RATE_REFERRAL_PER_ADDRESS",
        "RATE_REFERRAL_PER_CONTACT",
        "RATE_SAVE_PER_ADDRESS",
        "RATE_SAVE_PER_CONTACT",
        "RATE_RESUME_PER_ADDRESS",
    )
}
