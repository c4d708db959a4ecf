"""The REST API's lists over 50,000 referrals, through gunicorn and PostgreSQL: the first page
of every list and a deep cursor page of the long ones.

The same scratch service as bench_staff_lists.py (benchmarks/staff_lists_data.py, seeded,
bulk inserts) and the same signed-in sessions. A deep page's cursor is made as the API makes
one (a position: the ordering field's value of the row before it), half-way down the list
(40,000 rows deep for referrals), so it costs what following `next` that far would cost on
its last step. Each page is requested BENCH_SAMPLES times on one keep-alive connection,
alternating with its baseline: a bare view (benchmarks/bare_views.py bare_api_list) reading
the same rows with one `.values()` query (same service scoping and reach, filter, ordering,
page size and cursor position), with the same session, two-factor and role lookups, as
JSON. Prints a Markdown section.

Target: every page's p95 under 200 ms and at most 2x its baseline's p95.
"""

from __future__ import annotations

import base64
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
TARGET_RATIO = 2.0

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
    count = rows.count()
    offset = count // 2 if offset is None else min(offset, count - 1)  # a smaller run's end
    value = rows.values_list(field, flat=True)[offset]
    query = urllib.parse.urlencode({"p": str(value)})
    cursors.append(base64.b64encode(query.encode("ascii")).decode("ascii"))
print(json.dumps(cursors))
"""


def _position(cursor: str) -> str:
    """The position a cursor names (the ordering field's value of the row before the page)."""
    query = base64.b64decode(cursor.encode("ascii")).decode("ascii")
    return urllib.parse.parse_qs(query)["p"][0]


def _bare(path: str, position: str) -> str:
    """The baseline of a list's page: the bare view of the same list, with the same filter
    and the cursor's position (benchmarks/bare_views.py bare_api_list)."""
    parsed = urllib.parse.urlparse(path)
    name = parsed.path.removeprefix("/api/v1/").strip("/")
    query = dict(urllib.parse.parse_qsl(parsed.query))
    if position:
        query["before"] = position
    return f"/bench/bare-api/{name}/?{urllib.parse.urlencode(query)}"


def main() -> None:
    seeded = seeded_database(
        "api",
        script=SESSIONS_SCRIPT,
        args=[str(REFERRALS)],
        # Enough for the samples: the API's per-account throttle is not what is measured.
        RATE_API_USER="100000/m",
        # The real site plus the bare baselines (benchmarks/bare_views.py).
        ROOT_URLCONF="benchmarks.baseline_urls",
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
        paths = [(path, who, "first page", _bare(path, "")) for path, who in FIRST_PAGES]
        for (path, who, *_), cursor in zip(DEEP_PAGES, cursors, strict=True):
            deep = f"{path}?cursor={urllib.parse.quote(cursor)}"
            paths.append((deep, who, "deep cursor", _bare(path, _position(cursor))))
        results = []
        for path, who, kind, bare_path in paths:
            browser = Browser(port, made["sessions"][who])
            for _ in range(3):  # warm both workers
                browser.get(path)
                browser.get(bare_path)
            times, bare_times, size = [], [], 0
            for _ in range(SAMPLES):  # alternating, so both see the same machine
                elapsed, size, _ = browser.get(path)
                times.append(elapsed)
                elapsed, _, _ = browser.get(bare_path)
                bare_times.append(elapsed)
            browser.conn.close()
            results.append((path, who, kind, times, bare_times, size))
        load_after = os.getloadavg()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        seeded.drop()

    rows, met_all = [], True
    for path, who, kind, times, bare_times, size in results:
        p50, p95 = pct(times, 50) * 1000, pct(times, 95) * 1000
        b50, b95 = pct(bare_times, 50) * 1000, pct(bare_times, 95) * 1000
        ratio = p95 / b95
        met = p95 < TARGET_MS and ratio <= TARGET_RATIO
        met_all &= met
        shown = path if kind == "first page" else path.split("?cursor=")[0] + "?cursor=…"
        rows.append(
            f"| `{shown}` | {kind} | {who} | {p50:.1f} | {p95:.1f} | {size / 1024:.0f} KiB | "
            f"{b50:.1f} | {b95:.1f} | {ratio:.2f}x | {'met' if met else '**not met**'} |"
        )
    lines = [
        "## REST API lists over 50,000 referrals",
        "",
        f"`python benchmarks/bench_api_lists.py`: the service of bench_staff_lists.py "
        f"({REFERRALS:,} referrals, seeded), VACUUM ANALYZE, gunicorn ({WORKERS} sync "
        f"workers) and PostgreSQL; each path requested {SAMPLES} times on one connection "
        f"with a verified staff session, 25 rows a page, alternating with its baseline: a bare "
        f"view reading the same rows (same service, reach, filter, order, page size and "
        f"cursor position) with one `.values()` query, with the same session, two-factor and "
        f"role lookups, as JSON (`benchmarks/bare_views.py`). Deep cursors are half-way down each "
        f"list (referrals: 40,000 rows deep). Load average before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores.",
        "",
        f"Target: every page's p95 under {TARGET_MS} ms and at most {TARGET_RATIO:g}x its "
        f"baseline's p95: {'met' if met_all else '**not met**'}.",
        "",
        "| path | page | as | p50 ms | p95 ms | size | baseline p50 ms | baseline p95 ms "
        "| p95 / baseline | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        *rows,
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
