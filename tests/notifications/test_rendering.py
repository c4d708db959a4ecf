"""Every kind renders as an email (HTML and plain text), a text message where one makes
sense, and a letter on the service's letterhead; the wording keeps its promises."""

from __future__ import annotations

import pytest

from notifications import kinds, letters, rendering, selectors
from notifications.models import Notification
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db

CRISIS = ("NHS 111 and choose option 2", "999", "116 123")


@pytest.fixture
def letterhead_service(service):
    service.address = "Riverside House\n2 Quay Street\nMillbrook MB1 9ZZ"
    service.phone = "01632 960123"
    service.save()
    return service


def preview(referral, kind, recipient=None):
    return selectors.notification_preview(referral=referral, kind=kind, recipient=recipient)


@pytest.mark.parametrize("kind", kinds.KINDS)
def test_every_kind_renders_email_text_and_letter(letterhead_service, kind):
    referral = make_referral(letterhead_service, agreed=("email", "sms", "letter", "gp"))

    shown = preview(referral, kind).rendered

    assert shown.subject and "\n" not in shown.subject
    assert shown.html.lstrip().startswith("<!DOCTYPE html>")
    assert letterhead_service.name in shown.html
    assert "{{" not in shown.text and "{%" not in shown.text
    assert "Dear" in shown.text or "To the duty team" in shown.text or "To " in shown.text
    pdf, pages = letters.render_pdf(shown.letter_html)
    assert pdf.startswith(b"%PDF") and pages >= 1
    text = letters.pdf_text(pdf)
    assert letterhead_service.name in text
    assert "01632 960123" in text  # the letterhead carries the service's phone number


@pytest.mark.parametrize("kind", [k for k in kinds.KINDS if kinds.spec(k).has_sms])
def test_text_messages_fit_in_two_parts_of_plain_characters(letterhead_service, kind):
    # A long but real-looking service name and place, to be sure the limit holds.
    letterhead_service.name = "Millbrook and District Psychological Therapies Service"
    letterhead_service.save()
    referral = make_referral(letterhead_service, agreed=("sms",))

    sms = preview(referral, kind).rendered.sms
    length, encoding = rendering.sms_length(sms)

    assert encoding == "gsm7", f"non-GSM character in {sms!r}"
    assert 0 < length <= 306, f"{kind}: {length} characters: {sms!r}"
    assert letterhead_service.name in sms


@pytest.mark.parametrize("kind", ["gp_letter", "ending", "discharge_non_attendance", "risk_alert"])
def test_kinds_never_sent_by_text_have_no_text_version(service, kind):
    referral = make_referral(service, agreed=("sms", "gp"))
    assert preview(referral, kind).rendered.sms == ""


@pytest.mark.parametrize("kind", [k for k in kinds.KINDS if kinds.spec(k).client_facing])
def test_client_letters_and_emails_say_where_to_get_help_now(service, kind):
    referral = make_referral(service)

    shown = preview(referral, kind).rendered
    letter_text = letters.pdf_text(letters.render_pdf(shown.letter_html)[0])

    for words in CRISIS:
        assert words in shown.text
        assert words in shown.html
        assert words in " ".join(letter_text.split())


def test_risk_alert_names_the_referral_but_not_the_person(service):
    referral = make_referral(service, given_name="Morwenna", family_name="Tregothnan")
    with_reasons = Notification(
        service=service,
        referral=referral,
        kind="risk_alert",
        recipient="duty_inbox",
        context={"reasons": ["Answered 'no' to 'Are you safe right now?'"]},
    )

    shown = selectors.notification_preview(
        referral=referral, kind="risk_alert", notification=with_reasons
    ).rendered

    assert referral.reference in shown.subject
    assert "URGENT" in shown.subject
    assert f"/staff/referrals/{referral.public_id}/" in shown.text
    assert "Are you safe right now?" in shown.text
    for text in (shown.subject, shown.text, shown.html):
        assert "Morwenna" not in text and "Tregothnan" not in text
    assert "111" not in shown.text  # staff-facing: no client crisis box


def test_gp_letter_carries_identifiers_and_only_the_agreed_summary(service):
    referral = make_referral(service, agreed=("gp",), nhs_number="9434765919")
    notification = Notification(
        service=service,
        referral=referral,
        kind="gp_letter",
        recipient="gp",
        context={"stage": "assessment", "summary": "Agreed to share: offered 24 sessions."},
    )

    shown = selectors.notification_preview(
        referral=referral, kind="gp_letter", notification=notification
    ).rendered
    text = letters.pdf_text(letters.render_pdf(shown.letter_html)[0])

    assert "Orchard Surgery" in text
    assert "PRIVATE AND CONFIDENTIAL" in text
    assert "born 17 May 1990" in text
    assert "9434765919" in text
    assert "offered 24 sessions" in text
    assert referral.presenting_problem == "" or referral.presenting_problem not in text


def test_an_ending_letter_with_a_long_summary_runs_to_numbered_pages(service):
    referral = make_referral(service, agreed=("letter",))
    long = " ".join(["We talked about how hard it was to ask for help."] * 60)
    notification = Notification(
        service=service,
        referral=referral,
        kind="ending",
        recipient="client",
        context={"summary": long, "plan": "Talk to someone you trust; contact your GP."},
    )

    shown = selectors.notification_preview(
        referral=referral, kind="ending", notification=notification
    ).rendered
    pdf, pages = letters.render_pdf(shown.letter_html)

    assert pages == 2
    text = letters.pdf_text(pdf)
    assert "Page 1 of 2" in text and "Page 2 of 2" in text
    assert referral.reference in text


def test_times_and_dates_are_written_the_nhs_way(service):
    from notifications.templatetags.notification_format import nice_date, nice_time

    assert nice_time("10:30") == "10:30am"
    assert nice_time("14:00") == "2pm"
    assert nice_time("12:00") == "midday"
    assert nice_date("2026-03-03") == "Tuesday 3 March 2026"


def test_sms_length_counts_encodings_as_phones_do():
    assert rendering.sms_length("a" * 10) == (10, "gsm7")
    assert rendering.sms_length("[]") == (4, "gsm7")  # extension characters count twice
    assert rendering.sms_length("Zoë’s") == (5, "ucs2")
    assert rendering.sms_fits("a" * 306) and not rendering.sms_fits("a" * 307)
    assert not rendering.sms_fits("’" * 135)


def test_plain_text_and_subjects_are_not_html_escaped(service):
    referral = make_referral(service, agreed=("gp",), given_name="Aoife", family_name="O'Neill")

    email = preview(referral, "gp_letter").rendered

    assert "Your patient's referral" in email.subject
    assert "O'Neill" in email.text
    assert "&#x27;" not in email.text + email.subject
    assert "O&#x27;Neill" in email.html  # the HTML version is escaped, as it must be


def _shown(referral, kind, context, recipient="client"):
    notification = Notification(
        service=referral.service,
        referral=referral,
        kind=kind,
        recipient=recipient,
        context=context,
    )
    return selectors.notification_preview(
        referral=referral, kind=kind, notification=notification
    ).rendered


@pytest.mark.parametrize(
    ("context", "words"),
    [
        (
            {
                "recommendation": "psychodynamic",
                "sessions_per_week": "2",
                "waiting_for_therapist": True,
            },
            ["psychodynamic therapy could help", "2 times a week", "waiting list"],
        ),
        (
            {
                "recommendation": "other_modality",
                "modality": "Cognitive analytic therapy",
                "signpost_to": "Millbrook CAT service, 01632 960555",
            },
            ["Cognitive analytic therapy", "offered by Millbrook CAT service"],
        ),
        (
            {"recommendation": "signpost", "signpost_to": "Millbrook Wellbeing Hub"},
            ["Millbrook Wellbeing Hub", "closed your referral"],
        ),
        ({"recommendation": "discharge"}, ["not needed at the moment", "refer yourself again"]),
    ],
)
def test_the_assessment_outcome_says_what_was_agreed(service, context, words):
    shown = _shown(make_referral(service), "assessment_outcome", context)

    for text in (shown.text, shown.html):
        for word in words:
            assert word in text, word


@pytest.mark.parametrize(
    ("stage", "words"),
    [
        ("ending", "ended as planned"),
        ("discharge_non_attendance", "after several missed sessions"),
        ("assessment", "now had an assessment"),
        ("referral", "referred themselves"),
    ],
)
def test_gp_letters_say_which_step_they_are_about(service, stage, words):
    shown = _shown(make_referral(service, agreed=("gp",)), "gp_letter", {"stage": stage}, "gp")
    assert words in shown.text and words in shown.html


def test_an_allocation_letter_names_the_therapist_and_every_regular_time(service):
    shown = _shown(
        make_referral(service),
        "allocation",
        {
            "appointment_at": "2026-03-03T10:30:00+00:00",
            "regular_day": "Tuesday",
            "regular_time": "10:30",
            "regular_times": [
                {"day": "Tuesday", "time": "10:30"},
                {"day": "Thursday", "time": "14:00"},
            ],
            "frequency": "twice a week",
            "therapist_name": "Therapist Example",
        },
    )

    for text in (shown.text, shown.html, shown.sms):
        assert "Tuesdays at 10:30am" in text and "Thursdays at 2pm" in text
    assert "Therapist Example" in shown.text
