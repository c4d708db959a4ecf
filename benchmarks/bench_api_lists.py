"""The REST API's lists over 50,000 referrals, through gunicorn and PostgreSQL: the first page
of every list and a deep cursor page of the long ones.

The same scratch service as bench_staff_lists.py (benchmarks/staff_lists_data.py, seeded,
bulk inserts) and the same signed-in sessions. A deep page's cursor is made as the API makes
one (a position: the ordering field's value of the row before it), half-way down the list
(40,000 rows deep for referrals), so it costs what following `next` that far would cost on
its last step. Each path is requested BENCH_SAMPLES times on one keep-alive connection.
Prints a Markdown section.

Target: every page's p95 under 200 ms.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_staff_lists import SESSIONS_SCRIPT, Browser, pct  # noqa: E402
from benchmarks.serve import gunicorn_start, seeded_database  # noqa: E402

REFERRALS = int(os.environ.get("BENCH_REFERRALS", "50000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
TARGET_MS = 200

# (path, who): every list's first page, 25 rows (the default page).
FIRST_PAGES = [
    ("/api/v1/referrals/", "coordinator"),
    ("/api/v1/referrals/?status=ended", "coordinator"),
    ("/api/v1/referrals/", "assessor"),
    ("/api/v1/clients/", "coordinator"),
    ("/api/v1/assessments/", "coordinator"),
    ("/api/v1/questionnaire-responses/", "coordinator"),
    ("/api/v1/risk-flags/", "assessor"),
    ("/api/v1/goals/", "coordinator"),
    ("/api/v1/goals/", "therapist"),
    ("/api/v1/session-plans/", "coordinator"),
    ("/api/v1/sessions/", "coordinator"),
    ("/api/v1/therapists/", "coordinator"),
    ("/api/v1/slots/", "coordinator"),
    ("/api/v1/proposals/", "coordinator"),
    ("/api/v1/allocations/", "coordinator"),
    ("/api/v1/notifications/", "coordinator"),
]

# (path, who, model label, ordering field, descending): a cursor half-way down (referrals:
# 40,000 rows deep), made as CursorPagination encodes one.
DEEP_PAGES = [
    ("/api/v1/referrals/", "coordinator", "intake.Referral", "received_at", 40_000),
    ("/api/v1/clients/", "coordinator", "intake.Client", "created_at", None),
    ("/api/v1/assessments/", "coordinator", "assessment.Assessment", "created_at", None),
    (
        "/api/v1/questionnaire-responses/",
        "coordinator",
        "intake.MeasureResponse",
        "created_at",
        None,
    ),
    ("/api/v1/sessions/", "coordinator", "therapy.TherapySession", "created_at", None),
    ("/api/v1/notifications/", "coordinator", "notifications.Notification", "created_at", None),
]

CURSORS_SCRIPT = """
import base64, json, sys, urllib.parse
import django
django.setup()
from django.apps import apps
deep = json.loads(sys.argv[1])
cursors = []
for path, who, label, field, offset in deep:
    rows = apps.get_model(label).objects.order_by(f"-{field}", "-id")
    offset = offset if offset is not None else rows.count() // 2
    value = rows.values_list(field, flat=True)[offset]
    query = urllib.parse.urlencode({"p": str(value)})
    cursors.append(base64.b64encode(query.encode("ascii")).decode("ascii"))
print(json.dumps(cursors))
"""


def main() -> None:
    seeded = seeded_database(
        "api",
        script=SESSIONS_SCRIPT,
        args=[str(REFERRALS)],
        # Enough for the samples: the API's per-account throttle is not what is measured.
        RATE_API_USER="100000/m",
    )
    env, made = seeded.env, seeded.made
    python = sys.executable
    server = None

    def run(*args: str) -> str:
        return subprocess.run(
            [python, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
        ).stdout.strip()

    try:
        cursors = json.loads(run("-c", CURSORS_SCRIPT, json.dumps(DEEP_PAGES)).splitlines()[-1])
        server, port = gunicorn_start(python=python, cwd=ROOT, env=env, workers=WORKERS)
        load_before = os.getloadavg()
        paths = [(path, who, "first page") for path, who in FIRST_PAGES]
        for (path, who, *_), cursor in zip(DEEP_PAGES, cursors, strict=True):
            paths.append((f"{path}?cursor={urllib.parse.quote(cursor)}", who, "deep cursor"))
        results = []
        for path, who, kind in paths:
            browser = Browser(port, made["sessions"][who])
            for _ in range(3):  # warm both workers
                browser.get(path)
            times, size = [], 0
            for _ in range(SAMPLES):
                elapsed, size, _ = browser.get(path)
                times.append(elapsed)
            browser.conn.close()
            results.append((path, who, kind, times, size))
        load_after = os.getloadavg()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        seeded.drop()

    rows, met_all = [], True
    for path, who, kind, times, size in results:
        p50, p95 = pct(times, 50) * 1000, pct(times, 95) * 1000
        met = p95 < TARGET_MS
        met_all &= met
        shown = path if kind == "first page" else path.split("?cursor=")[0] + "?cursor=…"
        rows.append(
            f"| `{shown}` | {kind} | {who} | {p50:.1f} | {p95:.1f} | {size / 1024:.0f} KiB | "
            f"{'met' if met else '**not met**'} |"
        )
    lines = [
        "## REST API lists over 50,000 referrals",
        "",
        f"`python benchmarks/bench_api_lists.py`: the service of bench_staff_lists.py "
        f"({REFERRALS:,} referrals, seeded), VACUUM ANALYZE, gunicorn ({WORKERS} sync "
        f"workers) and PostgreSQL; each path requested {SAMPLES} times on one connection "
        f"with a verified staff session, 25 rows a page. Deep cursors are half-way down each "
        f"list (referrals: 40,000 rows deep). Load average before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores.",
        "",
        f"Target: every page's p95 under {TARGET_MS} ms: {'met' if met_all else '**not met**'}.",
        "",
        "| path | page | as | p50 ms | p95 ms | size | target |",
        "|---|---|---|---:|---:|---:|---|",
        *rows,
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
