"""With Redis stopped, the public self-referral, staff sign-in and the staff pages still work,
and the messages they queue leave once Redis is back (docs/operations.md, "When Redis is
down").

Each test runs its own `redis-server` as the cache and the broker, and stops it mid-journey;
the machine's shared Redis is never touched.
"""

from __future__ import annotations

import copy
import re
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from common import roles
from common.models import User
from config.celery import app as celery_app
from intake.models import Referral
from notifications.models import Notification
from notifications.publisher import publisher
from tests import factories
from tests.intake.walk import MINIMAL, post_step, step_url, submit, walk
from tests.notifications.conftest import FAST_RECOVERY, smtp_sink, start_worker, wait_for
from tests.support.services import RedisServer
from tests.support.two_factor import authenticator_for, next_code

__all__ = ["smtp_sink", "start_worker"]  # fixtures used here, defined with the notifications

pytestmark = pytest.mark.services

PASSWORD = "correct horse battery staple"
# Far longer than a page takes with Redis up, and far shorter than a stalled connection.
SLOW_PAGE_SECONDS = 2.0


@contextmanager
def celery_broker(url: str):
    """Point this process's Celery app (the web side's publisher) at another broker."""
    conf = celery_app.conf
    before = conf.broker_url

    def reconnect(to: str) -> None:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        conf.broker_url = to
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reconnect(url)
    try:
        yield
    finally:
        reconnect(before)


@pytest.fixture
def private_redis(tmp_path, settings):
    """A private redis-server as this process's cache and broker, configured as settings.py
    configures the shared one (same backend and options, another address)."""
    server = RedisServer(tmp_path)
    server.start()
    caches = copy.deepcopy(django_settings.CACHES)
    caches["default"]["LOCATION"] = server.url
    settings.CACHES = caches
    settings.REDIS_URL = server.url
    settings.CELERY_BROKER_URL = server.url
    try:
        with celery_broker(server.url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def staff_links(html: str) -> list[str]:
    """The staff pages a page links to (GET only: links, not forms)."""
    found = []
    for href in re.findall(r'href="([^"#]+)"', html):
        path = urlsplit(href).path
        if path.startswith("/staff/") and path != reverse("staff-logout") and path not in found:
            found.append(path)
    return found


def sign_in(client: Client, username: str):
    """The password, then (if it was right) the code from the member's authenticator app."""
    response = client.post(reverse("staff-login"), {"username": username, "password": PASSWORD})
    if response.status_code != 302:
        return response
    device = authenticator_for(User.objects.get(username=username))
    return client.post(response["Location"], {"code": next_code(device)})


def crawl_staff_pages(client: Client) -> dict[str, int]:
    """Every staff page reachable from the staff home in two clicks, with its status."""
    seen: dict[str, int] = {}
    frontier = [reverse("staff-home")]
    for _depth in range(3):
        following = []
        for path in frontier:
            if path in seen:
                continue
            response, took = timed(client.get, path)
            seen[path] = response.status_code
            assert took < SLOW_PAGE_SECONDS, f"{path} took {took:.1f}s with Redis down"
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                following += staff_links(response.text)
        frontier = following
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_self_referral_and_the_staff_site_work_while_redis_is_down(
    private_redis,
    referral_service,
    start_worker,
    smtp_sink,
):
    # One member of staff for each staff role (the partner role has no pages).
    people = [
        factories.UserFactory(username=f"staff-{n}", service=referral_service, roles=[role])
        for n, role in enumerate(roles.STAFF)
    ]
    worker = start_worker(name="private", redis_url=private_redis.url, env=FAST_RECOVERY, beat=True)
    public = Client()
    public.get(reverse("refer-start"))
    walk(public, MINIMAL, stop_before="contact")  # halfway through, with Redis up

    private_redis.stop()

    # The rest of the journey: every page answers, and nothing typed so far is lost.
    start, took = timed(public.get, reverse("refer-start"))
    assert start.status_code == 200
    assert took < SLOW_PAGE_SECONDS
    about = public.get(step_url("about"))
    assert about.status_code == 200 and 'value="Robin"' in about.text
    rest = {step: data for step, data in MINIMAL.items() if step not in ("safety", "about")}
    walk(public, rest)
    check = public.get(step_url("check"))
    assert check.status_code == 200 and "Ashdown" in check.text
    response, took = timed(submit, public)
    assert response.status_code == 302 and response.url == reverse("refer-confirmation")
    assert took < SLOW_PAGE_SECONDS
    referral = Referral.objects.get()
    assert referral.reference in public.get(response.url).text

    # The acknowledgement waits in the outbox, not lost with the broker.
    assert publisher.flush(timeout=10)
    acknowledgement = Notification.objects.get(referral=referral, kind="acknowledgement")
    assert acknowledgement.status == Notification.Status.QUEUED
    assert smtp_sink.received() == []

    # Health: alive, but not ready, and it says why.
    assert public.get("/healthz").status_code == 200
    ready = public.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"]["ok"] is False

    # Staff sign in and open every page their home leads to.
    for person in people:
        staff = Client()
        assert staff.get(reverse("staff-login")).status_code == 200
        signed_in, took = timed(sign_in, staff, person.username)
        assert signed_in.status_code == 302, f"{person.username} could not sign in"
        assert took < SLOW_PAGE_SECONDS
        pages = crawl_staff_pages(staff)
        assert len(pages) > 1, f"{person.username} saw no staff pages"
        broken = {path: status for path, status in pages.items() if status not in (200, 302)}
        assert broken == {}, f"{person.username}: {broken}"
        if person.has_role(roles.COORDINATOR):
            # Asking for an allocation run publishes to the broker in the request.
            run, took = timed(staff.post, reverse("allocation-run-start"), follow=True)
            assert run.status_code == 200 and took < SLOW_PAGE_SECONDS
        assert staff.post(reverse("staff-logout")).status_code == 302
        assert staff.get(reverse("staff-home")).status_code == 302  # signed out for good

    # A wrong password still counts towards the lockout, without Redis.
    wrong = Client()
    refusals = [
        wrong.post(reverse("staff-login"), {"username": people[0].username, "password": "no"})
        for _ in range(django_settings.AXES_FAILURE_LIMIT)
    ]
    assert "There is a problem" in refusals[0].text
    locked = sign_in(wrong, people[0].username)
    assert locked.status_code == 429

    # Redis is back (empty: it kept nothing). The sweeper publishes the row; it is sent.
    private_redis.start()
    assert wait_for(
        lambda: Notification.objects.get(pk=acknowledgement.pk).status == Notification.Status.SENT,
        timeout=90,
    ), f"not sent after Redis came back; see {worker.log_path}"
    [received] = smtp_sink.received()
    assert received["To"] == "robin@example.com"


@pytest.mark.django_db(transaction=True)
def test_saving_and_resuming_a_referral_work_while_redis_is_down(private_redis, referral_service):
    public = Client()
    walk(public, MINIMAL, stop_before="contact")
    private_redis.stop()

    saved = post_step(
        public, "contact", {"email": "robin@example.com", "email_ok": "yes"}, save_draft="1"
    )
    assert saved.status_code == 302 and saved.url == reverse("refer-saved")
    # The resume email waits in the outbox for Redis to come back.
    [resume_email] = Notification.objects.filter(kind="draft_resume_link")
    assert resume_email.status == Notification.Status.QUEUED
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", public.get(saved.url).text)[0]

    later = Client()
    resumed = later.post(reverse("refer-resume"), {"code": code})
    assert resumed.status_code == 302
    about = later.get(step_url("about"))
    assert about.status_code == 200 and 'value="Ashdown"' in about.text

    # The rate limit still holds (in this process) while Redis is down.
    guesses = [
        later.post(reverse("refer-resume"), {"code": "AAAA-BBBB-CCCC"}).text for _ in range(12)
    ]
    assert "Too many tries" in guesses[-1]
