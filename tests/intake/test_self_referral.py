"""Walk-throughs of the self-referral, as a person would go through it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.models import Client, ConsentRecord, MeasureResponse, Preferences, Referral, RiskFlag
from intake.references import reference_is_well_formed
from notifications.models import Notification
from tests.factories import SiteFactory
from tests.intake.walk import MINIMAL, post_step, step_url, submit, walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    service.signpost_current_services = ["crisis_team"]
    service.save()
    return service


def test_start_page_explains_and_links_to_the_first_step(client):
    page = client.get(reverse("refer-start")).text
    assert "Refer yourself" in page
    assert step_url("safety") in page
    assert "116 123" in page


def test_minimal_sharing_makes_one_referral_with_only_the_required_fields(client, service):
    walk(client, MINIMAL)
    check = client.get(step_url("check"))
    assert "Robin" in check.text and "NHS number" not in check.text  # only what was shared

    response = submit(client)

    assert response.status_code == 302
    assert response.url == reverse("refer-confirmation")
    confirmation = client.get(response.url).text
    referral = Referral.objects.get()
    assert reference_is_well_formed(referral.reference)
    assert referral.reference in confirmation
    assert referral.service == service
    assert referral.status == Referral.Status.SUBMITTED
    client_row = referral.client
    assert (client_row.given_name, client_row.family_name) == ("Robin", "Ashdown")
    assert client_row.nhs_number == "" and client_row.postcode == ""
    assert referral.presenting_problem == ""
    assert not MeasureResponse.objects.exists()
    decisions = {c.topic: c.decision for c in ConsentRecord.objects.all()}
    assert decisions[ConsentRecord.Topic.CONTACT_EMAIL] == "granted"
    assert decisions[ConsentRecord.Topic.OUTCOME_DATA] == "refused"
    assert ConsentRecord.Topic.TELL_GP not in decisions  # never asked: not recorded
    assert all(c.wording and c.wording_version for c in ConsentRecord.objects.all())
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert "acknowledgement" in kinds and "risk_alert" not in kinds


FULL = {
    **MINIMAL,
    "about": {
        **MINIMAL["about"],
        "preferred_name": "Rob",
        "nhs_number": "943 476 5919",
        "postcode": "ls14ap",
    },
    "gender": {"pronouns": "they/them", "gender_identity": "non_binary"},
    "contact": {
        "email": "robin@example.com",
        "email_ok": "yes",
        "mobile_ok": "yes",
        "mobile_phone": "07400 123456",
        "mobile_uses": ["sms", "calls"],
        "letters_ok": "no",
    },
    "contact-preferences": {
        "voicemail_ok": "no",
        "preferred_channel": "sms",
        "safe_contact_times": "Not before 10am",
    },
    "gp": {"gp_registered": "yes", "gp_practice_name": "Mill Lane Surgery", "tell_gp": "yes"},
    "difficulties": {
        "presenting_problem": "I keep people at a distance and feel lonely.",
        "difficulty_areas": ["relationships", "low_mood"],
        "difficulty_duration": "over_2_years",
        "hopes": "To understand why this keeps happening.",
        "previous_help": "Counselling at university.",
        "current_services": ["none"],
    },
    "questionnaires": {"answer_now": "yes"},
    "phq9": {f"item_{i}": "1" for i in range(1, 10)} | {"item_9": "0"},
    "gad7": {f"item_{i}": "2" for i in range(1, 8)} | {"item_3": "prefer_not_to_say"},
    "preferences": {
        "therapist_gender_matters": "yes",
        "therapist_gender": "female",
        "therapist_gender_strength": "preference",
        "language": "English",
        "interpreter_needed": "no",
        "mode": "either",
        "availability": ["tue_evening", "thu_morning"],
        "more_than_weekly": "not_sure",
    },
}


def test_full_sharing_records_everything_and_every_consent(client):
    walk(client, FULL)
    submit(client)

    referral = Referral.objects.get()
    person = referral.client
    assert person.nhs_number == "9434765919"
    assert person.postcode == "LS1 4AP"
    assert person.mobile_phone == "+447400123456"
    assert person.preferred_channel == "sms"
    assert referral.difficulty_areas == ["relationships", "low_mood"]
    prefs = Preferences.objects.get(referral=referral)
    assert prefs.therapist_gender == "female" and prefs.availability == [
        "tue_evening",
        "thu_morning",
    ]
    phq9 = MeasureResponse.objects.get(measure="phq9")
    assert phq9.total == 8 and phq9.band == "mild"
    gad7 = MeasureResponse.objects.get(measure="gad7")
    assert gad7.total is None and "not" in gad7.withheld_reason.lower()
    assert gad7.answers[2] == "prefer_not_to_say"
    decisions = {c.topic: c.decision for c in ConsentRecord.objects.all()}
    assert decisions["contact_sms"] == "granted"
    assert decisions["voicemail"] == "refused"
    assert decisions["letters_home"] == "refused"
    assert decisions["tell_gp"] == "granted"
    assert not RiskFlag.objects.exists()


def test_risk_answer_shows_crisis_help_at_once_and_raises_a_flag(client, service):
    answers = {**FULL, "phq9": {f"item_{i}": "0" for i in range(1, 10)} | {"item_9": "2"}}
    walk(client, answers, stop_before="gad7")

    next_page = client.get(step_url("gad7")).text
    assert "If you need help now" in next_page
    assert "116 123" in next_page

    walk(client, {k: v for k, v in answers.items() if k in ("gad7", "preferences", "consent")})
    submit(client)
    referral = Referral.objects.get()
    flag = RiskFlag.objects.get()
    assert flag.source == RiskFlag.Source.PHQ9_ITEM9 and flag.is_open
    assert flag.service == service
    assert referral.risk_level == Referral.Risk.MEDIUM
    alert = Notification.objects.get(kind="risk_alert")
    assert alert.recipient == "duty_inbox"


def test_crisis_path_shows_urgent_help_and_lets_the_person_continue(client):
    response = post_step(client, "safety", {"safe_now": "no", "age_ok": "yes"})
    assert response.url == step_url("urgent-help")
    page = client.get(response.url).text
    for number in ("999", "111", "116 123", "85258"):
        assert number in page

    answers = {"urgent-help": {}, **{k: v for k, v in MINIMAL.items() if k != "safety"}}
    walk(client, answers)
    assert "If you need help now" in client.get(step_url("about")).text
    submit(client)

    referral = Referral.objects.get()
    assert referral.safe_now == "no"
    assert referral.risk_level == Referral.Risk.HIGH
    assert RiskFlag.objects.get().source == RiskFlag.Source.SAFETY_QUESTION


def test_ineligible_person_is_told_where_to_go_and_nothing_is_stored(client):
    response = post_step(client, "safety", {"safe_now": "yes", "age_ok": "no"})

    assert response.url == reverse("refer-ineligible") + "?reason=age"
    page = client.get(response.url).text
    assert "not kept any of the answers" in page
    assert not Client.objects.exists() and not Referral.objects.exists()
    session = client.session.get("wizard_self_referral_wizard", {})
    assert not session.get("step_data")


def test_person_outside_the_area_is_ineligible(client, service):
    service.gp_postcode_areas = ["LS1", "LS2"]
    service.save()
    page = client.get(step_url("safety")).text
    assert "LS1, LS2" in page

    response = post_step(client, "safety", {"safe_now": "yes", "age_ok": "yes", "in_area": "no"})

    assert response.url.endswith("reason=area")


def test_signpost_page_appears_for_someone_under_a_crisis_team(client):
    answers = {**MINIMAL, "difficulties": {"current_services": ["crisis_team"]}}
    walk(client, answers, stop_before="questionnaires")
    assert client.get(step_url("questionnaires")).status_code == 302  # signpost comes first
    page = client.get(step_url("signpost")).text
    assert "crisis or home treatment team" in page


def test_double_submit_makes_exactly_one_referral_and_the_same_confirmation(client):
    walk(client, MINIMAL)
    first = submit(client)
    second = submit(client)  # a double click, after the wizard finished

    assert Referral.objects.count() == 1
    assert first.url == second.url == reverse("refer-confirmation")
    assert Referral.objects.get().reference in client.get(second.url).text


WIZARD_SESSION_KEY = "wizard_self_referral_wizard"


def test_submit_builds_the_referral_from_the_answers_kept_at_each_step(client, monkeypatch):
    from datetime import date

    from intake.wizard import SelfReferralWizard

    walk(client, MINIMAL)
    built = []
    original = SelfReferralWizard.get_form

    def counting(self, step=None, **kwargs):
        built.append(step or self.steps.current)
        return original(self, step=step, **kwargs)

    monkeypatch.setattr(SelfReferralWizard, "get_form", counting)
    response = submit(client)

    assert response.url == reverse("refer-confirmation")
    assert built == ["check"]  # no earlier step's form is built or validated again
    person = Client.objects.get()
    assert (person.given_name, person.date_of_birth) == ("Robin", date(1990, 5, 17))


def test_a_journey_without_kept_answers_is_validated_again_at_submit(client):
    # A draft saved before answers were kept has only the raw step data.
    walk(client, MINIMAL)
    session = client.session
    session[WIZARD_SESSION_KEY]["extra_data"].pop("answers")
    session.save()

    response = submit(client)

    assert response.url == reverse("refer-confirmation")
    assert Client.objects.get().date_of_birth.year == 1990


def test_a_kept_step_that_no_longer_validates_is_shown_again_at_submit(client):
    walk(client, MINIMAL)
    session = client.session
    storage = session[WIZARD_SESSION_KEY]
    storage["extra_data"]["answers"].pop("about")
    storage["step_data"]["about"]["about-date_of_birth_year"] = ["1990x"]
    session.save()

    response = submit(client)

    assert response.url == step_url("about")
    assert "Date of birth must be a real date" in client.get(response.url).text
    assert Referral.objects.count() == 0


def test_change_link_returns_to_the_check_page(client):
    walk(client, MINIMAL)
    client.get(step_url("about") + "?change=1")

    response = post_step(client, "about", {**MINIMAL["about"], "given_name": "Robyn"})

    assert response.url == step_url("check")
    assert "Robyn" in client.get(step_url("check")).text


def test_changing_an_answer_that_adds_steps_asks_them_before_the_check_page(client):
    walk(client, MINIMAL)
    client.get(step_url("questionnaires") + "?change=1")

    response = post_step(client, "questionnaires", {"answer_now": "yes"})

    assert response.url == step_url("phq9")


def test_every_step_has_a_back_link(client):
    walk(client, MINIMAL)
    for step in [
        "about",
        "contact",
        "gp",
        "difficulties",
        "questionnaires",
        "preferences",
        "consent",
        "check",
    ]:
        page = client.get(step_url(step)).text
        assert 'class="nhsuk-back-link"' in page, step


def test_preferences_offer_the_services_sites(client, service):
    SiteFactory(service=service, name="Riverside Centre")
    walk(client, MINIMAL, stop_before="preferences")
    assert "Riverside Centre" in client.get(step_url("preferences")).text


def test_staff_see_what_was_shared_and_acknowledge_a_risk_flag(client, assessor, other_staff):
    answers = {**FULL, "phq9": {f"item_{i}": "0" for i in range(1, 10)} | {"item_9": "1"}}
    walk(client, answers)
    submit(client)
    referral = Referral.objects.get()
    flag = RiskFlag.objects.get()
    page_url = reverse("staff-referral-detail", args=[referral.public_id])
    ack_url = reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id])

    client.force_login(other_staff)
    assert client.post(ack_url, {"action_taken": "x"}).status_code == 404

    client.force_login(assessor)
    page = client.get(page_url).text
    assert "Open risk flag" in page and "keep people at a distance" in page
    assert "Contact by text message" in page

    empty = client.post(ack_url, {"action_taken": ""})
    assert empty.status_code == 400 and "Say what was done" in empty.text
    client.post(ack_url, {"action_taken": "Called; safety plan agreed."})

    flag.refresh_from_db()
    assert flag.acknowledged_by == assessor and flag.acknowledged_at is not None
    assert "Open risk flag" not in client.get(page_url).text


def test_the_confirmation_page_links_to_the_client_portal(client):
    walk(client, MINIMAL)
    confirmation = client.get(submit(client).url).text
    assert f'<a href="{reverse("portal-start")}">' in confirmation
    assert "reference and date of birth" in confirmation
    assert "set up" not in confirmation
