"""One referral's record as a FHIR R4 Bundle (type collection), built as plain dicts.

Who exports: the client's clinicians, those who read the clinical record item by item
(common.access rule "referral.clinical_text": the assessor of the referral, the client's
therapist). The therapy record (goals with their ratings, the session plan, attended
sessions) goes only to the client's therapist, now or before, as on the staff pages; an
assessor's Bundle leaves it out.

The queries are fixed in number whatever the record holds: one query reads the referral with
its client and, as JSON arrays beside it, every kind of record the Bundle carries (consents,
questionnaires, open risk flags, the active allocation with its therapist; for a therapist
also goals with their ratings, the current session plan and attended sessions), made back
into model rows here (`_rows`); an assessor's access rules may add their few look-ups.
`tests/api/test_fhir_export.py` counts them.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone

import measures
from allocation.models import Allocation, Therapist
from api.fhir import definitions as d
from common import access, encryption, roles
from common.models import Site, User
from intake import forms
from intake.models import ConsentRecord, MeasureResponse, Referral, RiskFlag
from therapy.models import Goal, GoalRating, SessionPlan, Therapy, TherapySession

NOT_FOR_ROLE = (
    "The FHIR export carries the clinical record item by item: it is for the client's "
    "clinicians (an assessor or the client's therapist)."
)
NOT_FOUND = "No referral with this id that you may export."
RESTRICTED = (
    "The client has asked for the use of their record to be restricted (UK GDPR Art. 18): "
    "it is not exported while the restriction is in force. The referral's page says more."
)
INTEGRATION_READS_NONE = "This is an integration account: it sends referrals and reads none back."


class ExportRefused(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code  # the OperationOutcome issue code, when the status does not say it


@dataclass(frozen=True)
class ExportSight:
    risk_detail: bool
    therapy_record: bool


def referral_for_export(*, user, public_id) -> tuple[Referral, ExportSight]:
    """The referral the user may export, and how much of it; ExportRefused (403 for the
    wrong account or role, 404 for a referral that is not theirs to read) otherwise."""
    if access.is_integration_account(user):
        raise ExportRefused(403, INTEGRATION_READS_NONE)
    if not access.has_any_role(user, access.CLINICIANS):
        raise ExportRefused(403, NOT_FOR_ROLE)
    if not isinstance(public_id, uuid.UUID):
        raise ExportRefused(404, NOT_FOUND)
    # Whether the user is the client's therapist, now or before (access.therapist_of_client),
    # is read with the referral, and so is every record the Bundle carries: one query.
    is_therapist = access.has_any_role(user, (roles.THERAPIST,))
    referral = (
        Referral.objects.select_related("client", "preferences")
        .filter(public_id=public_id, service_id=user.service_id)
        .annotate(
            users_client=Exists(Therapy.objects.filter(referral=OuterRef("pk"), therapist=user)),
            **_RECORD_JSON,
            **(_THERAPY_RECORD_JSON if is_therapist else {}),
        )
        .first()
    )
    if referral is None:
        raise ExportRefused(404, NOT_FOUND)
    # The client's therapist (now or before) of the user's service reads the clinical text
    # by the rule itself; asking the rule as well would repeat the same look-up.
    own_client = is_therapist and referral.users_client
    if not own_client and not access.may_read(user, "clinical_text", referral):
        raise ExportRefused(404, NOT_FOUND)
    if referral.restricted_at is not None:
        # Sending the record to another system is a use a restriction stops.
        raise ExportRefused(409, RESTRICTED, code="business-rule")
    sight = ExportSight(
        risk_detail=access.may_read(user, "risk_detail", referral), therapy_record=own_client
    )
    return referral, sight


def ref(resource_type: str, public_id) -> dict:
    return {"reference": f"urn:uuid:{public_id}", "type": resource_type}


def _entry(resource: dict) -> dict:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _date(value) -> str | None:
    return value.isoformat() if value else None


def instant(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _clean(resource: dict) -> dict:
    """Drop keys whose value is None or empty: FHIR has no empty elements."""
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


# --- The resources ----------------------------------------------------------------------

GENDER = {"woman": "female", "man": "male", "non_binary": "other", "self_described": "other"}
DIFFICULTY_NAMES = dict(forms.DIFFICULTY_AREAS)
CURRENT_SERVICE_NAMES = dict(forms.CURRENT_SERVICES)
SOURCE_REQUESTER = {
    Referral.Source.GP: "GP practice",
    Referral.Source.PARTNER: "Partner service",
}
REQUEST_STATUS = {
    Referral.Status.ENDED: "completed",
    Referral.Status.SIGNPOSTED: "completed",
    Referral.Status.WITHDRAWN: "revoked",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REMOTE_MODES = {"video", "phone"}


def patient(client) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(client.public_id),
        **d.profile("Patient"),
    }
    extensions = []
    if client.gender_identity and client.gender_identity != measures.PREFER_NOT_TO_SAY:
        extensions.append({"url": d.EXT_GENDER_IDENTITY, "valueString": client.gender_identity})
    if client.pronouns:
        extensions.append({"url": d.EXT_PRONOUNS, "valueString": client.pronouns})
    names = [{"use": "official", "family": client.family_name, "given": [client.given_name]}]
    if client.preferred_name:
        names.append({"use": "usual", "given": [client.preferred_name]})
    telecom = []
    if client.email:
        telecom.append({"system": "email", "value": client.email})
    if client.mobile_phone:
        telecom.append({"system": "phone", "value": client.mobile_phone, "use": "mobile"})
    if client.landline_phone:
        telecom.append({"system": "phone", "value": client.landline_phone, "use": "home"})
    address = _clean({"text": client.address, "postalCode": client.postcode})
    resource |= _clean(
        {
            "extension": extensions,
            "identifier": (
                [{"system": d.NHS_NUMBER, "value": client.nhs_number}] if client.nhs_number else []
            ),
            "name": names,
            "telecom": telecom,
            "birthDate": _date(client.date_of_birth),
            "address": [address] if address else [],
        }
    )
    if client.gender_identity == measures.PREFER_NOT_TO_SAY:
        # Asked, and the client chose not to say: a reason, never a blank.
        resource["_gender"] = d.absent(d.ASKED_DECLINED)
    elif client.gender_identity in GENDER:
        resource["gender"] = GENDER[client.gender_identity]
    if client.gp_practice_name or client.gp_practice_address:
        gp = _clean(
            {
                "resourceType": "Organization",
                "id": "gp",
                "name": client.gp_practice_name,
                "address": (
                    [{"text": client.gp_practice_address}] if client.gp_practice_address else []
                ),
            }
        )
        resource["contained"] = [gp]
        resource["generalPractitioner"] = [{"reference": "#gp", "type": "Organization"}]
    return resource


def service_request(referral, *, responses, role_id) -> dict:
    client_ref = ref("Patient", referral.client.public_id)
    extensions = [{"url": d.EXT_SOURCE, "valueCode": referral.source}]
    extensions += [
        {
            "url": d.EXT_CURRENT_SERVICE,
            "valueCoding": {
                "system": d.CS_CURRENT_SERVICE,
                "code": code,
                "display": CURRENT_SERVICE_NAMES.get(code, code),
            },
        }
        for code in referral.current_services
    ]
    wishes = _preferences(referral)
    if wishes:
        extensions.append({"url": d.EXT_PREFERENCES, "extension": wishes})
    notes = [
        {
            "extension": [{"url": d.EXT_NOTE_KIND, "valueCode": kind}],
            "text": getattr(referral, kind),
        }
        for kind in ("presenting_problem", "hopes", "previous_help")
        if getattr(referral, kind)
    ]
    requester = (
        client_ref
        if referral.source == Referral.Source.SELF
        else {"display": referral.client.gp_practice_name or SOURCE_REQUESTER[referral.source]}
    )
    return _clean(
        {
            "resourceType": "ServiceRequest",
            "id": str(referral.public_id),
            **d.profile("ServiceRequest"),
            "extension": extensions,
            "identifier": [
                {"system": d.identifier_system("referral"), "value": referral.reference}
            ],
            "status": REQUEST_STATUS.get(referral.status, "active"),
            "intent": "order",
            "category": [
                {"coding": [{"system": d.SNOMED, "code": "3457005", "display": "Patient referral"}]}
            ],
            "priority": "urgent" if referral.risk_level == Referral.Risk.HIGH else "routine",
            "code": {"text": "Assessment for psychodynamic psychotherapy"},
            "subject": client_ref,
            "authoredOn": instant(referral.received_at),
            "requester": requester,
            "performer": [ref("PractitionerRole", role_id)] if role_id else [],
            "reasonCode": [
                {
                    "coding": [
                        {
                            "system": d.CS_DIFFICULTY,
                            "code": code,
                            "display": DIFFICULTY_NAMES.get(code, code),
                        }
                    ]
                }
                for code in referral.difficulty_areas
            ],
            # What came with the referral; later questionnaires stand on their own.
            "supportingInfo": [
                ref("QuestionnaireResponse", r.public_id)
                for r in responses
                if r.context == MeasureResponse.Context.SELF_REFERRAL
            ],
            "note": notes,
        }
    )


def _preferences(referral) -> list[dict]:
    """The wishes given, as sub-extensions; a blank or unanswered wish is left out."""
    try:
        preferences = referral.preferences
    except Referral.preferences.RelatedObjectDoesNotExist:
        return []
    out = []
    for name, value_type in d.PREFERENCE_TYPES.items():
        value = getattr(preferences, name)
        values = value if isinstance(value, list) else [value]
        out += [{"url": name, value_type: v} for v in values if v not in (None, "")]
    return out


def questionnaire_response(response, client_ref, referral_ref) -> dict:
    measure = measures.get_measure(response.measure)
    items = []
    for number, (text, answer) in enumerate(zip(measure.items, response.answers, strict=False), 1):
        item = {"linkId": str(number), "text": text}
        if isinstance(answer, int) and not isinstance(answer, bool):
            item["answer"] = [{"valueCoding": d.answer_coding(measure.code, answer)}]
        elif answer in d.ABSENT_FOR:
            item["answer"] = [{"valueCoding": d.absent_coding(d.ABSENT_FOR[answer])}]
        items.append(item)
    if response.total is not None:
        total = response.total
        value = int(total) if total == total.to_integral_value() else float(total)
        items.append(
            {
                "linkId": d.TOTAL_LINK_ID,
                "text": f"{measure.name} total score",
                "answer": [{"valueDecimal": value}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.public_id),
        **d.profile("QuestionnaireResponse"),
        "questionnaire": f"{d.questionnaire_url(measure.code)}|{d.QUESTIONNAIRE_VERSION}",
        "basedOn": [referral_ref],
        "status": "completed",
        "subject": client_ref,
        "authored": instant(response.completed_at),
        "item": items,
    }


def consents(records, client_ref) -> list[dict]:
    """Every decision, withdrawals included; the latest per topic is active, earlier ones
    are inactive (replaced)."""
    latest = {}
    for record in records:
        latest[record.topic] = record.pk
    topic_names = dict(ConsentRecord.Topic.choices)
    out = []
    for record in records:
        permit = record.decision == ConsentRecord.Decision.GRANTED
        out.append(
            {
                "resourceType": "Consent",
                "id": str(record.public_id),
                **d.profile("Consent"),
                "extension": [
                    {"url": d.EXT_CONSENT_DECISION, "valueCode": record.decision},
                    {"url": d.EXT_WORDING_VERSION, "valueString": record.wording_version},
                ],
                "status": "active" if latest[record.topic] == record.pk else "inactive",
                "scope": {"coding": [{"system": d.CONSENT_SCOPE, "code": "patient-privacy"}]},
                "category": [
                    {
                        "coding": [
                            {
                                "system": d.CS_CONSENT_TOPIC,
                                "code": record.topic,
                                "display": topic_names.get(record.topic, record.topic),
                            }
                        ]
                    }
                ],
                "patient": client_ref,
                "dateTime": instant(record.recorded_at),
                "performer": [client_ref],
                "sourceAttachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(record.wording.encode()).decode(),
                    "title": "The question as the client was asked it",
                },
                "policyRule": {
                    "coding": [{"system": d.ACT_CODE, "code": "OPTIN" if permit else "OPTOUT"}]
                },
                "provision": {"type": "permit" if permit else "deny"},
            }
        )
    return out


def flag(risk_flag, client_ref, *, detail: bool) -> dict:
    label = risk_flag.get_source_display()
    return {
        "resourceType": "Flag",
        "id": str(risk_flag.public_id),
        **d.profile("Flag"),
        "status": "active",
        "category": [{"coding": [{"system": d.FLAG_CATEGORY, "code": "safety"}]}],
        "code": {
            "coding": [{"system": d.CS_RISK_SOURCE, "code": risk_flag.source, "display": label}],
            "text": risk_flag.detail if detail else label,
        },
        "subject": client_ref,
        "period": {"start": instant(risk_flag.raised_at)},
    }


def goal_resources(goal, client_ref) -> list[dict]:
    observations = [
        {
            "resourceType": "Observation",
            "id": str(rating.public_id),
            **d.profile("Observation"),
            "status": "final",
            "category": [{"coding": [{"system": d.OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": {
                "coding": [
                    {"system": d.CS_GBO, "code": "goal-rating", "display": "Goal-based outcome"}
                ],
                "text": "Goal-based outcome rating (0 to 10)",
            },
            "subject": client_ref,
            "focus": [ref("Goal", goal.public_id)],
            "effectiveDateTime": _date(rating.rated_on),
            "valueInteger": rating.score,
            "referenceRange": [{"low": {"value": 0}, "high": {"value": 10}}],
        }
        for rating in goal.rating_rows
    ]
    resource = _clean(
        {
            "resourceType": "Goal",
            "id": str(goal.public_id),
            "lifecycleStatus": "active" if goal.status == Goal.Status.ACTIVE else "completed",
            "description": {"text": goal.description},
            "subject": client_ref,
            "expressedBy": client_ref,
            "startDate": _date(goal.agreed_on),
            "statusDate": _date(goal.closed_on),
            "statusReason": goal.close_reason,
            "outcomeReference": [ref("Observation", o["id"]) for o in observations],
        }
    )
    return [resource, *observations]


def care_plan(plan, client_ref, goal_ids, referral) -> dict:
    repeat = {
        "frequency": plan.sessions_per_week,
        "period": 1,
        "periodUnit": "wk",
        "dayOfWeek": sorted(
            {WEEKDAYS[t["weekday"]] for t in plan.regular_times}, key=WEEKDAYS.index
        ),
        "timeOfDay": sorted({f"{t['time']}:00" for t in plan.regular_times}),
    }
    if plan.session_count:
        repeat["count"] = plan.session_count
    place = plan.site.name if plan.site_id else plan.get_mode_display()
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.public_id),
            "status": "completed" if REQUEST_STATUS.get(referral.status) else "active",
            "intent": "plan",
            "title": f"Session plan, version {plan.version}",
            "description": (
                f"{plan.get_length_display()}, {plan.sessions_per_week} a week, "
                f"{plan.get_mode_display().lower()}"
            ),
            "subject": client_ref,
            "period": _clean({"start": _date(plan.starts_on), "end": _date(plan.ends_on)}),
            "created": instant(plan.created_at),
            "goal": [ref("Goal", goal_id) for goal_id in goal_ids],
            "activity": [
                {
                    "detail": _clean(
                        {
                            "kind": "Appointment",
                            "code": {"text": "Psychodynamic psychotherapy session"},
                            "status": "scheduled",
                            "scheduledTiming": {"repeat": _clean(repeat)},
                            "location": {"display": place},
                        }
                    )
                }
            ],
            "note": [{"text": plan.ending_plan}] if plan.ending_plan else [],
        }
    )


def encounter(session, client_ref, referral_ref, *, remote: bool, practitioner) -> dict:
    participant = (
        {"individual": ref("Practitioner", practitioner.public_id)}
        if practitioner is not None and practitioner.user_id == session.therapy.therapist_id
        else {"individual": {"display": session.therapy.therapist.get_full_name() or "Therapist"}}
    )
    return {
        "resourceType": "Encounter",
        "id": str(session.public_id),
        **d.profile("Encounter"),
        "status": "finished",
        "class": {
            "system": d.ACT_CODE,
            "code": "VR" if remote else "AMB",
            "display": "virtual" if remote else "ambulatory",
        },
        "type": [{"text": "Psychodynamic psychotherapy session"}],
        "subject": client_ref,
        "basedOn": [referral_ref],
        "participant": [participant],
        "period": {"start": _date(session.occurred_on)},
    }


def practitioner_resources(allocation) -> list[dict]:
    therapist = allocation.therapist
    return [
        {
            "resourceType": "Practitioner",
            "id": str(therapist.public_id),
            **d.profile("Practitioner"),
            "identifier": [
                {"system": d.identifier_system("therapist"), "value": str(therapist.public_id)}
            ],
            "name": [{"text": therapist.display_name}],
        },
        {
            "resourceType": "PractitionerRole",
            "id": str(allocation.public_id),
            **d.profile("PractitionerRole"),
            "active": True,
            "period": {"start": instant(allocation.allocated_at)},
            "practitioner": ref("Practitioner", therapist.public_id),
            "code": [{"text": "Psychodynamic psychotherapist"}],
        },
    ]


# --- The Bundle -------------------------------------------------------------------------


def referral_bundle(*, referral: Referral, sight: ExportSight) -> dict:
    """The Bundle of a referral read by referral_for_export (its records read with it)."""
    client = referral.client
    client_ref = ref("Patient", client.public_id)
    referral_ref = ref("ServiceRequest", referral.public_id)

    records = _rows(ConsentRecord, referral.consents_json)
    responses = _rows(MeasureResponse, referral.responses_json)
    flags = _rows(RiskFlag, referral.flags_json)
    allocation = None
    if referral.allocation_json is not None:
        (allocation,) = _rows(Allocation, [referral.allocation_json])
        (allocation.therapist,) = _rows(Therapist, [referral.allocation_json["_therapist"]])

    entries = [
        patient(client),
        service_request(
            referral,
            responses=responses,
            role_id=allocation.public_id if allocation else None,
        ),
    ]
    used = sorted({r.measure for r in responses})
    entries += [questionnaire_response(r, client_ref, referral_ref) for r in responses]
    entries += consents(records, client_ref)
    entries += [flag(f, client_ref, detail=sight.risk_detail) for f in flags]
    if allocation is not None:
        entries += practitioner_resources(allocation)
    if sight.therapy_record:
        entries += _therapy_record(referral, client_ref, referral_ref, allocation)

    bundle_entries = [_entry(resource) for resource in entries]
    # Questionnaires are named by their canonical URL, the same in every service.
    bundle_entries += [
        {"fullUrl": d.questionnaire_url(code), "resource": d.questionnaire(code)} for code in used
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        **d.profile("Bundle"),
        "identifier": {"system": d.identifier_system("referral"), "value": referral.reference},
        "type": "collection",
        "timestamp": instant(timezone.now()),
        "entry": bundle_entries,
    }


def _therapy_record(referral, client_ref, referral_ref, allocation) -> list[dict]:
    goals = _rows(Goal, referral.goals_json)
    for goal, row in zip(goals, referral.goals_json, strict=True):
        goal.rating_rows = _rows(GoalRating, row["_ratings"])
    plan = None
    if referral.plan_json is not None:
        (plan,) = _rows(SessionPlan, [referral.plan_json])
        site = referral.plan_json["_site"]
        if site is not None:
            (plan.site,) = _rows(Site, [site])
    sessions = _rows(TherapySession, referral.sessions_json)
    for session, row in zip(sessions, referral.sessions_json, strict=True):
        (session.therapy,) = _rows(Therapy, [row["_therapy"]])
        # The therapist's name only (Encounter.participant), never the whole sign-in row.
        session.therapy.therapist = User(**row["_therapist"])
    out = []
    for goal in goals:
        out += goal_resources(goal, client_ref)
    if plan is not None:
        out.append(care_plan(plan, client_ref, [g.public_id for g in goals], referral))
    remote = plan is not None and plan.mode in REMOTE_MODES
    practitioner = allocation.therapist if allocation is not None else None
    out += [
        encounter(s, client_ref, referral_ref, remote=remote, practitioner=practitioner)
        for s in sessions
    ]
    return out


# --- The records, read with the referral ------------------------------------------------
# Each kind of record is a JSON array (or object) beside the referral's row, in the order
# the Bundle lists them: one query instead of one a kind. The subqueries name the outer
# table ("intake_referral"), as Django aliases the query's own table by its name.

_REFERRAL = f'"{Referral._meta.db_table}"'


def _table(model) -> str:
    return f'"{model._meta.db_table}"'


def _json_list(sql: str, params=()) -> RawSQL:
    return RawSQL(f"SELECT COALESCE(({sql}), '[]'::jsonb)", params, output_field=models.JSONField())


def _json_one(sql: str, params=()) -> RawSQL:
    return RawSQL(sql, params, output_field=models.JSONField())


_RECORD_JSON = {
    "consents_json": _json_list(
        f"SELECT jsonb_agg(to_jsonb(c) ORDER BY c.recorded_at, c.id) "
        f"FROM {_table(ConsentRecord)} c WHERE c.client_id = {_REFERRAL}.client_id"
    ),
    "responses_json": _json_list(
        f"SELECT jsonb_agg(to_jsonb(m) ORDER BY m.completed_at, m.id) "
        f"FROM {_table(MeasureResponse)} m WHERE m.referral_id = {_REFERRAL}.id"
    ),
    "flags_json": _json_list(
        f"SELECT jsonb_agg(to_jsonb(f) ORDER BY f.raised_at, f.id) "
        f"FROM {_table(RiskFlag)} f WHERE f.referral_id = {_REFERRAL}.id "
        f"AND f.acknowledged_at IS NULL"
    ),
    "allocation_json": _json_one(
        f"SELECT to_jsonb(a) || jsonb_build_object('_therapist', to_jsonb(t)) "
        f"FROM {_table(Allocation)} a JOIN {_table(Therapist)} t ON t.id = a.therapist_id "
        f"WHERE a.referral_id = {_REFERRAL}.id AND a.status = %s "
        f"ORDER BY a.allocated_at DESC LIMIT 1",
        (Allocation.Status.ACTIVE.value,),
    ),
}

_THERAPY_RECORD_JSON = {
    "goals_json": _json_list(
        f"SELECT jsonb_agg(to_jsonb(g) || jsonb_build_object('_ratings', "
        f"(SELECT COALESCE(jsonb_agg(to_jsonb(r) ORDER BY r.rated_on, r.id), '[]'::jsonb) "
        f"FROM {_table(GoalRating)} r WHERE r.goal_id = g.id)) ORDER BY g.agreed_on, g.id) "
        f"FROM {_table(Goal)} g WHERE g.referral_id = {_REFERRAL}.id"
    ),
    "plan_json": _json_one(
        f"SELECT to_jsonb(p) || jsonb_build_object('_site', to_jsonb(s)) "
        f"FROM {_table(SessionPlan)} p LEFT JOIN {_table(Site)} s ON s.id = p.site_id "
        f"WHERE p.referral_id = {_REFERRAL}.id ORDER BY p.version DESC LIMIT 1"
    ),
    "sessions_json": _json_list(
        f"SELECT jsonb_agg(to_jsonb(s) || jsonb_build_object('_therapy', to_jsonb(t), "
        f"'_therapist', jsonb_build_object('id', u.id, 'first_name', u.first_name, "
        f"'last_name', u.last_name)) ORDER BY s.occurred_on, s.id) "
        f"FROM {_table(TherapySession)} s JOIN {_table(Therapy)} t ON t.id = s.therapy_id "
        f"JOIN {_table(User)} u ON u.id = t.therapist_id "
        f"WHERE s.referral_id = {_REFERRAL}.id AND s.attendance = %s",
        (TherapySession.Attendance.ATTENDED.value,),
    ),
}


def _column_value(field, value):
    """A column's value from its JSON form, as the database driver and the field give it."""
    if value is None:
        return None
    if isinstance(field, encryption.ENCRYPTED_FIELDS):
        return field.from_db_value(value, None, None)  # decrypted
    if isinstance(field, models.DateTimeField):
        return dt.datetime.fromisoformat(value)
    if isinstance(field, models.DateField):
        return dt.date.fromisoformat(value)
    if isinstance(field, models.TimeField):
        return dt.time.fromisoformat(value)
    if isinstance(field, models.UUIDField):
        return uuid.UUID(value)
    if isinstance(field, models.DecimalField):
        return Decimal(str(value))
    return value  # text, numbers, booleans, keys; a JSON column is JSON already


def _rows(model, rows) -> list:
    """Model instances from rows read as `to_jsonb(row)` (keys are the columns)."""
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    return [
        model.from_db(
            "default", names, [_column_value(field, row[field.column]) for field in fields]
        )
        for row in rows
    ]
