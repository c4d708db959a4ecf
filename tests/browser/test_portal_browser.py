"""The client portal in real headless Chromium: asking for a sign-in link (first with
nothing filled in), following it, the referral, letters, their data (the JSON copy
downloaded, a correction asked for, first with nothing filled in), contact and consent
(changing details and a choice), withdrawing the referral and signing out; and, in a second
walk, completing a questionnaire (a risk answer among them). Every page is screenshotted
into test-artifacts/screenshots/portal*/ and must pass axe-core (WCAG 2.2 AA and best
practices, any impact) with no console error. Each walk runs twice: with the mouse, and with
the keyboard alone (focus always visible, the skip link, the error summary taking focus
after a failed submit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core import mail

from common import roles
from intake.models import ConsentRecord, MeasureResponse, Referral, RightsRequest, RiskFlag
from notifications import sending
from notifications.outbox import notification_queue
from tests import factories
from tests.browser.test_journey_browser import Walk
from tests.notifications.people import make_referral
from tests.portal.conftest import LINK, deliver_links
from therapy import services as therapy_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("keyboard", [False, True], ids=["mouse", "keyboard"])
def test_a_client_walks_the_portal(page, service, keyboard):
    referral = make_referral(service, agreed=("email", "sms", "letter"), preferred="letter")
    letter = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=letter.public_id)
    walk = Walk(page, "portal-keyboard" if keyboard else "portal", keyboard=keyboard)

    page.goto("/portal/")
    walk.look("start")
    if keyboard:
        walk.skip_link_check()
    walk.press("Send me a sign-in link")
    if keyboard:
        walk.error_summary_has_focus()
    walk.look("start-errors")

    walk.fill("#id_reference", referral.reference.lower())
    walk.fill("#id_date_of_birth_day", "17")
    walk.fill("#id_date_of_birth_month", "5")
    walk.fill("#id_date_of_birth_year", "1990")
    walk.check("#id_channel_0")
    walk.press("Send me a sign-in link")
    assert page.url.endswith("/portal/link-sent/")
    walk.look("link-sent")

    deliver_links()
    link = LINK.search(mail.outbox[-1].body).group(0)
    page.goto("/portal/" + link.split("/portal/", 1)[1])
    walk.look("sign-in")
    walk.press("Sign in")
    assert page.url.endswith("/portal/home/")
    assert referral.reference in page.content()
    walk.look("home")

    walk.follow("Letters and messages")
    assert "Acknowledgement of referral" in page.content()
    walk.look("letters")

    # Every part is in the navigation, the current one marked.
    walk.follow("Questionnaires")
    assert page.url.endswith("/portal/questionnaires/")
    current = page.locator('.th-client-nav a[aria-current="page"]')
    assert current.count() == 1 and current.inner_text() == "Questionnaires"
    walk.look("questionnaires-none-due")

    # Your data: the page, the JSON copy downloaded, a correction asked for (first empty).
    walk.follow("Your data")
    assert current.inner_text() == "Your data"
    walk.follow("Your referral")
    walk.follow("See and download a copy of your data")
    walk.look("my-data")
    link = page.get_by_role("link", name="Download your data as a JSON file", exact=True)
    with page.expect_download() as download:
        if keyboard:
            walk.tab_to(link)
            page.keyboard.press("Enter")
        else:
            link.click()
    copy = json.loads(Path(download.value.path()).read_text())
    assert copy["referral"]["reference"] == referral.reference
    walk.follow("ask us to correct your record")
    walk.look("correction")
    walk.press("Send request")
    if keyboard:
        walk.error_summary_has_focus()
    walk.look("correction-errors")
    walk.fill("#id_wrong", "My postcode is wrong on my letters")
    walk.fill("#id_should_say", "MB1 2CE")
    walk.press("Send request")
    assert "We have your request" in page.content()
    walk.look("correction-sent")
    assert RightsRequest.objects.get(referral=referral, source="portal").kind == "correction"

    walk.follow("Contact and consent")
    walk.look("choices")
    walk.follow("Change your contact details")
    walk.look("contact")
    walk.fill("#id_safe_contact_times", "Not before 10am")
    walk.press("Save")
    assert "Not before 10am" in page.content()
    walk.look("contact-saved")

    walk.follow("Change Tell the GP about the referral")
    walk.look("choice")
    walk.check("#id_decision_0")
    walk.press("Save")
    walk.look("choice-saved")
    assert (
        ConsentRecord.objects.filter(client=referral.client, topic="tell_gp", via="portal")
        .get()
        .decision
        == "granted"
    )

    walk.follow("Your referral")
    walk.follow("withdraw your referral")
    walk.look("withdraw")
    walk.check("#id_confirm_0")
    walk.press("Continue")
    walk.look("withdrawn")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.WITHDRAWN

    walk.press("Sign out")
    assert "You have signed out." in page.content()
    walk.look("signed-out")


# --- Questionnaires (portal/questionnaire_views.py) ----------------------------------------------


def _portal_sign_in(page, walk, referral) -> None:
    page.goto("/portal/")
    walk.fill("#id_reference", referral.reference)
    walk.fill("#id_date_of_birth_day", "17")
    walk.fill("#id_date_of_birth_month", "5")
    walk.fill("#id_date_of_birth_year", "1990")
    walk.check("#id_channel_0")
    walk.press("Send me a sign-in link")
    deliver_links()
    link = LINK.search(mail.outbox[-1].body).group(0)
    page.goto("/portal/" + link.split("/portal/", 1)[1])
    walk.press("Sign in")
    assert page.url.endswith("/portal/home/")


@pytest.mark.parametrize("keyboard", [False, True], ids=["mouse", "keyboard"])
def test_a_client_completes_a_questionnaire_in_the_portal(page, service, keyboard):
    """In therapy, asked by the therapist for a PHQ-9: the list, the form sent empty (every
    question named, focus on the summary), then answered with item 9 above 0: crisis help
    at once, the answers on the record, and their scores when they choose to look."""
    referral = make_referral(service, agreed=("email",), preferred="email")
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
    referral.refresh_from_db()
    therapist = factories.UserFactory(username="tess", service=service, roles=[roles.THERAPIST])
    factories.SessionPlanFactory(referral=referral, created_by=therapist)
    factories.TherapyFactory(referral=referral, therapist=therapist)
    therapy_services.questionnaire_request(referral=referral, user=therapist, measure="phq9")
    walk = Walk(
        page,
        "portal-questionnaire-keyboard" if keyboard else "portal-questionnaire",
        keyboard=keyboard,
    )

    _portal_sign_in(page, walk, referral)
    walk.look("home")
    walk.follow("Fill in your questionnaire")
    walk.look("list")
    walk.follow("PHQ-9: Patient Health Questionnaire (depression)")
    walk.look("form")
    walk.press("Send my answers")
    if keyboard:
        walk.error_summary_has_focus()
    assert "Question 9: select an answer" in page.content()
    walk.look("form-errors")

    for item, option in enumerate([1, 1, 2, 1, 0, 1, 0, 0, 1], start=1):
        walk.check(f"#id_item_{item}_{option}")
    walk.press("Send my answers")
    assert "/portal/questionnaires/saved/" in page.url
    assert "If you need help now" in page.locator("main").inner_text()
    walk.look("saved-with-crisis-help")
    response = MeasureResponse.objects.get(referral=referral)
    assert response.context == "portal" and response.answers[8] == 1
    assert RiskFlag.objects.filter(referral=referral, source="phq9_item9").exists()

    walk.follow("See how your scores have changed")
    assert page.locator("svg.th-chart").count() == 1
    walk.look("scores")
