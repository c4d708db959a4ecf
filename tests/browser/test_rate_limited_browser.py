"""The "Too many tries" page in real headless Chromium, with axe-core."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    settings.RATE_RESUME_PER_ADDRESS = "1/h"
    return service


def enter_code(page) -> None:
    page.goto("/refer/resume/")
    page.fill("input[name='code']", "BCDF-GHJK-MNPQ")
    with page.expect_navigation():
        page.click("button.nhsuk-button")


def test_the_rate_limited_page_is_accessible_and_offers_crisis_help(page):
    enter_code(page)
    enter_code(page)

    assert page.locator("h1").inner_text().startswith("Too many tries")
    assert page.get_by_text("116 123").count() >= 1
    assert_accessible(page, "rate-limited")
