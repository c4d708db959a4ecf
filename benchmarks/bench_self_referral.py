"""Self-referral under load: complete referrals through gunicorn and PostgreSQL.

Concurrent clients walk the whole form (every GET and POST, then the submit) against a
real gunicorn; beside it, in the same run and at the same concurrency, a bare Django view
that inserts the same rows in one transaction. Prints a Markdown section.

Needs PostgreSQL (DATABASE_URL's server, default the local one; a scratch database is
created and dropped) and Redis (REDIS_URL, default local; its own key prefix, removed after).
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serve import NO_RATE_LIMITS, bench_env, gunicorn_start  # noqa: E402

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "20"))
DURATION = float(os.environ.get("BENCH_SECONDS", "30"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "5"))
SUBMITS = int(os.environ.get("BENCH_SUBMITS", "400"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

STEPS = [
    ("safety", {"safe_now": "yes", "age_ok": "yes"}),
    (
        "about",
        {
            "given_name": "Robin",
            "family_name": "Ashdown",
            "date_of_birth_day": "17",
            "date_of_birth_month": "5",
            "date_of_birth_year": "1990",
            "nhs_number": "9434765919",
            "postcode": "LS1 4AP",
        },
    ),
    ("gender", {"pronouns": "they/them"}),
    ("contact", {"email": "robin@example.com", "email_ok": "yes"}),
    ("contact-preferences", {"safe_contact_times": "Not before 10am"}),
    ("gp", {"gp_registered": "yes", "gp_practice_name": "Mill Lane Surgery", "tell_gp": "no"}),
    (
        "difficulties",
        {
            "presenting_problem": "It is hard to let people close.",
            "difficulty_areas": ["relationships", "low_mood"],
        },
    ),
    ("questionnaires", {"answer_now": "yes"}),
    ("phq9", {f"item_{i}": "1" for i in range(1, 10)} | {"item_9": "0"}),
    ("gad7", {f"item_{i}": "1" for i in range(1, 8)}),
    ("preferences", {"mode": "either", "availability": ["tue_evening", "thu_morning"]}),
    ("consent", {"outcome_data": "yes", "answers_own": "on"}),
]


class Browser:
    """One person's browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location")


def walk_to_check(browser: Browser, timings) -> None:
    status, _ = timed(timings, "GET /refer/", browser.request, "GET", "/refer/")
    expect(status, 200, "/refer/")
    for step, data in STEPS:
        status, _ = timed(timings, f"GET {step}", browser.request, "GET", f"/refer/{step}/")
        expect(status, 200, f"GET {step}")
        payload = {"self_referral_wizard-current_step": step}
        payload.update({f"{step}-{k}": v for k, v in data.items()})
        status, _ = timed(
            timings, f"POST {step}", browser.request, "POST", f"/refer/{step}/", payload
        )
        expect(status, 302, f"POST {step}")
    status, _ = timed(timings, "GET check", browser.request, "GET", "/refer/check/")
    expect(status, 200, "GET check")


def submit(browser: Browser, timings) -> None:
    payload = {"self_referral_wizard-current_step": "check"}
    status, location = timed(
        timings, "POST check (submit)", browser.request, "POST", "/refer/check/", payload
    )
    expect(status, 302, "POST check")
    if not (location or "").endswith("/refer/confirmation/"):
        raise RuntimeError(f"submit went to {location}")
    status, _ = timed(timings, "GET confirmation", browser.request, "GET", location)
    expect(status, 200, "GET confirmation")


def timed(timings, label, fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    timings[label].append(time.perf_counter() - started)
    return result


def expect(status, wanted, what):
    if status != wanted:
        raise RuntimeError(f"{what}: HTTP {status}, expected {wanted}")


def run_clients(port: int, work, seconds: float, concurrency: int):
    """Run `work(browser, timings)` in a loop on N threads for a fixed time."""
    timings = defaultdict(list)
    lock = threading.Lock()
    counts = {"done": 0, "errors": 0}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def loop():
        local = defaultdict(list)
        while time.perf_counter() < deadline:
            browser = Browser(port)
            try:
                work(browser, local)
                with lock:
                    counts["done"] += 1
            except Exception as exc:  # counted and reported; the run goes on
                with lock:
                    counts["errors"] += 1
                    errors.append(repr(exc)[:200])
            finally:
                browser.conn.close()
        with lock:
            for key, values in local.items():
                timings[key].extend(values)

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, counts, time.perf_counter() - started, errors[:5]


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bare(port):
    def work(browser, timings):
        status, _ = timed(timings, "bare", browser.request, "POST", "/bench/bare-referral/", {})
        expect(status, 200, "bare view")

    return work


def main() -> dict:
    import psycopg

    db = f"threshold_bench_{os.getpid()}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {db}")
    parsed = urllib.parse.urlparse(PG_ADMIN)
    database_url = parsed._replace(path=f"/{db}").geturl()
    prefix = f"threshold-bench-{secrets.token_hex(4)}:"
    env = bench_env(
        database_url,
        REDIS_URL=REDIS_URL,
        CELERY_KEY_PREFIX=prefix,
        SELF_REFERRAL_SERVICE="bench",
        ROOT_URLCONF="benchmarks.baseline_urls",
        **NO_RATE_LIMITS,
    )
    python = sys.executable
    server = None
    try:
        prepare_database(python, env)
        server, port = gunicorn_start(python=python, cwd=ROOT, env=env, workers=WORKERS)
        # Warm up every worker and the database.
        run_clients(port, lambda b, t: (walk_to_check(b, t), submit(b, t)), 3, CONCURRENCY)

        bare_timings, bare_counts, bare_elapsed, bare_errors = run_clients(
            port, bare(port), DURATION / 3, CONCURRENCY
        )
        full_timings, full_counts, full_elapsed, full_errors = run_clients(
            port, lambda b, t: (walk_to_check(b, t), submit(b, t)), DURATION, CONCURRENCY
        )

        # Submit throughput alone: prepare sessions at the check page, then send them all.
        submit_values, submit_elapsed, submit_errors = submit_burst(port, SUBMITS, CONCURRENCY)
    finally:
        if server is not None:
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

    bare_rps = bare_counts["done"] / bare_elapsed
    bare_p95 = pct(bare_timings["bare"], 95)
    per_minute = full_counts["done"] / full_elapsed * 60
    submit_rps = len(submit_values) / submit_elapsed
    step_rows = []
    worst_ratio = 0.0
    for label, values in full_timings.items():
        p95 = pct(values, 95)
        ratio = p95 / bare_p95
        worst_ratio = max(worst_ratio, ratio)
        step_rows.append((label, len(values), pct(values, 50), p95, ratio))
    errors = full_counts["errors"] + bare_counts["errors"] + len(submit_errors)
    results = {
        "bare_rps": bare_rps,
        "bare_p95": bare_p95,
        "referrals_per_minute": per_minute,
        "submit_rps": submit_rps,
        "submit_ratio": submit_rps / bare_rps,
        "worst_step_p95_ratio": worst_ratio,
        "errors": errors,
    }

    def ok(flag):
        return "met" if flag else "**not met**"

    lines = [
        "## Self-referral under load",
        "",
        f"`python benchmarks/bench_self_referral.py`: gunicorn ({WORKERS} sync workers), "
        f"PostgreSQL, Redis; {CONCURRENCY} concurrent clients; {DURATION:.0f} s of complete "
        f"referrals (every GET and POST of every step, the submit and the confirmation).",
        "",
        "| measure | result | target | |",
        "|---|---|---|---|",
        f"| complete referrals per minute | {per_minute:.0f} | ≥ 600 | {ok(per_minute >= 600)} |",
        f"| submit throughput vs bare view | {submit_rps:.1f}/s vs {bare_rps:.1f}/s = "
        f"{submit_rps / bare_rps:.2f}x | ≥ 0.5x | {ok(submit_rps / bare_rps >= 0.5)} |",
        f"| worst step p95 vs bare p95 | {worst_ratio:.2f}x (bare p95 {bare_p95 * 1000:.0f} ms) "
        f"| ≤ 3x | {ok(worst_ratio <= 3)} |",
        f"| errors | {errors} | 0 | {ok(errors == 0)} |",
        "",
        "| request | count | p50 ms | p95 ms | p95 / bare p95 |",
        "|---|---|---|---|---|",
        f"| bare view (baseline) | {len(bare_timings['bare'])} | "
        f"{pct(bare_timings['bare'], 50) * 1000:.1f} | {bare_p95 * 1000:.1f} | 1.00 |",
    ]
    for label, count, p50, p95, ratio in step_rows:
        lines.append(f"| {label} | {count} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {ratio:.2f} |")
    lines.append(
        f"| submit burst ({len(submit_values)} prepared sessions) | {len(submit_values)} | "
        f"{pct(submit_values, 50) * 1000:.1f} | {pct(submit_values, 95) * 1000:.1f} | "
        f"{pct(submit_values, 95) / bare_p95:.2f} |"
    )
    if full_errors or bare_errors or submit_errors:
        lines += ["", "First errors: " + "; ".join(full_errors + bare_errors + submit_errors)]
    print("\n".join(lines))
    return results


def run_clients_once(port, work, concurrency, total):
    """Run `work` `total` times across `concurrency` threads (no timing)."""
    remaining = [total]
    lock = threading.Lock()

    def loop():
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            work(Browser(port), defaultdict(list))

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def prepare_database(python: str, env: dict) -> None:
    """Migrate a benchmark's scratch database and give it the self-referral's service."""
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            python,
            "manage.py",
            "shell",
            "-c",
            "from common.models import Service; from intake.models import PrivacyNotice; "
            "from django.utils import timezone; "
            "s=Service.objects.create(name='Bench service', slug='bench', "
            "duty_inbox_email='duty@bench.invalid'); "
            "PrivacyNotice.objects.create(service=s, version='1', text='Notice', "
            "published_at=timezone.now())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def submit_burst(port: int, total: int, concurrency: int) -> tuple[list[float], float, list[str]]:
    """Walk `total` sessions to the check page, then submit them all at once across
    `concurrency` threads. Returns the submit timings, the burst's seconds and any errors."""
    prepared: list[Browser] = []
    lock = threading.Lock()

    def prepare(browser, timings):
        walk_to_check(browser, timings)
        with lock:
            prepared.append(browser)

    while len(prepared) < total:
        run_clients_once(port, prepare, concurrency, total - len(prepared))
    timings: list[float] = []
    errors: list[str] = []
    queue = list(prepared)

    def submitter():
        local = defaultdict(list)
        while True:
            with lock:
                if not queue:
                    break
                browser = queue.pop()
            try:
                status, location = timed(
                    local,
                    "submit",
                    browser.request,
                    "POST",
                    "/refer/check/",
                    {"self_referral_wizard-current_step": "check"},
                )
                expect(status, 302, "submit")
                if not (location or "").endswith("/refer/confirmation/"):
                    raise RuntimeError(f"submit went to {location}")
            except Exception as exc:
                errors.append(repr(exc)[:200])
            finally:
                browser.conn.close()
        with lock:
            timings.extend(local["submit"])

    threads = [threading.Thread(target=submitter) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, time.perf_counter() - started, errors


if __name__ == "__main__":
    main()
