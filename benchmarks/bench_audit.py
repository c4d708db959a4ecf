"""What the audit trail costs a staff page: the referral detail page with and without it.

One scratch PostgreSQL database holds a seeded service (benchmarks/staff_lists_data.py,
BENCH_REFERRALS referrals) and an audit table already holding BENCH_AUDIT_ROWS events (so
each insert pays for realistic indexes). Two gunicorns serve it with the same code and
settings except the audit middleware: one as in production, one without it
(benchmarks/settings_no_audit.py). The same assessor's session asks each for the same
referral's page in turn, alternating, so drift on a shared machine falls on both alike.
Prints a Markdown section.

Target: the page's p95 with the audit at most 1.10x without it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_staff_lists import SESSIONS_SCRIPT, Browser, pct  # noqa: E402
from benchmarks.serve import field_key, gunicorn_start  # noqa: E402

REFERRALS = int(os.environ.get("BENCH_REFERRALS", "5000"))
AUDIT_ROWS = int(os.environ.get("BENCH_AUDIT_ROWS", "1000000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "400"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
TARGET = 1.10

# Old events spread over two years, as many services' staff would leave (ids only).
FILL_AUDIT = """
INSERT INTO audit_auditevent
  (at, service_id, user_id, address, action, view, method, status, object_type, object_id,
   referral_id, detail, reason)
SELECT now() - (n || ' seconds')::interval * 60, %(service)s, %(user)s, '192.0.2.1', 'read',
       'staff-referral-detail', 'GET', 200, 'referral', gen_random_uuid()::text,
       gen_random_uuid(), '{}'::jsonb, ''
FROM generate_series(1, %(rows)s) AS n
"""


def main() -> None:
    import psycopg

    db = f"threshold_bench_audit_{os.getpid()}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {db}")
    database_url = urllib.parse.urlparse(PG_ADMIN)._replace(path=f"/{db}").geturl()
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
    python = sys.executable
    servers = []
    try:
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        made = json.loads(
            subprocess.run(
                [python, "-c", SESSIONS_SCRIPT, str(REFERRALS)],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with psycopg.connect(database_url, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(
                FILL_AUDIT,
                {"service": made["service_id"], "user": made["assessor"], "rows": AUDIT_ROWS},
            )
            fill_seconds = time.perf_counter() - started
            conn.execute("VACUUM ANALYZE")

        with_audit, port_on = gunicorn_start(python=python, cwd=ROOT, env=env, workers=1)
        servers.append(with_audit)
        env_off = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.settings_no_audit"}
        without, port_off = gunicorn_start(python=python, cwd=ROOT, env=env_off, workers=1)
        servers.append(without)

        path = f"/staff/referrals/{made['referral']}/"
        session = made["sessions"]["assessor"]
        load_before = os.getloadavg()
        rounds = []
        for _ in range(ROUNDS):
            on, off = Browser(port_on, session), Browser(port_off, session)
            for _ in range(10):  # warm both
                on.get(path)
                off.get(path)
            on_times, off_times = [], []
            for i in range(SAMPLES):
                # Alternate which goes first, so neither always follows the other.
                first, second = (on, off) if i % 2 == 0 else (off, on)
                a = first.get(path)[0]
                b = second.get(path)[0]
                on_times.append(a if first is on else b)
                off_times.append(b if first is on else a)
            on.conn.close()
            off.conn.close()
            rounds.append((on_times, off_times))
        load_after = os.getloadavg()
        with psycopg.connect(database_url, autocommit=True) as conn:
            events = conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()

    rows = []
    ratios = []
    for number, (on_times, off_times) in enumerate(rounds, 1):
        on50, on95 = pct(on_times, 50) * 1000, pct(on_times, 95) * 1000
        off50, off95 = pct(off_times, 50) * 1000, pct(off_times, 95) * 1000
        ratios.append(on95 / off95)
        rows.append(
            f"| {number} | {off50:.2f} | {off95:.2f} | {on50:.2f} | {on95:.2f} | "
            f"{on50 / off50:.2f}x | {on95 / off95:.2f}x |"
        )
    all_on = [t for on_times, _ in rounds for t in on_times]
    all_off = [t for _, off_times in rounds for t in off_times]
    overall = pct(all_on, 95) / pct(all_off, 95)
    met = overall <= TARGET
    lines = [
        "## Audit trail: the staff referral page with and without it",
        "",
        f"`python benchmarks/bench_audit.py`: one service of {REFERRALS:,} referrals "
        f"(`benchmarks/staff_lists_data.py`) and an audit table already holding "
        f"{AUDIT_ROWS:,} events (filled in {fill_seconds:.0f} s), PostgreSQL. Two gunicorns "
        "(one sync worker each), identical but for the audit middleware "
        "(`benchmarks/settings_no_audit.py` takes it out). The same assessor asks both for "
        f"the same referral's page (`/staff/referrals/<id>/`), alternating, {SAMPLES} times "
        f"each per round, {ROUNDS} rounds, after 10 warm-up requests each. {events:,} events "
        "in the table at the end (one per audited request). Load average (1, 5, 15 min) "
        f"before {', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores.",
        "",
        f"Target: p95 with the audit at most {TARGET:.2f}x without it: all rounds together "
        f"{overall:.2f}x, {'met' if met else '**not met**'}.",
        "",
        "| round | without p50 ms | without p95 ms | with p50 ms | with p95 ms | p50 ratio "
        "| p95 ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "What it costs: one INSERT of one row (five indexes) per audited request, in "
        "autocommit after the view, and the client address read from the request. Nothing "
        "else: the referral's id comes from the address, not from a query.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
