"""The reporting page's figures kept in the cache for REPORTING_CACHE_SECONDS, per service,
range and section (docs/reporting.md, "Speed"); the page says when they were worked out."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import redis
from django.core.cache.backends.base import BaseCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reporting.forms import range_params
from reporting.selectors import Period
from tests.reporting.conftest import PERIOD, finished_referrals

pytestmark = pytest.mark.django_db

D = dt.date
FIGURES_AS_AT = re.compile(r"Figures as at \d\d:\d\d\.")


class BrokenCache(BaseCache):
    """A cache whose every read and write fails as a cache server that cannot be reached
    does, passed on by the backend (as a plain Redis backend would)."""

    error: type[Exception] = redis.ConnectionError

    def __init__(self, location, params):
        super().__init__(params)

    def _fail(self):
        raise self.error("the cache cannot be reached")

    def get(self, key, default=None, version=None):
        self._fail()

    def set(self, key, value, timeout=None, version=None):
        self._fail()

    def add(self, key, value, timeout=None, version=None):
        self._fail()

    def delete(self, key, version=None):
        self._fail()

    def clear(self):
        self._fail()


class TimingOutCache(BrokenCache):
    error = redis.TimeoutError


class BuggyCache(BrokenCache):
    """A cache that fails with an error no outage explains: a bug, which must not be hidden."""

    error = TypeError


def load(client, period: Period = PERIOD):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reporting-report"), range_params(period))
    assert response.status_code == 200
    return response, len(queries)


def test_a_second_load_in_the_time_makes_fewer_queries_and_shows_the_same_figures(
    client, coordinator, therapist_user, world, settings
):
    settings.REPORTING_CACHE_SECONDS = 300
    client.force_login(coordinator)
    first, first_queries = load(client)
    page = first.content.decode()
    assert "6 referrals received, 50% of them self-referrals." in page
    assert FIGURES_AS_AT.search(page)

    # Referrals added in the meantime are not counted until the figures expire.
    finished_referrals(coordinator.service, therapist_user, 3)
    second, second_queries = load(client)
    assert second_queries < first_queries
    assert second.context["report"].sections == first.context["report"].sections
    assert second.context["report"].as_at == first.context["report"].as_at
    assert "6 referrals received, 50% of them self-referrals." in second.content.decode()


def test_with_the_setting_0_every_load_works_the_figures_out(
    client, coordinator, therapist_user, world, settings
):
    settings.REPORTING_CACHE_SECONDS = 0
    client.force_login(coordinator)
    _, first_queries = load(client)
    finished_referrals(coordinator.service, therapist_user, 3)
    second, second_queries = load(client)
    assert second_queries == first_queries
    assert "9 referrals received" in second.content.decode()


def test_another_service_never_gets_the_cached_figures(
    client, coordinator, other_staff, world, settings
):
    settings.REPORTING_CACHE_SECONDS = 300
    client.force_login(coordinator)
    _, worked_out = load(client)
    client.force_login(other_staff)
    theirs, their_queries = load(client)
    page = theirs.content.decode()
    assert "1 referral received, 100% of them self-referrals." in page
    assert "6 referrals received" not in page and "Casey Elsewhere" in page
    assert their_queries >= worked_out - 2  # worked out, not read from the cache


def test_another_range_never_gets_the_cached_figures(client, coordinator, world, settings):
    settings.REPORTING_CACHE_SECONDS = 300
    client.force_login(coordinator)
    whole, _ = load(client)
    assert "6 referrals received" in whole.content.decode()
    first_week, _ = load(client, Period(D(2026, 1, 5), D(2026, 1, 11)))
    page = first_week.content.decode()
    assert "3 referrals received" in page  # R1, R2 and R7
    assert first_week.context["report"].sections != whole.context["report"].sections


def test_a_charts_csv_shares_the_pages_cached_figures(
    client, coordinator, therapist_user, world, settings
):
    settings.REPORTING_CACHE_SECONDS = 300
    client.force_login(coordinator)
    url = reverse("reporting-referrals-csv")
    load(client)
    finished_referrals(coordinator.service, therapist_user, 3)
    cached = client.get(url, range_params(PERIOD)).content.decode()
    settings.REPORTING_CACHE_SECONDS = 0
    fresh = client.get(url, range_params(PERIOD)).content.decode()
    assert cached != fresh  # the cached table does not yet count the three new referrals


@pytest.mark.parametrize(
    "backend",
    [
        # Redis unreachable: the project's tolerant backend answers from memory.
        {"BACKEND": "common.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/15"},
        # A cache that cannot be reached, or times out, and says so: the figures are
        # worked out on every load.
        {"BACKEND": "tests.reporting.test_cache.BrokenCache"},
        {"BACKEND": "tests.reporting.test_cache.TimingOutCache"},
    ],
    ids=["redis-unreachable", "cache-unreachable", "cache-timing-out"],
)
def test_with_the_cache_down_the_page_and_csv_still_answer(
    client, coordinator, world, settings, backend, caplog
):
    settings.REPORTING_CACHE_SECONDS = 300
    settings.CACHES = {"default": {**backend, "OPTIONS": {}}}
    client.force_login(coordinator)
    for _ in range(2):
        response, _ = load(client)
        assert "6 referrals received, 50% of them self-referrals." in response.content.decode()
        assert FIGURES_AS_AT.search(response.content.decode())
    csv = client.get(reverse("reporting-outcomes-csv"), range_params(PERIOD))
    assert csv.status_code == 200 and csv.content
    if backend["BACKEND"] != "common.cache.RedisCache":
        logged = [r.getMessage() for r in caplog.records if r.name == "threshold.reporting"]
        assert any("cache read failed" in message for message in logged)
        assert any("cache write failed" in message for message in logged)


def test_an_error_from_the_cache_that_is_not_an_outage_is_not_hidden(
    client, coordinator, world, settings
):
    """Only a cache that cannot be reached is worked around: any other error is a bug, and
    the page fails with it rather than quietly working every figure out on every load."""
    settings.REPORTING_CACHE_SECONDS = 300
    settings.CACHES = {
        "default": {"BACKEND": "tests.reporting.test_cache.BuggyCache", "OPTIONS": {}}
    }
    client.force_login(coordinator)
    with pytest.raises(TypeError):
        client.get(reverse("reporting-report"), range_params(PERIOD))
    with pytest.raises(TypeError):
        client.get(reverse("reporting-outcomes-csv"), range_params(PERIOD))
