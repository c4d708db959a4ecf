"""How the web side behaves with Redis up, stopped, and hung: docs/operations.md's figures.

A real gunicorn against a scratch PostgreSQL database and a private redis-server (its cache
and broker). One person at a time walks the whole self-referral and submits it, and a
member of staff signs in and opens their home page, in three phases:

- up: Redis running;
- stopped: the redis-server killed (connections refused at once);
- hung: something listening on Redis' port that never answers (a frozen server or a
  network that drops packets), the worst case for timeouts.

Prints, for each phase, the requests made, how many answered something other than
expected, and the median, 95th percentile and slowest request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python benchmarks/redis_down.py

(DATABASE_URL names the server; a scratch database is created there and dropped.)
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_self_referral import (  # noqa: E402
    STEPS,
    Browser,
    expect,
    pct,
    submit,
    timed,
    walk_to_check,
)
from benchmarks.serve import NO_RATE_LIMITS, field_key, free_port  # noqa: E402

PG_ADMIN = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ROUNDS = int(os.environ.get("ROUNDS", "10"))
PASSWORD = "redis-down measurement password"


def redis_server(port: int, workdir: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process


def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def staff_visit(browser: Browser, timings) -> None:
    status, _ = timed(timings, "GET login", browser.request, "GET", "/staff/login/")
    expect(status, 200, "GET login")
    body = {"username": "ops", "password": PASSWORD}
    status, _ = timed(timings, "POST login", browser.request, "POST", "/staff/login/", body)
    expect(status, 302, "POST login")
    for path in ("/staff/", "/staff/referrals/", "/staff/assessments/", "/staff/messages/"):
        status, _ = timed(timings, f"GET {path}", browser.request, "GET", path)
        expect(status, 200, f"GET {path}")


def referral(browser: Browser, timings) -> None:
    walk_to_check(browser, timings)
    submit(browser, timings)


def save_draft(browser: Browser, timings) -> None:
    """Save and return (its rate limit is the one thing on the request path in the cache)."""
    step, data = STEPS[0]
    status, _ = browser.request("GET", f"/refer/{step}/")
    expect(status, 200, f"GET {step}")
    payload = {"self_referral_wizard-current_step": step}
    payload.update({f"{step}-{k}": v for k, v in data.items()})
    status, _ = browser.request("POST", f"/refer/{step}/", payload)
    expect(status, 302, f"POST {step}")
    payload = {"self_referral_wizard-current_step": "about", "save_draft": "1"}
    status, location = timed(
        timings, "POST save", browser.request, "POST", "/refer/about/", payload
    )
    expect(status, 302, "POST save")
    # Saved, or (after SAVE_LIMIT saves from this address) sent back with the limit's message.
    if not (location or "").endswith(("/refer/saved/", "/refer/about/")):
        raise RuntimeError(f"save went to {location}")


def phase(port: int) -> tuple[list[float], int, list[str]]:
    timings = defaultdict(list)
    errors = []
    for _ in range(ROUNDS):
        for work in (referral, staff_visit, save_draft):
            browser = Browser(port)
            try:
                work(browser, timings)
            except Exception as exc:  # reported, and the phase goes on
                errors.append(repr(exc)[:160])
            finally:
                browser.conn.close()
    return timings, len(errors), errors[:3]


def main() -> None:
    import psycopg

    db = f"threshold_redis_down_{os.getpid()}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {db}")
    database_url = urllib.parse.urlparse(PG_ADMIN)._replace(path=f"/{db}").geturl()
    redis_port = free_port()
    workdir = tempfile.mkdtemp(prefix="threshold-redis-down-")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_hex(32),
        "FIELD_ENCRYPTION_KEYS": field_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "SELF_REFERRAL_SERVICE": "measure",
        **NO_RATE_LIMITS,
        "LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }
    python = sys.executable
    redis_process = server = None
    hung = None
    results = []
    try:
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        seed = (
            "from django.contrib.auth.models import Group; from django.utils import timezone; "
            "from common.models import Service, User; from intake.models import PrivacyNotice; "
            "s=Service.objects.create(name='Measure', slug='measure', "
            "duty_inbox_email='duty@measure.invalid'); "
            "PrivacyNotice.objects.create(service=s, version='1', text='Notice', "
            "published_at=timezone.now()); "
            f"u=User.objects.create_user('ops', password='{PASSWORD}', service=s); "
            "u.groups.add(Group.objects.get_or_create(name='Assessor')[0])"
        )
        subprocess.run([python, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True)
        redis_process = redis_server(redis_port, workdir)
        port = free_port()
        server = subprocess.Popen(
            [
                *(python, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"),
                *("--workers", "2", "--log-level", "error"),
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        wait_for_port(port)
        phase(port)  # warm up

        results.append(("up", *phase(port)))
        redis_process.kill()
        redis_process.wait()
        results.append(("stopped", *phase(port)))
        hung = socket.socket()
        hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hung.bind(("127.0.0.1", redis_port))
        hung.listen(1024)  # accepts connections, never answers
        results.append(("hung", *phase(port)))
    finally:
        if hung is not None:
            hung.close()
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        if redis_process is not None and redis_process.poll() is None:
            redis_process.kill()
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()

    print(
        f"Per phase: {ROUNDS} referrals (whole form and submit), {ROUNDS} staff sign-ins with "
        f"four pages each, {ROUNDS} saves for later."
    )
    print("| Redis | requests | unexpected answers | p50 ms | p95 ms | slowest ms | save p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, timings, errors, first in results:
        # Signing in hashes a password on purpose (hundreds of ms): timed apart.
        pages = [v for label, vs in timings.items() if label != "POST login" for v in vs]
        print(
            f"| {name} | {sum(map(len, timings.values()))} | {errors} | "
            f"{pct(pages, 50) * 1000:.1f} | {pct(pages, 95) * 1000:.1f} | "
            f"{max(pages) * 1000:.0f} | {pct(timings['POST save'], 95) * 1000:.0f} |"
        )
        for error in first:
            print(f"  {name}: {error}")
    for name, timings, _, _ in results:
        logins = timings["POST login"]
        print(f"{name}: sign-in p50 {pct(logins, 50) * 1000:.0f} ms, max {max(logins) * 1000:.0f}")


if __name__ == "__main__":
    main()
