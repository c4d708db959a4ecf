"""The baseline for the self-referral benchmark: a bare Django view (no DRF, no templates,
no forms) that inserts the same rows a submitted referral writes, in one transaction."""

from __future__ import annotations

import secrets
from datetime import date

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from common.models import Service
from intake.models import Client, ConsentRecord, MeasureResponse, Preferences, Referral

_service_id: int | None = None


@csrf_exempt
def bare_referral(request):
    global _service_id
    if _service_id is None:
        _service_id = Service.objects.values_list("id", flat=True).get(slug="bench")
    now = timezone.now()
    with transaction.atomic():
        client = Client.objects.create(
            service_id=_service_id,
            given_name="Robin",
            family_name="Ashdown",
            date_of_birth=date(1990, 5, 17),
            email="robin@example.com",
        )
        referral = Referral.objects.create(
            service_id=_service_id,
            client=client,
            received_at=now,
            reference="TH-" + secrets.token_hex(4).upper()[:4] + "-" + secrets.token_hex(2).upper(),
            idempotency_key=secrets.token_hex(16),
        )
        Preferences.objects.create(referral=referral, mode="either")
        for topic in ("contact_email", "outcome_data", "answers_own", "privacy_notice"):
            ConsentRecord.objects.create(
                client=client,
                referral=referral,
                topic=topic,
                decision="granted",
                wording="bench",
                wording_version="bench",
                via="self_referral",
                recorded_at=now,
            )
        for measure, answers in (("phq9", [1] * 9), ("gad7", [1] * 7)):
            MeasureResponse.objects.create(
                referral=referral,
                measure=measure,
                context="self_referral",
                answers=answers,
                total=sum(answers),
                band="mild",
                caseness=False,
                completed_at=now,
            )
    return HttpResponse("ok")


# --- The staff list benchmark's baselines ------------------------------------------------
# For each page, a bare `.values()` query of the rows the page's first screen shows, read by
# a view with the same session and user lookups and nothing else (no templates, no access
# rules beyond the signed-in user, no per-row work), answered as JSON.

PAGE = 50


_REFERRAL_FIELDS = (
    "public_id",
    "reference",
    "received_at",
    "status",
    "risk_level",
    "client__given_name",
    "client__family_name",
)


def _referral_values(rows):
    return rows.order_by("received_at", "id").values(*_REFERRAL_FIELDS)[:PAGE]


def _therapy_values(rows):
    return rows.order_by("started_on", "id").values(
        "referral__public_id",
        "referral__reference",
        "referral__client__given_name",
        "referral__client__family_name",
        "therapist__first_name",
        "therapist__last_name",
        "started_on",
    )[:PAGE]


def _referral_list_values(user, query) -> list:
    """The staff referral list's rows, read as bare as they can be: the same filter (the
    service, what the user may open, the status asked for), the same order and the same
    page, found the same way (from the neighbouring page's edge referral when the address
    names one, else by OFFSET), with one `.values()` query and no count."""
    from django.db.models import Q, Subquery

    from common.access import referrals_opened_by

    rows = referrals_opened_by(user, Referral.objects.filter(service_id=user.service_id))
    if query.get("status"):
        rows = rows.filter(status=query["status"])
    rows = rows.order_by("received_at", "id")
    for name, forward in (("after", True), ("before", False)):
        if query.get(name):
            anchor = Referral.objects.filter(
                service_id=user.service_id, public_id=query[name]
            ).order_by()
            at = Subquery(anchor.values("received_at")[:1])
            pk = Subquery(anchor.values("pk")[:1])
            if forward:
                found = rows.filter(received_at__gte=at).filter(
                    Q(received_at__gt=at) | Q(pk__gt=pk)
                )
                return list(found.values(*_REFERRAL_FIELDS)[:PAGE])
            found = rows.filter(received_at__lte=at).filter(Q(received_at__lt=at) | Q(pk__lt=pk))
            return list(found.reverse().values(*_REFERRAL_FIELDS)[:PAGE])[::-1]
    page = int(query.get("page") or 1)
    start = (page - 1) * PAGE
    return list(rows.values(*_REFERRAL_FIELDS)[start : start + PAGE])


def _bare_rows(name: str, user, referral: str = "", query=None) -> list:
    from allocation.models import Therapist
    from notifications.models import Notification, PrintBatch
    from therapy.models import Therapy

    service = user.service_id
    referrals = Referral.objects.filter(service_id=service)
    if name == "referrals":
        return _referral_list_values(user, query or {})
    if name == "assessments":
        return list(
            _referral_values(referrals.filter(status__in=["submitted", "assessment_booked"]))
        )
    if name == "therapy":
        waiting = referrals.filter(status__in=["awaiting_allocation", "allocated"])
        therapies = Therapy.objects.filter(service_id=service, ended_on=None)
        return list(_referral_values(waiting)) + list(_therapy_values(therapies))
    if name == "clients":
        return list(_therapy_values(Therapy.objects.filter(therapist=user, ended_on=None)))
    if name == "allocation":
        # The waiting list's first page: waiting for a therapist or just allocated.
        waiting = referrals.filter(status__in=["awaiting_allocation", "allocated"])
        return list(_referral_values(waiting))
    if name == "therapists":
        return list(
            Therapist.objects.filter(service_id=service)
            .order_by("display_name", "id")
            .values("public_id", "display_name", "capacity")[:PAGE]
        )
    if name == "messages":
        return list(
            Notification.objects.filter(
                service_id=service,
                status__in=["failed", "suppressed"],
                follow_up_needed=True,
                followed_up_at__isnull=True,
            )
            .order_by("closed_at", "id")
            .values(
                "public_id", "kind", "status", "attempts", "status_reason", "referral__reference"
            )[:PAGE]
        )
    if name == "print":
        return list(
            PrintBatch.objects.filter(service_id=service)
            .order_by("-created_at", "-id")
            .values("public_id", "created_at", "letter_count", "page_count", "download_count")[
                :PAGE
            ]
        )
    if name == "referral_messages":
        return list(
            Notification.objects.filter(service_id=service, referral__public_id=referral)
            .order_by("-created_at", "-id")
            .values(
                "public_id", "kind", "recipient", "status", "channel", "attempts", "created_at"
            )[:PAGE]
        )
    if name == "home":
        return list(_referral_values(referrals.filter(status="submitted"))[:10])
    raise ValueError(name)


def bare_list(request, name: str):
    from django.http import JsonResponse

    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    rows = _bare_rows(name, request.user, request.GET.get("referral", ""), request.GET)
    return JsonResponse({"rows": rows}, safe=False)


# --- The page-weight benchmark's baseline --------------------------------------------------
# A page with only the NHS.UK frontend's stylesheet and script, linked as the project links
# them (the stylesheet, and the script as an ES module), and a heading and a paragraph.

BARE_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>Bare page – NHS</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="{% static 'nhsuk/nhsuk-frontend.min.css' %}">
  <script type="module" src="{% static 'nhsuk/nhsuk-frontend.min.js' %}"></script>
</head>
<body>
  <div class="nhsuk-width-container">
    <main class="nhsuk-main-wrapper" id="maincontent">
      <h1 class="nhsuk-heading-l">A bare NHS.UK frontend page</h1>
      <p class="nhsuk-body">Only the frontend's stylesheet and script, and this.</p>
    </main>
  </div>
</body>
</html>
"""


def bare_page(request):
    from django.template import engines

    template = engines["django"].from_string("{% load static %}" + BARE_PAGE)
    return HttpResponse(template.render({}, request))


# --- The reporting benchmark's baselines ---------------------------------------------------
# The report's rows read by bare `.values()` queries of the same tables and the same range,
# grouped as the page's tables are, with the same session and user lookups, answered as JSON:
# no range form, no per-referral SQL, no charts, no template. The data-set return's baseline
# streams one `.values_list()` row per referral received by the range's end, as CSV, as many
# rows as the return gave (`rows=`).


def _period(request):
    import datetime as dt

    from reporting.selectors import Period

    return Period(
        first=dt.date.fromisoformat(request.GET["from"]),
        last=dt.date.fromisoformat(request.GET["to"]),
    )


def bare_report(request):
    from django.db.models import Count, Min
    from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
    from django.http import JsonResponse

    from allocation.models import Therapist
    from assessment.models import Assessment
    from intake.models import RiskFlag
    from therapy.models import Therapy, TherapySession

    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    service, period = request.user.service_id, _period(request)
    moments = {"__gte": period.start, "__lt": period.end}

    def within(field: str) -> dict:
        return {field + suffix: moment for suffix, moment in moments.items()}

    finished = Assessment.objects.filter(
        service_id=service, status="finished", **within("finished_at")
    )
    ended = Therapy.objects.filter(
        service_id=service, ended_on__gte=period.first, ended_on__lte=period.last
    ).values("referral_id")
    rows = {
        "referrals": Referral.objects.filter(service_id=service, **within("received_at"))
        .annotate(week=TruncWeek("received_at"))
        .order_by()
        .values("week", "source")
        .annotate(n=Count("id")),
        "assessed": finished.annotate(on=TruncDate("finished_at"))
        .order_by()
        .values("on")
        .annotate(n=Count("id")),
        "treated": TherapySession.objects.filter(service_id=service, attendance="attended")
        .order_by()
        .values("referral_id")
        .annotate(first=Min("occurred_on"))
        .filter(first__gte=period.first, first__lte=period.last),
        "caseness": finished.order_by()
        .values("measures__measure", "measures__response__caseness")
        .annotate(n=Count("id")),
        "outcomes": MeasureResponse.objects.filter(
            referral_id__in=ended, measure__in=["phq9", "gad7"], total__isnull=False
        )
        .order_by()
        .values("referral_id", "measure")
        .annotate(n=Count("id"), first=Min("completed_at")),
        "attendance": TherapySession.objects.filter(
            service_id=service, occurred_on__gte=period.first, occurred_on__lte=period.last
        )
        .annotate(month=TruncMonth("occurred_on"))
        .order_by()
        .values("month", "attendance")
        .annotate(n=Count("id")),
        "caseload": Therapist.objects.filter(service_id=service)
        .order_by("display_name", "id")
        .values("id", "display_name", "capacity")[:200],
        "risk": RiskFlag.objects.filter(service_id=service, **within("raised_at"))
        .order_by()
        .values("acknowledged_at__date")
        .annotate(n=Count("id")),
    }
    return JsonResponse({name: list(query) for name, query in rows.items()}, safe=False)


def bare_dataset(request):
    import csv

    from django.http import StreamingHttpResponse

    from reporting.views import _Echo

    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    period = _period(request)
    rows = (
        Referral.objects.filter(service_id=request.user.service_id, received_at__lt=period.end)
        .order_by("received_at", "id")
        .values_list(
            "reference", "client__nhs_number", "received_at", "source", "status", "risk_level"
        )
    )
    if "rows" in request.GET:  # as many rows as the data-set return gave for the range
        rows = rows[: int(request.GET["rows"])]
    rows = rows.iterator(chunk_size=2000)
    writer = csv.writer(_Echo())
    return StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )


# --- The REST API lists' baselines (bench_api_lists.py) ------------------------------------
# For each list, a bare `.values()` query of the rows its page answers: the same service
# scoping, the same rows a role reaches, the same filter, ordering, page size and cursor
# position (`before`: the position a deep page's cursor names), with the links to other
# records read as their public ids by joins, and the same session, two-factor and role
# lookups as the API; answered as JSON. No DRF: no serializers, no throttles, no filter sets.

API_PAGE = 25
_API_IN_ASSESSMENT = ("submitted", "assessment_booked")


def _api_referrals(user):
    from django.db.models import Exists, OuterRef, Q

    from common import roles
    from intake.models import RiskFlag

    rows = Referral.objects.filter(service_id=user.service_id)
    if user.has_role(roles.ASSESSOR) and not user.has_role(roles.COORDINATOR):
        open_flag = RiskFlag.objects.filter(referral=OuterRef("pk"), acknowledged_at=None)
        rows = rows.filter(
            Q(status__in=_API_IN_ASSESSMENT)
            | Q(assessed_by=user)
            | Q(assessment_finished_by=user)
            | Exists(open_flag)
        )
    return rows


def _api_care_referrals(user):
    from common import roles

    rows = Referral.objects.filter(service_id=user.service_id)
    if user.has_role(roles.COORDINATOR):
        return rows
    return rows.filter(therapies__therapist=user)


def _api_rows(name: str, user, params) -> list:
    from django.db.models import Exists, OuterRef

    from allocation.models import Allocation, Proposal, Therapist, WeeklySlot
    from assessment.models import Assessment
    from intake.models import RiskFlag
    from intake.services import CLIENT_FIELDS
    from notifications.models import Notification
    from therapy.models import Goal, GoalRating, SessionPlan, TherapySession

    service = user.service_id
    field = "created_at"
    extra: dict = {}
    if name == "referrals":
        field = "received_at"
        rows = _api_referrals(user)
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        flag = RiskFlag.objects.filter(referral=OuterRef("pk"), acknowledged_at__isnull=True)
        rows = rows.annotate(has_open_risk_flag=Exists(flag))
        fields = ["public_id", "reference", "client__public_id", "status", "source"]
        fields += ["risk_level", "received_at", "has_open_risk_flag"]
    elif name == "clients":
        opened = _api_referrals(user).filter(client=OuterRef("pk"))
        rows = Client.objects.filter(service_id=service).filter(Exists(opened))
        fields = ["public_id", *CLIENT_FIELDS]
    elif name == "assessments":
        rows = Assessment.objects.filter(service_id=service, status="finished")
        fields = ["public_id", "referral__public_id", "status", "finished_at", "risk_level"]
        fields += [
            "recommendation_choice",
            "recommendation_modality",
            "recommendation_offered_here",
            "recommendation_sessions_per_week",
            "recommendation_signpost_to",
        ]
    elif name == "questionnaire-responses":
        rows = MeasureResponse.objects.filter(referral__in=_api_referrals(user))
        fields = ["public_id", "referral__public_id", "measure", "context", "total", "band"]
        fields += ["caseness", "withheld_reason", "completed_at"]
    elif name == "risk-flags":
        rows = RiskFlag.objects.filter(service_id=service, referral__in=_api_referrals(user))
        fields = ["public_id", "referral__public_id", "source", "severity", "raised_at"]
        fields += ["acknowledged_at", "detail", "reason", "action_taken"]
    elif name == "goals":
        rows = Goal.objects.filter(service_id=service, referral__in=_api_care_referrals(user))
        fields = ["id", "public_id", "referral__public_id", "status", "agreed_on", "closed_on"]
        fields += ["description", "close_reason"]
        extra = {"ratings": (GoalRating, "goal_id", ["goal_id", "score", "rated_on"])}
    elif name == "session-plans":
        rows = SessionPlan.objects.filter(
            service_id=service, referral__in=_api_care_referrals(user)
        )
        fields = ["public_id", "referral__public_id", "version", "length", "session_count"]
        fields += ["sessions_per_week", "regular_times", "mode", "room", "starts_on"]
        fields += ["ends_on", "review_dates", "breaks", "measures_every_sessions"]
        fields += ["repeat_measures", "created_at"]
    elif name == "sessions":
        rows = TherapySession.objects.filter(
            service_id=service, referral__in=_api_care_referrals(user)
        )
        fields = ["public_id", "referral__public_id", "occurred_on", "attendance", "note"]
    elif name == "therapists":
        rows = Therapist.objects.filter(service_id=service)
        fields = ["id", "public_id", "display_name", "gender", "languages", "modalities"]
        fields += ["frequencies", "offers_remote", "capacity"]
        slot_fields = ["therapist_id", "public_id", "weekday", "start", "length_minutes"]
        extra = {"slots": (WeeklySlot, "therapist_id", slot_fields)}
    elif name == "slots":
        rows = WeeklySlot.objects.filter(therapist__service_id=service)
        fields = ["public_id", "therapist__public_id", "weekday", "start", "length_minutes"]
    elif name == "proposals":
        rows = Proposal.objects.filter(service_id=service)
        fields = ["public_id", "run__public_id", "referral__public_id", "therapist__public_id"]
        fields += ["slots", "priority", "fit", "reasons", "decision", "decided_at"]
    elif name == "allocations":
        rows = Allocation.objects.filter(service_id=service)
        fields = ["public_id", "referral__public_id", "therapist__public_id", "status"]
        fields += ["source", "regular_times", "first_appointment_at", "allocated_at"]
        fields += ["ended_at"]
    elif name == "notifications":
        rows = Notification.objects.filter(service_id=service, referral__in=_api_referrals(user))
        fields = ["public_id", "referral__public_id", "kind", "recipient", "channel", "status"]
        fields += ["urgent", "send_after", "sent_at", "closed_at", "follow_up_needed"]
        fields += ["created_at"]
    else:
        raise ValueError(name)
    if params.get("before"):
        rows = rows.filter(**{f"{field}__lt": params["before"]})
    page = list(rows.order_by(f"-{field}").values(*fields)[:API_PAGE])
    for key, (model, link, wanted) in extra.items():
        ids = [row["id"] for row in page]
        nested: dict = {}
        for row in model.objects.filter(**{f"{link}__in": ids}).values(*wanted):
            nested.setdefault(row.pop(link), []).append(row)
        for row in page:
            row[key] = nested.get(row.pop("id"), [])
    return page


def bare_api_list(request, name: str):
    from django.http import JsonResponse

    from common import access
    from common.two_factor import is_verified

    user = request.user
    if not is_verified(user) or not access.has_any_role(user, access.ANY_STAFF):
        return HttpResponse(status=403)
    return JsonResponse({"results": _api_rows(name, user, request.GET)}, safe=False)


# --- The FHIR export's baseline (bench_fhir.py) --------------------------------------------
# The rows one referral's Bundle is made of, read by bare `.values()` queries (the referral
# with its client and preferences, consents, questionnaires, open risk flags, the active
# allocation with its therapist, goals, their ratings, the current plan, attended sessions),
# with the same session, two-factor and role lookups, answered as JSON: no access rules
# beyond the user's service, no FHIR resources, no audit record.


def bare_fhir(request, referral: str):
    from django.http import JsonResponse

    from allocation.models import Allocation
    from common import access
    from common.two_factor import is_verified
    from intake.models import RiskFlag
    from intake.services import CLIENT_FIELDS
    from therapy.models import Goal, GoalRating, SessionPlan, TherapySession

    user = request.user
    if not is_verified(user) or not access.has_any_role(user, access.CLINICIANS):
        return HttpResponse(status=403)
    fields = ["id", "public_id", "reference", "status", "source", "risk_level", "received_at"]
    fields += ["difficulty_areas", "current_services", "presenting_problem", "hopes"]
    fields += ["previous_help", "client_id", "client__public_id"]
    fields += [f"client__{name}" for name in CLIENT_FIELDS]
    fields += ["preferences__therapist_gender", "preferences__language", "preferences__mode"]
    row = Referral.objects.filter(public_id=referral, service_id=user.service_id).values(*fields)
    row = row.get()
    pk = row["id"]
    goals = list(
        Goal.objects.filter(referral_id=pk)
        .order_by("agreed_on", "id")
        .values("id", "public_id", "status", "description", "agreed_on", "closed_on")
    )
    body = {
        "referral": row,
        "consents": list(
            ConsentRecord.objects.filter(client_id=row["client_id"])
            .order_by("recorded_at", "id")
            .values("public_id", "topic", "decision", "wording", "wording_version", "recorded_at")
        ),
        "questionnaires": list(
            MeasureResponse.objects.filter(referral_id=pk)
            .order_by("completed_at", "id")
            .values("public_id", "measure", "context", "answers", "total", "completed_at")
        ),
        "flags": list(
            RiskFlag.objects.filter(referral_id=pk, acknowledged_at=None)
            .order_by("raised_at", "id")
            .values("public_id", "source", "detail", "raised_at")
        ),
        "allocation": list(
            Allocation.objects.filter(referral_id=pk, status="active")
            .order_by("-allocated_at")
            .values("public_id", "allocated_at", "therapist__public_id", "therapist__display_name")[
                :1
            ]
        ),
        "goals": goals,
        "ratings": list(
            GoalRating.objects.filter(goal_id__in=[g["id"] for g in goals])
            .order_by("rated_on", "id")
            .values("public_id", "goal_id", "score", "rated_on")
        ),
        "plan": list(
            SessionPlan.objects.filter(referral_id=pk)
            .order_by("-version")
            .values(
                "public_id",
                "version",
                "length",
                "session_count",
                "sessions_per_week",
                "regular_times",
                "mode",
                "site__name",
                "starts_on",
                "ends_on",
                "ending_plan",
                "created_at",
            )[:1]
        ),
        "sessions": list(
            TherapySession.objects.filter(referral_id=pk, attendance="attended")
            .order_by("occurred_on", "id")
            .values("public_id", "occurred_on", "therapy__therapist_id")
        ),
    }
    return JsonResponse(body, safe=False)
