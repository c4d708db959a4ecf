"""A referral with a full record, and the checks every exported Bundle must pass."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from allocation.models import Allocation
from api.fhir import definitions as d
from intake.models import ConsentRecord
from intake.services import (
    ConsentDecision,
    MeasureAnswers,
    ReferralInput,
    consent_withdraw,
    referral_submit,
)
from tests import factories
from therapy.models import Goal, GoalRating, TherapySession

PNTS = "prefer_not_to_say"
QUESTIONNAIRES = {
    # Item 9 answered 1: a risk flag. Item 3 "prefer not to say": an answer, not a blank.
    "phq9": [1, 2, PNTS, 1, 0, 1, 2, 0, 1],
    "gad7": [2, 2, 1, 1, 0, 1, 2],
    # One item missed: prorated.
    "core10": [1, 3, 3, None, 1, 0, 2, 1, 2, 1],
    "wsas": ["not_applicable", 3, 4, 2, 5],
}


def referral_input(**changes) -> ReferralInput:
    values = {
        "source": "gp",
        "given_name": "Sam",
        "family_name": "Reyes",
        "preferred_name": "Sammy",
        "date_of_birth": dt.date(1984, 2, 29),
        "pronouns": "they/them",
        "gender_identity": PNTS,
        "nhs_number": "9434765919",
        "postcode": "LS1 4AP",
        "email": "sam@example.com",
        "mobile_phone": "+447400123456",
        "address": "1 Park Row, Leeds",
        "gp_practice_name": "Park Row Surgery",
        "gp_practice_address": "2 Park Row, Leeds",
        "presenting_problem": "Low since the winter",
        "hopes": "To sleep again",
        "previous_help": "Counselling at college",
        "difficulty_areas": ["low_mood", "loss"],
        "current_services": ["none"],
        "preferences": {
            "therapist_gender": "female",
            "therapist_gender_strength": "preference",
            "language": "Polish",
            "interpreter_needed": True,
            "interpreter_language": "Polish",
            "access_needs": "Step-free access",
            "mode": "either",
            "availability": ["tue_morning", "thu_evening"],
        },
        "consents": [
            ConsentDecision("contact_email", True, "May we email you?", "gp-form-3"),
            ConsentDecision("tell_gp", False, "May we tell your GP?", "gp-form-3"),
        ],
        "questionnaires": [MeasureAnswers(code, list(a)) for code, a in QUESTIONNAIRES.items()],
    }
    return ReferralInput(**(values | changes))


def make_referral(service, *, key: str = "fhir-world", **changes):
    return referral_submit(
        service=service, data=referral_input(**changes), idempotency_key=key, via="api"
    ).referral


def add_therapy(referral, therapist_user, coordinator, *, sessions: int = 2, goals: int = 2):
    """Allocated to the therapist, in therapy with a plan, goals rated twice, and sessions
    (every other one missed)."""
    profile = factories.TherapistFactory(
        service=referral.service, user=therapist_user, display_name="Jo Therapist"
    )
    Allocation.objects.create(
        service=referral.service,
        referral=referral,
        therapist=profile,
        source=Allocation.Source.RECORDED,
        first_appointment_at=timezone.now() - dt.timedelta(weeks=12),
        allocated_by=coordinator,
        allocated_at=timezone.now() - dt.timedelta(weeks=13),
    )
    therapy = factories.TherapyFactory(
        referral=referral, therapist=therapist_user, started_by=coordinator
    )
    factories.SessionPlanFactory(referral=referral, created_by=therapist_user)
    today = timezone.localdate()
    for n in range(goals):
        goal = Goal.objects.create(
            service=referral.service,
            referral=referral,
            description=f"Goal {n + 1} in the client's words",
            agreed_on=today - dt.timedelta(weeks=10),
            created_by=therapist_user,
        )
        for weeks, score in ((10, 2), (2, 6)):
            GoalRating.objects.create(
                goal=goal,
                score=score,
                rated_on=today - dt.timedelta(weeks=weeks),
                recorded_by=therapist_user,
            )
    for n in range(sessions):
        TherapySession.objects.create(
            service=referral.service,
            referral=referral,
            therapy=therapy,
            occurred_on=today - dt.timedelta(weeks=sessions - n),
            attendance=(
                TherapySession.Attendance.ATTENDED
                if n % 2 == 0
                else TherapySession.Attendance.DID_NOT_ATTEND
            ),
            recorded_by=therapist_user,
        )
    return therapy


def withdraw_email_consent(referral):
    return consent_withdraw(
        client=referral.client, topic="contact_email", via=ConsentRecord.Via.PORTAL
    )


# --- Checks ----------------------------------------------------------------------------------

VERIFIED_LOINC = {"44249-1", "44261-6", "69737-5", "70274-6"}
KNOWN_SYSTEMS = d.OUR_SYSTEMS | {
    d.LOINC,
    d.SNOMED,
    d.DATA_ABSENT_CODES,
    d.ACT_CODE,
    d.CONSENT_SCOPE,
    d.FLAG_CATEGORY,
    d.OBSERVATION_CATEGORY,
}


def resources(bundle: dict, resource_type: str) -> list[dict]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def _walk(value, path=""):
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, f"{path}[{index}]")


def check_bundle(bundle: dict) -> list[str]:
    """Every problem with a Bundle: as FHIR R4 (fhir.resources R4B), its references, its
    codes and profiles. Empty when all is well."""
    problems = []
    Bundle.model_validate(bundle)  # raises on anything that is not valid FHIR
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    if len(full_urls) != len(bundle["entry"]):
        problems.append("two entries share a fullUrl")
    canonicals = {f"{r['url']}|{r['version']}" for r in resources(bundle, "Questionnaire")} | {
        r["url"] for r in resources(bundle, "Questionnaire")
    }
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        contained = {f"#{c['id']}" for c in resource.get("contained", [])}
        for path, node in _walk(resource, kind):
            target = node.get("reference")
            if isinstance(target, str) and target not in full_urls | contained:
                problems.append(f"{path}: reference {target} is not in the Bundle")
            system = node.get("system")
            if "code" in node and isinstance(system, str) and path.split(".")[-1] != "identifier":
                if system not in KNOWN_SYSTEMS:
                    problems.append(f"{path}: unknown code system {system}")
                if system == d.LOINC and node["code"] not in VERIFIED_LOINC:
                    problems.append(f"{path}: LOINC {node['code']} is not one checked")
        if kind == "QuestionnaireResponse" and resource["questionnaire"] not in canonicals:
            problems.append(f"{kind}: its Questionnaire is not in the Bundle")
        if kind in d.PROFILED and resource.get("meta", {}).get("profile") != [f"{d.UK_CORE}{kind}"]:
            problems.append(f"{kind}: no UK Core profile in meta.profile")
    problems += _answers_are_options(bundle)
    return problems


def _answers_are_options(bundle: dict) -> list[str]:
    """Each coded answer is one of its Questionnaire item's answerOptions."""
    problems = []
    by_url = {q["url"]: q for q in resources(bundle, "Questionnaire")}
    for response in resources(bundle, "QuestionnaireResponse"):
        questionnaire = by_url[response["questionnaire"].split("|")[0]]
        options = {
            item["linkId"]: [o["valueCoding"] for o in item.get("answerOption", [])]
            for item in questionnaire["item"]
        }
        for item in response["item"]:
            for answer in item.get("answer", []):
                coding = answer.get("valueCoding")
                if coding is not None and coding not in options[item["linkId"]]:
                    problems.append(f"{response['id']} item {item['linkId']}: {coding}")
    return problems
