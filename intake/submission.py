"""Turning the wizard's cleaned steps into the service's ReferralInput."""

from __future__ import annotations

from intake import forms
from intake.models import PREFER_NOT_TO_SAY, ConsentRecord
from intake.services import ConsentDecision, MeasureAnswers, ReferralInput


def _yes(value) -> bool:
    return value == "yes"


def referral_input_from_steps(steps: dict[str, dict], *, service) -> ReferralInput:
    safety = steps.get("safety", {})
    about = steps.get("about", {})
    contact = steps.get("contact", {})
    gp = steps.get("gp", {})
    difficulties = steps.get("difficulties", {})
    preferences = steps.get("preferences", {})
    consent = steps.get("consent", {})

    gender = about.get("gender_identity", "")
    if gender == "self_described":
        gender = about.get("gender_self_described", "") or "self_described"

    decisions: list[ConsentDecision] = []

    def decide(topic: str, answer: str, wording: str) -> None:
        if answer in ("yes", "no"):
            decisions.append(ConsentDecision(topic=topic, granted=_yes(answer), wording=wording))

    contact_form = forms.ContactForm
    if contact.get("email"):
        decide(
            ConsentRecord.Topic.CONTACT_EMAIL,
            contact.get("email_ok"),
            contact_form.base_fields["email_ok"].label,
        )
    if contact.get("mobile_phone"):
        decide(
            ConsentRecord.Topic.CONTACT_SMS,
            contact.get("sms_ok"),
            contact_form.base_fields["sms_ok"].label,
        )
    calls = [
        contact.get("mobile_call_ok") if contact.get("mobile_phone") else "",
        contact.get("landline_call_ok") if contact.get("landline_phone") else "",
    ]
    if "yes" in calls:
        decide(ConsentRecord.Topic.CONTACT_PHONE, "yes", "May we call you?")
    elif "no" in calls:
        decide(ConsentRecord.Topic.CONTACT_PHONE, "no", "May we call you?")
    if "yes" in calls:
        decide(
            ConsentRecord.Topic.VOICEMAIL,
            contact.get("voicemail_ok"),
            contact_form.base_fields["voicemail_ok"].label,
        )
    if contact.get("address"):
        decide(
            ConsentRecord.Topic.LETTERS_HOME,
            contact.get("letters_ok"),
            contact_form.base_fields["letters_ok"].label,
        )
    decide(
        ConsentRecord.Topic.TELL_GP, gp.get("tell_gp"), forms.GpForm.base_fields["tell_gp"].label
    )
    decide(
        ConsentRecord.Topic.OUTCOME_DATA,
        consent.get("outcome_data"),
        forms.ConsentForm.base_fields["outcome_data"].label,
    )
    if consent.get("answers_own"):
        decide(
            ConsentRecord.Topic.ANSWERS_OWN,
            "yes",
            forms.ConsentForm.base_fields["answers_own"].label,
        )
        decide(ConsentRecord.Topic.PRIVACY_NOTICE, "yes", "Privacy notice shown before sending")

    questionnaires = []
    for step, code in (("phq9", "phq9"), ("gad7", "gad7")):
        items = steps.get(step)
        if items:
            answers = []
            for number in range(1, len(items) + 1):
                raw = items.get(f"item_{number}")
                answers.append(raw if raw == PREFER_NOT_TO_SAY else int(raw))
            questionnaires.append(MeasureAnswers(measure=code, answers=answers))

    return ReferralInput(
        given_name=about["given_name"],
        family_name=about["family_name"],
        date_of_birth=about["date_of_birth"],
        safe_now=safety.get("safe_now", ""),
        preferred_name=about.get("preferred_name", ""),
        pronouns=about.get("pronouns", ""),
        gender_identity=gender,
        nhs_number=about.get("nhs_number", ""),
        postcode=about.get("postcode", ""),
        email=contact.get("email", ""),
        mobile_phone=contact.get("mobile_phone", ""),
        landline_phone=contact.get("landline_phone", ""),
        address=contact.get("address", ""),
        preferred_channel=contact.get("preferred_channel", ""),
        safe_contact_times=contact.get("safe_contact_times", ""),
        gp_registered=gp.get("gp_registered", ""),
        gp_practice_name=gp.get("gp_practice_name", ""),
        gp_practice_address=gp.get("gp_practice_address", ""),
        presenting_problem=difficulties.get("presenting_problem", ""),
        difficulty_areas=difficulties.get("difficulty_areas", []),
        difficulty_duration=difficulties.get("difficulty_duration", ""),
        hopes=difficulties.get("hopes", ""),
        previous_help=difficulties.get("previous_help", ""),
        current_services=difficulties.get("current_services", []),
        preferences={
            "therapist_gender": preferences.get("therapist_gender", ""),
            "therapist_gender_strength": preferences.get("therapist_gender_strength", ""),
            "language": preferences.get("language", ""),
            "interpreter_needed": preferences.get("interpreter_needed") == "yes",
            "interpreter_language": preferences.get("interpreter_language", ""),
            "access_needs": preferences.get("access_needs", ""),
            "mode": preferences.get("mode", ""),
            "site": preferences.get("site", ""),
            "availability": preferences.get("availability", []),
            "more_than_weekly": preferences.get("more_than_weekly", ""),
        },
        consents=decisions,
        questionnaires=questionnaires,
    )
