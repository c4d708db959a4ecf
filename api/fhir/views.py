"""HL7 FHIR R4 over the API: a referral's record out as a Bundle, a referral in as one.

Both answer application/fhir+json, and every error is an OperationOutcome (DRF's own
refusals too: no credentials, wrong account, too many requests, a body that is not JSON).
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fhir import definitions as d
from api.fhir import export, importer
from common import access
from common.api_auth import VerifiedSessionAuthentication
from common.throttling import AccountThrottle, ClientAddressAnonThrottle, PartnerReferralThrottle
from intake.api import IDEMPOTENCY_HEADER, TOO_DEEP, BodyTooLarge, IsPartnerReferrer
from intake.api import _shape_problem as shape_problem
from intake.api_auth import ApiTokenAuthentication

FHIR_JSON = "application/fhir+json"
# A Bundle nests deeper than the JSON API's body: entry, resource, item, answer, coding.
MAX_FHIR_DEPTH = 16

ISSUE_CODES = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
}


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON


class AlwaysFhirJson(BaseContentNegotiation):
    """FHIR JSON whatever the Accept header says: it is JSON, so a client asking for
    application/json reads it as well, and nobody is refused with a 406."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirJsonParser(JSONParser):
    """FHIR JSON (or plain JSON), with the JSON API's checks for depth and broken text."""

    media_type = FHIR_JSON

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        problem = shape_problem(data, MAX_FHIR_DEPTH)
        if problem:
            raise exceptions.ParseError(problem.replace("8 levels", f"{MAX_FHIR_DEPTH} levels"))
        return data


class PlainJsonParser(FhirJsonParser):
    media_type = "application/json"


def outcome(status_code: int, diagnostics: str, code: str | None = None) -> dict:
    issue = importer.Issue(code or ISSUE_CODES.get(status_code, "exception"), diagnostics)
    return importer.operation_outcome([issue])


class FhirApiView(APIView):
    # The token first: its scheme names the WWW-Authenticate header, so nobody gets a 401.
    authentication_classes = [ApiTokenAuthentication, VerifiedSessionAuthentication]
    renderer_classes = [FhirJsonRenderer]
    parser_classes = [FhirJsonParser, PlainJsonParser]
    content_negotiation_class = AlwaysFhirJson

    def handle_exception(self, exc):
        if isinstance(exc, RequestDataTooBig):
            exc = BodyTooLarge()
        if isinstance(exc, exceptions.UnsupportedMediaType):
            exc = exceptions.UnsupportedMediaType(
                self.request.content_type,
                detail=f"Send FHIR JSON, with Content-Type: {FHIR_JSON} (or application/json).",
            )
        response = super().handle_exception(exc)
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = outcome(response.status_code, str(detail or exc))
        return response


BUNDLE = OpenApiResponse(
    OpenApiTypes.OBJECT, description="A FHIR R4 Bundle (type collection): docs/api.md."
)


def _refusal(text: str) -> OpenApiResponse:
    return OpenApiResponse(OpenApiTypes.OBJECT, description=f"An OperationOutcome: {text}")


class IsClinician(permissions.BasePermission):
    """Decided before the method is, so a role refused is refused whatever it asks."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if access.is_integration_account(user):
            self.message = export.INTEGRATION_READS_NONE
            return False
        self.message = export.NOT_FOR_ROLE
        return access.has_any_role(user, access.CLINICIANS)


class ReferralFhirExportApi(FhirApiView):
    permission_classes = [IsClinician]

    @extend_schema(
        operation_id="referral_fhir_export",
        parameters=[
            OpenApiParameter(
                "referral_id",
                OpenApiTypes.UUID,
                OpenApiParameter.PATH,
                description="The referral's id (its public UUID).",
            )
        ],
        summary="A referral's record as a FHIR R4 Bundle",
        description="Patient, ServiceRequest, QuestionnaireResponses with their "
        "Questionnaires, Consents (withdrawals included), open risk Flags, the allocated "
        "Practitioner and PractitionerRole; for the client's therapist also Goals with their "
        "ratings as Observations, the CarePlan and attended sessions as Encounters.",
        responses={
            200: BUNDLE,
            401: _refusal("no credentials, or a token that cannot be used."),
            403: _refusal("an integration account, or a role other than assessor or therapist."),
            404: _refusal("no such referral that this account reads the clinical record of."),
            409: _refusal("the client restricted the use of their record (UK GDPR Art. 18)."),
            429: _refusal("too many requests; see Retry-After."),
        },
    )
    def get(self, request, referral_id):
        try:
            referral, sight = export.referral_for_export(user=request.user, public_id=referral_id)
        except export.ExportRefused as refused:
            return Response(
                outcome(refused.status, refused.message, refused.code), status=refused.status
            )
        return Response(export.referral_bundle(referral=referral, sight=sight))


class ServiceRequestFhirImportApi(FhirApiView):
    permission_classes = [IsPartnerReferrer]
    throttle_classes = [ClientAddressAnonThrottle, AccountThrottle, PartnerReferralThrottle]

    @extend_schema(
        operation_id="referral_fhir_import",
        summary="Send a referral as a FHIR R4 Bundle",
        description="A Bundle (collection or transaction) with one Patient and one "
        "ServiceRequest, and any QuestionnaireResponses and Consents. Validated, replayed "
        "with an Idempotency-Key and checked for risk exactly as POST /api/v1/referrals/.",
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                {"type": "string", "maxLength": 64, "pattern": "^[\\x20-\\x7e]*$"},
                OpenApiParameter.HEADER,
                required=False,
                description="At most 64 printable ASCII characters (a UUID is ideal).",
            ),
        ],
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            201: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The ServiceRequest as received (its id is the referral's).",
            ),
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="A replay: the first ServiceRequest."
            ),
            400: _refusal("not a FHIR Bundle, not valid FHIR R4, or a malformed Idempotency-Key."),
            401: _refusal("no credentials, or a token that cannot be used."),
            403: _refusal("the account may not send referrals."),
            409: _refusal("the Idempotency-Key was used for another referral."),
            413: _refusal("the body is over the size limit."),
            415: _refusal("not FHIR JSON."),
            422: _refusal("valid FHIR, but not a referral this service accepts."),
            429: _refusal("too many requests; see Retry-After."),
        },
    )
    def post(self, request):
        try:
            imported = importer.referral_import(
                user=request.user,
                data=request.data,
                given_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            )
        except importer.ImportRefused as refused:
            return Response(importer.operation_outcome(refused.issues), status=refused.status)
        referral = imported.result.referral
        body = {
            "resourceType": "ServiceRequest",
            "id": str(referral.public_id),
            **d.profile("ServiceRequest"),
            "identifier": [
                {"system": d.identifier_system("referral"), "value": referral.reference}
            ],
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"urn:uuid:{referral.client.public_id}", "type": "Patient"},
            "authoredOn": export.instant(referral.received_at),
        }
        location = request.build_absolute_uri(f"/api/v1/referrals/{referral.public_id}/fhir")
        return Response(
            body,
            status=status.HTTP_201_CREATED if imported.created else status.HTTP_200_OK,
            headers={"Location": location},
        )
