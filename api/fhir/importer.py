"""An incoming referral as a FHIR Bundle: Patient, ServiceRequest, and optionally
QuestionnaireResponses and Consents.

The Bundle is checked as FHIR (each resource used, with the fhir.resources R4B models), then
mapped to the partner JSON API's body and handed to the same function that API uses
(intake.api.partner_referral_submit): the same validation, Idempotency-Key, risk flags and
messages. Every problem comes back as an OperationOutcome issue whose expression points at
the element in the Bundle that caused it.

Statuses: 400 for a body that is not a FHIR Bundle or not valid FHIR (or a malformed
Idempotency-Key), 422 for valid FHIR that is not a referral this service can accept, 409
for an Idempotency-Key already used for another referral.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from api.fhir import definitions as d
from intake.api import IDEMPOTENCY_HEADER, partner_referral_submit
from intake.models import ConsentRecord, Referral
from intake.services import SubmitResult

logger = logging.getLogger(__name__)
USED = ("Patient", "ServiceRequest", "QuestionnaireResponse", "Consent")
BUNDLE_TYPES = ("collection", "transaction")
# Topics about the sender's own privacy notice and form, not decisions the client makes
# here: the JSON API refuses them too, so they are left out.
SENDERS_OWN_TOPICS = {ConsentRecord.Topic.PRIVACY_NOTICE, ConsentRecord.Topic.ANSWERS_OWN}


@dataclass(frozen=True)
class Issue:
    code: str  # an IssueType code: structure, required, value, invalid, conflict, ...
    diagnostics: str
    expression: str | None = None
    severity: str = "error"

    def as_fhir(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


class ImportRefused(Exception):
    def __init__(self, status: int, issues: list[Issue]):
        super().__init__(issues[0].diagnostics if issues else "refused")
        self.status = status
        self.issues = issues


def operation_outcome(issues: list[Issue]) -> dict:
    return {
        "resourceType": "OperationOutcome",
        **d.profile("OperationOutcome"),
        "issue": [issue.as_fhir() for issue in issues],
    }


@dataclass(frozen=True)
class Imported:
    result: SubmitResult
    created: bool


def referral_import(*, user, data, given_key: str) -> Imported:
    """Check, map and submit one Bundle; ImportRefused with its issues otherwise."""
    mapped = bundle_map(data)
    outcome = partner_referral_submit(user=user, body=mapped.body, given_key=given_key)
    if outcome.errors is not None:
        status = outcome.status
        if IDEMPOTENCY_HEADER in outcome.errors:
            code = "conflict" if status == 409 else "value"
            message = " ".join(outcome.errors[IDEMPOTENCY_HEADER])
            raise ImportRefused(status, [Issue(code, f"{IDEMPOTENCY_HEADER}: {message}")])
        raise ImportRefused(422, mapped.issues_for(outcome.errors))
    return Imported(result=outcome.result, created=outcome.status == 201)


# --- Checking the Bundle as FHIR ----------------------------------------------------------


def _fhirpath(prefix: str, loc) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


ISSUE_CODE = {"missing": "required", "extra_forbidden": "structure"}


def _check_resource(resource_type: str, resource: dict, prefix: str) -> list[Issue]:
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except pydantic.ValidationError as error:
        return [
            Issue(
                ISSUE_CODE.get(problem["type"], "value"),
                f"{resource_type}: {problem['msg']}",
                _fhirpath(prefix, problem["loc"]),
            )
            for problem in error.errors()
        ]
    except Exception as error:  # untrusted input: any failure is the sender's
        logger.info("fhir import: %s not readable (%s)", resource_type, type(error).__name__)
        return [Issue("structure", f"{resource_type} could not be read as FHIR R4.", prefix)]
    return []


def _entries(data) -> list[tuple[int, str, dict]]:
    """(index, resourceType, resource) for each entry used, after checking the Bundle's shape
    and each used resource as FHIR R4 (400 with every problem found)."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ImportRefused(
            400,
            [
                Issue(
                    "structure",
                    "Send a FHIR Bundle (resourceType 'Bundle') holding the Patient and the "
                    "ServiceRequest, with any QuestionnaireResponses and Consents.",
                    "Bundle",
                )
            ],
        )
    problems = []
    if data.get("type") not in BUNDLE_TYPES:
        problems.append(
            Issue(
                "value",
                f"Bundle.type must be one of {', '.join(BUNDLE_TYPES)}; got {data.get('type')!r}.",
                "Bundle.type",
            )
        )
    entries = data.get("entry")
    if not isinstance(entries, list):
        problems.append(Issue("required", "The Bundle has no entry list.", "Bundle.entry"))
        entries = []
    used = []
    for index, entry in enumerate(entries):
        prefix = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(
                Issue("structure", "Each entry needs a resource with a resourceType.", prefix)
            )
            continue
        resource_type = resource["resourceType"]
        if resource_type not in USED:
            continue  # other resources (a sender's Questionnaires, Practitioners) are not read
        problems += _check_resource(resource_type, resource, f"{prefix}.resource")
        used.append((index, resource_type, resource))
    if problems:
        raise ImportRefused(400, problems)
    return used


# --- Mapping to the partner API's body ----------------------------------------------------


@dataclass
class Mapped:
    body: dict = field(default_factory=dict)
    # Where each field of the body came from in the Bundle (FHIRPath), for error messages.
    paths: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value, path: str) -> None:
        self.body[name] = value
        self.paths[name] = path

    def issues_for(self, errors) -> list[Issue]:
        issues = []
        for key, message in _flatten(errors):
            path = self._path_for(key)
            field_name = key.split(".", 1)[0]
            code = "required" if "required" in message.lower() else "invalid"
            issues.append(Issue(code, f"{_label(field_name)}: {message}", path))
        return issues

    def _path_for(self, key: str) -> str:
        parts = key.split(".")
        while parts:
            found = self.paths.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return "Bundle"


def _flatten(errors, prefix: str = ""):
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = prefix if key == "non_field_errors" else f"{prefix}.{key}".strip(".")
            yield from _flatten(value, name)
    elif isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            for item in errors:
                yield prefix, str(item)
        else:
            for index, item in enumerate(errors):
                if item:
                    yield from _flatten(item, f"{prefix}.{index}")
    else:
        yield prefix, str(errors)


LABELS = {
    "given_name": "Patient given name",
    "family_name": "Patient family name",
    "date_of_birth": "Patient.birthDate",
    "nhs_number": "NHS number",
    "postcode": "Postcode",
    "email": "Email",
    "mobile_phone": "Mobile phone",
    "landline_phone": "Landline phone",
    "questionnaires": "QuestionnaireResponse",
    "consents": "Consent",
    "source": "Referral source",
}


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _refers_to(reference, entry: dict, index_url: str | None) -> bool:
    target = (reference or {}).get("reference") if isinstance(reference, dict) else None
    resource = entry
    names = {f"{resource['resourceType']}/{resource.get('id')}"} if resource.get("id") else set()
    if index_url:
        names.add(index_url)
    return bool(target) and target in names


def bundle_map(data) -> Mapped:
    entries = _entries(data)
    raw_entries = data.get("entry") or []
    full_urls = {
        index: (raw_entries[index].get("fullUrl") if isinstance(raw_entries[index], dict) else None)
        for index, _, _ in entries
    }
    by_type: dict[str, list[tuple[int, dict]]] = {}
    for index, resource_type, resource in entries:
        by_type.setdefault(resource_type, []).append((index, resource))
    issues = []
    for needed in ("Patient", "ServiceRequest"):
        found = by_type.get(needed, [])
        if len(found) != 1:
            issues.append(
                Issue(
                    "required" if not found else "invalid",
                    f"The Bundle must hold exactly one {needed}; it holds {len(found)}.",
                    "Bundle.entry",
                )
            )
    if issues:
        raise ImportRefused(422, issues)
    (p_index, patient), (s_index, request) = by_type["Patient"][0], by_type["ServiceRequest"][0]
    patient_url = full_urls[p_index]
    mapped = Mapped()
    issues += _map_patient(mapped, patient, f"Bundle.entry[{p_index}].resource")
    issues += _map_request(
        mapped, request, f"Bundle.entry[{s_index}].resource", patient, patient_url
    )
    wanted = _supporting(request, by_type.get("QuestionnaireResponse", []), full_urls)
    issues += _map_questionnaires(mapped, wanted, patient, patient_url)
    issues += _map_consents(mapped, by_type.get("Consent", []), patient, patient_url)
    if issues:
        raise ImportRefused(422, issues)
    return mapped


def _map_patient(mapped: Mapped, patient: dict, at: str) -> list[Issue]:
    issues = []
    names = patient.get("name") or []
    official = next(
        (i for i, n in enumerate(names) if n.get("use") == "official"),
        next((i for i, n in enumerate(names) if n.get("family")), None),
    )
    if official is None:
        issues.append(
            Issue("required", "The Patient needs a name with a family name.", f"{at}.name")
        )
    else:
        name = names[official]
        mapped.put("given_name", " ".join(name.get("given") or []), f"{at}.name[{official}].given")
        mapped.put("family_name", name.get("family", ""), f"{at}.name[{official}].family")
    for i, name in enumerate(names):
        if i != official and name.get("use") in ("usual", "nickname") and name.get("given"):
            mapped.put("preferred_name", " ".join(name["given"]), f"{at}.name[{i}].given")
            break
    if "birthDate" not in patient:
        issues.append(Issue("required", "The Patient needs a birthDate.", f"{at}.birthDate"))
    else:
        mapped.put("date_of_birth", patient["birthDate"], f"{at}.birthDate")
    for i, identifier in enumerate(patient.get("identifier") or []):
        if identifier.get("system") == d.NHS_NUMBER:
            mapped.put("nhs_number", identifier.get("value", ""), f"{at}.identifier[{i}].value")
    for i, telecom in enumerate(patient.get("telecom") or []):
        value, path = telecom.get("value", ""), f"{at}.telecom[{i}].value"
        if telecom.get("system") == "email" and "email" not in mapped.body:
            mapped.put("email", value, path)
        elif telecom.get("system") in ("phone", "sms"):
            mobile = telecom.get("use") == "mobile" or (
                "use" not in telecom and value.replace(" ", "").startswith(("07", "+447"))
            )
            name = "mobile_phone" if mobile else "landline_phone"
            if name not in mapped.body:
                mapped.put(name, value, path)
    addresses = patient.get("address") or []
    if addresses:
        address = addresses[0]
        text = address.get("text") or ", ".join(
            [*(address.get("line") or []), address.get("city", ""), address.get("district", "")]
        ).strip(", ")
        if text:
            mapped.put("address", text, f"{at}.address[0].text")
        if address.get("postalCode"):
            mapped.put("postcode", address["postalCode"], f"{at}.address[0].postalCode")
    _map_gender(mapped, patient, at)
    for i, extension in enumerate(patient.get("extension") or []):
        if extension.get("url") == d.EXT_PRONOUNS:
            mapped.put("pronouns", extension.get("valueString", ""), f"{at}.extension[{i}]")
    _map_gp(mapped, patient, at)
    return issues


GENDER_IDENTITY = {"female": "woman", "male": "man"}


def _map_gender(mapped: Mapped, patient: dict, at: str) -> None:
    absent = _absent_reason(patient.get("_gender"))
    if absent == d.ASKED_DECLINED:
        mapped.put("gender_identity", d.ANSWER_FOR_ABSENT[absent], f"{at}._gender")
        return
    for i, extension in enumerate(patient.get("extension") or []):
        if extension.get("url") == d.EXT_GENDER_IDENTITY:
            mapped.put("gender_identity", extension.get("valueString", ""), f"{at}.extension[{i}]")
            return
    if patient.get("gender") in GENDER_IDENTITY:
        mapped.put("gender_identity", GENDER_IDENTITY[patient["gender"]], f"{at}.gender")


def _absent_reason(element) -> str | None:
    for extension in (element or {}).get("extension") or []:
        if extension.get("url") == d.DATA_ABSENT:
            return extension.get("valueCode")
    return None


def _map_gp(mapped: Mapped, patient: dict, at: str) -> None:
    for i, gp in enumerate(patient.get("generalPractitioner") or []):
        target = gp.get("reference") or ""
        if target.startswith("#"):
            contained = next(
                (
                    (j, c)
                    for j, c in enumerate(patient.get("contained") or [])
                    if c.get("id") == target[1:]
                ),
                None,
            )
            if contained:
                j, organisation = contained
                if organisation.get("name"):
                    mapped.put("gp_practice_name", organisation["name"], f"{at}.contained[{j}]")
                addresses = organisation.get("address") or []
                if addresses and addresses[0].get("text"):
                    mapped.put(
                        "gp_practice_address",
                        addresses[0]["text"],
                        f"{at}.contained[{j}].address[0]",
                    )
                return
        if gp.get("display"):
            mapped.put("gp_practice_name", gp["display"], f"{at}.generalPractitioner[{i}]")
            return


def _map_request(
    mapped: Mapped, request: dict, at: str, patient: dict, patient_url: str | None
) -> list[Issue]:
    issues = []
    if not _refers_to(request.get("subject"), patient, patient_url):
        issues.append(
            Issue(
                "invalid",
                "ServiceRequest.subject must refer to the Bundle's Patient.",
                f"{at}.subject",
            )
        )
    if request.get("status") != "active":
        issues.append(
            Issue(
                "value",
                f"Only an active referral can be received; this one is {request.get('status')!r}.",
                f"{at}.status",
            )
        )
    source = Referral.Source.PARTNER
    for extension in request.get("extension") or []:
        if extension.get("url") == d.EXT_SOURCE and extension.get("valueCode") == "gp":
            source = Referral.Source.GP
    mapped.put("source", source, f"{at}.extension")
    texts: dict[str, list[str]] = {}
    for i, note in enumerate(request.get("note") or []):
        kind = next(
            (
                e.get("valueCode")
                for e in note.get("extension") or []
                if e.get("url") == d.EXT_NOTE_KIND
            ),
            "presenting_problem",
        )
        if kind in ("presenting_problem", "hopes", "previous_help") and note.get("text"):
            texts.setdefault(kind, []).append(note["text"])
            mapped.paths[kind] = f"{at}.note[{i}].text"
    for kind, parts in texts.items():
        mapped.body[kind] = "\n\n".join(parts)
    areas = [
        coding.get("code")
        for reason in request.get("reasonCode") or []
        for coding in reason.get("coding") or []
        if coding.get("system") == d.CS_DIFFICULTY
    ]
    if areas:
        mapped.put("difficulty_areas", areas, f"{at}.reasonCode")
    for i, extension in enumerate(request.get("extension") or []):
        if extension.get("url") == d.EXT_PREFERENCES:
            _map_preferences(mapped, extension, f"{at}.extension[{i}]")
    services = [
        (e.get("valueCoding") or {}).get("code")
        for e in request.get("extension") or []
        if e.get("url") == d.EXT_CURRENT_SERVICE
    ]
    if services:
        mapped.put("current_services", services, f"{at}.extension")
    return issues


# "Does not mind" is stored for the online form; the JSON API says it by leaving it out.
NO_WISH = {"therapist_gender": "any"}


def _map_preferences(mapped: Mapped, extension: dict, at: str) -> None:
    wishes: dict = {}
    for i, wish in enumerate(extension.get("extension") or []):
        name = wish.get("url")
        value_type = d.PREFERENCE_TYPES.get(name)
        if value_type is None or value_type not in wish or NO_WISH.get(name) == wish[value_type]:
            continue
        if name == "availability":
            wishes.setdefault(name, []).append(wish[value_type])
        else:
            wishes[name] = wish[value_type]
        mapped.paths[f"preferences.{name}"] = f"{at}.extension[{i}]"
    if wishes:
        mapped.put("preferences", wishes, at)


def _supporting(request: dict, responses, full_urls) -> list[tuple[int, dict]]:
    """The QuestionnaireResponses the ServiceRequest names as its supporting information;
    every one in the Bundle when it names none."""
    named = {
        r.get("reference")
        for r in request.get("supportingInfo") or []
        if isinstance(r, dict) and r.get("reference")
    }
    chosen = [
        (index, response)
        for index, response in responses
        if full_urls.get(index) in named or f"QuestionnaireResponse/{response.get('id')}" in named
    ]
    return chosen if named and chosen else responses


def _map_questionnaires(mapped: Mapped, responses, patient, patient_url) -> list[Issue]:
    issues = []
    questionnaires = []
    for index, response in responses:
        at = f"Bundle.entry[{index}].resource"
        position = len(questionnaires)
        measure_code = d.measure_for_questionnaire(response.get("questionnaire") or "")
        found = []
        if measure_code is None:
            found.append(
                Issue(
                    "value",
                    "QuestionnaireResponse.questionnaire must be one of this service's "
                    "questionnaires: "
                    + ", ".join(d.questionnaire_url(code) for code in d.LOINC_CODES)
                    + ".",
                    f"{at}.questionnaire",
                )
            )
        if response.get("status") != "completed":
            found.append(
                Issue(
                    "value",
                    "Only a completed QuestionnaireResponse can be received; this one is "
                    f"{response.get('status')!r}.",
                    f"{at}.status",
                )
            )
        if response.get("subject") and not _refers_to(response["subject"], patient, patient_url):
            found.append(
                Issue(
                    "invalid",
                    "QuestionnaireResponse.subject must refer to the Bundle's Patient.",
                    f"{at}.subject",
                )
            )
        if measure_code is not None:
            answers, problems = _answers(measure_code, response, at)
            found += problems
        if found:
            issues += found
            continue
        questionnaires.append({"measure": measure_code, "answers": answers})
        mapped.paths[f"questionnaires.{position}"] = at
        mapped.paths[f"questionnaires.{position}.answers"] = f"{at}.item"
    if questionnaires:
        mapped.put("questionnaires", questionnaires, "Bundle.entry")
    return issues


def _answers(code: str, response: dict, at: str) -> tuple[list, list[Issue]]:
    from measures import get_measure

    measure = get_measure(code)
    answers: list = [None] * measure.item_count
    issues = []
    for i, item in enumerate(response.get("item") or []):
        path = f"{at}.item[{i}]"
        link = item.get("linkId")
        if link == d.TOTAL_LINK_ID:
            continue  # the service scores the answers itself
        if not (isinstance(link, str) and link.isdigit() and 1 <= int(link) <= measure.item_count):
            issues.append(
                Issue(
                    "value",
                    f"{measure.name} has items 1 to {measure.item_count} (and "
                    f"'{d.TOTAL_LINK_ID}'); linkId {link!r} is none of them.",
                    f"{path}.linkId",
                )
            )
            continue
        given = item.get("answer") or []
        if len(given) > 1:
            issues.append(
                Issue("value", f"{measure.name} item {link}: give one answer.", f"{path}.answer")
            )
            continue
        if not given:
            continue  # not answered: kept apart from "prefer not to say"
        answer, problem = _answer(code, given[0])
        if problem:
            issues.append(
                Issue("value", f"{measure.name} item {link}: {problem}", f"{path}.answer[0]")
            )
        answers[int(link) - 1] = answer
    return answers, issues


def _answer(code: str, answer: dict):
    if "valueInteger" in answer:
        return answer["valueInteger"], None
    coding = answer.get("valueCoding") or {}
    system, value = coding.get("system"), coding.get("code") or ""
    if system == d.DATA_ABSENT_CODES and value in d.ANSWER_FOR_ABSENT:
        return d.ANSWER_FOR_ABSENT[value], None
    if system == d.CS_ANSWER and value.startswith(f"{code}-") and value[len(code) + 1 :].isdigit():
        return int(value[len(code) + 1 :]), None
    return None, (
        f"answer with a coding from {d.CS_ANSWER} ('{code}-<option>'), a data-absent reason "
        f"({d.DATA_ABSENT_CODES}: {d.ASKED_DECLINED} for 'prefer not to say'), or valueInteger."
    )


def _map_consents(mapped: Mapped, consents, patient, patient_url) -> list[Issue]:
    issues = []
    decisions = []
    for index, consent in consents:
        at = f"Bundle.entry[{index}].resource"
        if consent.get("status") != "active":
            continue  # a decision since replaced: the current one is sent as active
        topic = next(
            (
                coding.get("code")
                for category in consent.get("category") or []
                for coding in category.get("coding") or []
                if coding.get("system") == d.CS_CONSENT_TOPIC
            ),
            None,
        )
        if topic is None:
            issues.append(
                Issue(
                    "required",
                    f"Say which choice the Consent records: a category coding from "
                    f"{d.CS_CONSENT_TOPIC}.",
                    f"{at}.category",
                )
            )
            continue
        if topic in SENDERS_OWN_TOPICS:
            continue
        if consent.get("patient") and not _refers_to(consent["patient"], patient, patient_url):
            issues.append(
                Issue(
                    "invalid",
                    "Consent.patient must refer to the Bundle's Patient.",
                    f"{at}.patient",
                )
            )
            continue
        provision = (consent.get("provision") or {}).get("type")
        if provision not in ("permit", "deny"):
            issues.append(
                Issue(
                    "required",
                    "Consent.provision.type must say permit or deny.",
                    f"{at}.provision.type",
                )
            )
            continue
        position = len(decisions)
        decision = {"topic": topic, "granted": provision == "permit"}
        attachment = consent.get("sourceAttachment") or {}
        try:
            wording = base64.b64decode(attachment.get("data") or "", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            issues.append(
                Issue(
                    "value",
                    "Consent.sourceAttachment.data must be the question as asked, in base64 "
                    "of UTF-8 text.",
                    f"{at}.sourceAttachment.data",
                )
            )
            continue
        if wording:
            decision["wording"] = wording
        version = next(
            (
                e.get("valueString")
                for e in consent.get("extension") or []
                if e.get("url") == d.EXT_WORDING_VERSION
            ),
            None,
        )
        if version:
            decision["wording_version"] = version
        decisions.append(decision)
        mapped.paths[f"consents.{position}"] = at
        mapped.paths[f"consents.{position}.wording"] = f"{at}.sourceAttachment.data"
        mapped.paths[f"consents.{position}.wording_version"] = (
            f"{at}.extension('{d.EXT_WORDING_VERSION}')"
        )
        mapped.paths[f"consents.{position}.topic"] = f"{at}.category"
    if decisions:
        mapped.put("consents", decisions, "Bundle.entry")
    return issues
