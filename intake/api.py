"""Partner API: GP practices and partner services send a referral as JSON.

One operation per view, with nested input and output serializers; the view parses, calls
intake.services.referral_submit (the same service the online form uses), and renders.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

import measures
from common import roles
from common.api_auth import VerifiedSessionAuthentication
from common.api_errors import Conflict, ErrorSerializer
from common.throttling import (
    AccountThrottle,
    ClientAddressAnonThrottle,
    PartnerReferralThrottle,
)
from intake import forms, validation
from intake.api_auth import ApiTokenAuthentication
from intake.models import Client, ConsentRecord, Preferences, Referral
from intake.services import (
    ConsentDecision,
    MeasureAnswers,
    ReferralInput,
    SubmitResult,
    referral_submit,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_RE = re.compile(r"[\x20-\x7e]*")  # printable ASCII (control bytes break storage)
# A referral is at most four levels deep (body, questionnaires, one questionnaire, answers).
MAX_JSON_DEPTH = 8
TOO_DEEP = (
    f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep. A referral is an object of "
    "fields; only questionnaires (a list of objects with a list of answers), consents and "
    "preferences hold anything nested."
)


NOT_TEXT = (
    "The JSON holds a \\u escape for half a character (a lone surrogate, \\ud800 to "
    "\\udfff), which is not text. Send each character whole, as UTF-8 or as a pair of escapes."
)
SURROGATE_RE = re.compile("[\ud800-\udfff]")


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The body is larger than a referral can be ({limit} bytes at most).")


class ReferralJsonParser(JSONParser):
    """JSON only, no deeper than a referral can be, and text that is text.

    Form and multipart bodies cannot carry the nested questionnaires and consents, and a
    referral that arrived without them would lose its risk answers; they get a 415.
    Nesting far beyond a referral's shape would exhaust the recursion limit somewhere
    (parsing, validating, hashing), and a lone surrogate cannot be stored or even echoed
    in an error message, so both are refused here with a 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        problem = _shape_problem(data, MAX_JSON_DEPTH)
        if problem:
            raise exceptions.ParseError(problem)
        return data


def _shape_problem(data, limit: int) -> str | None:
    """What is wrong with a parsed body's shape, walking it without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if SURROGATE_RE.search(value):
                return NOT_TEXT
            continue
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return TOO_DEEP
        pending.extend((child, depth + 1) for child in children)
    return None


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, with the key the service issued "
            "(manage.py api_token issue). Keys expire and can be revoked.",
        }


class VerifiedSessionScheme(SessionScheme):
    """The staff session, as drf-spectacular documents DRF's own (cookieAuth)."""

    target_class = VerifiedSessionAuthentication


class IsPartnerReferrer(permissions.BasePermission):
    message = "This account may not send referrals. Ask the service for a partner account."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.service_id
            and user.has_role(roles.PARTNER_REFERRER)
        )


def _django_check(check, value, **kwargs):
    try:
        return check(value, **kwargs)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


class JsonTypeMixin:
    """Refuse a JSON value of the wrong type instead of converting it (DRF turns 0 into "0"
    and "yes" into true): what the schema says is a string must arrive as one."""

    json_types: tuple[type, ...] = ()
    json_type_name = ""

    def to_internal_value(self, data):
        if not isinstance(data, self.json_types) or isinstance(data, bool) is not (
            bool in self.json_types
        ):
            raise serializers.ValidationError(
                f"Send {self.json_type_name}, not {type(data).__name__}."
            )
        return super().to_internal_value(data)


class TextField(JsonTypeMixin, serializers.CharField):
    json_types, json_type_name = (str,), "text (a JSON string)"


class EmailText(JsonTypeMixin, serializers.EmailField):
    json_types, json_type_name = (str,), "an email address (a JSON string)"


class DateText(JsonTypeMixin, serializers.DateField):
    json_types, json_type_name = (str,), "a date as YYYY-MM-DD (a JSON string)"


class TrueOrFalse(JsonTypeMixin, serializers.BooleanField):
    json_types, json_type_name = (bool,), "true or false"


def _required_text(limit: int, **kwargs):
    """Required text: at least one character that is not a space (the schema says so)."""
    return TextField(max_length=limit, min_length=1, validators=[RegexValidator(r"\S")], **kwargs)


class OnceEachList(serializers.ListField):
    """A list whose items may each appear once (uniqueItems in the schema)."""


class OnceEachListScheme(OpenApiSerializerFieldExtension):
    target_class = OnceEachList

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "uniqueItems": True}


CONSENT_WORDING_LIMIT = 10_000


class ConsentInput(serializers.Serializer):
    topic = serializers.ChoiceField(
        choices=[
            t for t in ConsentRecord.Topic.choices if t[0] not in ("privacy_notice", "answers_own")
        ]
    )
    granted = TrueOrFalse()
    wording = _required_text(
        CONSENT_WORDING_LIMIT,
        help_text="The question exactly as the client was asked it, with any explanation "
        "shown beside it. Stored whole.",
    )
    wording_version = _required_text(
        64,
        help_text="Your own version of that wording (for example the version or date of "
        "the consent form or script used), so the record says which words the client saw.",
    )


MEASURES = [measures.PHQ9, measures.GAD7, measures.CORE10, measures.WSAS]
# No questionnaire has more items than this; longer lists are refused before scoring.
MAX_ANSWERS = 20
MIN_ANSWERS = min(measures.get_measure(code).item_count for code in MEASURES)
ITEM_COUNTS = ", ".join(
    f"{measures.get_measure(code).name} has {measures.get_measure(code).item_count}"
    for code in MEASURES
)


def _capped(kind: str, most: int) -> dict:
    """A list's cap, with a message that says what the cap is for."""
    message = f"Send at most {most} {kind}; this list is longer."
    return {"max_length": most, "error_messages": {"max_length": message}}


def _once_each(values, kind: str):
    repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
    if repeated:
        raise serializers.ValidationError(
            f"Send each {kind} once; repeated: {', '.join(repeated)}."
        )
    return values


ANSWER_SCHEMA = {
    "oneOf": [
        {
            "type": "integer",
            "minimum": 0,
            "maximum": max(measures.get_measure(code).item_max for code in MEASURES),
        },
        {"type": "string", "enum": [measures.PREFER_NOT_TO_SAY, measures.NOT_APPLICABLE]},
    ],
    "nullable": True,
}


@extend_schema_field(ANSWER_SCHEMA)
class AnswerField(serializers.JSONField):
    """One questionnaire answer; measures.score checks it against its item."""


class QuestionnaireInput(serializers.Serializer):
    measure = serializers.ChoiceField(choices=MEASURES)
    answers = serializers.ListField(
        child=AnswerField(allow_null=True),
        min_length=MIN_ANSWERS,
        max_length=MAX_ANSWERS,
        error_messages={
            "min_length": f"Send one answer per item ({ITEM_COUNTS}); this list is shorter.",
            "max_length": f"Send at most {MAX_ANSWERS} answers (one per item); this list "
            "is longer.",
        },
        help_text="One entry per item: the option chosen (0-based), null if not answered, "
        "or 'prefer_not_to_say'.",
    )

    def validate(self, data):
        try:
            measures.score(data["measure"], data["answers"])
        except measures.MeasureError as error:
            raise serializers.ValidationError({"answers": [str(error)]}) from None
        return data


class PreferencesInput(serializers.Serializer):
    therapist_gender = serializers.ChoiceField(
        choices=["", "female", "male", "non_binary"], required=False, default=""
    )
    therapist_gender_strength = serializers.ChoiceField(
        choices=["", *Preferences.GenderWish.values], required=False, default=""
    )
    language = TextField(max_length=50, required=False, default="", allow_blank=True)
    # Left out: not answered (kept apart from false).
    interpreter_needed = TrueOrFalse(required=False, allow_null=True, default=None)
    interpreter_language = TextField(max_length=50, required=False, default="", allow_blank=True)
    access_needs = TextField(max_length=500, required=False, default="", allow_blank=True)
    mode = serializers.ChoiceField(
        choices=["", *Preferences.Mode.values], required=False, default=""
    )
    availability = OnceEachList(
        child=serializers.ChoiceField(choices=[value for value, _ in forms.AVAILABILITY]),
        required=False,
        default=list,
        **_capped("times", len(forms.AVAILABILITY)),
    )

    def validate_availability(self, value):
        return _once_each(value, "time")

    def validate(self, data):
        if data.get("therapist_gender") and not data.get("therapist_gender_strength"):
            raise serializers.ValidationError(
                {
                    "therapist_gender_strength": [
                        "Say whether the gender is a preference or a requirement."
                    ]
                }
            )
        return data


def _text(limit: int, **kwargs):
    return TextField(max_length=limit, required=False, default="", allow_blank=True, **kwargs)


class ReferralCreateApi(APIView):
    # A browser session counts only once past the two-factor code step (common.api_auth).
    authentication_classes = [ApiTokenAuthentication, VerifiedSessionAuthentication]
    permission_classes = [IsPartnerReferrer]
    parser_classes = [ReferralJsonParser]
    throttle_classes = [ClientAddressAnonThrottle, AccountThrottle, PartnerReferralThrottle]

    def handle_exception(self, exc):
        # Django refuses an over-long body when DRF reads it; say so in JSON, not a page.
        if isinstance(exc, RequestDataTooBig):
            exc = BodyTooLarge()
        if isinstance(exc, exceptions.UnsupportedMediaType):
            exc = exceptions.UnsupportedMediaType(
                self.request.content_type,
                detail="Send the referral as JSON, with Content-Type: application/json. "
                "Form and multipart bodies cannot carry questionnaires and consents.",
            )
        return super().handle_exception(exc)

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReferralInput"

        source = serializers.ChoiceField(choices=[Referral.Source.GP, Referral.Source.PARTNER])
        given_name = _required_text(100)
        family_name = _required_text(100)
        preferred_name = _text(100)
        date_of_birth = DateText()
        pronouns = _text(50)
        gender_identity = _text(100)
        nhs_number = _text(14)
        postcode = _text(10)
        email = EmailText(required=False, default="", allow_blank=True)
        mobile_phone = _text(20)
        landline_phone = _text(20)
        address = _text(500)
        preferred_channel = serializers.ChoiceField(
            choices=["", *Client.Channel.values], required=False, default=""
        )
        safe_contact_times = _text(200)
        gp_practice_name = _text(200)
        gp_practice_address = _text(500)
        presenting_problem = _text(forms.TEXT_LIMIT)
        hopes = _text(forms.TEXT_LIMIT)
        previous_help = _text(forms.TEXT_LIMIT)
        difficulty_areas = OnceEachList(
            child=serializers.ChoiceField(choices=[v for v, _ in forms.DIFFICULTY_AREAS]),
            required=False,
            default=list,
            **_capped("difficulty areas", len(forms.DIFFICULTY_AREAS)),
        )
        current_services = OnceEachList(
            child=serializers.ChoiceField(choices=[v for v, _ in forms.CURRENT_SERVICES]),
            required=False,
            default=list,
            **_capped("current services", len(forms.CURRENT_SERVICES)),
        )
        preferences = PreferencesInput(required=False)
        # The caps are checked before any item is: a list of thousands costs nothing.
        consents = ConsentInput(
            many=True,
            required=False,
            default=list,
            **_capped("consents (one per topic)", len(ConsentInput().fields["topic"].choices)),
        )
        questionnaires = QuestionnaireInput(
            many=True,
            required=False,
            default=list,
            **_capped("questionnaires (one per measure)", len(MEASURES)),
        )

        def validate_date_of_birth(self, value):
            service = self.context["service"]
            return _django_check(
                validation.clean_birth_date,
                value,
                today=timezone.localdate(),
                min_age=service.min_age,
                max_age=service.max_age,
            )

        def validate_nhs_number(self, value):
            return _django_check(validation.clean_nhs_number, value)

        def validate_postcode(self, value):
            return _django_check(validation.clean_postcode, value)

        def validate_mobile_phone(self, value):
            return _django_check(validation.clean_phone, value, kind="mobile")

        def validate_landline_phone(self, value):
            return _django_check(validation.clean_phone, value, kind="landline")

        def validate_difficulty_areas(self, value):
            return _once_each(value, "difficulty area")

        def validate_current_services(self, value):
            return _once_each(value, "current service")

        def validate_questionnaires(self, value):
            _once_each([item["measure"] for item in value], "questionnaire (measure)")
            return value

        def validate_consents(self, value):
            topics = [item["topic"] for item in value]
            if len(topics) != len(set(topics)):
                raise serializers.ValidationError("Give each consent topic once.")
            return value

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Referral"

        id = serializers.UUIDField(source="public_id")
        reference = serializers.CharField()
        status = serializers.CharField()
        received_at = serializers.DateTimeField()
        risk_flags = serializers.IntegerField()

    @extend_schema(
        operation_id="referral_create",
        summary="Send a referral",
        description="Creates a client and referral in the caller's service. Send an "
        "Idempotency-Key header to make retries safe: a repeat with the same key "
        "and body returns the first referral (200) instead of a second one.",
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                {"type": "string", "maxLength": 64, "pattern": "^[\\x20-\\x7e]*$"},
                OpenApiParameter.HEADER,
                required=False,
                description="At most 64 printable ASCII characters (a UUID is ideal).",
            ),
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                description="Seconds to wait before trying again.",
                response=[429],
            ),
        ],
        request={"application/json": InputSerializer},
        responses={
            201: OutputSerializer,
            200: OutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Invalid fields (each field with its messages), or a body that "
                "is not JSON or is nested too deeply ('detail'). Lists are capped at what a "
                "referral can hold: one questionnaire per measure, one consent per topic, "
                "each difficulty area, current service and time once.",
            ),
            401: OpenApiResponse(
                ErrorSerializer,
                description="No credentials, or a token that cannot be used (mistyped, "
                "expired, revoked, or its account closed: one message for all) ('detail'). "
                "The WWW-Authenticate header names the scheme (Token).",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="Signed in, but the account may not send referrals (only partner "
                "accounts may), or a browser session without its CSRF token ('detail').",
            ),
            409: OpenApiResponse(
                ErrorSerializer, description="The Idempotency-Key was used for another body."
            ),
            413: OpenApiResponse(
                ErrorSerializer,
                description="The body is over the size limit, DATA_UPLOAD_MAX_MEMORY_SIZE "
                "(1 MB unless the service set another) ('detail').",
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many requests: this account sent more referrals than "
                "RATE_API_REFERRALS allows (30 a minute unless the service set another). "
                "The Retry-After header says how many seconds to wait; 'detail' says it "
                "in words. Retry then, with the same Idempotency-Key.",
            ),
            415: OpenApiResponse(
                ErrorSerializer,
                description="Not JSON: only application/json is accepted ('detail').",
            ),
        },
    )
    def post(self, request):
        outcome = partner_referral_submit(
            user=request.user,
            body=request.data,
            given_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
        )
        # Refusals in the API's one error shape (common/api_errors.py), field by field.
        if outcome.status == status.HTTP_409_CONFLICT:
            raise Conflict(outcome.errors)
        if outcome.errors is not None:
            raise exceptions.ValidationError(outcome.errors)
        result = outcome.result
        body = self.OutputSerializer(
            {
                "public_id": result.referral.public_id,
                "reference": result.referral.reference,
                "status": result.referral.status,
                "received_at": result.referral.received_at,
                "risk_flags": result.risk_flags,
            }
        ).data
        return Response(body, status=outcome.status)


KEY_INVALID = (
    "Use a key of at most 64 characters, of printable ASCII letters, "
    "digits and punctuation (a UUID is ideal)."
)
KEY_REUSED = "This key was already used for a different referral. Use a new key for a new referral."


@dataclass(frozen=True)
class PartnerSubmission:
    """What became of a partner's referral: the submit's result (status 201 or 200), or the
    errors as the JSON API answers them, field by field (status 400 or 409)."""

    status: int
    result: SubmitResult | None = None
    errors: dict | None = None


def partner_referral_submit(*, user, body, given_key: str) -> PartnerSubmission:
    """Validate a partner's referral (the JSON API's body), apply its Idempotency-Key and
    submit it through intake.services.referral_submit: the one path for the JSON API and for
    a FHIR Bundle mapped to the same body (api.fhir.importer), so both validate, replay and
    raise risk flags alike."""
    service = user.service
    serializer = ReferralCreateApi.InputSerializer(data=body, context={"service": service})
    if not serializer.is_valid():
        return PartnerSubmission(status.HTTP_400_BAD_REQUEST, errors=dict(serializer.errors))
    given_key = given_key.strip()
    if len(given_key) > 64 or not IDEMPOTENCY_KEY_RE.fullmatch(given_key):
        return PartnerSubmission(
            status.HTTP_400_BAD_REQUEST, errors={IDEMPOTENCY_HEADER: [KEY_INVALID]}
        )
    fingerprint = hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    key = f"api:{user.pk}:{given_key}" if given_key else f"api:{uuid.uuid4()}"
    result = referral_submit(
        service=service,
        data=_referral_input(serializer.validated_data),
        idempotency_key=key,
        via=ConsentRecord.Via.API,
        fingerprint=fingerprint,
    )
    if not result.created and result.referral.submission_fingerprint != fingerprint:
        return PartnerSubmission(
            status.HTTP_409_CONFLICT, errors={IDEMPOTENCY_HEADER: [KEY_REUSED]}
        )
    return PartnerSubmission(
        status.HTTP_201_CREATED if result.created else status.HTTP_200_OK, result=result
    )


def _referral_input(data: dict) -> ReferralInput:
    simple = {
        name: data[name]
        for name in (
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "pronouns",
            "gender_identity",
            "nhs_number",
            "postcode",
            "email",
            "mobile_phone",
            "landline_phone",
            "address",
            "preferred_channel",
            "safe_contact_times",
            "gp_practice_name",
            "gp_practice_address",
            "presenting_problem",
            "hopes",
            "previous_help",
            "difficulty_areas",
            "current_services",
            "source",
        )
    }
    return ReferralInput(
        **simple,
        preferences=dict(data.get("preferences") or {}),
        consents=[
            ConsentDecision(
                topic=c["topic"],
                granted=c["granted"],
                wording=c["wording"],
                wording_version=c["wording_version"],
            )
            for c in data["consents"]
        ],
        questionnaires=[
            MeasureAnswers(measure=q["measure"], answers=q["answers"])
            for q in data["questionnaires"]
        ],
    )
