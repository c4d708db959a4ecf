"""The NHS.UK frontend's scripts in real headless Chromium: they run without a console
error on public and staff pages, an error summary takes focus on every self-referral step
that can fail, a character count follows what is typed, and axe-core finds nothing (any
impact, best practices included) on the public pages and each role's home and lists."""

from __future__ import annotations

import pytest

from common import roles
from tests import factories
from tests.browser.conftest import assert_accessible, console_errors, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def scripts_ran(page) -> bool:
    return page.evaluate("document.body.classList.contains('nhsuk-frontend-supported')")


def test_scripts_run_without_errors_on_a_public_and_a_staff_page(page, live_server, assessor):
    for path in ("/", "/refer/"):
        page.goto(path)
        assert scripts_ran(page), path
    sign_in(page, live_server, assessor)
    page.goto("/staff/")
    assert scripts_ran(page)
    assert console_errors(page) == []


def press_continue(page) -> None:
    with page.expect_navigation():
        page.locator("button.nhsuk-button:not(.nhsuk-button--secondary)").click()


def fails_with_focus_on_the_summary(page, step: str) -> None:
    press_continue(page)
    assert page.url.endswith(f"/refer/{step}/"), page.url
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible(), step
    focused = page.evaluate(
        "document.activeElement && document.activeElement.classList.contains('nhsuk-error-summary')"
    )
    assert focused, f"{step}: focus is not on the error summary"
    assert page.title().startswith("Error: "), step
    assert_accessible(page, f"60-{step}-errors")


def test_every_step_that_can_fail_puts_focus_on_the_error_summary(page):
    page.goto("/refer/safety/")
    fails_with_focus_on_the_summary(page, "safety")
    page.check("#id_safety-safe_now_0")
    page.check("#id_safety-age_ok_0")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "about")
    page.fill("#id_about-given_name", "Robin")
    page.fill("#id_about-family_name", "Ashdown")
    page.fill("#id_about-date_of_birth_day", "17")
    page.fill("#id_about-date_of_birth_month", "5")
    page.fill("#id_about-date_of_birth_year", "1990")
    press_continue(page)

    page.check("#id_gender-gender_identity_3")
    page.fill("#id_gender-gender_self_described", "z" * 101)
    fails_with_focus_on_the_summary(page, "gender")
    assert page.input_value("#id_gender-gender_self_described") == "z" * 101
    page.fill("#id_gender-gender_self_described", "Agender")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "contact")
    page.check("#id_contact-email_ok_0")
    page.fill("#id_contact-email", "robin@example.com")
    press_continue(page)

    page.fill("#id_contact-preferences-safe_contact_times", "x" * 201)
    fails_with_focus_on_the_summary(page, "contact-preferences")
    page.fill("#id_contact-preferences-safe_contact_times", "Not before 10am")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "gp")
    page.check("#id_gp-gp_registered_2")
    press_continue(page)

    page.fill("#id_difficulties-presenting_problem", "x" * 2001)
    fails_with_focus_on_the_summary(page, "difficulties")
    assert "2000 characters or fewer" in page.content()
    page.fill("#id_difficulties-presenting_problem", "Hard to let people close.")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "questionnaires")
    page.check("#id_questionnaires-answer_now_0")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "phq9")
    for item in range(1, 10):
        page.check(f"#id_phq9-item_{item}_0")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "gad7")
    for item in range(1, 8):
        page.check(f"#id_gad7-item_{item}_0")
    press_continue(page)

    page.check("#id_preferences-interpreter_needed_0")  # yes, but no language given
    fails_with_focus_on_the_summary(page, "preferences")
    page.check("#id_preferences-interpreter_needed_1")
    press_continue(page)

    fails_with_focus_on_the_summary(page, "consent")
    page.check("#id_consent-outcome_data_0")
    page.check("#id_consent-answers_own")
    press_continue(page)
    assert page.url.endswith("/refer/check/")


def test_a_character_count_follows_what_is_typed(page):
    page.goto("/refer/safety/")
    page.check("#id_safety-safe_now_0")
    page.check("#id_safety-age_ok_0")
    press_continue(page)
    page.fill("#id_about-given_name", "Robin")
    page.fill("#id_about-family_name", "Ashdown")
    page.fill("#id_about-date_of_birth_day", "17")
    page.fill("#id_about-date_of_birth_month", "5")
    page.fill("#id_about-date_of_birth_year", "1990")
    press_continue(page)
    press_continue(page)  # gender and pronouns: nothing needed
    assert page.url.endswith("/refer/contact/")
    page.check("#id_contact-letters_ok_0")  # reveals the address
    status = page.locator(
        "[data-module='nhsuk-character-count']:has(#id_contact-address)"
        " .nhsuk-character-count__status"
    )
    assert status.text_content().strip() == "You have 500 characters remaining"
    page.locator("#id_contact-address").press_sequentially("1 Mill Lane")
    page.wait_for_function(
        "el => el.textContent.includes('489 characters remaining')",
        arg=status.element_handle(),
        timeout=5000,
    )
    page.locator("#id_contact-address").fill("y" * 505)
    page.wait_for_function(
        "el => el.textContent.includes('5 characters too many')",
        arg=status.element_handle(),
        timeout=5000,
    )
    assert page.locator("#id_contact-address").input_value() == "y" * 505  # nothing cut off
    assert console_errors(page) == []


def test_a_reveal_opens_when_its_answer_is_chosen(page):
    page.goto("/refer/safety/")
    page.check("#id_safety-safe_now_0")
    page.check("#id_safety-age_ok_0")
    press_continue(page)
    page.fill("#id_about-given_name", "Robin")
    page.fill("#id_about-family_name", "Ashdown")
    page.fill("#id_about-date_of_birth_day", "17")
    page.fill("#id_about-date_of_birth_month", "5")
    page.fill("#id_about-date_of_birth_year", "1990")
    press_continue(page)
    press_continue(page)
    assert page.url.endswith("/refer/contact/")
    for question, detail in (
        ("email_ok", "email"),
        ("mobile_ok", "mobile_phone"),
        ("landline_call_ok", "landline_phone"),
        ("letters_ok", "address"),
    ):
        yes, no = f"#id_contact-{question}_0", f"#id_contact-{question}_1"
        assert page.is_hidden(f"#id_contact-{detail}"), detail
        assert page.get_attribute(yes, "aria-controls") == f"conditional-{yes[1:]}"
        page.check(yes)
        assert page.is_visible(f"#id_contact-{detail}"), detail
        page.check(no)
        assert page.is_hidden(f"#id_contact-{detail}"), detail
    page.check("#id_contact-mobile_ok_0")
    assert page.is_visible("#id_contact-mobile_uses_1")  # texts and calls, under the number
    assert_accessible(page, "72-contact-revealed")
    assert console_errors(page) == []


PUBLIC_PAGES = ["/", "/refer/", "/refer/safety/", "/refer/resume/", "/staff/login/"]


def test_public_pages_have_no_axe_violations_of_any_impact(page):
    for number, path in enumerate(PUBLIC_PAGES):
        page.goto(path)
        assert_accessible(page, f"70-public-{number}")


ROLE_PAGES = {
    roles.ASSESSOR: ["/staff/", "/staff/referrals/", "/staff/assessments/", "/staff/messages/"],
    roles.COORDINATOR: [
        "/staff/",
        "/staff/referrals/",
        "/staff/allocation/",
        "/staff/therapy/",
        "/staff/therapists/",
        "/staff/messages/",
        "/staff/messages/print/",
    ],
    roles.THERAPIST: ["/staff/", "/staff/referrals/", "/staff/clients/", "/staff/messages/"],
    roles.SERVICE_ADMIN: ["/staff/", "/staff/referrals/", "/staff/therapists/", "/staff/audit/"],
}


@pytest.mark.parametrize("role", sorted(ROLE_PAGES))
def test_each_roles_home_and_lists_have_no_axe_violations(page, live_server, service, role):
    slug = role.lower().replace(" ", "-")
    user = factories.UserFactory(username=f"u-{slug}", service=service, roles=[role])
    factories.ReferralFactory(client__service=service)
    sign_in(page, live_server, user)
    for number, path in enumerate(ROLE_PAGES[role]):
        response = page.goto(path)
        assert response.status == 200, (role, path, response.status)
        assert_accessible(page, f"71-{slug}-{number}")


def test_a_message_preview_has_no_axe_violations(page, live_server, service, coordinator):
    from tests.notifications.people import make_referral

    referral = make_referral(service, agreed=("email",), preferred="email")
    sign_in(page, live_server, coordinator)
    for kind in ("acknowledgement", "gp_letter"):
        response = page.goto(f"/staff/referrals/{referral.public_id}/messages/preview/{kind}/")
        assert response.status == 200, (kind, response.status)
        assert_accessible(page, f"72-message-preview-{kind}")
