"""One shape for every error the API answers (docs/api.md, "Errors").

    {"status": 400, "code": "invalid", "detail": "Some fields are not valid: …",
     "errors": {"given_name": ["This field is required."]}}

`status` repeats the HTTP status; `code` is a stable word to branch on (DRF's codes:
invalid, parse_error, not_authenticated, authentication_failed, permission_denied,
not_found, method_not_allowed, unsupported_media_type, throttled, conflict, too_large);
`detail` is one sentence for a person; `errors` (400 and 409 only) holds each field's
messages, nested as the body is for nested objects and lists. A 404 says only that there is
nothing at the address: another service's record and a made-up id answer alike.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler

FIELDS_INVALID = "Some fields are not valid: each is named in 'errors' with what to change."
# What each status says when the exception carried only field messages.
GENERIC = {
    status.HTTP_400_BAD_REQUEST: FIELDS_INVALID,
    status.HTTP_409_CONFLICT: "The request conflicts with what is already recorded; see 'errors'.",
}
NOT_FOUND = "Nothing is here: the address names no record you can read."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with what is already recorded."
    default_code = "conflict"


def _code(exc, detail) -> str:
    codes = getattr(exc, "get_codes", lambda: None)()
    if isinstance(codes, str):
        return codes
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    return getattr(exc, "default_code", "error")


def api_exception_handler(exc, context):
    """DRF's handler (status, headers such as Retry-After and WWW-Authenticate), then the
    body in the one shape. Anything DRF does not handle is a server error, left to Django."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    body = {"status": response.status_code, "code": "error", "detail": "", "errors": {}}
    if response.status_code == status.HTTP_404_NOT_FOUND:
        body |= {"code": "not_found", "detail": NOT_FOUND}
        if isinstance(exc, exceptions.NotFound) and exc.detail and "cursor" in str(exc.detail):
            body["detail"] = (
                "The cursor is not one this list gave: start again from the first page."
            )
    elif isinstance(data, dict) and set(data) == {"detail"}:
        body |= {"code": _code(exc, data["detail"]), "detail": str(data["detail"])}
    else:
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        body |= {
            "code": _code(exc, data),
            "detail": GENERIC.get(response.status_code, FIELDS_INVALID),
            "errors": errors,
        }
    if isinstance(exc, exceptions.PermissionDenied) and body["code"] == "error":
        body["code"] = "permission_denied"
    response.data = body
    return response


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers."""

    class Meta:
        ref_name = "Error"

    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="A stable word to branch on: invalid, parse_error, not_authenticated, "
        "authentication_failed, permission_denied, not_found, method_not_allowed, "
        "unsupported_media_type, throttled, conflict, too_large."
    )
    detail = serializers.CharField(help_text="What went wrong, in one sentence for a person.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        help_text="400 and 409: each field's messages (a list of strings; nested objects and "
        "lists nest the same way). Empty for other statuses.",
    )


DESCRIPTIONS = {
    400: "Invalid input: 'errors' names each field (or query parameter) with its messages.",
    401: "No credentials, or a token that cannot be used (mistyped, expired, revoked, or its "
    "account closed: one message for all). WWW-Authenticate names the scheme (Token).",
    403: "Signed in, but this role may not use this endpoint (or a browser session without its "
    "CSRF token, on a write).",
    404: "No record here that you may read: another service's record, one your role does not "
    "reach and a made-up id all answer the same.",
    429: "Too many requests: wait the seconds the Retry-After header gives, then try again.",
}


def error_responses(*statuses: int, **descriptions: str) -> dict:
    """extend_schema responses for these error statuses, each the Error shape, described by
    DESCRIPTIONS unless given (as s400="...")."""
    return {
        code: OpenApiResponse(
            ErrorSerializer, description=descriptions.get(f"s{code}", DESCRIPTIONS.get(code, ""))
        )
        for code in statuses
    }
