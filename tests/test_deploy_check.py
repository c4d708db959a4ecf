"""`manage.py check --deploy` with production settings passes with no warning: the
deployment checklist Django keeps is met by the settings as shipped (docs/security.md,
"Deployment check")."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.support.services import ROOT

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "threshold.example.nhs.uk",
    "BEHIND_TLS_PROXY": "1",
}


def run_check(**extra: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' (tests/browser/conftest.py), set in
        # this process when they run first; a deployment never has it.
        if key
        not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not key.startswith(("HSTS_", "STAFF_SESSION_"))
    }
    env |= PRODUCTION | extra
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployment_check_passes_with_production_settings():
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout


def test_turning_off_hsts_preload_is_reported():
    # The defaults are what make the check pass: switching one off shows up in the check.
    result = run_check(HSTS_PRELOAD="0")
    assert result.returncode != 0
    assert "security.W021" in result.stdout + result.stderr
