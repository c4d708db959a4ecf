"""Notifications benchmark: the outbox against a bare Celery publish, letters against a bare
WeasyPrint render, and 1,000 acknowledgements delivered end to end by one worker.

Run from the repository root (benchmarks/run.py does): prints one Markdown section. Uses
DATABASE_URL (PostgreSQL) and REDIS_URL from the environment, or else the machine's local
PostgreSQL and Redis, in a scratch database of its own (created and dropped here) and a Redis
key prefix of its own (its keys are deleted at the end); the machine's shared data is never
touched. Parts that need a missing service say so.
"""

from __future__ import annotations

import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serve import field_key  # noqa: E402

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"
QUEUE_ROUNDS = 10
QUEUE_PER_ROUND = 100
PDF_RUNS = 15
E2E_COUNT = 1000
E2E_LIMIT_S = 60.0

STATIC_LETTER_CSS = """
@page { size: A4; margin: 18mm 20mm 24mm 20mm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8.5pt; } }
html { font-family: "Liberation Sans", "DejaVu Sans", Arial, sans-serif; font-size: 11pt;
  line-height: 1.45; color: #212b32; }
.head { border-bottom: 3pt solid #005eb8; padding-bottom: 4mm; margin-bottom: 6mm; }
.head p { font-size: 16pt; font-weight: bold; color: #005eb8; margin: 0; }
.to { height: 38mm; } .to p { margin: 0; }
h1 { font-size: 13pt; } h2 { font-size: 11.5pt; } p { margin: 0 0 3mm 0; }
.box { margin-top: 8mm; border: 1pt solid #d8dde0; background: #f0f4f5; padding: 3mm 4mm; }
"""


def static_two_page_letter() -> str:
    """A fixed two-page letter: the bare WeasyPrint baseline (same fonts and page size)."""
    paragraph = (
        "<p>Over our sessions we looked together at the pattern of putting other people's "
        "needs first and how hard it has been to notice your own anger. You said the "
        "questionnaires and our conversations both showed that low mood has eased.</p>"
    )
    return (
        f"<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        f"<style>{STATIC_LETTER_CSS}</style></head><body>"
        "<div class='head'><p>Riverside Talking Therapies</p></div>"
        "<div class='to'><p>Sam Rivers</p><p>4 Orchard Row</p><p>Millbrook</p>"
        "<p>MB1 2CD</p></div><p>26 November 2026</p>"
        "<h1>Looking back, and looking after yourself from here</h1><p>Dear Sam Rivers,</p>"
        + "<h2>What you worked on together</h2>"
        + paragraph * 9
        + "<h2>If things become difficult again</h2>"
        + paragraph * 2
        + "<p>With best wishes,</p><p>The Riverside Talking Therapies team</p>"
        "<div class='box'><h2>If you need help now</h2><p>Call NHS 111 and choose option 2. "
        "In an emergency call 999. Samaritans: 116 123.</p></div></body></html>"
    )


# ----------------------------------------------------------------------------- setup


def scratch_database(database_url: str) -> tuple[str, str]:
    """(URL of a new empty database beside the given one, its name)."""
    import psycopg

    name = f"threshold_bench_{os.getpid()}_{secrets.token_hex(3)}"
    base = database_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", name


def drop_database(database_url: str, name: str) -> None:
    import psycopg

    base = database_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(database_url: str, redis_url: str, prefix: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_KEY_PREFIX"] = prefix
    os.environ["DEBUG"] = "0"  # as in production: no query log, no debug cursor
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", field_key())
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_referrals(count: int, agreed=("contact_email",)):
    """`count` clients who agreed to email, with a referral each, written in bulk."""
    from django.utils import timezone

    from common.models import Service
    from intake.models import Client, ConsentRecord, Referral
    from intake.references import reference_generate

    service, _ = Service.objects.get_or_create(
        slug="bench",
        defaults={
            "name": "Riverside Talking Therapies",
            "duty_inbox_email": "duty@bench.example.nhs.uk",
            "address": "Riverside House\n2 Quay Street\nMillbrook MB1 9ZZ",
            "phone": "01632 960123",
        },
    )
    now = timezone.now()
    clients = Client.objects.bulk_create(
        [
            Client(
                service=service,
                given_name="Sam",
                family_name=f"Rivers{i}",
                date_of_birth="1990-05-17",
                email=f"client{i}@example.org",
                address="4 Orchard Row\nMillbrook\nMB1 2CD",
                preferred_channel="email",
            )
            for i in range(count)
        ]
    )
    references: set[str] = set()
    while len(references) < count:
        references.add(reference_generate())
    referrals = Referral.objects.bulk_create(
        [
            Referral(service=service, client=c, reference=r, received_at=now)
            for c, r in zip(clients, references, strict=True)
        ]
    )
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                client=c,
                topic=topic,
                decision="granted",
                wording="May we contact you?",
                wording_version="bench-1",
                via="self_referral",
                recorded_at=now,
            )
            for c in clients
            for topic in agreed
        ]
    )
    return service, referrals


CALLER_WORK = "INSERT INTO common_heartbeat (token, worker, seen_at) VALUES (%s, 'bench', now())"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# ----------------------------------------------------------------------------- parts


def bench_queueing(redis_url: str, prefix: str) -> dict:
    import redis as redis_py
    from django.db import connection, transaction

    from notifications import tasks
    from notifications.outbox import notification_queue
    from notifications.publisher import publisher

    _, [referral] = make_referrals(1)
    raw = redis_py.Redis.from_url(redis_url)
    payload = "x" * 600
    lpush, delay, outbox, on_broker = [], [], [], []
    occurrence = 0

    def one_outbox():
        nonlocal occurrence
        occurrence += 1
        with transaction.atomic():
            notification_queue(
                kind="acknowledgement", referral=referral, occurrence=str(occurrence)
            )

    def until_on_broker():
        one_outbox()
        publisher.flush()

    def time_each(fn, into, n):
        for _ in range(n):
            started = time.perf_counter()
            fn()
            into.append(time.perf_counter() - started)
            # The publisher thread finishes the previous message before the next sample,
            # as it does while a request's response goes out.
            publisher.flush()

    # The caller's own work (referral_submit writes rows and commits anyway): how much
    # does adding the outbox row and its publish to such a transaction cost?
    def caller_alone():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CALLER_WORK, [uuid.uuid4().hex])

    def caller_with_outbox():
        nonlocal occurrence
        occurrence += 1
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(CALLER_WORK, [uuid.uuid4().hex])
            notification_queue(
                kind="acknowledgement", referral=referral, occurrence=str(occurrence)
            )

    alone, with_outbox = [], []
    warm: list[float] = []
    time_each(lambda: raw.lpush(f"{prefix}bench-lpush", payload), warm, 50)
    time_each(lambda: tasks.deliver.delay(str(uuid.uuid4())), warm, 50)
    time_each(one_outbox, warm, 50)
    time_each(caller_alone, warm, 20)
    time_each(caller_with_outbox, warm, 20)
    # Interleaved rounds, so drift on a shared machine falls on all of them alike.
    for _ in range(QUEUE_ROUNDS):
        time_each(lambda: raw.lpush(f"{prefix}bench-lpush", payload), lpush, QUEUE_PER_ROUND)
        time_each(lambda: tasks.deliver.delay(str(uuid.uuid4())), delay, QUEUE_PER_ROUND)
        time_each(one_outbox, outbox, QUEUE_PER_ROUND)
        time_each(until_on_broker, on_broker, QUEUE_PER_ROUND // 2)
        time_each(caller_alone, alone, QUEUE_PER_ROUND // 2)
        time_each(caller_with_outbox, with_outbox, QUEUE_PER_ROUND // 2)
    return {
        "lpush_ms": median_ms(lpush),
        "delay_ms": median_ms(delay),
        "outbox_ms": median_ms(outbox),
        "marginal_ms": median_ms(with_outbox) - median_ms(alone),
        "on_broker_ms": median_ms(on_broker),
        "n": len(outbox),
    }


def bench_letters() -> dict:
    from weasyprint import HTML

    from notifications import addressing, letters, rendering
    from notifications.models import Notification

    service, [referral] = make_referrals(1, agreed=("letters_home",))
    summary = " ".join(
        ["We talked about how hard it has been to ask for help, and what changed."] * 28
    )
    notification = Notification(
        service=service,
        referral=referral,
        kind="ending",
        recipient="client",
        context={"summary": summary, "plan": "Talk to someone you trust; contact your GP."},
    )
    who = rendering.Recipient(
        name="Sam Rivers", address_lines=("4 Orchard Row", "Millbrook", "MB1 2CD")
    )
    static = static_two_page_letter()

    def bare():
        document = HTML(string=static).render()
        return document.write_pdf(), len(document.pages)

    def ours():
        html = rendering.render_letter_html(addressing.render_context(notification, who))
        return letters.render_pdf(html)

    for _ in range(3):  # warm: fonts, parsed stylesheet, templates
        _, bare_pages = bare()
        _, our_pages = ours()
    bare_times, our_times = [], []
    for _ in range(PDF_RUNS):
        started = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ours()
        our_times.append(time.perf_counter() - started)
    return {
        "bare_ms": median_ms(bare_times),
        "ours_ms": median_ms(our_times),
        "bare_pages": bare_pages,
        "our_pages": our_pages,
        "n": PDF_RUNS,
    }


def bench_end_to_end(database_url: str, redis_url: str, prefix: str) -> dict:
    import redis as redis_py
    from django.db import transaction

    from config.celery import app
    from notifications.models import Notification
    from notifications.outbox import notification_queue
    from tests.support.services import free_port

    # The queueing part left messages for rows of its own: start from an empty queue.
    raw = redis_py.Redis.from_url(redis_url)
    for key in raw.scan_iter(match=f"{prefix}*", count=500):
        raw.delete(key)
    Notification.objects.all().delete()
    _, referrals = make_referrals(E2E_COUNT)
    workdir = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    received = workdir / "message-ids.txt"
    log = workdir / "worker.log"
    port = free_port()
    # The SMTP server in a process of its own, as a real one would be.
    sink = subprocess.Popen(
        [sys.executable, "-m", "tests.notifications.smtp_sink", str(port), str(received)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    if sink.stdout.readline().strip() != "ready":
        raise RuntimeError("the benchmark's SMTP server did not start")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_KEY_PREFIX": prefix,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    }
    with open(log, "ab") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--queues",
                "default,urgent",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench-{os.getpid()}@%h",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def count() -> int:
        return sum(1 for _ in received.open()) if received.exists() else 0

    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"benchmark worker did not start; see {log}")
        started = time.perf_counter()
        queued = []
        for referral in referrals:
            with transaction.atomic():
                queued.append(notification_queue(kind="acknowledgement", referral=referral))
        queued_s = time.perf_counter() - started
        while count() < E2E_COUNT and time.perf_counter() - started < 300:
            time.sleep(0.05)
        delivered_s = time.perf_counter() - started
        time.sleep(2)  # anything extra would arrive now
        ids = Counter(line.strip() for line in received.open())
        expected = {f"<{n.public_id}@threshold.invalid>" for n in queued}
        sent_rows = Notification.objects.filter(status="sent").count()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)  # the worker and its pool child
        sink.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        sink.wait(timeout=30)
    return {
        "count": E2E_COUNT,
        "seconds": delivered_s,
        "queued_s": queued_s,
        "received": sum(ids.values()),
        "distinct": len(ids),
        "all_expected": set(ids) == expected,
        "max_copies": max(ids.values()) if ids else 0,
        "sent_rows": sent_rows,
    }


# ----------------------------------------------------------------------------- report


LOAD = {"before": "", "after": ""}


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    LOAD["before"] = _load()
    # Like the self-referral benchmark: the machine's PostgreSQL and Redis unless told
    # otherwise (a scratch database and a key prefix of its own, removed afterwards).
    database_url = os.environ.get("DATABASE_URL", "") or PG_DEFAULT
    redis_url = os.environ.get("REDIS_URL", "") or REDIS_DEFAULT
    prefix = f"threshold-bench-{os.getpid()}-{secrets.token_hex(3)}:"
    notes: list[str] = []
    on_postgres = database_url.startswith(("postgres://", "postgresql://"))
    scratch_name = ""
    if on_postgres:
        scratch_url, scratch_name = scratch_database(database_url)
    else:
        scratch_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.sqlite3"
        notes.append(
            "DATABASE_URL is not set to PostgreSQL: the letter part ran on a temporary SQLite "
            "database; the queueing and end-to-end parts need PostgreSQL and were not run."
        )
    if not redis_url:
        notes.append(
            "REDIS_URL is not set: the queueing and end-to-end parts need Redis and were not run."
        )
    can_queue = on_postgres and bool(redis_url)
    queueing = letters_result = e2e = None
    try:
        django_setup(scratch_url, redis_url if can_queue else "", prefix)
        if can_queue:
            queueing = bench_queueing(redis_url, prefix)
        letters_result = bench_letters()
        if can_queue:
            e2e = bench_end_to_end(scratch_url, redis_url, prefix)
    finally:
        if redis_url:
            try:
                import redis as redis_py

                raw = redis_py.Redis.from_url(redis_url)
                keys = list(raw.scan_iter(match=f"{prefix}*", count=500))
                if keys:
                    raw.delete(*keys)
            except Exception as error:  # reporting matters more than tidying here
                notes.append(f"Could not remove the benchmark's Redis keys: {error}")
        if scratch_name:
            from django.db import connections

            connections.close_all()
            drop_database(database_url, scratch_name)
    LOAD["after"] = _load()
    print(report(queueing, letters_result, e2e, notes))
    return 0


def report(queueing, letters_result, e2e, notes) -> str:
    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    rows = []
    if queueing:
        ratio = queueing["outbox_ms"] / queueing["delay_ms"]
        rows.append(
            f"| `notification_queue` + commit + dispatch (the caller's time: the on-commit "
            f"hand-off to the publisher thread), median of {queueing['n']} | "
            f"{queueing['outbox_ms']:.2f} ms | bare `delay()` of `notifications.deliver`: "
            f"{queueing['delay_ms']:.2f} ms (raw `LPUSH` {queueing['lpush_ms']:.3f} ms; "
            f"`delay()` = {queueing['delay_ms'] / queueing['lpush_ms']:.1f} x `LPUSH`) | "
            f"{ratio:.2f} x | at most 2 x | {met(ratio <= 2)} |"
        )
        rows.append(
            "| the same, until the background publisher has put the message on the broker | "
            f"{queueing['on_broker_ms']:.2f} ms | bare `delay()`: {queueing['delay_ms']:.2f} ms | "
            f"{queueing['on_broker_ms'] / queueing['delay_ms']:.2f} x | (context) | |"
        )
        rows.append(
            "| `notification_queue` + hand-off added to a transaction the caller commits "
            "anyway (what `referral_submit` pays), median difference | "
            f"{queueing['marginal_ms']:.2f} ms | bare `delay()`: {queueing['delay_ms']:.2f} ms | "
            f"{queueing['marginal_ms'] / queueing['delay_ms']:.2f} x | (context) | |"
        )
    else:
        rows.append("| `notification_queue` + commit + dispatch | not run (see notes) | | | | |")
    if letters_result:
        ratio = letters_result["ours_ms"] / letters_result["bare_ms"]
        pages_ok = letters_result["our_pages"] == 2 == letters_result["bare_pages"]
        rows.append(
            f"| two-page ending letter to PDF, warm, median of {letters_result['n']} | "
            f"{letters_result['ours_ms']:.0f} ms ({letters_result['our_pages']} pages) | "
            f"bare WeasyPrint, static two-page letter: {letters_result['bare_ms']:.0f} ms "
            f"({letters_result['bare_pages']} pages) | {ratio:.2f} x | at most 1.5 x | "
            f"{met(ratio <= 1.5 and pages_ok)} |"
        )
    if e2e:
        once = (
            e2e["received"] == e2e["count"] == e2e["distinct"] == e2e["sent_rows"]
            and e2e["all_expected"]
        )
        rows.append(
            f"| {e2e['count']:,} acknowledgements queued and delivered to a local SMTP server "
            f"by one worker (concurrency 1) | {e2e['seconds']:.1f} s "
            f"({e2e['count'] / e2e['seconds']:.0f} a second; queueing took "
            f"{e2e['queued_s']:.1f} s of it) | | | under {E2E_LIMIT_S:.0f} s, each exactly once | "
            f"{met(e2e['seconds'] < E2E_LIMIT_S and once)} ({e2e['distinct']:,} distinct "
            f"Message-IDs, {e2e['received']:,} messages received, at most "
            f"{e2e['max_copies']} of each, {e2e['sent_rows']:,} rows sent) |"
        )
    else:
        rows.append("| 1,000 acknowledgements end to end | not run (see notes) | | | | |")
    lines = [
        "## Notifications",
        "",
        "`benchmarks/bench_notifications.py`: in one run, each figure beside a baseline "
        "measured in the same run. A scratch database and a Redis key prefix of "
        "the benchmark's own; the SMTP server is aiosmtpd on 127.0.0.1 in a process "
        "of its own.",
        "",
        "| measure | result | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "How: queueing times one `notification_queue` in its own `transaction.atomic()` "
        "(insert, commit, then the on-commit hand-off), interleaved in rounds of "
        f"{QUEUE_PER_ROUND} with the bare `delay()` and `LPUSH` (a 600-byte value); after "
        "each sample, untimed, the publisher thread finishes putting the message on the "
        "broker, as it does while a request's response goes out. No worker consumes "
        "meanwhile. The letter times template rendering plus WeasyPrint "
        "with the cached stylesheet and fonts, against `HTML(string=…).write_pdf()` of a "
        "fixed two-page letter in the same fonts. End to end runs from the first "
        "`notification_queue` to the last message received; each is checked by its "
        "Message-ID.",
        "",
        f"Load average while it ran (1, 5, 15 minutes): before {LOAD['before']}, after "
        f"{LOAD['after']} on {os.cpu_count()} cores. Every figure here waits on several "
        "processes (PostgreSQL, Redis, the worker); on a shared machine under load each "
        "wait costs a scheduling delay, and the outbox, with three database round trips to "
        "the bare `delay()`'s one Redis round trip, feels that most.",
    ]
    if queueing:
        lines += [
            "",
            "Reading the queueing rows: the outbox makes its row durable first (BEGIN, "
            "INSERT and COMMIT round trips and the commit's WAL flush, which a bare "
            "`delay()` does not pay), then hands the id to a publishing thread "
            "(`notifications/publisher.py`) instead of publishing in the caller. The caller "
            "never waits on Redis; the message reaches the broker moments later, and a "
            "message lost on the way is published again by the sweeper from the row.",
        ]
    if notes:
        lines += ["", "Notes:", "", *[f"- {note}" for note in notes]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
