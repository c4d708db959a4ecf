"""Turning the wizard's cleaned steps into the service's ReferralInput."""

from __future__ import annotations

from intake import forms
from intake.models import PREFER_NOT_TO_SAY, ConsentRecord
from intake.services import ConsentDecision, MeasureAnswers, ReferralInput


def _yes(value) -> bool:
    return value == "yes"


def _asked(form_class, name: str) -> str:
    """A question as the page showed it: its label, then its hint."""
    field = form_class.base_fields[name]
    return f"{field.label}\n{field.help_text}" if field.help_text else str(field.label)


def _asked_mobile(answer: str, use: str) -> str:
    """The mobile question as shown, and (after "Yes") the use it asked about."""
    asked = _asked(forms.ContactForm, "mobile_ok")
    if answer != "yes":
        return asked
    label = dict(forms.MOBILE_USES)[use]
    return f"{asked}\n{_asked(forms.ContactForm, 'mobile_uses')}: {label}"


def referral_input_from_steps(
    steps: dict[str, dict], *, service, notice_version: str = ""
) -> ReferralInput:
    """``notice_version``: the notice shown on the consent step, for a journey whose consent
    answers predate keeping it with them."""
    safety = steps.get("safety", {})
    about = {**steps.get("gender", {}), **steps.get("about", {})}
    # The contact details and permissions, then voicemail, the way preferred and safe times.
    contact = {**steps.get("contact-preferences", {}), **steps.get("contact", {})}
    gp = steps.get("gp", {})
    difficulties = steps.get("difficulties", {})
    preferences = steps.get("preferences", {})
    consent = steps.get("consent", {})

    gender = about.get("gender_identity", "")
    if gender == "self_described":
        gender = about.get("gender_self_described", "") or "self_described"

    # Every decision is made under the privacy notice shown on the consent step, where the
    # person confirms the referral; each records the question exactly as it was shown.
    version = consent.get("notice_version") or notice_version or forms.BUILT_IN_NOTICE_VERSION
    decisions: list[ConsentDecision] = []

    def decide(topic: str, answer: str, wording: str) -> None:
        if answer in ("yes", "no"):
            decisions.append(
                ConsentDecision(
                    topic=topic, granted=_yes(answer), wording=wording, wording_version=version
                )
            )

    # Each channel's permission is recorded as answered, yes or no; a "yes" always came
    # with its detail (the form asks for it), a "no" keeps none.
    contact_form = forms.ContactForm
    decide(
        ConsentRecord.Topic.CONTACT_EMAIL,
        contact.get("email_ok"),
        _asked(contact_form, "email_ok"),
    )
    decide(
        ConsentRecord.Topic.CONTACT_SMS,
        contact.get("sms_ok"),
        _asked_mobile(contact.get("mobile_ok"), "sms"),
    )
    calls = {}
    if contact.get("mobile_call_ok") in ("yes", "no"):
        calls["mobile"] = (contact["mobile_call_ok"], _asked_mobile(contact["mobile_ok"], "calls"))
    if contact.get("landline_call_ok") in ("yes", "no"):
        calls["landline"] = (
            contact["landline_call_ok"],
            _asked(contact_form, "landline_call_ok"),
        )
    if calls:
        answers = [answer for answer, _ in calls.values()]
        decide(
            ConsentRecord.Topic.CONTACT_PHONE,
            "yes" if "yes" in answers else "no",
            "\n".join(wording for _, wording in calls.values()),
        )
    if any(answer == "yes" for answer, _ in calls.values()):
        decide(
            ConsentRecord.Topic.VOICEMAIL,
            contact.get("voicemail_ok"),
            _asked(forms.ContactPreferencesForm, "voicemail_ok"),
        )
    decide(
        ConsentRecord.Topic.LETTERS_HOME,
        contact.get("letters_ok"),
        _asked(contact_form, "letters_ok"),
    )
    decide(ConsentRecord.Topic.TELL_GP, gp.get("tell_gp"), _asked(forms.GpForm, "tell_gp"))
    decide(
        ConsentRecord.Topic.OUTCOME_DATA,
        consent.get("outcome_data"),
        _asked(forms.ConsentForm, "outcome_data"),
    )
    if consent.get("answers_own"):
        decide(ConsentRecord.Topic.ANSWERS_OWN, "yes", _asked(forms.ConsentForm, "answers_own"))
        decide(
            ConsentRecord.Topic.PRIVACY_NOTICE,
            "yes",
            f"Privacy notice version {version}, shown on the consent step before sending",
        )

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
            # True, False, or None where the question was not answered.
            "interpreter_needed": {"yes": True, "no": False}.get(
                preferences.get("interpreter_needed", "")
            ),
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
