"""The FHIR export of one referral over 50,000 referrals, through gunicorn and PostgreSQL.

The same scratch service as bench_staff_lists.py (benchmarks/staff_lists_data.py, seeded,
bulk inserts). One referral in therapy is made rich: the therapist's client with the most
attended sessions, given consents (each decision, and a withdrawal), an open risk flag, and
already holding a finished assessment, questionnaires, a plan, goals with ratings, sessions
and an active allocation. Its therapist (a verified session) asks for
`GET /api/v1/referrals/{id}/fhir` BENCH_SAMPLES times on one keep-alive connection,
alternating with the baseline: a bare view reading the same rows with `.values()` queries,
with the same session, two-factor and role lookups, as JSON (benchmarks/bare_views.py
bare_fhir). Prints a Markdown section.

Target: the export's p95 under 50 ms (and, as for the lists, at most 2x its baseline's).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_staff_lists import SESSIONS_SCRIPT, Browser, pct  # noqa: E402
from benchmarks.serve import gunicorn_start, seeded_database  # noqa: E402

REFERRALS = int(os.environ.get("BENCH_REFERRALS", "50000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "100"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
TARGET_MS = 50
TARGET_RATIO = 2.0

# After the service is made: one rich referral of the therapist's caseload.
RICH = """
import datetime as dt
from django.db.models import Count, Q
from django.utils import timezone
from allocation.models import Allocation
from intake.models import ConsentRecord, MeasureResponse, Referral, RiskFlag
from therapy.models import GoalRating, TherapySession
therapist = User.objects.get(pk=made["therapist"])
referral = (
    Referral.objects.filter(status="in_therapy", therapies__therapist=therapist)
    .annotate(
        attended=Count("therapy_sessions", filter=Q(therapy_sessions__attendance="attended"))
    )
    .order_by("-attended", "id")
    .first()
)
now = timezone.now()
topics = ["privacy_notice", "answers_own", "contact_email", "contact_sms", "tell_gp",
          "outcome_data"]
ConsentRecord.objects.bulk_create(
    [
        ConsentRecord(client_id=referral.client_id, referral=referral, topic=topic,
                      decision="granted", wording="Do you agree?", wording_version="2025-01",
                      via="self_referral", recorded_at=referral.received_at)
        for topic in topics
    ]
    + [ConsentRecord(client_id=referral.client_id, referral=referral, topic="contact_sms",
                     decision="withdrawn", wording="Do you agree?", wording_version="2025-01",
                     via="portal", recorded_at=now - dt.timedelta(days=3))]
)
if not RiskFlag.objects.filter(referral=referral, acknowledged_at=None).exists():
    RiskFlag.objects.create(service_id=referral.service_id, referral=referral,
                            source="staff", severity=2, detail="Raised at a session",
                            raised_at=now - dt.timedelta(hours=2))
assert Allocation.objects.filter(referral=referral, status="active").exists()
made["rich"] = {
    "referral": str(referral.public_id),
    "attended": referral.attended,
    "sessions": TherapySession.objects.filter(referral=referral).count(),
    "questionnaires": MeasureResponse.objects.filter(referral=referral).count(),
    "goals": referral.goals.count(),
    "ratings": GoalRating.objects.filter(goal__referral=referral).count(),
    "consents": ConsentRecord.objects.filter(client_id=referral.client_id).count(),
}
"""


def main() -> None:
    script = SESSIONS_SCRIPT.replace("print(json.dumps(made))", RICH + "print(json.dumps(made))")
    seeded = seeded_database(
        "fhir",
        script=script,
        args=[str(REFERRALS)],
        ROOT_URLCONF="benchmarks.baseline_urls",
        RATE_API_USER="100000/m",
    )
    env, made = seeded.env, seeded.made
    python = sys.executable
    server = None
    try:
        server, port = gunicorn_start(python=python, cwd=ROOT, env=env, workers=WORKERS)

        rich = made["rich"]
        path = f"/api/v1/referrals/{rich['referral']}/fhir"
        bare_path = f"/bench/bare-fhir/{rich['referral']}/"
        browser = Browser(port, made["sessions"]["therapist"])
        load_before = os.getloadavg()
        for _ in range(5):  # warm both workers
            browser.get(path)
            browser.get(bare_path)
        times, bare_times, size, bare_size = [], [], 0, 0
        for _ in range(SAMPLES):  # alternating, so both see the same machine
            elapsed, size, _ = browser.get(path)
            times.append(elapsed)
            elapsed, bare_size, _ = browser.get(bare_path)
            bare_times.append(elapsed)
        browser.conn.close()
        load_after = os.getloadavg()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        seeded.drop()

    p50, p95 = pct(times, 50) * 1000, pct(times, 95) * 1000
    b50, b95 = pct(bare_times, 50) * 1000, pct(bare_times, 95) * 1000
    ratio = p95 / b95
    met = p95 < TARGET_MS
    met_ratio = ratio <= TARGET_RATIO
    held = (
        f"{rich['sessions']} sessions ({rich['attended']} attended), {rich['questionnaires']} "
        f"questionnaires, {rich['goals']} goals with {rich['ratings']} ratings, "
        f"{rich['consents']} consent decisions (one a withdrawal), an open risk flag, a finished "
        f"assessment, a plan and an active allocation"
    )
    lines = [
        "## FHIR export of one referral over 50,000 referrals",
        "",
        f"`python benchmarks/bench_fhir.py`: the service of bench_staff_lists.py "
        f"({REFERRALS:,} referrals, seeded), VACUUM ANALYZE, gunicorn ({WORKERS} sync "
        f"workers) and PostgreSQL. One referral in therapy holds {held}. Its therapist (a "
        f"verified session) asks for `GET /api/v1/referrals/{{id}}/fhir` {SAMPLES} times on one "
        f"connection, alternating with the baseline: a bare view reading the same rows with "
        f"`.values()` queries, with the same session, two-factor and role lookups, as JSON "
        f"(`benchmarks/bare_views.py` bare_fhir). Load average (1, 5, 15 min) before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores.",
        "",
        f"Target: p95 under {TARGET_MS} ms: {'met' if met else '**not met**'}; at most "
        f"{TARGET_RATIO:g}x the baseline's p95: {'met' if met_ratio else '**not met**'}.",
        "",
        "| request | p50 ms | p95 ms | size |",
        "|---|---:|---:|---:|",
        f"| FHIR export (Bundle) | {p50:.1f} | {p95:.1f} | {size / 1024:.0f} KiB |",
        f"| baseline (bare `.values()`, JSON) | {b50:.1f} | {b95:.1f} | "
        f"{bare_size / 1024:.0f} KiB |",
        f"| p95 / baseline | | {ratio:.2f}x | |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
