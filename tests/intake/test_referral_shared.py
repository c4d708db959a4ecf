"""What the client shared, seen by staff on the referral page, and as the partner API stores it.

Every optional field the self-referral or the partner API can record is found from the models
and the forms, not listed by hand, so a field added later is covered (or fails here until it
is given a sample answer). Each is shown in one of three states, never confused: the answer,
"Prefer not to say" where the form offers it and it was chosen, or "Not given".
"""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import measures
from intake import api as intake_api
from intake import forms, wizard
from intake.models import PREFER_NOT_TO_SAY, Client, ConsentRecord, Preferences, Referral
from intake.services import (
    CLIENT_FIELDS,
    ConsentDecision,
    MeasureAnswers,
    ReferralInput,
    referral_submit,
)
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/referrals/"
NOT_GIVEN = "Not given"
DECLINED = "Prefer not to say"

# Columns that are the service's bookkeeping, not something the client told us.
BOOKKEEPING = {
    "id",
    "public_id",
    "created_at",
    "updated_at",
    "service",
    "client",
    "referral",
    "reference",
    "status",
    "source",
    "risk_level",
    "received_at",
    "idempotency_key",
    "submission_fingerprint",
    # Set by the service from a rights request, not shared by the client (a banner shows it).
    "restricted_at",
    # Carried from the assessment by the service (who assessed), not shared by the client.
    "assessed_by",
    "assessment_finished_by",
}

# A sample answer for every optional field, with the words the staff page shows for it. A new
# optional field fails test_every_optional_field_has_a_sample_answer until it is added here.
ANSWERS: dict[str, tuple[object, list[str]]] = {
    "preferred_name": ("Sunny", ["Sunny"]),
    "pronouns": ("they/them", ["they/them"]),
    "gender_identity": ("non_binary", ["Non-binary"]),
    "nhs_number": ("9434765919", ["9434765919"]),
    "postcode": ("LS1 4AP", ["LS1 4AP"]),
    "email": ("sunny@example.com", ["sunny@example.com"]),
    "mobile_phone": ("+447400123456", ["+447400123456"]),
    "landline_phone": ("+441134960123", ["+441134960123"]),
    "address": ("1 Quiet Street\nLeeds", ["1 Quiet Street", "Leeds"]),
    "preferred_channel": ("sms", ["Text message"]),
    "safe_contact_times": ("Not before 10am", ["Not before 10am"]),
    "gp_registered": ("not_sure", ["Not sure"]),
    "gp_practice_name": ("Kirkgate Surgery", ["Kirkgate Surgery"]),
    "gp_practice_address": ("2 Market Row", ["2 Market Row"]),
    "safe_now": ("yes", ["Yes"]),
    "presenting_problem": ("Sleeping badly since the move", ["Sleeping badly since the move"]),
    "difficulty_areas": (["low_mood", "loss"], ["Low mood or depression", "Loss or bereavement"]),
    "difficulty_duration": ("1_to_2_years", ["1 to 2 years"]),
    "hopes": ("To feel less alone", ["To feel less alone"]),
    "previous_help": ("Counselling at university", ["Counselling at university"]),
    "current_services": (["psychiatrist"], ["A psychiatrist"]),
    "therapist_gender": ("female", ["A woman"]),
    "therapist_gender_strength": ("requirement", ["A requirement"]),
    "language": ("Polish", ["Polish"]),
    "interpreter_needed": (True, ["Yes"]),
    "interpreter_language": ("British Sign Language", ["British Sign Language"]),
    "access_needs": ("Step-free access", ["Step-free access"]),
    "mode": ("remote", ["Remote (video or phone)"]),
    "site": ("SITE", ["Northgate Clinic"]),
    "availability": (["mon_morning", "thu_evening"], ["Monday morning", "Thursday evening"]),
    "time_windows": (
        [{"day": 1, "start": "17:30", "end": "20:00"}],
        ["Tuesday 17:30\u201320:00"],
    ),
    "preferred_windows": (
        [{"day": 3, "start": "18:00", "end": "19:00"}],
        ["Thursday 18:00\u201319:00"],
    ),
    "more_than_weekly": ("not_sure", ["Not sure"]),
}

CHANNEL_CONSENTS = [
    ConsentRecord.Topic.CONTACT_EMAIL,
    ConsentRecord.Topic.CONTACT_SMS,
    ConsentRecord.Topic.CONTACT_PHONE,
    ConsentRecord.Topic.VOICEMAIL,
    ConsentRecord.Topic.LETTERS_HOME,
    ConsentRecord.Topic.TELL_GP,
]


def optional_fields() -> list[str]:
    """Every column of what the client shares that may be left empty."""
    names = []
    for model in (Client, Referral, Preferences):
        for field in model._meta.concrete_fields:
            if field.name in BOOKKEEPING:
                continue
            if field.blank or field.has_default():
                names.append(field.name)
    return names


def prefer_fields() -> list[str]:
    """The wizard's questions that offer "Prefer not to say" (questionnaires aside)."""
    names = []
    for _step, form_class in wizard.STEPS:
        for name, field in form_class.base_fields.items():
            if PREFER_NOT_TO_SAY in dict(getattr(field, "choices", []) or []):
                names.append(name)
    return names


def api_fields() -> list[str]:
    """The optional fields the partner API accepts, at the top level and in preferences."""
    body = intake_api.ReferralCreateApi.InputSerializer().fields
    names = [name for name, field in body.items() if not field.required]
    names += list(intake_api.PreferencesInput().fields)
    return [name for name in names if name in ANSWERS]


def _input(values: dict, *, consents=(), questionnaires=()) -> ReferralInput:
    top = {name: value for name, value in values.items() if name not in _preference_names()}
    prefs = {name: value for name, value in values.items() if name in _preference_names()}
    return ReferralInput(
        given_name="Robin",
        family_name="Ashdown",
        date_of_birth=date(1990, 5, 17),
        preferences=prefs,
        consents=list(consents),
        questionnaires=list(questionnaires),
        **top,
    )


def _preference_names() -> set[str]:
    return {f.name for f in Preferences._meta.concrete_fields} - BOOKKEEPING


def _submit(service, values: dict, **kwargs) -> Referral:
    result = referral_submit(
        service=service,
        data=_input(values, **kwargs),
        idempotency_key=f"k-{Referral.objects.count()}",
        via="self_referral",
    )
    return result.referral


def _answered(service) -> dict:
    site = SiteFactory(service=service, name="Northgate Clinic")
    values = {name: value for name, (value, _) in ANSWERS.items()}
    values["site"] = str(site.public_id)
    return values


def rows(page: str) -> dict[str, str]:
    """Each summary row of what was shared: its key, and its value as plain text."""
    found = {}
    for key, value in re.findall(
        r'<div class="nhsuk-summary-list__row" id="shared-([\w-]+)">.*?'
        r'<dd class="nhsuk-summary-list__value">(.*?)</dd>',
        page,
        flags=re.DOTALL,
    ):
        text = re.sub(r"<br>", "\n", value)
        found[key] = html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
    return found


@pytest.fixture
def staff(client, assessor):
    client.force_login(assessor)
    return client


def _page(staff, referral) -> str:
    response = staff.get(reverse("staff-referral-detail", args=[referral.public_id]))
    assert response.status_code == 200
    return response.content.decode()


# --- The fields are found, not listed -------------------------------------------------------


def test_every_optional_field_has_a_sample_answer():
    assert set(optional_fields()) <= set(ANSWERS), "give the new field a sample answer above"


def test_every_question_the_wizard_stores_is_on_the_staff_page(service, staff):
    """Each field of the steps that record something shows as a row (or is folded into one:
    a permission becomes the channel's consent row, a self-description the gender)."""
    folded = {
        "given_name": "name",
        "family_name": "name",
        "gender_self_described": "gender_identity",
        "therapist_gender_matters": "therapist_gender",
        "email_ok": "consent-contact_email",
        "mobile_ok": "consent-contact_sms",
        "mobile_uses": "consent-contact_sms",
        "sms_ok": "consent-contact_sms",
        "mobile_call_ok": "consent-contact_phone",
        "landline_call_ok": "consent-contact_phone",
        "voicemail_ok": "consent-voicemail",
        "letters_ok": "consent-letters_home",
        "tell_gp": "consent-tell_gp",
    }
    shown = rows(_page(staff, _submit(service, {})))
    steps = (
        wizard.ABOUT,
        wizard.GENDER,
        wizard.CONTACT,
        wizard.CONTACT_PREFERENCES,
        wizard.GP,
        wizard.DIFFICULTIES,
        wizard.PREFERENCES,
    )
    for step in steps:
        for name in dict(wizard.STEPS)[step].base_fields:
            assert folded.get(name, name) in shown, f"{step}: {name} is not on the staff page"
    assert "safe_now" in shown


# --- Three states on the staff page -----------------------------------------------------


def test_every_optional_field_shows_its_answer(service, staff):
    shown = rows(_page(staff, _submit(service, _answered(service))))

    for name in optional_fields():
        value = shown.get(name)
        assert value is not None, f"{name} has no row"
        for words in ANSWERS[name][1]:
            assert words in value, f"{name}: {words!r} not in {value!r}"
        assert value not in (NOT_GIVEN, DECLINED), name


@pytest.mark.parametrize("name", prefer_fields())
def test_prefer_not_to_say_is_shown_as_such(service, staff, name):
    shown = rows(_page(staff, _submit(service, {name: PREFER_NOT_TO_SAY})))

    assert shown[name] == DECLINED


@pytest.mark.parametrize(
    ("name", "no", "words"),
    [("interpreter_needed", False, "No"), ("therapist_gender", "any", "Does not mind")],
)
def test_no_is_an_answer_kept_apart_from_not_given(service, staff, name, no, words):
    """An interpreter not needed, a therapist of any gender: answers, not blanks."""
    answered = rows(_page(staff, _submit(service, {name: no})))
    blank = rows(_page(staff, _submit(service, {})))

    assert answered[name] == words
    assert blank[name] == NOT_GIVEN
    page = _page(staff, _submit(service, {name: no}))
    row = page.split(f'id="shared-{name}"')[1].split("</div>")[0]
    assert "nhsuk-u-secondary-text-color" not in row  # shown as an answer, not as a blank


def test_the_wizard_offers_prefer_not_to_say_for_gender_and_duration():
    assert set(prefer_fields()) >= {"gender_identity", "difficulty_duration"}


def test_every_optional_field_left_blank_shows_not_given(service, staff):
    shown = rows(_page(staff, _submit(service, {})))

    for name in optional_fields():
        assert shown.get(name) == NOT_GIVEN, name


@pytest.mark.parametrize("name", optional_fields())
def test_the_three_states_read_differently(service, staff, name):
    answered = _answered(service)
    states = {rows(_page(staff, _submit(service, {})))[name]}
    states.add(rows(_page(staff, _submit(service, {name: answered[name]})))[name])
    if name in prefer_fields():
        states.add(rows(_page(staff, _submit(service, {name: PREFER_NOT_TO_SAY})))[name])
        assert len(states) == 3, states
    else:
        assert len(states) == 2, states


# --- Contact channels with the client's permission for each ------------------------------


def _decision(topic, granted):
    return ConsentDecision(topic=topic, granted=granted, wording="Asked?", wording_version="t-1")


@pytest.mark.parametrize("topic", CHANNEL_CONSENTS)
def test_each_channel_shows_the_clients_permission(service, staff, topic):
    yes = rows(_page(staff, _submit(service, {}, consents=[_decision(topic, True)])))
    no = rows(_page(staff, _submit(service, {}, consents=[_decision(topic, False)])))
    never = rows(_page(staff, _submit(service, {})))

    key = f"consent-{topic}"
    assert (yes[key], no[key], never[key]) == ("Yes", "No", "Not asked")


def test_a_withdrawn_permission_shows_as_withdrawn(service, staff):
    from intake.services import consent_withdraw

    referral = _submit(service, {}, consents=[_decision("contact_sms", True)])
    consent_withdraw(client=referral.client, topic="contact_sms", via="staff")

    assert rows(_page(staff, referral))["consent-contact_sms"] == "Withdrawn"


def test_phone_numbers_and_safe_times_are_shown_with_the_contact_details(service, staff):
    page = _page(staff, _submit(service, _answered(service)))

    contact = page.split("<h2>Contact</h2>")[1].split("<h2>")[0]
    for words in ("+447400123456", "+441134960123", "Not before 10am", "Contact by phone call"):
        assert words in contact


# --- Questionnaires, each answer as given ----------------------------------------------------


def test_questionnaires_show_score_band_and_each_answer_as_given(service, staff):
    phq9 = [1, 2, 0, 3, 3, 0, 1, 0, 0]
    gad7 = [1, PREFER_NOT_TO_SAY, 0, 0, 2, 0, 0]
    referral = _submit(
        service,
        {},
        questionnaires=[MeasureAnswers("phq9", phq9), MeasureAnswers("gad7", gad7)],
    )
    page = _page(staff, referral)
    shown = rows(page)

    measure = measures.get_measure("phq9")
    score = measures.score("phq9", phq9)
    assert shown["phq9-total"] == str(score.total)
    assert shown["phq9-band"] == score.band
    for number, answer in enumerate(phq9, start=1):
        expected = DECLINED if answer == PREFER_NOT_TO_SAY else measure.options[answer]
        assert shown[f"phq9-item-{number}"] == expected
        assert html.escape(measure.items[number - 1]) in page
    assert shown["gad7-item-2"] == DECLINED
    assert shown["gad7-item-1"] == measures.get_measure("gad7").options[1]
    assert shown["gad7-total"].startswith("Not scored")  # a withheld item: no total


def test_a_questionnaire_item_not_answered_reads_differently_from_declined(service, staff):
    core10 = [1, 1, 1, 1, 1, 0, 1, 1, 1, None]
    referral = _submit(service, {}, questionnaires=[MeasureAnswers("core10", core10)])

    shown = rows(_page(staff, referral))
    assert shown["core10-item-10"] == "Not answered"
    assert shown["core10-item-1"] == measures.get_measure("core10").options[1]


def test_no_questionnaires_says_so(service, staff):
    assert "No questionnaires answered" in _page(staff, _submit(service, {}))


# --- Bounded --------------------------------------------------------------------------------


def _queries(staff, referral) -> int:
    with CaptureQueriesContext(connection) as context:
        _page(staff, referral)
    return len(context.captured_queries)


def test_the_page_reads_everything_in_a_fixed_number_of_queries(
    service, staff, django_assert_max_num_queries
):
    # One questionnaire with a risk answer, so both pages read risk flags and their repeats.
    little = _submit(service, {}, questionnaires=[MeasureAnswers("phq9", [1] * 9)])
    _queries(staff, little)  # warm per-process caches
    fewest = _queries(staff, little)
    everything = _submit(
        service,
        _answered(service),
        consents=[_decision(topic, True) for topic in CHANNEL_CONSENTS],
        questionnaires=[
            MeasureAnswers("phq9", [1] * 9),
            MeasureAnswers("gad7", [2] * 7),
            MeasureAnswers("core10", [1] * 10),
        ],
    )
    with django_assert_max_num_queries(fewest):
        _page(staff, everything)


# --- The partner API keeps the three states apart ----------------------------------------


BODY = {"source": "gp", "given_name": "Sam", "family_name": "Reyes", "date_of_birth": "1984-02-29"}


def _api_body(values: dict) -> dict:
    prefs = set(intake_api.PreferencesInput().fields)
    body = dict(BODY)
    body["preferences"] = {k: v for k, v in values.items() if k in prefs}
    body.update({k: v for k, v in values.items() if k not in prefs})
    return body


def test_the_api_stores_prefer_not_to_say_for_gender_as_that_not_blank(api, service, staff):
    sent = api.post(URL, {**BODY, "gender_identity": PREFER_NOT_TO_SAY}, format="json")
    blank = api.post(URL, {**BODY, "gender_identity": ""}, format="json")
    absent = api.post(URL, BODY, format="json")

    assert (sent.status_code, blank.status_code, absent.status_code) == (201, 201, 201)
    stored = {
        response.json()["reference"]: Referral.objects.get(
            public_id=response.json()["id"]
        ).client.gender_identity
        for response in (sent, blank, absent)
    }
    assert sorted(stored.values()) == ["", "", PREFER_NOT_TO_SAY]
    declined = Referral.objects.get(public_id=sent.json()["id"])
    assert rows(_page(staff, declined))["gender_identity"] == DECLINED
    for response in (blank, absent):
        referral = Referral.objects.get(public_id=response.json()["id"])
        assert rows(_page(staff, referral))["gender_identity"] == NOT_GIVEN


def test_every_optional_api_field_is_stored_and_shown(api, service, staff):
    values = {name: ANSWERS[name][0] for name in api_fields() if name != "site"}
    response = api.post(URL, _api_body(values), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "reference", "status", "received_at", "risk_flags"}
    referral = Referral.objects.get(public_id=body["id"])
    shown = rows(_page(staff, referral))
    for name in values:
        for words in ANSWERS[name][1]:
            assert words in shown[name], f"{name}: {words!r} not in {shown[name]!r}"


def test_optional_api_fields_left_out_are_not_given(api, service, staff):
    response = api.post(URL, BODY, format="json")

    referral = Referral.objects.get(public_id=response.json()["id"])
    shown = rows(_page(staff, referral))
    for name in api_fields():
        assert shown[name] == NOT_GIVEN, name
    assert shown["safe_now"] == NOT_GIVEN  # a partner is not asked it


def test_the_api_fields_are_client_fields_or_preferences():
    known = set(CLIENT_FIELDS) | _preference_names() | set(optional_fields())
    assert set(api_fields()) <= known
    assert forms.PREFER[0] == PREFER_NOT_TO_SAY
