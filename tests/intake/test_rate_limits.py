"""Rate limits on the public self-referral pages: per client address (from trusted proxy
hops only) and per email or phone typed, counted in the shared cache; over a limit, a 429
page that says when to try again and where to get help now, and nothing entered is lost."""

from __future__ import annotations

from types import SimpleNamespace

import django_ratelimit.core
import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from intake.models import Referral, ReferralDraft
from tests.intake.walk import MINIMAL, post_step, step_url, submit, walk

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.5"


@pytest.fixture(autouse=True)
def _clock_held_still(monkeypatch):
    """The counting windows are fixed ones: hold their clock still so none ends mid-test."""
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1_800_000_000))


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    settings.TRUSTED_PROXY_COUNT = 0
    return service


def answers(email: str) -> dict:
    return {**MINIMAL, "contact": {"email": email, "email_ok": "yes"}}


def refer(client, email: str):
    walk(client, answers(email))
    return submit(client)


def assert_rate_limited_page(response):
    assert response.status_code == 429
    page = response.text
    assert "Too many tries" in page and "try again" in page
    assert int(response["Retry-After"]) > 0
    # Crisis help for anyone at risk who cannot send their referral now.
    assert "116 123" in page and "999" in page and "NHS 111" in page


def test_the_shared_redis_cache_counts_in_tests():
    if django_settings.REDIS_URL:
        assert type(caches["default"]).__module__ == "common.cache"


def test_referrals_from_one_address_are_limited_and_nothing_is_lost(settings):
    settings.RATE_REFERRAL_PER_ADDRESS = "2/h"
    for n in range(2):
        assert refer(Client(REMOTE_ADDR="198.51.100.1"), f"p{n}@example.com").status_code == 302

    third = Client(REMOTE_ADDR="198.51.100.1")
    refused = refer(third, "p3@example.com")

    assert_rate_limited_page(refused)
    assert "send your referral after" in refused.text
    assert Referral.objects.count() == 2
    # The answers are still there: the check page shows them, and once the limit is
    # over, the same journey sends.
    assert "Ashdown" in third.get(step_url("check")).text
    settings.RATE_REFERRAL_PER_ADDRESS = "5/h"
    assert submit(third).url == reverse("refer-confirmation")
    assert Referral.objects.count() == 3


def test_another_address_can_still_refer(settings):
    settings.RATE_REFERRAL_PER_ADDRESS = "1/h"
    assert refer(Client(REMOTE_ADDR="198.51.100.1"), "a@example.com").status_code == 302
    assert refer(Client(REMOTE_ADDR="198.51.100.2"), "b@example.com").status_code == 302


def test_a_forged_forwarded_header_does_not_escape_the_limit(settings):
    settings.RATE_REFERRAL_PER_ADDRESS = "1/h"
    first = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert refer(first, "a@example.com").status_code == 302
    forged = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert_rate_limited_page(refer(forged, "b@example.com"))


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_REFERRAL_PER_ADDRESS = "1/h"
    one = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert refer(one, "a@example.com").status_code == 302
    other = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert refer(other, "b@example.com").status_code == 302
    # The same client again, with a forged address in front: the proxy's entry counts.
    again = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1")
    assert_rate_limited_page(refer(again, "c@example.com"))


def test_referrals_for_one_email_are_limited_from_any_address(settings):
    settings.RATE_REFERRAL_PER_CONTACT = "1/h"
    assert refer(Client(REMOTE_ADDR="198.51.100.1"), "robin@example.com").status_code == 302
    refused = refer(Client(REMOTE_ADDR="198.51.100.2"), "Robin@Example.com ")
    assert_rate_limited_page(refused)
    assert Referral.objects.count() == 1


def test_save_for_later_is_limited_per_email_and_keeps_the_page_typed(settings):
    settings.RATE_SAVE_PER_CONTACT = "1/h"
    first = Client(REMOTE_ADDR="198.51.100.1")
    walk(first, answers("robin@example.com"), stop_before="gp")
    assert post_step(first, "gp", {}, save_draft="1").url == reverse("refer-saved")

    second = Client(REMOTE_ADDR="198.51.100.2")
    walk(second, answers("robin@example.com"), stop_before="difficulties")
    refused = post_step(
        second, "difficulties", {"presenting_problem": "Half a sentence"}, save_draft="1"
    )

    assert_rate_limited_page(refused)
    assert ReferralDraft.objects.count() == 1
    assert step_url("difficulties") in refused.text  # back to the answers
    assert "Half a sentence" in second.get(step_url("difficulties")).text


def test_save_for_later_is_limited_per_address(settings):
    settings.RATE_SAVE_PER_ADDRESS = "1/h"
    client = Client(REMOTE_ADDR="198.51.100.1")
    walk(client, MINIMAL, stop_before="gp")
    assert post_step(client, "gp", {}, save_draft="1").url == reverse("refer-saved")
    walk(client, MINIMAL, stop_before="gp")
    assert_rate_limited_page(post_step(client, "gp", {}, save_draft="1"))


def test_resume_code_entry_is_limited_per_address(settings):
    settings.RATE_RESUME_PER_ADDRESS = "2/h"
    guesser = Client(REMOTE_ADDR="198.51.100.1")
    for _ in range(2):
        guess = guesser.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"})
        assert guess.status_code == 400
    refused = guesser.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"})
    assert_rate_limited_page(refused)
    assert "code" in refused.text
    # Reading the page is not a try.
    assert guesser.get(reverse("refer-resume")).status_code == 200
    other = Client(REMOTE_ADDR="198.51.100.2")
    assert other.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"}).status_code == 400


def test_moving_between_steps_is_not_counted(settings):
    settings.RATE_REFERRAL_PER_ADDRESS = "1/h"
    settings.RATE_SAVE_PER_ADDRESS = "1/h"
    client = Client(REMOTE_ADDR="198.51.100.1")
    for _ in range(3):
        walk(client, MINIMAL, stop_before="consent")
    walk(client, MINIMAL)
    assert submit(client).url == reverse("refer-confirmation")


def test_the_limits_hold_with_the_embedded_in_memory_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.RATE_RESUME_PER_ADDRESS = "1/h"
    client = Client(REMOTE_ADDR="198.51.100.1")
    assert client.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"}).status_code == 400
    assert_rate_limited_page(client.post(reverse("refer-resume"), {"code": "BCDF-GHJK-MNPQ"}))


def test_pressing_send_again_after_the_referral_is_not_counted(settings):
    settings.RATE_REFERRAL_PER_ADDRESS = "1/h"
    client = Client(REMOTE_ADDR="198.51.100.1")
    assert refer(client, "a@example.com").url == reverse("refer-confirmation")
    assert submit(client).url == reverse("refer-confirmation")
    assert Referral.objects.count() == 1
