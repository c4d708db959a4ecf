"""What the FHIR module says the same way in every Bundle: canonical URLs, code systems,
profiles, and the four questionnaires as FHIR Questionnaire resources.

Canonical URLs (questionnaires, our own code systems and extensions) sit under one fixed
base, CANONICAL, the same for every service and deployment: a questionnaire exported by one
service is the same Questionnaire to the service that imports it. Identifiers that name a
record of one deployment (a referral's reference, a therapist) are under that deployment's
SITE_URL instead (`identifier_system`).

LOINC codes are used only where checked against LOINC's own published table (its panels
and forms listing): the PHQ-9 panel 44249-1 and its total score 44261-6, the GAD-7 panel
69737-5 and its total score 70274-6. CORE-10 and WSAS have none used here (docs/api.md,
"FHIR R4").
"""

from __future__ import annotations

from functools import cache

from django.conf import settings

import measures

CANONICAL = "https://threshold.example.org/fhir"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
DATA_ABSENT_CODES = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
# Resources UK Core profiles; the others (Goal, CarePlan) carry no meta.profile.
PROFILED = frozenset(
    {
        "Bundle",
        "Consent",
        "Encounter",
        "Flag",
        "Observation",
        "OperationOutcome",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Questionnaire",
        "QuestionnaireResponse",
        "ServiceRequest",
    }
)

# Our own code systems and extensions (documented in docs/api.md).
CS_ANSWER = f"{CANONICAL}/CodeSystem/answer-option"  # code "<measure>-<option>"
CS_DIFFICULTY = f"{CANONICAL}/CodeSystem/difficulty-area"
CS_CURRENT_SERVICE = f"{CANONICAL}/CodeSystem/current-service"
CS_CONSENT_TOPIC = f"{CANONICAL}/CodeSystem/consent-topic"
CS_RISK_SOURCE = f"{CANONICAL}/CodeSystem/risk-flag-source"
CS_GBO = f"{CANONICAL}/CodeSystem/goal-based-outcome"
EXT_SOURCE = f"{CANONICAL}/StructureDefinition/referral-source"
EXT_NOTE_KIND = f"{CANONICAL}/StructureDefinition/note-kind"
EXT_CURRENT_SERVICE = f"{CANONICAL}/StructureDefinition/current-service"
EXT_GENDER_IDENTITY = f"{CANONICAL}/StructureDefinition/gender-identity"
EXT_PRONOUNS = f"{CANONICAL}/StructureDefinition/pronouns"
EXT_CONSENT_DECISION = f"{CANONICAL}/StructureDefinition/consent-decision"
EXT_WORDING_VERSION = f"{CANONICAL}/StructureDefinition/consent-wording-version"
# The client's wishes for therapy arrangements: one sub-extension per wish (url = its name).
EXT_PREFERENCES = f"{CANONICAL}/StructureDefinition/referral-preferences"
PREFERENCE_TYPES = {
    "therapist_gender": "valueCode",
    "therapist_gender_strength": "valueCode",
    "language": "valueString",
    "interpreter_needed": "valueBoolean",
    "interpreter_language": "valueString",
    "access_needs": "valueString",
    "mode": "valueCode",
    "availability": "valueCode",  # repeated, one per time of the week
}

OUR_SYSTEMS = frozenset(
    {CS_ANSWER, CS_DIFFICULTY, CS_CURRENT_SERVICE, CS_CONSENT_TOPIC, CS_RISK_SOURCE, CS_GBO}
)

# "Prefer not to say" and "not applicable", as data-absent reasons.
ASKED_DECLINED = "asked-declined"
NOT_APPLICABLE = "not-applicable"
ABSENT_DISPLAY = {ASKED_DECLINED: "Asked But Declined", NOT_APPLICABLE: "Not Applicable"}
ABSENT_FOR = {measures.PREFER_NOT_TO_SAY: ASKED_DECLINED, measures.NOT_APPLICABLE: NOT_APPLICABLE}
ANSWER_FOR_ABSENT = {code: answer for answer, code in ABSENT_FOR.items()}

# Checked LOINC codes: (panel, total score) per measure, None where none is used.
LOINC_CODES: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]] = {
    measures.PHQ9: (
        ("44249-1", "PHQ-9 quick depression assessment panel"),
        ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
    ),
    measures.GAD7: (
        ("69737-5", "Generalized anxiety disorder 7 item (GAD-7)"),
        ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
    ),
    measures.CORE10: (None, None),
    measures.WSAS: (None, None),
}
TOTAL_LINK_ID = "total"
QUESTIONNAIRE_VERSION = "1"


def profile(resource_type: str) -> dict:
    """meta with the UK Core profile, where UK Core has one for the resource."""
    if resource_type not in PROFILED:
        return {}
    return {"meta": {"profile": [f"{UK_CORE}{resource_type}"]}}


def identifier_system(kind: str) -> str:
    """The system of this deployment's identifiers of one kind (referral, therapist)."""
    return f"{settings.SITE_URL}/fhir/Id/{kind}"


def questionnaire_url(code: str) -> str:
    return f"{CANONICAL}/Questionnaire/{code}"


def measure_for_questionnaire(canonical: str) -> str | None:
    """The measure a Questionnaire canonical (with or without |version) names, or None."""
    url = canonical.split("|", 1)[0]
    prefix = f"{CANONICAL}/Questionnaire/"
    code = url[len(prefix) :] if url.startswith(prefix) else ""
    return code if code in measures.MEASURES else None


def absent(code: str) -> dict:
    return {"extension": [{"url": DATA_ABSENT, "valueCode": code}]}


def absent_coding(code: str) -> dict:
    return {"system": DATA_ABSENT_CODES, "code": code, "display": ABSENT_DISPLAY[code]}


def answer_coding(code: str, option: int) -> dict:
    measure = measures.get_measure(code)
    return {"system": CS_ANSWER, "code": f"{code}-{option}", "display": measure.options[option]}


@cache
def questionnaire(code: str) -> dict:
    """The measure as a FHIR Questionnaire (built once; treat as read-only)."""
    measure = measures.get_measure(code)
    panel, total = LOINC_CODES[code]
    options = [{"valueCoding": answer_coding(code, i)} for i in range(len(measure.options))]
    options.append({"valueCoding": absent_coding(ASKED_DECLINED)})
    items = []
    for number, text in enumerate(measure.items, start=1):
        item_options = list(options)
        if number in measure.not_applicable_items:
            item_options.append({"valueCoding": absent_coding(NOT_APPLICABLE)})
        items.append(
            {"linkId": str(number), "text": text, "type": "choice", "answerOption": item_options}
        )
    total_item = {
        "linkId": TOTAL_LINK_ID,
        "text": f"{measure.name} total score",
        "type": "decimal",
        "readOnly": True,
    }
    if total:
        total_item["code"] = [{"system": LOINC, "code": total[0], "display": total[1]}]
    items.append(total_item)
    resource = {
        "resourceType": "Questionnaire",
        "id": code,
        **profile("Questionnaire"),
        "url": questionnaire_url(code),
        "version": QUESTIONNAIRE_VERSION,
        "name": measure.name.replace("-", ""),
        "title": f"{measure.name}: {measure.title}",
        "status": "active",
        "subjectType": ["Patient"],
        "description": measure.timeframe,
        "item": items,
    }
    if panel:
        resource["code"] = [{"system": LOINC, "code": panel[0], "display": panel[1]}]
    return resource
