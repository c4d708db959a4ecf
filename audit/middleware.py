"""Records every signed-in staff page and every partner API request, after the view ran
(docs/security.md, "Audit").

Who: the signed-in member of staff, or the partner account its API token belongs to (DRF
authenticates inside the view and sets the request's user, so it is known afterwards).
Nobody signed in is not recorded: they are sent to sign in and see nothing. What: the URL
name, the method (GET, HEAD and OPTIONS read; everything else writes) and the status, so a
refusal (403, 404) or a failure (5xx: the view raised and the error page was sent) is on
the record too. Which: the first id in the address is the object, named by the segment
before it ("staff/referrals/<id>/..." is a referral); the address's other ids and slugs go
in `detail`. The partner API's new referral is taken from its answer.

If the event cannot be written the response is not sent: nobody reads a client's data
without a record of it. A read's event commits without waiting for the disk
(`services.record`, durable=False) unless AUDIT_DURABLE_READS; a write's always waits.
"""

from __future__ import annotations

import logging
import re
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError

from audit import services
from audit.models import AuditEvent
from common.views import server_error

logger = logging.getLogger(__name__)

AUDITED_PREFIXES = ("/staff/", "/api/v1/")
READS = {"GET", "HEAD", "OPTIONS"}
# The word in the address before an object's id, and the model it names.
OBJECT_TYPES = {
    "referrals": "referral",
    "messages": "notification",
    "print": "printbatch",
    "assessments": "assessment",
    "therapists": "therapist",
    "runs": "proposalrun",
    "proposals": "proposal",
    # The REST API's resources (api/urls.py)
    "clients": "client",
    "questionnaire-responses": "measureresponse",
    "risk-flags": "riskflag",
    "goals": "goal",
    "session-plans": "sessionplan",
    "sessions": "therapysession",
    "slots": "weeklyslot",
    "allocations": "allocation",
    "notifications": "notification",
}
# API endpoints whose answer names the object they made: {"id": public id}.
API_OBJECTS = {
    "api-referrals": "referral",
    # The FHIR import answers with the ServiceRequest, whose id is the referral's.
    "api-fhir-servicerequest-create": "referral",
}
_PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def _object_of(route: str, kwargs: dict) -> tuple[str, str, dict]:
    """(object type, object id, detail) from the matched route and its arguments."""
    object_type = object_id = ""
    detail = {}
    for name, value in kwargs.items():
        if not object_id and isinstance(value, UUID):
            object_id = str(value)
            before = route.split("<", 1)[0] if "<" in route else route
            word = ([part for part in before.split("/") if part] or [""])[-1]
            object_type = OBJECT_TYPES.get(word, word)
        else:
            detail[name] = str(value)[:100]
    return object_type, object_id, detail


def event_for(request, response) -> dict:
    match = request.resolver_match
    view = (match.url_name or "") if match else ""
    object_type, object_id, detail = (
        _object_of(match.route, match.kwargs) if match else ("", "", {})
    )
    referral_id = UUID(object_id) if object_type == "referral" else None
    if not object_id and view in API_OBJECTS and 200 <= response.status_code < 300:
        data = getattr(response, "data", None)
        if isinstance(data, dict) and data.get("id"):
            try:
                referral_id = UUID(str(data["id"])) if API_OBJECTS[view] == "referral" else None
            except ValueError:
                referral_id = None
            else:
                object_type, object_id = API_OBJECTS[view], str(data["id"])
    return {
        "action": AuditEvent.Action.READ if request.method in READS else AuditEvent.Action.WRITE,
        "view": view,
        "method": request.method[:10],
        "status": response.status_code,
        "object_type": object_type,
        "object_id": object_id,
        "referral_id": referral_id,
        "detail": detail,
    }


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith(AUDITED_PREFIXES):
            return response
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        try:
            event = event_for(request, response)
            durable = settings.AUDIT_DURABLE_READS or event["action"] != AuditEvent.Action.READ
            services.record(request=request, user=user, durable=durable, **event)
        except DatabaseError:
            logger.exception(
                "audit: event not written for user %s, %s; response withheld",
                user.pk,
                request.method,
            )
            return server_error(request)
        return response
