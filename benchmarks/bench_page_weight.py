"""What the public pages weigh on the wire, and how soon they paint on a slow connection.

The project is served as in production: static files collected by today's code (fingerprinted
and compressed, into a directory of the benchmark's own: benchmarks/settings_page_weight.py),
gunicorn with DEBUG off and whitenoise, PostgreSQL. Headless Chromium (Debian's, through
Playwright, as tests/browser drives it) opens each public page twice in one browser context:
a first visit with an empty cache, then, after leaving for about:blank, a repeat visit. The
Chrome DevTools Protocol gives every response's bytes as they crossed the wire (headers and
compressed body: Network.loadingFinished encodedDataLength) and whether it came from the
cache. The network is throttled to Chrome DevTools' "Slow 3G" preset, and each visit's first
contentful paint is read from the page's own performance timeline.

The baseline, in the same run and from the same server: a bare NHS.UK frontend page
(benchmarks/bare_views.py), only the frontend's stylesheet and script, a heading and a
paragraph.

Targets: a first visit at most 1.3x the bare page's bytes; a repeat visit transfers the
HTML only (no static file requested again, none revalidated), and every static file a page
uses may be kept for a year (else it would download again once a short max-age ran out).

Prints a Markdown section. Needs PostgreSQL (BENCH_PG_ADMIN) and Chromium (CHROMIUM, default
/usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serve import bench_env, gunicorn_start  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# CPU slowdown (Emulation.setCPUThrottlingRate); 1 = none. See the section's text for why.
CPU_SLOWDOWN = float(os.environ.get("BENCH_CPU_SLOWDOWN", "1"))
TARGET_FIRST = 1.3
YEAR = 365 * 24 * 3600

# Chrome DevTools' "Slow 3G" preset (devtools-frontend, front_end/core/sdk/NetworkManager.ts:
# ~500 kbit/s each way at 80%, 400 ms round trip x 5 for the request latency).
SLOW_3G = {
    "offline": False,
    "downloadThroughput": 500 * 1000 / 8 * 0.8,  # 50,000 bytes a second
    "uploadThroughput": 500 * 1000 / 8 * 0.8,
    "latency": 400 * 5,  # ms
}

WIZARD = [
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
]

# (label, path, wizard steps to answer first, needs a portal session)
PAGES = [
    ("bare NHS.UK frontend page (baseline)", "/bench/bare-page/", None, False),
    ("start page `/`", "/", None, False),
    ("self-referral start `/refer/`", "/refer/", None, False),
    ("self-referral, first question `/refer/safety/`", "/refer/safety/", 0, False),
    ("self-referral, about you `/refer/about/`", "/refer/about/", 1, False),
    ("self-referral, contact `/refer/contact/`", "/refer/contact/", 3, False),
    ("portal start `/portal/`", "/portal/", None, False),
    ("portal link sent `/portal/link-sent/`", "/portal/link-sent/", None, False),
    ("portal sign-in link `/portal/sign-in/…/`", "/portal/sign-in/{token}/", None, False),
    ("portal, signed in `/portal/home/`", "/portal/home/", None, True),
]

SETUP_SCRIPT = """
import json, secrets
from datetime import timedelta
import django
django.setup()
from django.utils import timezone
from common.models import Service
from intake.models import PrivacyNotice
from portal import services
from portal.models import SignInLink
from tests.notifications.people import make_referral

service = Service.objects.create(
    name="Bench service", slug="bench", duty_inbox_email="duty@bench.invalid"
)
PrivacyNotice.objects.create(
    service=service, version="1", text="Notice", published_at=timezone.now()
)
referral = make_referral(service, agreed=("email",), preferred="email")
now = timezone.now()

def issued_link():
    token = secrets.token_urlsafe(32)
    SignInLink.objects.create(
        referral=referral, channel="email", token_hash=services._hash(token), issued_at=now,
        expires_at=now + timedelta(hours=2),
    )
    return token

shown = issued_link()
session = services.portal_sign_in(token=issued_link())
print(json.dumps({"token": shown, "portal_key": session.key}))
"""


class Visit:
    """One navigation's network, as the DevTools protocol reports it."""

    def __init__(self):
        self.requests: dict[str, dict] = {}

    def on_request(self, event):
        self.requests.setdefault(event["requestId"], {}).setdefault("url", event["request"]["url"])

    def on_response(self, event):
        response = event["response"]
        self.requests.setdefault(event["requestId"], {}).update(
            url=response["url"],
            status=response["status"],
            type=event.get("type", ""),
            cached=bool(response.get("fromDiskCache") or response.get("fromPrefetchCache")),
            headers={k.lower(): v for k, v in response.get("headers", {}).items()},
        )

    def on_cache(self, event):
        self.requests.setdefault(event["requestId"], {})["cached"] = True

    def on_finished(self, event):
        self.requests.setdefault(event["requestId"], {})["bytes"] = event["encodedDataLength"]

    def on_failed(self, event):
        self.requests.setdefault(event["requestId"], {})["failed"] = event.get(
            "blockedReason"
        ) or event.get("errorText", "failed")

    def summary(self, origin: str) -> dict:
        html = static = other = 0
        static_network = 0
        short_lived: set[str] = set()
        encodings: dict[str, str] = {}
        external = []
        for request in self.requests.values():
            url = request.get("url", "")
            if not url:
                continue
            if not url.startswith(origin):
                if not url.startswith(("data:", "about:")):
                    external.append(url)
                continue
            path = urllib.parse.urlparse(url).path
            size = request.get("bytes", 0) if not request.get("cached") else 0
            if request.get("type") == "Document":
                html += size
            elif path.startswith("/static/"):
                static += size
                if not request.get("cached"):
                    static_network += 1
                    cache_control = request.get("headers", {}).get("cache-control", "")
                    max_age = re.search(r"max-age=(\d+)", cache_control)
                    if not max_age or int(max_age.group(1)) < YEAR:
                        short_lived.add(path)
                    encodings[path] = request.get("headers", {}).get("content-encoding", "")
            else:
                other += size
        return {
            "html": html,
            "static": static,
            "other": other,
            "total": html + static + other,
            "static_requests": static_network,
            "short_lived": sorted(short_lived),
            "encodings": encodings,
            "external": sorted(set(external)),
        }


def answer_wizard(context, base: str, steps: int) -> None:
    """Answer the self-referral's first `steps` questions through the context's own request
    client (its cookies, not its cache), so the page measured is reached as a person would."""
    get = context.request.get
    assert get(f"{base}/refer/").status == 200
    for step, data in WIZARD[:steps]:
        assert get(f"{base}/refer/{step}/").status == 200
        token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        form = {"self_referral_wizard-current_step": step}
        form.update({f"{step}-{k}": v for k, v in data.items()})
        response = context.request.post(
            f"{base}/refer/{step}/",
            form=form,
            headers={"X-CSRFToken": token, "Referer": f"{base}/refer/{step}/"},
            max_redirects=0,
        )
        if response.status != 302:
            raise RuntimeError(f"POST /refer/{step}/: HTTP {response.status}")


def visit(page, cdp, url: str, origin: str) -> dict:
    seen = Visit()
    handlers = {
        "Network.requestWillBeSent": seen.on_request,
        "Network.responseReceived": seen.on_response,
        "Network.requestServedFromCache": seen.on_cache,
        "Network.loadingFinished": seen.on_finished,
        "Network.loadingFailed": seen.on_failed,
    }
    for event, handler in handlers.items():
        cdp.on(event, handler)
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        raise RuntimeError(f"GET {url}: HTTP {response.status if response else 'none'}")
    page.wait_for_load_state("networkidle")
    fcp = page.evaluate(
        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
    )
    for event, handler in handlers.items():
        cdp.remove_listener(event, handler)
    result = seen.summary(origin)
    result["fcp"] = fcp
    return result


def measure(browser, base: str, made: dict) -> dict[str, list[tuple[dict, dict]]]:
    results: dict[str, list[tuple[dict, dict]]] = {label: [] for label, *_ in PAGES}
    for _ in range(RUNS):
        for label, path, steps, portal in PAGES:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            try:
                if steps is not None:
                    answer_wizard(context, base, steps)
                if portal:
                    context.add_cookies(
                        [
                            {
                                "name": "threshold_portal",
                                "value": made["portal_key"],
                                "url": f"{base}/portal/",
                            }
                        ]
                    )
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", SLOW_3G)
                if CPU_SLOWDOWN != 1:
                    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
                url = base + path.format(token=made["token"])
                first = visit(page, cdp, url, base)
                page.goto("about:blank")
                repeat = visit(page, cdp, url, base)
                results[label].append((first, repeat))
            finally:
                context.close()
    return results


def main() -> None:
    import psycopg
    from playwright.sync_api import sync_playwright

    db = f"threshold_bench_weight_{os.getpid()}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {db}")
    database_url = urllib.parse.urlparse(PG_ADMIN)._replace(path=f"/{db}").geturl()
    static_root = tempfile.mkdtemp(prefix="threshold-bench-static-")
    env = bench_env(
        database_url,
        DJANGO_SETTINGS_MODULE="benchmarks.settings_page_weight",
        BENCH_STATIC_ROOT=static_root,
        ROOT_URLCONF="benchmarks.baseline_urls",
        SELF_REFERRAL_SERVICE="bench",
    )
    python = sys.executable
    server = None
    try:
        started = time.perf_counter()
        subprocess.run(
            [python, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        collect_seconds = time.perf_counter() - started
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        made = json.loads(
            subprocess.run(
                [python, "-c", SETUP_SCRIPT],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        server, port = gunicorn_start(python=python, cwd=ROOT, env=env, workers=WORKERS)
        base = f"http://127.0.0.1:{port}"
        load_before = os.getloadavg()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    # Offline but for the server: a file from elsewhere (the NHS.UK font)
                    # fails at once rather than waiting on a network this machine lacks.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                ],
            )
            try:
                results = measure(browser, base, made)
                chromium = browser.version
            finally:
                browser.close()
        load_after = os.getloadavg()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()
        subprocess.run(["rm", "-rf", static_root], check=False)

    print(report(results, chromium, collect_seconds, load_before, load_after))


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def _bytes(values) -> str:
    low, high, mid = min(values), max(values), _median(values)
    text = f"{mid / 1024:.1f} KiB"
    return text if high - low < 512 else f"{text} ({low / 1024:.1f}-{high / 1024:.1f})"


def report(results, chromium: str, collect_seconds: float, load_before, load_after) -> str:
    bare_label = PAGES[0][0]
    bare_first = _median([first["total"] for first, _ in results[bare_label]])
    rows = []
    all_met = True
    short_lived: set[str] = set()
    external: set[str] = set()
    encodings: dict[str, str] = {}
    for label, *_ in PAGES:
        runs = results[label]
        firsts = [first for first, _ in runs]
        repeats = [repeat for _, repeat in runs]
        first_total = _median([f["total"] for f in firsts])
        ratio = first_total / bare_first
        first_met = ratio <= TARGET_FIRST
        page_short = sorted({p for f in firsts for p in f["short_lived"]})
        short_lived.update(page_short)
        for f in firsts + repeats:
            external.update(f["external"])
            encodings.update(f["encodings"])
        static_again = max(r["static"] + r["other"] for r in repeats)
        static_requests = max(r["static_requests"] for r in repeats)
        repeat_met = static_again == 0 and static_requests == 0 and not page_short
        if label != bare_label:
            all_met &= first_met and repeat_met
        repeat_note = "HTML only" if static_requests == 0 else f"{static_requests} static again"
        if page_short:
            repeat_note += f"; {len(page_short)} static file(s) kept under a year"
        rows.append(
            f"| {label} | {_bytes([f['total'] for f in firsts])} "
            f"(HTML {_median([f['html'] for f in firsts]) / 1024:.1f}) | {ratio:.2f}x | "
            f"{'met' if first_met else '**not met**'} | "
            f"{_bytes([r['total'] for r in repeats])} ({repeat_note}) | "
            f"{'met' if repeat_met else '**not met**'} | "
            f"{_median([f['fcp'] for f in firsts]) / 1000:.2f} | "
            f"{_median([r['fcp'] for r in repeats]) / 1000:.2f} |"
        )
    static_files = ", ".join(
        f"`{urllib.parse.urlparse(path).path.rsplit('/', 1)[-1]}` {enc or 'identity'}"
        for path, enc in sorted(encodings.items())
    )
    cpu = (
        "no CPU throttling"
        if CPU_SLOWDOWN == 1
        else f"CPU slowed {CPU_SLOWDOWN:g}x (Emulation.setCPUThrottlingRate)"
    )
    lines = [
        "## Page weight: the public pages on the wire",
        "",
        "`python benchmarks/bench_page_weight.py`: gunicorn "
        f"({WORKERS} sync workers, DEBUG off, whitenoise), static files collected by today's "
        f"code into a scratch directory (fingerprinted and compressed; {collect_seconds:.0f} "
        f"s), PostgreSQL. Headless Chromium {chromium} (Playwright, 390 x 844 viewport), "
        "network throttled to Chrome DevTools' Slow 3G (2,000 ms latency, 50,000 bytes a "
        f"second each way: Network.emulateNetworkConditions), {cpu}. Each page {RUNS} times, "
        "each time in a fresh browser context: a first visit with an empty cache, then "
        "about:blank, then a repeat visit. Bytes are as on the wire (headers and compressed "
        "bodies: Network.loadingFinished encodedDataLength), medians of the runs (a range "
        "where runs differ by 512 bytes or more); first contentful paint is the page's own "
        "`first-contentful-paint` entry, median. Wizard pages are reached by answering the "
        "steps before them through the context's request client (its cookies, not its "
        "cache). Load average (1, 5, 15 min) before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores.",
        "",
        f"Targets: first visit at most {TARGET_FIRST}x the bare NHS.UK frontend page's "
        "bytes; repeat visit the HTML only (no static file requested or revalidated) with "
        "every static file cacheable for at least a year: "
        f"{'met' if all_met else '**not met**'}.",
        "",
        "| page | first visit | / bare | first ≤ 1.3x | repeat visit | repeat HTML only "
        "| FCP first s | FCP repeat s |",
        "|---|---:|---:|---|---:|---|---:|---:|",
        *rows,
        "",
        f"Static files as served (content encoding): {static_files}. Our pages' icon "
        "(`favicon.svg`, named by the page) is counted; Chromium's own request for "
        "`/favicon.ico` on the bare page, which names no icon, is made outside the page "
        "(a 404) and is not.",
    ]
    if short_lived:
        lines += [
            "",
            "Static files served without a year's max-age (downloaded again after it): "
            + ", ".join(f"`{p}`" for p in sorted(short_lived))
            + ".",
        ]
    if external:
        lines += [
            "",
            "Asked for from elsewhere (the NHS.UK font from assets.nhs.uk, by the "
            "frontend's stylesheet, on the bare page as on ours; unreachable from the "
            "benchmark, so not counted): " + ", ".join(f"`{u}`" for u in sorted(external)) + ".",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
