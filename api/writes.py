"""The REST API's writes for a therapist's tool and a coordinator's integration: record a
session's attendance, rate a goal, accept an allocation proposal or put its referral on hold
(docs/api.md, "Writes").

Each parses its body, finds its record through the owning app's selector (another service's,
or one the role does not reach, answers 404 like a made-up id), asks the same rule as the
staff page (common.access: "referral.record_therapy", "referral.allocate"), and calls the
same service as the staff page; a refusal from the service is a 400 naming the field it is
about, or a 409 when it is about the record's state. Each honours an Idempotency-Key
(api/idempotency.py), and the audit middleware records each call (view, status, record).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from allocation import decisions
from allocation import selectors as allocation_selectors
from allocation.models import Proposal
from allocation.services import AllocationError
from api import idempotency
from api.permissions import StaffRole
from api.serializers import AllocationOut, GoalOut, ProposalOut, SessionOut
from api.views import with_rating_rows
from common import access, roles
from common.api_auth import VerifiedSessionAuthentication
from common.api_errors import Conflict, error_responses
from common.throttling import AccountThrottle, ClientAddressAnonThrottle
from intake.api_auth import ApiTokenAuthentication
from intake.models import Referral
from therapy import goals as goal_services
from therapy import selectors as therapy_selectors
from therapy import services as therapy_services
from therapy.models import Goal, GoalRating, TherapySession

NOT_THE_THERAPIST = "Only the client's current therapist records their sessions and ratings."
NOT_A_COORDINATOR = "Only the service's coordinators decide allocations."
NOT_JSON = "Not JSON: only application/json is accepted ('detail')."


def _retry_after() -> OpenApiParameter:
    return OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        description="Seconds to wait before trying again.",
        response=[429],
    )


def _refused(error, *, fields: tuple[str, ...]):
    """A service's refusal in the API's error shape: a 400 on the field it names (one of the
    body's), a 409 when it is about the record's state."""
    if error.field in fields:
        return exceptions.ValidationError({error.field: [error.message]})
    return Conflict(error.message)


class WriteApi(APIView):
    """One write: authenticated and throttled as the resources are."""

    authentication_classes = [ApiTokenAuthentication, VerifiedSessionAuthentication]
    permission_classes = [StaffRole]
    throttle_classes = [ClientAddressAnonThrottle, AccountThrottle]
    # JSON only, as the partner's POST: one way to send a body, and a form's empty field is
    # never taken for a field left out.
    parser_classes = [JSONParser]
    roles: tuple[str, ...] = ()

    def body(self, serializer_class) -> dict:
        given = serializer_class(data=self.request.data)
        given.is_valid(raise_exception=True)
        return given.validated_data

    def allowed(self, what: str, referral, message: str) -> None:
        if not access.may_change(self.request.user, what, referral):
            raise exceptions.PermissionDenied(message)


def _not_in_future(value, words: str):
    if value and value > timezone.localdate():
        raise serializers.ValidationError(f"{words} cannot be in the future.")
    return value


class TextField(serializers.CharField):
    """Text, and only text: a number or a list is refused, never turned into words."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class WholeNumberField(serializers.IntegerField):
    """A JSON whole number, never a string, a fraction or true/false."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- A session's attendance ----------------------------------------------------------------


class SessionIn(serializers.Serializer):
    occurred_on = serializers.DateField(
        help_text="The day of the session (YYYY-MM-DD), today or before.",
        error_messages={
            "required": "Give the date of the session.",
            "null": "Give the date of the session.",
            "invalid": "Give the date of the session as YYYY-MM-DD.",
        },
    )
    attendance = serializers.ChoiceField(
        choices=TherapySession.Attendance.choices,
        help_text="attended, did_not_attend, cancelled_by_client or cancelled_by_service.",
        error_messages={
            "required": "Say whether the client attended.",
            "null": "Say whether the client attended.",
            "invalid_choice": "Say whether the client attended: one of attended, "
            "did_not_attend, cancelled_by_client, cancelled_by_service.",
        },
    )
    note = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="Practical details only (why a session was cancelled, say): clinical notes "
        "belong in the clinical record. At most 500 characters.",
        error_messages={
            "invalid": "The note must be text.",
            "max_length": "The note must be 500 characters or fewer.",
        },
    )

    def validate_occurred_on(self, value):
        return _not_in_future(value, "The session date")


class SessionRecordedOut(SessionOut):
    measures_due = serializers.BooleanField(
        read_only=True, help_text="Questionnaires are due at this session (an attended one)."
    )
    missed_in_a_row = serializers.IntegerField(
        read_only=True,
        help_text="Sessions missed in a row now; at 2 the non-attendance policy applies.",
    )

    class Meta(SessionOut.Meta):
        fields = [*SessionOut.Meta.fields, "measures_due", "missed_in_a_row"]


class SessionRecordApi(WriteApi):
    roles = (roles.THERAPIST,)

    @extend_schema(
        operation_id="referral_session_record",
        summary="Record a session's attendance",
        description="The client's current therapist, as on the client's sessions page: one "
        "session a day, attended only today or before. The first attended session starts "
        "therapy. Answers the session, whether questionnaires are due and how many sessions "
        "were missed in a row.",
        parameters=[idempotency.KEY_PARAMETER, _retry_after()],
        request=SessionIn,
        responses={
            201: OpenApiResponse(SessionRecordedOut, description="The session, recorded."),
            200: OpenApiResponse(
                SessionRecordedOut,
                description="A repeat with the same Idempotency-Key: the session the first "
                "call recorded.",
            ),
        }
        | error_responses(
            400,
            401,
            403,
            404,
            409,
            415,
            429,
            s415=NOT_JSON,
            s400="Invalid fields ('errors' names each): a date in the future, before therapy "
            "started, or one with a session already recorded; an attendance not offered; a "
            "malformed Idempotency-Key.",
            s403="Signed in, but not the client's current therapist (or a browser session "
            "without its CSRF token).",
            s404="No client here whose therapy record you read.",
            s409="The therapy cannot take a session now ('detail' says why), or the "
            "Idempotency-Key was used for another request.",
        ),
    )
    def post(self, request, id):
        try:
            referral = therapy_selectors.care_referrals(user=request.user).get(public_id=id)
        except Referral.DoesNotExist:
            raise exceptions.NotFound() from None
        self.allowed("record_therapy", referral, NOT_THE_THERAPIST)
        data = self.body(SessionIn)

        def record() -> idempotency.Outcome:
            try:
                done = therapy_services.therapy_session_record(
                    referral=referral, user=request.user, **data
                )
            except therapy_services.TherapyError as error:
                raise _refused(error, fields=tuple(SessionIn().fields)) from None
            return idempotency.Outcome(
                result=done.session.public_id,
                status=status.HTTP_201_CREATED,
                facts={"measures_due": done.measures_due, "missed_in_a_row": done.missed_in_a_row},
            )

        outcome = idempotency.write_once(
            request, operation="api-referral-session-record", target=id, write=record
        )
        session = (
            therapy_selectors.sessions_readable(user=request.user)
            .select_related("referral")
            .annotate(own_client=therapy_selectors.own_client(user=request.user))
            .get(public_id=outcome.result)
        )
        session.measures_due = outcome.facts.get("measures_due", False)
        session.missed_in_a_row = outcome.facts.get("missed_in_a_row", 0)
        return Response(SessionRecordedOut(session).data, status=outcome.status)


# --- A goal's rating -------------------------------------------------------------------------


class RatingIn(serializers.Serializer):
    score = WholeNumberField(
        min_value=0,
        max_value=10,
        help_text="Where the client feels they are now: 0 (not at all towards the goal) to 10 "
        "(reached).",
        error_messages={
            "required": "Give the client's rating from 0 to 10.",
            "null": "Give the client's rating from 0 to 10.",
            "invalid": "The rating must be a whole number from 0 to 10.",
            "min_value": "The rating must be 0 or more.",
            "max_value": "The rating must be 10 or less.",
        },
    )
    rated_on = serializers.DateField(
        required=False,
        help_text="The day of the rating (YYYY-MM-DD), today unless given; not before the goal "
        "was agreed.",
        error_messages={"invalid": "Give the date of the rating as YYYY-MM-DD."},
    )

    def validate_rated_on(self, value):
        return _not_in_future(value, "The date of the rating")


class GoalRatingApi(WriteApi):
    roles = (roles.THERAPIST,)

    @extend_schema(
        operation_id="goal_rating_add",
        summary="Rate a goal",
        description="The client's current therapist, as on the client's goals page: one "
        "rating (0 to 10) a goal a day; a second rating on the same day corrects the first "
        "(200) rather than adding another. Answers the goal with its ratings.",
        parameters=[idempotency.KEY_PARAMETER, _retry_after()],
        request=RatingIn,
        responses={
            201: OpenApiResponse(GoalOut, description="The goal, with its new rating."),
            200: OpenApiResponse(
                GoalOut,
                description="The day's rating corrected, or a repeat with the same "
                "Idempotency-Key: the goal with its ratings.",
            ),
        }
        | error_responses(
            400,
            401,
            403,
            404,
            409,
            415,
            429,
            s415=NOT_JSON,
            s400="Invalid fields ('errors' names each): a rating outside 0 to 10, a date in the "
            "future or before the goal was agreed, a malformed Idempotency-Key.",
            s403="Signed in, but not the client's current therapist (or a browser session "
            "without its CSRF token).",
            s404="No goal here whose therapy record you read.",
            s409="The goal is no longer being worked on, so it is not rated, or the "
            "Idempotency-Key was used for another request.",
        ),
    )
    def post(self, request, id):
        goal = (
            therapy_selectors.goals_readable(user=request.user)
            .select_related("referral")
            .filter(public_id=id)
            .first()
        )
        if goal is None:
            raise exceptions.NotFound()
        self.allowed("record_therapy", goal.referral, NOT_THE_THERAPIST)
        data = self.body(RatingIn)
        rated_on = data.get("rated_on") or timezone.localdate()

        def rate() -> idempotency.Outcome:
            new = not GoalRating.objects.filter(goal=goal, rated_on=rated_on).exists()
            try:
                goal_services.goal_ratings_record(
                    referral=goal.referral,
                    user=request.user,
                    ratings={goal: data["score"]},
                    rated_on=rated_on,
                )
            except goal_services.GoalRatingsRefused as refused:
                message = refused.problems[0][1]
                if Goal.objects.filter(pk=goal.pk, status=Goal.Status.ACTIVE).exists():
                    raise exceptions.ValidationError({"rated_on": [message]}) from None
                raise Conflict(message) from None
            except therapy_services.TherapyError as error:
                raise _refused(error, fields=("score", "rated_on")) from None
            return idempotency.Outcome(
                result=goal.public_id, status=status.HTTP_201_CREATED if new else status.HTTP_200_OK
            )

        outcome = idempotency.write_once(
            request, operation="api-goal-rating-add", target=id, write=rate
        )
        rated = (
            therapy_selectors.goals_readable(user=request.user)
            .select_related("referral")
            .annotate(own_client=therapy_selectors.own_client(user=request.user))
            .get(pk=goal.pk)
        )
        (rated,) = with_rating_rows([rated])
        return Response(GoalOut(rated).data, status=outcome.status)


# --- Allocation proposals --------------------------------------------------------------------


class AcceptIn(serializers.Serializer):
    first_appointment = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The first appointment's day (YYYY-MM-DD), on the day of the regular time; "
        "the proposal's own first date unless given.",
        error_messages={"invalid": "Give the first appointment's date as YYYY-MM-DD."},
    )


class DeclineIn(serializers.Serializer):
    reason = TextField(
        max_length=500,
        help_text="Why the referral is held instead (for example: the client is away until "
        "the spring and would like to wait). 1 to 500 characters.",
        error_messages={
            "required": "Say why the referral is put on hold.",
            "blank": "Say why the referral is put on hold.",
            "null": "Say why the referral is put on hold.",
            "invalid": "The reason must be text.",
            "max_length": "The reason must be 500 characters or fewer.",
        },
    )


class ProposalDecision(WriteApi):
    roles = (roles.COORDINATOR,)

    def proposal(self, id) -> Proposal:
        proposal = (
            allocation_selectors.proposals_readable(user=self.request.user)
            .select_related("referral", "run")
            .filter(public_id=id)
            .first()
        )
        if proposal is None:
            raise exceptions.NotFound()
        self.allowed("allocate", proposal.referral, NOT_A_COORDINATOR)
        return proposal


PROPOSAL_ERRORS = {
    "s403": "Signed in, but not a coordinator (or a browser session without its CSRF token).",
    "s404": "No proposal here of your service.",
}


class ProposalAcceptApi(ProposalDecision):
    @extend_schema(
        operation_id="proposal_accept",
        summary="Accept an allocation proposal",
        description="Coordinators, as on the waiting list: allocate the referral to the "
        "proposed therapist and slots, plan the therapy and send the allocation letter. "
        "Answers the allocation made.",
        parameters=[idempotency.KEY_PARAMETER, _retry_after()],
        request=AcceptIn,
        responses={
            201: OpenApiResponse(AllocationOut, description="The allocation made."),
            200: OpenApiResponse(
                AllocationOut,
                description="A repeat with the same Idempotency-Key: the allocation the first "
                "call made.",
            ),
        }
        | error_responses(
            400,
            401,
            403,
            404,
            409,
            415,
            429,
            s415=NOT_JSON,
            s400="Invalid fields ('errors' names each): a first appointment that is not a "
            "date or not on the regular day; a malformed Idempotency-Key.",
            s409="The proposal cannot be accepted now ('detail' says why: already decided, a "
            "slot taken, the caseload full), or the Idempotency-Key was used for another "
            "request.",
            **PROPOSAL_ERRORS,
        ),
    )
    def post(self, request, id):
        proposal = self.proposal(id)
        data = self.body(AcceptIn)

        def accept() -> idempotency.Outcome:
            try:
                allocation = decisions.proposal_accept(
                    proposal=proposal,
                    user=request.user,
                    first_appointment=data.get("first_appointment"),
                )
            except AllocationError as error:
                raise _refused(error, fields=("first_appointment",)) from None
            return idempotency.Outcome(result=allocation.public_id, status=status.HTTP_201_CREATED)

        outcome = idempotency.write_once(
            request, operation="api-proposal-accept", target=id, write=accept
        )
        allocation = (
            allocation_selectors.allocations_readable(user=request.user)
            .select_related("referral", "therapist")
            .get(public_id=outcome.result)
        )
        return Response(AllocationOut(allocation).data, status=outcome.status)


class ProposalDeclineApi(ProposalDecision):
    @extend_schema(
        operation_id="proposal_hold",
        summary="Decline an allocation proposal",
        description="Coordinators, as on the waiting list's 'put on hold': the referral is "
        "held with the reason given and left out of proposals until the hold is released "
        "(on the staff page); the proposal's decision becomes 'held'. To allocate another "
        "therapist instead, choose them on the staff page. Answers the proposal.",
        parameters=[idempotency.KEY_PARAMETER, _retry_after()],
        request=DeclineIn,
        responses={
            200: OpenApiResponse(
                ProposalOut,
                description="The proposal, its referral on hold (decision 'held'), or as it "
                "is now for a repeat with the same Idempotency-Key.",
            )
        }
        | error_responses(
            400,
            401,
            403,
            404,
            409,
            415,
            429,
            s415=NOT_JSON,
            s400="Invalid fields ('errors' names each): no reason, or one over 500 "
            "characters; a malformed Idempotency-Key.",
            s409="The proposal is already decided or not in the current proposal set, or the "
            "referral is no longer waiting ('detail' says which), or the Idempotency-Key was "
            "used for another request.",
            **PROPOSAL_ERRORS,
        ),
    )
    def post(self, request, id):
        proposal = self.proposal(id)
        data = self.body(DeclineIn)

        def hold() -> idempotency.Outcome:
            if proposal.decision != Proposal.Decision.OPEN:
                raise Conflict(
                    f"This proposal was already decided: {proposal.get_decision_display().lower()}."
                )
            current = allocation_selectors.run_current(service_id=proposal.service_id)
            if current is None or current.pk != proposal.run_id:
                raise Conflict(
                    "This proposal is from an earlier proposal set: decide on the current one."
                )
            try:
                decisions.referral_hold(
                    referral=proposal.referral, user=request.user, reason=data["reason"]
                )
            except AllocationError as error:
                raise _refused(error, fields=("reason",)) from None
            return idempotency.Outcome(result=proposal.public_id, status=status.HTTP_200_OK)

        idempotency.write_once(request, operation="api-proposal-hold", target=id, write=hold)
        decided = (
            allocation_selectors.proposals_readable(user=request.user)
            .select_related("run", "referral", "therapist")
            .get(pk=proposal.pk)
        )
        return Response(ProposalOut(decided).data)
