"""What encryption at rest costs the self-referral submit.

Two gunicorns on one scratch database, the same code and settings except the field keys:
one encrypts (FIELD_ENCRYPTION_KEYS set, as in production), the other stores clear text as
before encryption (benchmarks/settings_plaintext.py). Sessions are walked to the check page
on each, then submitted in concurrent bursts, alternating between the two so drift on a
shared machine falls on both alike. Prints a Markdown section.

Needs PostgreSQL and Redis, as bench_self_referral.py does.
"""

from __future__ import annotations

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

from benchmarks.bench_self_referral import (  # noqa: E402
    PG_ADMIN,
    REDIS_URL,
    pct,
    prepare_database,
    run_clients,
    submit,
    submit_burst,
    walk_to_check,
)
from benchmarks.serve import NO_RATE_LIMITS, bench_env, gunicorn_start  # noqa: E402

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "10"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "3"))
SUBMITS = int(os.environ.get("BENCH_SUBMITS", "100"))  # per burst
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # bursts per mode, alternating
TARGET = 1.10


SERVICE_CALLS = int(os.environ.get("BENCH_SERVICE_CALLS", "400"))  # per mode


def service_level() -> None:
    """In one process on the scratch database: `referral_submit` alone (the submit's
    service, no HTTP), in blocks that alternate encryption on and off. Prints JSON."""
    import json
    from datetime import date

    import django

    django.setup()
    from django.conf import settings

    from common.models import Service
    from intake.services import ConsentDecision, MeasureAnswers, ReferralInput, referral_submit

    service = Service.objects.get(slug="bench")
    data = ReferralInput(
        given_name="Robin",
        family_name="Ashdown",
        date_of_birth=date(1990, 5, 17),
        email="robin@example.com",
        safe_now="yes",
        presenting_problem="It is hard to let people close. " * 8,
        hopes="To feel less alone with it.",
        previous_help="Counselling at university.",
        consents=[
            ConsentDecision(
                topic="contact_email", granted=True, wording="Email?", wording_version="1"
            )
        ],
        questionnaires=[
            MeasureAnswers(measure="phq9", answers=[1, 1, 1, 1, 1, 1, 1, 1, 0]),
            MeasureAnswers(measure="gad7", answers=[1] * 7),
        ],
    )
    from common import encryption

    # Time spent in encryption itself: a figure the machine's noise cannot hide.
    crypto = [0.0]

    def timing(fn):
        def timed_fn(value):
            started = time.perf_counter()
            try:
                return fn(value)
            finally:
                crypto[0] += time.perf_counter() - started

        return timed_fn

    encryption.encrypt = timing(encryption.encrypt)
    encryption.decrypt = timing(encryption.decrypt)
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    times: dict[str, list[float]] = {"encrypted": [], "clear": []}
    block = 20
    for round_ in range(SERVICE_CALLS // block + 1):  # the first round warms up
        # Each mode goes first in every other round, so neither always follows the other.
        for mode in ("clear", "encrypted")[:: 1 if round_ % 2 else -1]:
            settings.FIELD_ENCRYPTION_KEYS = keys if mode == "encrypted" else []
            for call in range(block):
                started = time.perf_counter()
                referral_submit(
                    service=service,
                    data=data,
                    idempotency_key=f"svc-{mode}-{round_}-{call}",
                    via="api",
                )
                if round_:
                    times[mode].append(time.perf_counter() - started)
            if round_ == 0:
                crypto[0] = 0.0
    times["crypto_per_call"] = [crypto[0] / len(times["encrypted"])]
    print(json.dumps(times))


def main() -> dict:
    import psycopg
    from cryptography.fernet import Fernet

    db = f"threshold_bench_enc_{os.getpid()}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {db}")
    database_url = urllib.parse.urlparse(PG_ADMIN)._replace(path=f"/{db}").geturl()
    prefix = f"threshold-bench-{secrets.token_hex(4)}:"
    env = bench_env(
        database_url,
        REDIS_URL=REDIS_URL,
        CELERY_KEY_PREFIX=prefix,
        # Two keys, as during a rotation: new rows use the first.
        FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        SELF_REFERRAL_SERVICE="bench",
        **NO_RATE_LIMITS,
    )
    plain_env = env | {"DJANGO_SETTINGS_MODULE": "benchmarks.settings_plaintext"}
    python = sys.executable
    servers = []
    results: dict[str, dict] = {"encrypted": {}, "clear": {}}
    try:
        prepare_database(python, env)
        ports = {}
        for mode, mode_env in (("encrypted", env), ("clear", plain_env)):
            server, ports[mode] = gunicorn_start(
                python=python, cwd=ROOT, env=mode_env, workers=WORKERS
            )
            servers.append(server)
            run_clients(ports[mode], lambda b, t: (walk_to_check(b, t), submit(b, t)), 3, 4)
        collected = {mode: {"timings": [], "elapsed": 0.0, "errors": []} for mode in ports}
        for round_ in range(ROUNDS):
            for mode in ("clear", "encrypted")[:: 1 if round_ % 2 else -1]:
                timings, elapsed, errors = submit_burst(ports[mode], SUBMITS, CONCURRENCY)
                collected[mode]["timings"] += timings
                collected[mode]["elapsed"] += elapsed
                collected[mode]["errors"] += errors
        for mode, got in collected.items():
            values = got["timings"]
            results[mode] = {
                "count": len(values),
                "per_second": len(values) / got["elapsed"],
                "p50": pct(values, 50),
                "p95": pct(values, 95),
                "errors": got["errors"],
            }
        service = subprocess.run(
            [python, str(Path(__file__).resolve()), "--service-level"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        import json

        service_times = json.loads(service.stdout.strip().splitlines()[-1])
        with psycopg.connect(database_url, autocommit=True) as conn:
            tokens, total = conn.execute(
                "SELECT count(*) FILTER (WHERE presenting_problem LIKE 'gAAAAA%%'), count(*) "
                "FROM intake_referral"
            ).fetchone()
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()
        try:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        except Exception:
            pass

    enc, clear = results["encrypted"], results["clear"]
    p50_ratio = enc["p50"] / clear["p50"]
    p95_ratio = enc["p95"] / clear["p95"]
    throughput_ratio = clear["per_second"] / enc["per_second"]
    errors = len(enc["errors"]) + len(clear["errors"])
    crypto_per_call = service_times.pop("crypto_per_call")[0]
    svc = {mode: (pct(v, 50), pct(v, 95), len(v)) for mode, v in service_times.items()}
    crypto_share = crypto_per_call / svc["encrypted"][0]
    svc_ratio = svc["encrypted"][0] / svc["clear"][0]
    lines = [
        "## Encryption at rest: the self-referral submit",
        "",
        f"`python benchmarks/bench_encryption.py`: two gunicorns ({WORKERS} sync workers each) "
        f"on one PostgreSQL database, one encrypting (two keys listed, as during a rotation), "
        f"one storing clear text as before encryption; {ROUNDS} alternating bursts each of "
        f"{SUBMITS} submits from {CONCURRENCY} concurrent clients, sessions prepared at the "
        f"check page. {tokens} of {total} referrals' text stored encrypted (the clear server's "
        f"are the rest).",
        "",
        "| submit | count | per second | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
        f"| clear text (before) | {clear['count']} | {clear['per_second']:.1f} | "
        f"{clear['p50'] * 1000:.1f} | {clear['p95'] * 1000:.1f} |",
        f"| encrypted | {enc['count']} | {enc['per_second']:.1f} | "
        f"{enc['p50'] * 1000:.1f} | {enc['p95'] * 1000:.1f} |",
        "",
        f"`referral_submit` alone, in one process, {svc['clear'][2]} calls per mode in "
        "alternating blocks of 20 (the HTTP figures above vary more between runs than "
        "encryption costs):",
        "",
        "| service call | p50 ms | p95 ms |",
        "|---|---|---|",
        f"| clear text | {svc['clear'][0] * 1000:.2f} | {svc['clear'][1] * 1000:.2f} |",
        f"| encrypted | {svc['encrypted'][0] * 1000:.2f} | {svc['encrypted'][1] * 1000:.2f} |",
        "",
        "| measure | result | target | |",
        "|---|---|---|---|",
        f"| time inside encrypt/decrypt per `referral_submit` | {crypto_per_call * 1000:.2f} ms "
        f"= {crypto_share:.1%} of its p50 (≤ 1.10x means ≤ 10%) | ≤ 10% | "
        f"{'met' if crypto_share <= TARGET - 1 else '**not met**'} |",
        f"| encrypted / clear, `referral_submit` p50 | {svc_ratio:.2f}x | ≤ {TARGET:.2f}x | "
        f"{'met' if svc_ratio <= TARGET else '**not met**'} |",
        f"| encrypted / clear, HTTP submit p50 | {p50_ratio:.2f}x | ≤ {TARGET:.2f}x | "
        f"{'met' if p50_ratio <= TARGET else '**not met**'} |",
        f"| encrypted / clear, HTTP submit p95 | {p95_ratio:.2f}x | (shown) | |",
        f"| clear / encrypted, HTTP submit throughput | {throughput_ratio:.2f}x | "
        f"≤ {TARGET:.2f}x | "
        f"{'met' if throughput_ratio <= TARGET else '**not met**'} |",
        f"| errors | {errors} | 0 | {'met' if errors == 0 else '**not met**'} |",
    ]
    if errors:
        lines += ["", "First errors: " + "; ".join((enc["errors"] + clear["errors"])[:5])]
    print("\n".join(lines))
    return {
        "p50_ratio": p50_ratio,
        "throughput_ratio": throughput_ratio,
        "service_ratio": svc_ratio,
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--service-level"]:
        service_level()
    else:
        main()
