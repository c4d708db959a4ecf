"""Start-up configuration: a bad value stops start-up with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.services import ROOT


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "SECRET_KEY",
            "EMAIL_URL",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEBUG": "1", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "x", "FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS"),
        ({"DEBUG": "1", "FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "FIELD_ENCRYPTION_KEYS"),
        ({"DEBUG": "1", "REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"DEBUG": "1", "CONN_MAX_AGE": "forever"}, "CONN_MAX_AGE"),
        ({"DEBUG": "1", "EMAIL_URL": "pigeon://coop"}, "EMAIL_URL"),
        ({"DEBUG": "1", "CELERY_VISIBILITY_TIMEOUT": "10"}, "CELERY_VISIBILITY_TIMEOUT"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line_naming_the_variable(env, variable):
    result = manage("check", **env)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("threshold: configuration error:")
    assert variable in lines[0]


def test_embedded_mode_is_announced_in_the_first_log_line(tmp_path):
    result = manage("check", DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert "Embedded mode" in first
    assert "Celery tasks run in-process" in first


def test_the_development_encryption_key_is_announced(tmp_path):
    result = manage(
        "check",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        FIELD_ENCRYPTION_KEYS="",
    )

    assert result.returncode == 0, result.stderr
    assert "Embedded mode" in result.stderr.splitlines()[0]
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr


def test_production_shape_is_announced_when_redis_is_configured(tmp_path):
    result = manage(
        "check",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stderr
    assert "Embedded mode" not in result.stderr
    assert "tasks go through Redis" in result.stderr.splitlines()[0]
