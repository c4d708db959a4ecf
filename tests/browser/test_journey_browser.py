"""One referral's whole journey in real headless Chromium: a client refers themselves at
/refer/, an assessor finds, books and finishes the assessment, a coordinator accepts the
allocation engine's proposal, and the therapist (the profile's linked sign-in) opens the
client, sees the plan and records the first attended session, so the referral is in therapy.

Every page on the way is screenshotted into test-artifacts/screenshots/journey/ (kept as CI
artefacts) and must pass axe-core (WCAG 2.2 AA and best practices, any impact) with no console
error. The staff part runs twice: once with the mouse, once with the keyboard alone (Tab,
Shift+Tab, Enter, Space and the arrow keys), checking that focus is always visible, that the
skip link works and that an error summary takes focus after a failed submit. The client's
wizard by keyboard alone is test_self_referral_browser.py's walk, not repeated here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from allocation import services as allocation_services
from allocation.models import Allocation
from assessment.models import Assessment
from intake.models import Referral
from tests import factories
from tests.allocation.conftest import make_therapist, run_queued
from tests.browser.conftest import assert_accessible
from tests.support.two_factor import authenticator_for, next_code
from therapy.models import Therapy, TherapySession

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's

# Focus is visible when the NHS.UK focus colour (#ffeb3b) shows on the element, or on the
# box its label draws for a radio or checkbox.
FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const yellow = value => (value || "").includes("rgb(255, 235, 59)");
  const shows = style => yellow(style.boxShadow) || yellow(style.backgroundColor)
    || (style.outlineStyle !== "none" && yellow(style.outlineColor));
  if (shows(getComputedStyle(el))) return true;
  for (const label of el.labels || []) {
    if (shows(getComputedStyle(label, "::before")) || shows(getComputedStyle(label, "::after"))) {
      return true;
    }
  }
  return false;
}"""


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


@pytest.fixture
def held_back(monkeypatch):
    """Proposal runs stay queued until the test runs them, as a worker would."""
    monkeypatch.setattr(allocation_services, "_publish", lambda run_id: None)


@pytest.fixture
def team(service, assessor, coordinator):
    """The assessor and coordinator, and a therapist profile (psychodynamic, weekly) linked to
    a sign-in, free on Tuesday evenings by video: what the client will say suits them."""
    therapist = make_therapist(
        service,
        [],
        [(1, "18:00", None), (3, "18:00", None)],
        display_name="Ada Lewis",
        capacity=3,
        user=factories.UserFactory(
            username="ada",
            first_name="Ada",
            last_name="Lewis",
            service=service,
            roles=["Therapist"],
        ),
    )
    return {"assessor": assessor, "coordinator": coordinator, "therapist": therapist}


# --- Driving the pages ----------------------------------------------------------------------


class Walk:
    """Numbered, checked screenshots, and the actions a person takes: with the mouse, or with
    the keyboard alone."""

    def __init__(self, page, folder: str, *, keyboard: bool) -> None:
        self.page = page
        page.set_default_timeout(10_000)
        self.folder = folder
        self.keyboard = keyboard
        self.count = 0

    def look(self, name: str) -> None:
        self.count += 1
        assert_accessible(self.page, f"{self.folder}/{self.count:02d}-{name}")

    # Keyboard primitives.

    def focus_visible(self) -> bool:
        return self.page.evaluate(FOCUS_VISIBLE)

    def tab_to(self, locator, limit: int = 250) -> None:
        """Tab (Shift+Tab to go back up the page) until the element has focus, proving it is
        reachable, and check that focus shows."""
        target = locator.first
        target.wait_for(state="visible")
        behind = target.evaluate(
            "el => document.activeElement !== document.body && !!(el.compareDocumentPosition("
            "document.activeElement) & Node.DOCUMENT_POSITION_FOLLOWING)"
        )
        key = "Shift+Tab" if behind else "Tab"
        for _ in range(limit):
            self.page.keyboard.press(key)
            if target.evaluate("el => el === document.activeElement"):
                assert self.focus_visible(), f"focus is not visible on {locator}"
                return
        raise AssertionError(f"{locator} never received focus by {key}")

    def _radio(self, target) -> None:
        name = target.get_attribute("name")
        for _ in range(250):
            self.page.keyboard.press("Tab")
            if self.page.evaluate("n => document.activeElement.name === n", name):
                break
        else:
            raise AssertionError(f"radio group {name} never received focus by Tab")
        assert self.focus_visible(), f"focus is not visible on the radio group {name}"
        radios = self.page.locator(f"input[type=radio][name='{name}']")
        want = target.evaluate("(el, all) => all.indexOf(el)", radios.element_handles())
        for _ in range(radios.count()):
            if radios.nth(want).evaluate("el => el === document.activeElement"):
                break
            self.page.keyboard.press("ArrowDown")
        if not radios.nth(want).is_checked():
            self.page.keyboard.press("Space")

    # What a person does.

    def fill(self, selector: str, text: str) -> None:
        field = self.page.locator(selector)
        if not self.keyboard:
            field.fill(text)
            return
        self.tab_to(field)
        self.page.keyboard.press("ControlOrMeta+a")
        if text:
            self.page.keyboard.type(text)
        else:
            self.page.keyboard.press("Delete")

    def check(self, selector: str) -> None:
        box = self.page.locator(selector)
        if not self.keyboard:
            box.check()
        elif box.get_attribute("type") == "radio":
            self._radio(box)
        else:
            self.tab_to(box)
            if not box.is_checked():
                self.page.keyboard.press("Space")
        assert box.is_checked(), selector

    def press(self, name: str) -> None:
        """Press a button that submits a form, and wait for the next page."""
        button = self.page.get_by_role("button", name=name, exact=True)
        with self.page.expect_navigation():
            if self.keyboard:
                self.tab_to(button)
                self.page.keyboard.press("Enter")
            else:
                button.click()

    def follow(self, name: str) -> None:
        link = self.page.get_by_role("link", name=name, exact=True)
        with self.page.expect_navigation():
            if self.keyboard:
                self.tab_to(link)
                self.page.keyboard.press("Enter")
            else:
                link.first.click()

    def sign_in(self, user, *, mistyped: bool = False) -> None:
        self.page.context.clear_cookies()
        self.page.goto("/staff/login/")
        self.look(f"sign-in-{user.username}")
        if mistyped:
            self.fill("#id_username", user.username)
            self.fill("#id_password", "correct horse battery")
            self.press("Sign in")
            if self.keyboard:
                self.error_summary_has_focus()
            self.look(f"sign-in-{user.username}-errors")
        device = authenticator_for(user)
        self.fill("#id_username", user.username)
        self.fill("#id_password", PASSWORD)
        self.press("Sign in")
        # Then the code the member's authenticator app shows (two-factor sign-in).
        assert "/staff/login/code/" in self.page.url, self.page.content()
        self.look(f"sign-in-{user.username}-code")
        self.fill("#id_code", next_code(device))
        self.press("Continue")
        assert "/staff/login/" not in self.page.url, self.page.content()
        if self.keyboard:
            self.skip_link_check()

    # Keyboard checks.

    def skip_link_check(self) -> None:
        """The first Tab on a page reaches the skip link, which shows; Enter moves focus to
        the main content, so the next Tab goes on from there."""
        self.page.keyboard.press("Tab")
        skip = self.page.locator(".nhsuk-skip-link")
        assert skip.evaluate("el => el === document.activeElement"), "first Tab: not the skip link"
        assert skip.is_visible() and self.focus_visible()
        self.page.keyboard.press("Enter")
        assert self.page.evaluate("document.activeElement.id") == "maincontent"

    def error_summary_has_focus(self) -> None:
        summary = self.page.locator(".nhsuk-error-summary")
        assert summary.is_visible()
        assert self.page.evaluate(
            "document.activeElement.classList.contains('nhsuk-error-summary')"
        ), "focus is not on the error summary"
        assert self.page.title().startswith("Error: ")


# --- The client -----------------------------------------------------------------------------


def refer_yourself(walk: Walk) -> None:
    """The self-referral, every step: questionnaires answered and email as the way to get in
    touch, free on Tuesday evenings, by video or phone. (Other steps' fields change more often
    than the journey: keep them here, in one place.)"""
    page = walk.page

    def step(name: str) -> None:
        walk.look(name)
        with page.expect_navigation():
            page.locator("button.nhsuk-button:not(.nhsuk-button--secondary)").first.click()

    page.goto("/refer/")
    walk.look("refer-start")
    with page.expect_navigation():
        page.locator("a.nhsuk-button").first.click()
    page.check("#id_safety-safe_now_0")
    page.check("#id_safety-age_ok_0")
    step("refer-safety")
    page.fill("#id_about-given_name", "Sam")
    page.fill("#id_about-family_name", "Okafor")
    page.fill("#id_about-date_of_birth_day", "3")
    page.fill("#id_about-date_of_birth_month", "9")
    page.fill("#id_about-date_of_birth_year", "1988")
    step("refer-about")
    page.check("#id_gender-gender_identity_1")
    step("refer-gender")
    page.check("#id_contact-email_ok_0")  # "Yes" reveals the address box
    page.fill("#id_contact-email", "sam.okafor@example.com")
    step("refer-contact")
    # One way we may use, so no preferred way is asked; safe times are optional.
    step("refer-contact-preferences")
    page.check("#id_gp-gp_registered_2")
    step("refer-gp")
    page.fill(
        "#id_difficulties-presenting_problem",
        "I keep people at arm's length and it is wearing me down.",
    )
    step("refer-difficulties")
    page.check("#id_questionnaires-answer_now_0")
    step("refer-questionnaires")
    for item in range(1, 10):
        page.check(f"#id_phq9-item_{item}_{1 if item != 9 else 0}")
    step("refer-phq9")
    for item in range(1, 8):
        page.check(f"#id_gad7-item_{item}_1")
    step("refer-gad7")
    page.get_by_label("Remote (video or phone)").check()
    page.get_by_label("Tuesday evening").check()
    step("refer-preferences")
    page.check("#id_consent-outcome_data_0")
    page.check("#id_consent-answers_own")
    step("refer-consent")
    assert "Check your answers" in page.content()
    step("refer-check")
    assert "Referral sent" in page.content()
    walk.look("refer-confirmation")


# --- The staff ------------------------------------------------------------------------------


def assess(walk: Walk, referral: Referral, assessor) -> None:
    """The assessor finds the referral on the worklist, books the assessment, then records
    it step by step and finishes it: the referral waits for a therapist."""
    page = walk.page
    walk.sign_in(assessor)
    walk.look("assessor-home")
    walk.follow("Assessments")
    assert referral.reference in page.content()
    walk.look("assessment-worklist")
    walk.follow(referral.reference)
    walk.look("assessor-referral")
    walk.follow("Book the assessment")
    walk.look("assessment-booking")
    day = timezone.localdate() + dt.timedelta(days=8)
    walk.fill("#id_day_day", str(day.day))
    walk.fill("#id_day_month", str(day.month))
    walk.fill("#id_day_year", str(day.year))
    walk.fill("#id_start", "10:30")
    walk.check("#id_duration_1")
    walk.check("#id_mode_1")
    walk.fill("#id_video_link", "https://meet.example.nhs.uk/sam")
    walk.press("Book and send the invitation")
    assert "Assessment booked" in page.content()
    walk.look("assessment-booked")

    walk.press(f"Start the assessment for {referral.reference}")
    assert "/presenting/" in page.url
    walk.press("Save and continue")  # nothing chosen
    if walk.keyboard:
        walk.error_summary_has_focus()
    walk.look("assessment-presenting-errors")
    walk.check("#id_presenting-status_0")
    walk.fill("#id_presenting-own_words", "I keep people at arm's length.")
    walk.look("assessment-presenting")
    walk.press("Save and continue")
    walk.check("#id_relationships-status_0")
    walk.fill("#id_relationships-detail", "Leaves before others can leave.")
    walk.look("assessment-relationships")
    walk.press("Save and continue")
    walk.check("#id_history-status_0")
    walk.fill("#id_history-background", "A father often away; moved school twice.")
    walk.look("assessment-history")
    walk.press("Save and continue")
    walk.check("#id_circumstances-status_0")
    walk.fill("#id_circumstances-support", "A brother nearby.")
    walk.look("assessment-circumstances")
    walk.press("Save and continue")
    for name in ("to_self", "to_others", "from_others", "safeguarding"):
        walk.check(f"#id_risk-{name}_0")
    walk.check("#id_risk-level_1")
    walk.fill("#id_risk-plan", "No risk identified; crisis numbers given.")
    walk.look("assessment-risk")
    walk.press("Save and continue")
    walk.check("#id_measures-phq9_0")  # the online answers
    walk.check("#id_measures-gad7_0")
    walk.check("#id_measures-core10_0")  # completed now
    walk.check("#id_measures-wsas_0")
    walk.look("assessment-measures")
    walk.press("Save and continue")
    for code, items in (("core10", 10), ("wsas", 5)):
        assert f"/{code}/" in page.url, page.url
        for n in range(1, items + 1):
            walk.check(f"#id_{code}-item_{n}_1")
        if code == "core10":
            walk.check("#id_core10-item_6_0")
        walk.look(f"assessment-{code}")
        walk.press("Save and continue")
    walk.check("#id_formulation-status_0")
    walk.fill("#id_formulation-text", "Closeness may feel dangerous after early losses.")
    walk.check("#id_formulation-approach_explained_0")
    walk.check("#id_formulation-client_view_0")
    walk.look("assessment-formulation")
    walk.press("Save and continue")
    walk.check("#id_recommendation-choice_0")
    walk.check("#id_recommendation-sessions_per_week_0")
    walk.fill("#id_recommendation-reason", "Relational difficulties; curious about patterns.")
    walk.look("assessment-recommendation")
    walk.press("Save and continue")
    walk.look("assessment-letters")
    walk.press("Save and continue")
    assert "Check the assessment" in page.content()
    walk.look("assessment-check")
    walk.press("Finish and lock the assessment")
    assert "Assessment finished and locked" in page.content()
    walk.look("assessment-finished")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.AWAITING_ALLOCATION


def allocate(walk: Walk, referral: Referral, coordinator, therapist) -> None:
    """The coordinator works out proposals, and accepts the engine's for this referral."""
    page = walk.page
    walk.sign_in(coordinator, mistyped=True)
    walk.look("coordinator-home")
    walk.follow("Allocation")
    walk.look("allocation-waiting-list")
    walk.press("Work out proposals for everyone waiting")
    run_queued()
    page.locator("#run-status").get_by_text("See the proposals").wait_for(timeout=15_000)
    walk.look("allocation-run-done")
    walk.follow("See the proposals")
    assert therapist.display_name in page.content()
    walk.look("allocation-waiting-list-proposals")
    walk.follow(referral.reference)
    assert "Why this match" in page.content()
    walk.look("allocation-proposal")
    walk.press("Accept this proposal")
    assert f"is allocated to {therapist.display_name}" in page.content()
    walk.look("allocation-accepted")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ALLOCATED


def first_session(walk: Walk, referral: Referral, therapist) -> None:
    """The therapist signs in, opens the new client, reads the plan and records the first
    session as attended: the referral is in therapy."""
    page = walk.page
    walk.sign_in(therapist.user)
    assert referral.client.given_name in page.content()
    walk.look("therapist-home")
    walk.follow(referral.client.display_name)
    walk.look("therapist-client")
    walk.follow("Session plan")
    # The regular time the allocation agreed: the slot the client said suits them.
    assert "Tuesday at 18:00" in page.content()
    walk.look("therapist-plan")
    walk.follow("Sessions")
    walk.look("therapist-sessions")
    day = timezone.localdate()
    walk.fill("#id_occurred_on_day", str(day.day))
    walk.fill("#id_occurred_on_month", str(day.month))
    walk.fill("#id_occurred_on_year", str(day.year))
    walk.check("#id_attendance_0")
    walk.press("Record the session")
    assert "Session recorded" in page.content()
    walk.look("therapist-session-recorded")
    walk.follow("Overview")
    assert "In therapy" in page.content()
    walk.look("therapist-client-in-therapy")
    walk.follow("Your clients")
    assert referral.reference in page.content()
    walk.look("therapist-caseload")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.IN_THERAPY
    therapy = Therapy.objects.get(referral=referral, ended_on=None)
    assert therapy.therapist == therapist.user and therapy.started_on == day
    assert TherapySession.objects.get(referral=referral).attendance == "attended"


@pytest.mark.parametrize("keyboard", [False, True], ids=["mouse", "keyboard"])
def test_one_referral_from_self_referral_to_a_first_session(page, team, held_back, keyboard):
    walk = Walk(page, "journey-keyboard" if keyboard else "journey", keyboard=keyboard)
    refer_yourself(walk)
    referral = Referral.objects.select_related("client").get()
    assert referral.status == Referral.Status.SUBMITTED

    assess(walk, referral, team["assessor"])
    assert Assessment.objects.get(referral=referral).status == Assessment.Status.FINISHED
    allocate(walk, referral, team["coordinator"], team["therapist"])
    assert Allocation.objects.get(referral=referral).therapist == team["therapist"]
    first_session(walk, referral, team["therapist"])


def test_error_summary_keeps_focus_after_the_skip_link_was_used(page, coordinator):
    """A keyboard user who skips to the content and then mistypes their password: the error
    summary must still take focus, as it does without the skip link."""
    page.goto("/staff/login/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link: the address now ends in #maincontent
    page.keyboard.press("Tab")
    page.keyboard.type(coordinator.username)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('nhsuk-error-summary')")
