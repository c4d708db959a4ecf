"""The self-referral in real headless Chromium: keyboard only, axe-core on every step."""

from __future__ import annotations

import pytest

from intake.models import Referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the element is focused: proves it is reachable by keyboard."""
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} never received focus by Tab")


def choose(page, name: str, position: int = 0) -> None:
    """Select a radio by keyboard: tab into the group, arrow to the option, space."""
    for _ in range(150):
        page.keyboard.press("Tab")
        if page.evaluate("n => document.activeElement.name === n", name):
            break
    else:
        raise AssertionError(f"radio group {name} never received focus by Tab")
    radios = page.locator(f"[name='{name}']")
    focused = radios.evaluate_all("els => els.indexOf(document.activeElement)")
    for _ in range(position - focused):
        page.keyboard.press("ArrowDown")
    for _ in range(focused - position):
        page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    assert radios.nth(position).is_checked()


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def tick(page, selector: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Space")


def continue_by_keyboard(page, name: str) -> None:
    assert_accessible(page, name)
    tab_to(page, "button.nhsuk-button:not(.nhsuk-button--secondary)")
    with page.expect_navigation():
        page.keyboard.press("Enter")


from tests.browser.conftest import assert_accessible  # noqa: E402


def test_keyboard_only_walk_through_with_no_accessibility_violations(page):
    page.goto("/refer/")
    assert_accessible(page, "00-start")
    tab_to(page, "a.nhsuk-button")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    choose(page, "safety-safe_now", 0)
    choose(page, "safety-age_ok", 0)
    continue_by_keyboard(page, "01-safety")

    type_into(page, "#id_about-given_name", "Robin")
    type_into(page, "#id_about-family_name", "Ashdown")
    type_into(page, "#id_about-date_of_birth_day", "17")
    type_into(page, "#id_about-date_of_birth_month", "5")
    type_into(page, "#id_about-date_of_birth_year", "1990")
    continue_by_keyboard(page, "02-about")

    choose(page, "gender-gender_identity", 3)  # "I describe it another way" reveals a box
    type_into(page, "#id_gender-gender_self_described", "Agender")
    continue_by_keyboard(page, "02b-gender")

    choose(page, "contact-email_ok", 0)  # "Yes" reveals the address box
    type_into(page, "#id_contact-email", "robin@example.com")
    continue_by_keyboard(page, "03-contact")
    continue_by_keyboard(page, "03b-contact-preferences")

    choose(page, "gp-gp_registered", 2)
    continue_by_keyboard(page, "04-gp")

    type_into(page, "#id_difficulties-presenting_problem", "Hard to let people close.")
    continue_by_keyboard(page, "05-difficulties")

    choose(page, "questionnaires-answer_now", 0)
    continue_by_keyboard(page, "06-questionnaires")

    for item in range(1, 10):
        choose(page, f"phq9-item_{item}", 1 if item != 9 else 0)
    continue_by_keyboard(page, "07-phq9")
    for item in range(1, 8):
        choose(page, f"gad7-item_{item}", 4 if item == 3 else 1)
    continue_by_keyboard(page, "08-gad7")

    choose(page, "preferences-mode", 2)
    tick(page, "#id_preferences-availability_2")
    continue_by_keyboard(page, "09-preferences")

    choose(page, "consent-outcome_data", 0)
    tick(page, "#id_consent-answers_own")
    continue_by_keyboard(page, "10-consent")

    assert "Check your answers" in page.content()
    continue_by_keyboard(page, "11-check")

    assert "Referral sent" in page.content()
    assert_accessible(page, "12-confirmation")
    referral = Referral.objects.get()
    assert referral.reference in page.content()
    assert referral.measure_responses.count() == 2
    assert referral.client.gender_identity == "Agender"
    assert referral.client.email == "robin@example.com"


def test_error_pages_are_accessible_and_link_to_the_field(page):
    page.goto("/refer/safety/")
    continue_by_keyboard(page, "20-safety-empty")
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert_accessible(page, "21-safety-errors")
    # The summary's first link moves focus to the field it names.
    page.locator(".nhsuk-error-summary a").first.click()
    assert page.evaluate("document.activeElement.name") == "safety-safe_now"


def test_crisis_page_and_ineligible_page_are_accessible(page):
    page.goto("/refer/safety/")
    choose(page, "safety-safe_now", 1)
    choose(page, "safety-age_ok", 0)
    continue_by_keyboard(page, "30-safety-not-safe")
    assert "Getting help now" in page.content()
    assert_accessible(page, "31-urgent-help")

    page.goto("/refer/safety/")
    choose(page, "safety-safe_now", 0)
    choose(page, "safety-age_ok", 1)
    continue_by_keyboard(page, "32-safety-under-age")
    assert "may not be the right one" in page.content()
    assert_accessible(page, "33-ineligible")


def test_pages_work_without_javascript(browser, live_server, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/refer/safety/")
    page.check("#id_safety-safe_now_0")
    page.check("#id_safety-age_ok_0")
    page.click("button:has-text('Continue')")
    assert page.url.endswith("/refer/about/")
    page.fill("#id_about-given_name", "Robin")
    page.fill("#id_about-family_name", "Ashdown")
    page.fill("#id_about-date_of_birth_day", "17")
    page.fill("#id_about-date_of_birth_month", "5")
    page.fill("#id_about-date_of_birth_year", "1990")
    page.click("button:has-text('Continue')")
    # Without scripts, what a choice reveals is on the page and can be filled in.
    assert page.is_visible("#id_gender-gender_self_described")
    page.click("button:has-text('Continue')")
    assert page.url.endswith("/refer/contact/")
    assert page.is_visible("#id_contact-email") and page.is_visible("#id_contact-address")
    page.check("#id_contact-email_ok_0")
    page.fill("#id_contact-email", "robin@example.com")
    page.check("#id_contact-letters_ok_1")
    page.fill("#id_contact-address", "Typed, then No chosen")
    page.click("button:has-text('Continue')")
    assert page.url.endswith("/refer/contact-preferences/")
    page.goto("/refer/contact/")
    assert page.input_value("#id_contact-address") == ""  # not kept under "No"
    context.close()
