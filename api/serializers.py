"""Output serializers, one per resource. Records are named by their public id (`id`), never
the database's integer key; links to other records are their public ids too.

What a role may not read is never in the representation: clinical free text (the client's
words, assessment sections, goals' words, session notes) is left out of every resource, or
given only to those common.access lets read it (`null` for everyone else), so a client of
the API cannot show it by mistake. docs/api.md lists, per resource, what is withheld.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from allocation.models import Allocation, Proposal, Therapist, WeeklySlot
from assessment.models import Assessment
from common import access
from intake.models import Client, MeasureResponse, Referral, RiskFlag
from intake.services import CLIENT_FIELDS
from notifications.models import Notification
from therapy.models import Goal, GoalRating, SessionPlan, TherapySession


def _ref(source: str, **kwargs):
    """Another record, by its public id."""
    return serializers.UUIDField(source=f"{source}.public_id", read_only=True, **kwargs)


class ReferralOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    client = _ref("client")
    has_open_risk_flag = serializers.BooleanField(
        read_only=True, help_text="A risk flag on this referral waits to be acknowledged."
    )

    class Meta:
        model = Referral
        ref_name = "ReferralRecord"
        fields = [
            "id",
            "reference",
            "client",
            "status",
            "source",
            "risk_level",
            "received_at",
            "has_open_risk_flag",
        ]


class ClientOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Client
        fields = ["id", *CLIENT_FIELDS]  # as the referral records them


class AssessmentOut(serializers.ModelSerializer):
    """A finished assessment's outcome: what allocation matches on. Its sections, the risk in
    detail, the plan, the formulation and the reasons are read on the staff page by the
    client's clinicians."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")

    class Meta:
        model = Assessment
        fields = [
            "id",
            "referral",
            "status",
            "finished_at",
            "risk_level",
            "recommendation_choice",
            "recommendation_modality",
            "recommendation_offered_here",
            "recommendation_sessions_per_week",
            "recommendation_signpost_to",
        ]


class QuestionnaireResponseOut(serializers.ModelSerializer):
    """A completed questionnaire's score and severity band (each answer is clinical text)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    total = serializers.DecimalField(
        max_digits=5, decimal_places=1, coerce_to_string=False, allow_null=True, read_only=True
    )

    class Meta:
        model = MeasureResponse
        fields = [
            "id",
            "referral",
            "measure",
            "context",
            "total",
            "band",
            "caseness",
            "withheld_reason",
            "completed_at",
        ]


@extend_schema_field({"type": "string", "nullable": True})
class ClinicianText(serializers.Field):
    """Text only the service's clinicians read ("referral.risk_detail"); null for others."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance):
        user = self.context["request"].user
        if not access.may_read(user, "risk_detail", instance.referral):
            return None
        return super().get_attribute(instance)

    def to_representation(self, value):
        return value


class RiskFlagOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    is_open = serializers.BooleanField(read_only=True)
    detail = ClinicianText(help_text="What raised the flag: clinicians only (null otherwise).")
    reason = ClinicianText(help_text="Why this is a new flag: clinicians only (null otherwise).")
    action_taken = ClinicianText(help_text="What was done: clinicians only (null otherwise).")

    class Meta:
        model = RiskFlag
        fields = [
            "id",
            "referral",
            "source",
            "severity",
            "raised_at",
            "is_open",
            "acknowledged_at",
            "detail",
            "reason",
            "action_taken",
        ]


class AcknowledgeIn(serializers.Serializer):
    action_taken = serializers.CharField(
        max_length=2000,
        help_text="What was done about the risk (for example: called the client, safety plan "
        "agreed, GP informed).",
        error_messages={
            "required": "Say what was done about this risk before acknowledging it.",
            "blank": "Say what was done about this risk before acknowledging it.",
            "max_length": "What was done must be 2000 characters or fewer.",
        },
    )


@extend_schema_field({"type": "string", "nullable": True})
class OwnClientText(serializers.Field):
    """The therapy record's words: only the client's therapist reads them (the row carries
    `own_client`, annotated by the selector's query); null for everyone else."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance):
        if not getattr(instance, "own_client", False):
            return None
        return super().get_attribute(instance)

    def to_representation(self, value):
        return value


class GoalRatingOut(serializers.ModelSerializer):
    class Meta:
        model = GoalRating
        fields = ["score", "rated_on"]


class GoalOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    description = OwnClientText(help_text="The goal in words: the client's therapist only.")
    close_reason = OwnClientText(help_text="Why it closed: the client's therapist only.")
    ratings = GoalRatingOut(many=True, read_only=True)

    class Meta:
        model = Goal
        fields = [
            "id",
            "referral",
            "status",
            "agreed_on",
            "closed_on",
            "description",
            "close_reason",
            "ratings",
        ]


class SessionPlanOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")

    class Meta:
        model = SessionPlan
        fields = [
            "id",
            "referral",
            "version",
            "length",
            "session_count",
            "sessions_per_week",
            "regular_times",
            "mode",
            "room",
            "starts_on",
            "ends_on",
            "review_dates",
            "breaks",
            "measures_every_sessions",
            "repeat_measures",
            "created_at",
        ]


class SessionOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    note = OwnClientText(help_text="The session's note: the client's therapist only.")

    class Meta:
        model = TherapySession
        fields = ["id", "referral", "occurred_on", "attendance", "note"]


class SlotOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    therapist = _ref("therapist")

    class Meta:
        model = WeeklySlot
        fields = ["id", "therapist", "weekday", "start", "length_minutes"]


class TherapistSlotOut(SlotOut):
    class Meta(SlotOut.Meta):
        fields = ["id", "weekday", "start", "length_minutes"]


class TherapistOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    slots = TherapistSlotOut(many=True, read_only=True)

    class Meta:
        model = Therapist
        fields = [
            "id",
            "display_name",
            "gender",
            "languages",
            "modalities",
            "frequencies",
            "offers_remote",
            "capacity",
            "slots",
        ]


class ProposalOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    run = _ref("run")
    referral = _ref("referral")
    therapist = _ref("therapist", allow_null=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "run",
            "referral",
            "therapist",
            "slots",
            "priority",
            "fit",
            "reasons",
            "decision",
            "decided_at",
        ]


class AllocationOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    therapist = _ref("therapist")

    class Meta:
        model = Allocation
        fields = [
            "id",
            "referral",
            "therapist",
            "status",
            "source",
            "regular_times",
            "first_appointment_at",
            "allocated_at",
            "ended_at",
        ]


class NotificationOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral", allow_null=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "referral",
            "kind",
            "recipient",
            "channel",
            "status",
            "urgent",
            "send_after",
            "sent_at",
            "closed_at",
            "follow_up_needed",
            "created_at",
        ]
