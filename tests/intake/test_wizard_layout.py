"""One thing per page: the self-referral's steps split, with details revealed under the
answer they belong to (NHS.UK conditional reveals), still usable without JavaScript.

Without JavaScript every revealed question is on the page, so a detail typed and then
hidden by choosing "No" reaches the server: it must never be kept as if permitted."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from intake import forms
from intake.models import ConsentRecord, Preferences, Referral
from tests.intake.walk import MINIMAL, post_step, step_url, submit, walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def conditional_ids(page: str) -> dict[str, str]:
    """Each revealing input's id, with the id of the content it reveals."""
    found = {}
    for tag in re.findall(r"<input[^>]*data-aria-controls=[^>]*>", page):
        found[re.search(r' id="([^"]+)"', tag).group(1)] = re.search(
            r'data-aria-controls="([^"]+)"', tag
        ).group(1)
    return found


def revealed_block(page: str, block_id: str) -> str:
    start = page.index(f'id="{block_id}"')
    opening = page.rindex("<div", 0, start)
    return page[opening : page.index("<!-- end conditional -->", start)]


# --- About you, split ----------------------------------------------------------------------


def test_about_you_asks_identity_only_and_gender_has_its_own_page(client):
    walk(client, MINIMAL, stop_before="about")
    about = client.get(step_url("about")).text
    assert "date_of_birth" in about and "nhs_number" in about
    assert "gender_identity" not in about and "pronouns" not in about

    walk(client, {"about": MINIMAL["about"]})
    gender = client.get(step_url("gender")).text
    assert "gender_identity" in gender and "pronouns" in gender


def test_own_description_is_revealed_under_i_describe_it_another_way(client):
    walk(client, MINIMAL, stop_before="gender")
    page = client.get(step_url("gender")).text
    controls = conditional_ids(page)
    another_way = next(i for i in controls if "gender_identity" in i and i.endswith("_3"))
    block = revealed_block(page, controls[another_way])
    assert "gender_self_described" in block
    # Not chosen yet: hidden once scripts run, shown without them (the class only hides
    # content on pages where NHS.UK frontend's scripts are supported).
    assert "nhsuk-radios__conditional--hidden" in block


def test_a_description_typed_then_another_answer_chosen_is_not_kept(client):
    walk(client, MINIMAL, stop_before="gender")
    post_step(client, "gender", {"gender_identity": "woman", "gender_self_described": "Agender"})
    walk(client, {k: v for k, v in MINIMAL.items() if k not in ("safety", "about", "gender")})
    submit(client)

    assert Referral.objects.get().client.gender_identity == "woman"


def test_a_self_description_is_kept_when_that_answer_is_chosen(client):
    walk(client, MINIMAL, stop_before="gender")
    post_step(
        client,
        "gender",
        {"gender_identity": "self_described", "gender_self_described": "Agender"},
    )
    walk(client, {k: v for k, v in MINIMAL.items() if k not in ("safety", "about", "gender")})
    submit(client)

    assert Referral.objects.get().client.gender_identity == "Agender"


# --- Contacting you -------------------------------------------------------------------------

REQUIRED_WORDS = "at least one way to contact you that we may use"


def test_the_contact_page_says_what_is_required_before_any_error(client):
    walk(client, MINIMAL, stop_before="contact")
    page = client.get(step_url("contact")).text

    assert "nhsuk-error-summary" not in page
    assert REQUIRED_WORDS in page
    assert page.index(REQUIRED_WORDS) < page.index("<form")


def test_each_detail_is_revealed_under_yes_to_its_channel(client):
    walk(client, MINIMAL, stop_before="contact")
    page = client.get(step_url("contact")).text
    controls = conditional_ids(page)
    for question, detail in (
        ("email_ok", "id_contact-email"),
        ("mobile_ok", "id_contact-mobile_phone"),
        ("landline_call_ok", "id_contact-landline_phone"),
        ("letters_ok", "id_contact-address"),
    ):
        yes = f"id_contact-{question}_0"
        assert yes in controls, question
        assert f'id="{detail}"' in revealed_block(page, controls[yes]), question
    mobile = revealed_block(page, controls["id_contact-mobile_ok_0"])
    assert "mobile_uses" in mobile and "Text messages" in mobile and "Phone calls" in mobile
    assert "voicemail_ok" not in page  # asked on the next page, only when we may call


def test_a_detail_typed_then_hidden_by_no_is_not_stored_or_checked(client):
    walk(client, MINIMAL, stop_before="contact")
    response = post_step(
        client,
        "contact",
        {
            "email_ok": "no",
            "email": "not-an-email-and-hidden",  # typed, then "No" chosen
            "mobile_ok": "yes",
            "mobile_phone": "07400 123456",
            "mobile_uses": ["sms"],
            "landline_call_ok": "no",
            "landline_phone": "0113 496 0000",
            "letters_ok": "no",
            "address": "1 Mill Lane",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    walk(client, {k: v for k, v in MINIMAL.items() if k in ("contact-preferences", "gp")})
    walk(client, {k: v for k, v in MINIMAL.items() if k in ("difficulties", "questionnaires")})
    walk(client, {k: v for k, v in MINIMAL.items() if k in ("preferences", "consent")})
    check = client.get(step_url("check")).text
    assert "1 Mill Lane" not in check and "0113" not in check
    submit(client)

    person = Referral.objects.get().client
    assert person.email == "" and person.landline_phone == "" and person.address == ""
    assert person.mobile_phone == "+447400123456"
    decisions = {c.topic: c.decision for c in ConsentRecord.objects.all()}
    assert decisions[ConsentRecord.Topic.CONTACT_EMAIL] == "refused"
    assert decisions[ConsentRecord.Topic.CONTACT_SMS] == "granted"
    assert decisions[ConsentRecord.Topic.CONTACT_PHONE] == "refused"
    assert decisions[ConsentRecord.Topic.LETTERS_HOME] == "refused"
    assert ConsentRecord.Topic.VOICEMAIL not in decisions  # no calls: never asked


def test_hidden_details_are_not_kept_in_the_wizard_or_a_draft(client):
    walk(client, MINIMAL, stop_before="contact")
    post_step(
        client,
        "contact",
        {"email_ok": "yes", "email": "robin@example.com", "letters_ok": "no", "address": "Home"},
    )
    page = client.get(step_url("contact")).text
    assert "Home" not in page


def test_the_contact_form_needs_the_detail_under_each_yes():
    form = forms.ContactForm(
        {"email_ok": "yes", "mobile_ok": "yes", "landline_call_ok": "yes", "letters_ok": "yes"}
    )
    assert not form.is_valid()
    assert form.errors["email"] == ["Enter your email address"]
    assert form.errors["mobile_phone"] == ["Enter your mobile number"]
    assert "text you, call you, or both" in form.errors["mobile_uses"][0]
    assert form.errors["landline_phone"] == ["Enter your landline number"]
    assert form.errors["address"] == ["Enter your postal address"]


def test_the_contact_form_keeps_the_shape_downstream_code_reads():
    form = forms.ContactForm(
        {"mobile_ok": "yes", "mobile_phone": "07400 123456", "mobile_uses": ["calls"]}
    )
    assert form.is_valid(), form.errors
    data = form.cleaned_data
    assert (data["sms_ok"], data["mobile_call_ok"]) == ("no", "yes")
    assert data["email"] == "" and data["email_ok"] == ""


def test_voicemail_is_asked_only_where_we_may_call(client):
    walk(client, MINIMAL, stop_before="contact-preferences")
    assert "voicemail_ok" not in client.get(step_url("contact-preferences")).text
    post_step(
        client,
        "contact",
        {
            **MINIMAL["contact"],
            "mobile_ok": "yes",
            "mobile_phone": "07400 123456",
            "mobile_uses": ["calls"],
        },
    )
    page = client.get(step_url("contact-preferences")).text
    assert "voicemail_ok" in page
    response = post_step(client, "contact-preferences", {})
    assert "Select whether we may leave a voicemail" in response.text


def test_preferred_channel_offers_only_ways_we_may_use(client):
    walk(client, MINIMAL, stop_before="contact-preferences")
    # Only email: nothing to choose between.
    assert "preferred_channel" not in client.get(step_url("contact-preferences")).text
    post_step(
        client,
        "contact",
        {**MINIMAL["contact"], "letters_ok": "yes", "address": "1 Mill Lane"},
    )
    page = client.get(step_url("contact-preferences")).text
    assert 'value="email"' in page and 'value="letter"' in page and 'value="sms"' not in page


# --- Interpreter and therapist's gender ----------------------------------------------------


def test_interpreter_language_is_revealed_under_yes(client):
    walk(client, MINIMAL, stop_before="preferences")
    page = client.get(step_url("preferences")).text
    controls = conditional_ids(page)
    assert "interpreter_language" in revealed_block(
        page, controls["id_preferences-interpreter_needed_0"]
    )


def test_importance_is_revealed_under_a_gender_wish(client):
    walk(client, MINIMAL, stop_before="preferences")
    page = client.get(step_url("preferences")).text
    controls = conditional_ids(page)
    wish = revealed_block(page, controls["id_preferences-therapist_gender_matters_0"])
    assert "therapist_gender_strength" in wish and "A woman" in wish


@pytest.mark.parametrize(
    ("posted", "needed", "gender", "strength"),
    [
        ({"interpreter_needed": "no", "therapist_gender_matters": "no"}, False, "any", ""),
        ({}, None, "", ""),
        (
            {
                "interpreter_needed": "yes",
                "interpreter_language": "Polish",
                "therapist_gender_matters": "yes",
                "therapist_gender": "female",
                "therapist_gender_strength": "requirement",
            },
            True,
            "female",
            "requirement",
        ),
    ],
)
def test_no_and_unanswered_are_stored_apart(client, posted, needed, gender, strength):
    walk(client, {k: v for k, v in MINIMAL.items() if k != "preferences"})
    post_step(client, "preferences", posted)
    walk(client, {"consent": MINIMAL["consent"]})
    submit(client)

    prefs = Preferences.objects.get()
    assert prefs.interpreter_needed is needed
    assert (prefs.therapist_gender, prefs.therapist_gender_strength) == (gender, strength)


def test_a_language_or_gender_typed_then_no_chosen_is_not_kept():
    form = forms.PreferencesForm(
        {
            "interpreter_needed": "no",
            "interpreter_language": "Polish",
            "therapist_gender_matters": "no",
            "therapist_gender": "male",
            "therapist_gender_strength": "requirement",
        },
        sites=[],
    )
    assert form.is_valid(), form.errors
    data = form.cleaned_data
    assert data["interpreter_language"] == ""
    assert (data["therapist_gender"], data["therapist_gender_strength"]) == ("any", "")


def test_a_gender_wish_needs_the_gender_and_its_importance():
    form = forms.PreferencesForm({"therapist_gender_matters": "yes"}, sites=[])
    assert not form.is_valid()
    assert "therapist_gender" in form.errors and "therapist_gender_strength" in form.errors


# --- Check your answers and the service's name ---------------------------------------------


def test_check_page_has_a_change_link_to_each_new_step(client):
    walk(client, MINIMAL)
    page = client.get(step_url("check")).text
    for step in ("about", "gender", "contact", "contact-preferences", "preferences"):
        assert f'href="{step_url(step)}?change=1"' in page, step


def test_public_pages_name_the_service_as_the_staff_pages_do(client, service):
    start = client.get(reverse("refer-start")).text
    assert f"ask {settings.SERVICE_NAME} for help" in start
    walk(client, MINIMAL)
    check = client.get(step_url("check")).text
    assert f"you ask {settings.SERVICE_NAME} to contact you" in check


# --- No silent truncation -----------------------------------------------------------------


def test_no_step_has_a_maxlength_attribute(client):
    walk(client, MINIMAL)
    for step in ("about", "gender", "contact", "contact-preferences", "gp", "preferences"):
        page = client.get(step_url(step)).text
        assert " maxlength=" not in page, step


def test_an_over_long_description_is_an_error_and_the_text_is_kept(client):
    walk(client, MINIMAL, stop_before="gender")
    too_long = "z" * 101
    response = post_step(
        client,
        "gender",
        {"gender_identity": "self_described", "gender_self_described": too_long},
    )
    assert response.status_code == 200
    assert "100 characters or fewer" in response.text
    assert too_long in response.text
