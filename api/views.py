"""The REST API's resources: a list and a record for each, read-only, scoped like the staff
pages (docs/api.md; docs/security.md "Who sees what").

Each view names the roles that may use it (`roles`, checked by api.permissions.StaffRole)
and reads through its owning app's selector, which starts from the user's service and the
need-to-know rules (common.access): another service's record, or one the role does not
reach, is simply not in the queryset, so it answers 404 like a made-up id. Lists are cursor
pages (api.pagination) with django-filter FilterSets (api.filters); `ordering` is offered
only where an index serves it.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from django.db.models import Exists, OuterRef
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets
from rest_framework.response import Response

from allocation import selectors as allocation_selectors
from allocation.models import WeeklySlot
from api import filters, serializers
from api.filtering import StrictOrdering
from api.pagination import CursorPage
from api.permissions import StaffRole
from assessment import selectors as assessment_selectors
from common import access, encryption, roles
from common.api_auth import VerifiedSessionAuthentication
from common.api_errors import Conflict, error_responses
from common.throttling import AccountThrottle, ClientAddressAnonThrottle
from intake import clinical_record
from intake import selectors as intake_selectors
from intake.api import ReferralCreateApi
from intake.api_auth import ApiTokenAuthentication
from intake.models import Referral, RiskFlag
from notifications import selectors as notification_selectors
from therapy import selectors as therapy_selectors
from therapy.models import GoalRating

ALL_STAFF = access.ANY_STAFF
LIST_ERRORS = (400, 401, 403, 404, 429)
RECORD_ERRORS = (401, 403, 404, 429)
PAGING = "A cursor page: follow `next` and `previous`; `page_size` 1 to 100 (25 unless given)."
LIST_404 = "The cursor is not one this list gave (start again from the first page)."


def _page_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "Retry-After",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            description="Seconds to wait before trying again.",
            response=[429],
        ),
    ]


def documented(resource: str, *, who: str):
    """The list's and the record's documentation: every status they answer, and who may read
    them (a class decorator: the 200 is the view's serializer)."""

    def decorate(view):
        out = view.serializer_class
        return extend_schema_view(
            list=extend_schema(
                summary=f"List {resource}",
                description=f"{who} {PAGING}",
                parameters=_page_parameters(),
                responses={200: out(many=True)} | error_responses(*LIST_ERRORS, s404=LIST_404),
            ),
            retrieve=extend_schema(
                summary=f"One of the {resource}",
                description=who,
                parameters=_page_parameters(),
                responses={200: out} | error_responses(*RECORD_ERRORS),
            ),
        )(view)

    return decorate


@cache
def _unshown_text(serializer_class) -> tuple[str, ...]:
    """The encrypted fields a resource does not show: its own, and its referral's."""
    shown = {field.source.split(".")[0] for field in serializer_class().fields.values()}
    model = serializer_class.Meta.model
    own = [name for name in encryption.encrypted_field_names(model) if name not in shown]
    if model is Referral:
        return tuple(own)
    return (*own, *(f"referral__{name}" for name in encryption.encrypted_field_names(Referral)))


def shown_text_only(queryset, serializer_class):
    """Every encrypted value read is decrypted, row by row, whether shown or not: a page
    leaves out the clinical text its resource does not show (an assessment's sections, a
    questionnaire's answers, a message's body, the linked referral's words)."""
    unshown = _unshown_text(serializer_class)
    related = queryset.query.select_related
    if not isinstance(related, dict) or "referral" not in related:
        unshown = tuple(name for name in unshown if not name.startswith("referral__"))
    return queryset.defer(*unshown) if unshown else queryset


class ListFilter(DjangoFilterBackend):
    """django-filter's backend, which builds and validates its FilterSet's form on every
    request: a page asking for no filter (the first page, a cursor's next one) is the
    queryset as it is, as the FilterSet would leave it (no filter here is required or
    applied when not given)."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        given = request.query_params
        if filterset_class is not None and not any(
            name in given for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class Resource(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A read-only resource: a list and one record by its id."""

    # A token first: its WWW-Authenticate header makes an unauthenticated call a 401 (a
    # browser session counts only past the two-factor code step).
    authentication_classes = [ApiTokenAuthentication, VerifiedSessionAuthentication]
    permission_classes = [StaffRole]
    throttle_classes = [ClientAddressAnonThrottle, AccountThrottle]
    pagination_class = CursorPage
    filter_backends = [ListFilter, StrictOrdering]
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    ordering = ("-created_at",)
    ordering_fields: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def readable(self, user):
        raise NotImplementedError

    def filter_queryset(self, queryset):
        # Filters and ordering are the list's; one record is found by its id alone (a stray
        # query parameter on it is ignored, never a 400 the record does not document).
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return self.serializer_class.Meta.model.objects.none()
        return shown_text_only(self.readable(self.request.user), self.serializer_class)


@documented(
    "clients",
    who="Assessors, coordinators, therapists, service admins: clients with a referral the "
    "caller opens (an assessor: those to assess, those they assessed, any with an open risk "
    "flag).",
)
class ClientViewSet(Resource):
    roles = ALL_STAFF
    serializer_class = serializers.ClientOut
    filterset_class = filters.ClientFilter

    def readable(self, user):
        return intake_selectors.clients_opened(user=user)


def _with_open_flag(referrals):
    return referrals.select_related("client").annotate(
        has_open_risk_flag=Exists(
            RiskFlag.objects.filter(referral=OuterRef("pk"), acknowledged_at__isnull=True)
        )
    )


REFERRALS_WHO = (
    "Assessors, coordinators, therapists, service admins: the referrals the caller opens (an "
    "assessor: those to assess, those they assessed, any with an open risk flag). The "
    "client's own words are not here: they are read on the staff page by the client's "
    "clinicians."
)


@documented("referrals", who=REFERRALS_WHO)
class ReferralViewSet(Resource):
    roles = ALL_STAFF
    serializer_class = serializers.ReferralOut
    filterset_class = filters.ReferralFilter
    ordering = ("-received_at",)
    ordering_fields = ("received_at",)

    def readable(self, user):
        return _with_open_flag(intake_selectors.referrals_opened(user=user))


class ReferralsApi(ReferralCreateApi, generics.ListAPIView):
    """/referrals/: GET lists the referrals the caller opens (staff roles); POST sends one in
    (a partner account, intake.api.ReferralCreateApi)."""

    serializer_class = serializers.ReferralOut
    filterset_class = filters.ReferralFilter
    pagination_class = CursorPage
    filter_backends = [ListFilter, StrictOrdering]
    ordering = ReferralViewSet.ordering
    ordering_fields = ReferralViewSet.ordering_fields
    roles = ALL_STAFF

    def get_permissions(self):
        if self.request.method == "POST":
            return super().get_permissions()
        return [StaffRole()]

    def get_throttles(self):
        if self.request.method == "POST":
            return super().get_throttles()
        return [ClientAddressAnonThrottle(), AccountThrottle()]

    def get_queryset(self):
        referrals = _with_open_flag(intake_selectors.referrals_opened(user=self.request.user))
        return shown_text_only(referrals, self.serializer_class)

    @extend_schema(
        operation_id="referral_list",
        summary="List referrals",
        description=f"{REFERRALS_WHO} {PAGING}",
        parameters=_page_parameters(),
        responses={200: serializers.ReferralOut(many=True)}
        | error_responses(*LIST_ERRORS, s404=LIST_404),
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@documented(
    "finished assessments",
    who="Assessors (for referrals they open), coordinators, therapists (their own clients): "
    "the outcome (risk level and recommendation). Sections, risk in detail, the plan and the "
    "formulation are read on the staff page by the client's clinicians.",
)
class AssessmentViewSet(Resource):
    roles = access.ASSESSMENT_READERS
    serializer_class = serializers.AssessmentOut
    filterset_class = filters.AssessmentFilter

    def readable(self, user):
        return _with_referral_id(
            assessment_selectors.assessments_readable(user=user), self.serializer_class
        )


@documented(
    "questionnaire responses",
    who="Assessors, coordinators, therapists, service admins, for referrals they open: each "
    "questionnaire's total, severity band and caseness (answers item by item are clinical "
    "text, read on the staff page).",
)
class QuestionnaireResponseViewSet(Resource):
    roles = ALL_STAFF
    serializer_class = serializers.QuestionnaireResponseOut
    filterset_class = filters.QuestionnaireResponseFilter

    def readable(self, user):
        return _with_referral_id(
            intake_selectors.measure_responses_opened(user=user), self.serializer_class
        )


@documented(
    "risk flags",
    who="Assessors, coordinators, therapists, service admins, for referrals they open: that a "
    "flag is open and its source. What raised it and what was done (detail, reason, "
    "action_taken) only for clinicians (assessors, therapists); null for others.",
)
class RiskFlagViewSet(Resource):
    roles = ALL_STAFF
    serializer_class = serializers.RiskFlagOut
    filterset_class = filters.RiskFlagFilter

    def readable(self, user):
        # The referral's service too: the access rule for what raised a flag reads it.
        return _with_referral_id(
            intake_selectors.risk_flags_opened(user=user),
            self.serializer_class,
            "referral__service_id",
        )

    def get_permissions(self):
        if self.action == "acknowledge":
            return [ClinicianRole()]
        return super().get_permissions()

    @extend_schema(
        operation_id="risk_flag_acknowledge",
        summary="Acknowledge a risk flag",
        description="Clinicians (assessors, therapists) of the service, for referrals they open: "
        "record what was done and close the flag (as on the referral's staff page).",
        request=serializers.AcknowledgeIn,
        responses={200: serializers.RiskFlagOut}
        | error_responses(
            400,
            401,
            403,
            404,
            409,
            429,
            s403="Signed in, but not a clinician (or a browser session without its CSRF token).",
            s409="Already acknowledged: 'detail' says by whom and when.",
        ),
    )
    def acknowledge(self, request, *args, **kwargs):
        flag = self.get_object()
        given = serializers.AcknowledgeIn(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            flag = clinical_record.risk_flag_acknowledge(
                flag=flag, user=request.user, action_taken=given.validated_data["action_taken"]
            )
        except clinical_record.RiskFlagError as problem:
            raise Conflict(str(problem)) from None
        flag = self.get_queryset().get(pk=flag.pk)
        return Response(self.get_serializer(flag).data)


class ClinicianRole(StaffRole):
    message = "Only clinicians (assessors and therapists) acknowledge risk flags."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.service_id
            and access.has_any_role(user, access.CLINICIANS)
        )


def _own_client_rows(queryset, user):
    return queryset.select_related("referral").annotate(
        own_client=therapy_selectors.own_client(user=user)
    )


def _with_referral_id(queryset, serializer_class, *more: str, links=("referral",)):
    """The columns the resource answers with and its linked records' public ids (`links`,
    its referral unless named), not the whole rows: each row read is made into a model
    instance, field by field (the list's order, created_at, is read for its cursor)."""
    model = serializer_class.Meta.model
    own = {field.name for field in model._meta.concrete_fields}
    shown = [name for name in serializer_class.Meta.fields if name in own and name not in links]
    ids = [f"{link}__public_id" for link in links]
    return queryset.select_related(*links).only(
        "public_id", "created_at", *shown, *links, *ids, *more
    )


@documented(
    "goals",
    who="Coordinators and therapists (their own clients only): goals with their ratings. The "
    "goal's words and closing reason only for the client's therapist (null otherwise).",
)
class GoalViewSet(Resource):
    roles = access.CARE_TEAM
    serializer_class = serializers.GoalOut
    filterset_class = filters.GoalFilter

    def readable(self, user):
        goals = _own_client_rows(therapy_selectors.goals_readable(user=user), user)
        return _with_referral_id(goals, self.serializer_class)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_rating_rows(page) if page is not None else None

    def get_object(self):
        return with_rating_rows([super().get_object()])[0]


class RatingRow(NamedTuple):
    score: int
    rated_on: object


def with_rating_rows(goals: list) -> list:
    """Each goal's ratings (`rating_rows`, oldest first), read in one query as the list shows
    them, never as model rows."""
    by_id = {goal.pk: goal for goal in goals}
    for goal in goals:
        goal.rating_rows = []
    rows = (
        GoalRating.objects.filter(goal_id__in=by_id)
        .order_by("rated_on", "id")
        .values_list("goal_id", "score", "rated_on")
    )
    for goal_id, *rating in rows:
        by_id[goal_id].rating_rows.append(RatingRow(*rating))
    return goals


@documented(
    "session plans",
    who="Coordinators and therapists (their own clients only): every version of the plan.",
)
class SessionPlanViewSet(Resource):
    roles = access.CARE_TEAM
    serializer_class = serializers.SessionPlanOut
    filterset_class = filters.SessionPlanFilter

    def readable(self, user):
        return _with_referral_id(
            therapy_selectors.session_plans_readable(user=user), self.serializer_class
        )


@documented(
    "sessions",
    who="Coordinators and therapists (their own clients only): sessions and attendance. The "
    "note only for the client's therapist (null otherwise).",
)
class SessionViewSet(Resource):
    roles = access.CARE_TEAM
    serializer_class = serializers.SessionOut
    filterset_class = filters.SessionFilter

    def readable(self, user):
        sessions = _own_client_rows(therapy_selectors.sessions_readable(user=user), user)
        return _with_referral_id(sessions, self.serializer_class)


@documented(
    "therapists",
    who="Coordinators and service admins: the team's profiles with their weekly slots; a "
    "therapist: their own.",
)
class TherapistViewSet(Resource):
    roles = access.THERAPIST_PROFILES
    serializer_class = serializers.TherapistOut
    filterset_class = filters.TherapistFilter

    def readable(self, user):
        return allocation_selectors.therapists_visible(user=user)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_slot_rows(page) if page is not None else None

    def get_object(self):
        return with_slot_rows([super().get_object()])[0]


class SlotRow(NamedTuple):
    public_id: object
    weekday: int
    start: object
    length_minutes: int


def with_slot_rows(therapists: list) -> list:
    """Each therapist's weekly slots (`weekly_slots`, in the order the model gives them: day,
    then start), read in one query as the list shows them, never as model rows: a page of
    25 therapists holds hundreds of slots, and a model row is made field by field."""
    by_id = {therapist.pk: therapist for therapist in therapists}
    for therapist in therapists:
        therapist.weekly_slots = []
    rows = (
        WeeklySlot.objects.filter(therapist_id__in=by_id)
        .order_by(*WeeklySlot._meta.ordering)
        .values_list("therapist_id", "public_id", "weekday", "start", "length_minutes")
    )
    for therapist_id, *slot in rows:
        by_id[therapist_id].weekly_slots.append(SlotRow(*slot))
    return therapists


@documented(
    "weekly slots",
    who="Coordinators and service admins: the team's weekly slots; a therapist: their own.",
)
class SlotViewSet(Resource):
    roles = access.THERAPIST_PROFILES
    serializer_class = serializers.SlotOut
    filterset_class = filters.SlotFilter

    def readable(self, user):
        return allocation_selectors.slots_visible(user=user).select_related("therapist")


@documented("allocation proposals", who="Coordinators: the proposals of the service's runs.")
class ProposalViewSet(Resource):
    roles = (roles.COORDINATOR,)
    serializer_class = serializers.ProposalOut
    filterset_class = filters.ProposalFilter

    def readable(self, user):
        return _with_referral_id(
            allocation_selectors.proposals_readable(user=user),
            self.serializer_class,
            links=("run", "referral", "therapist"),
        )


@documented("allocations", who="Coordinators: the service's allocations of clients to therapists.")
class AllocationViewSet(Resource):
    roles = (roles.COORDINATOR,)
    serializer_class = serializers.AllocationOut
    filterset_class = filters.AllocationFilter

    def readable(self, user):
        return _with_referral_id(
            allocation_selectors.allocations_readable(user=user),
            self.serializer_class,
            links=("referral", "therapist"),
        )


@documented(
    "notifications",
    who="Assessors, coordinators, therapists, service admins: messages and letters about the "
    "referrals they open (what was sent, when, how; not the body).",
)
class NotificationViewSet(Resource):
    roles = ALL_STAFF
    serializer_class = serializers.NotificationOut
    filterset_class = filters.NotificationFilter

    def readable(self, user):
        return _with_referral_id(
            notification_selectors.notifications_readable(user=user), self.serializer_class
        )
