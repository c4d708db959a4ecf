"""Output serializers, one per resource. Records are named by their public id (`id`), never
the database's integer key; links to other records are their public ids too.

What a role may not read is never in the representation: clinical free text (the client's
words, assessment sections, goals' words, session notes) is left out of every resource, or
given only to those common.access lets read it (`null` for everyone else), so a client of
the API cannot show it by mistake. docs/api.md lists, per resource, what is withheld.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.db.models import Manager
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from allocation.models import Allocation, Proposal, Therapist, WeeklySlot
from assessment.models import Assessment
from common import access
from intake.models import Client, MeasureResponse, Referral, RiskFlag
from intake.services import CLIENT_FIELDS
from notifications.models import Notification
from therapy.models import Goal, GoalRating, SessionPlan, TherapySession

# --- Writing a page of rows ------------------------------------------------------------------
# DRF writes each row field by field through generic machinery (the readable fields walked,
# each source looked up with its checks, each value converted), which on a page of 25 rows
# with nested slots is most of the request's own time (benchmarks/RESULTS.md, "REST API
# lists"). An output serializer here works out once, per class, how each of its fields is
# read and written, and then writes a row as a plain loop over that plan. The declared
# fields stay as they are (the OpenAPI schema is made from them), and the answer is the one
# DRF gives (tests/api/test_rest.py pins each list's rows): any value of a kind the plan does
# not expect goes through the field's own DRF methods, and a serializer with a field the plan
# does not know is written by DRF itself.

# Values read from a model's columns that DRF's get_attribute returns unchanged.
_PLAIN = frozenset(
    {str, int, bool, float, dict, list, type(None), uuid.UUID, Decimal, dt.date, dt.datetime}
    | {dt.time}
)


def _identity(value):
    return value


def _reader(field):
    """How a field's value is read from a row: DRF's get_attribute, short-cut for a column or
    a column of a related row (`referral.public_id`) holding a plain value."""
    generic = field.get_attribute
    if type(field).get_attribute is not serializers.Field.get_attribute:
        return generic  # the field decides (OwnClientText)
    attrs = field.source_attrs
    if len(attrs) == 1:
        (name,) = attrs

        def read(row):
            try:
                value = getattr(row, name)
            except Exception:  # DRF's own handling: a default, null, or left out
                return generic(row)
            return value if type(value) in _PLAIN else generic(row)

        return read
    if len(attrs) == 2:
        link, name = attrs

        def read_linked(row):
            try:
                value = getattr(getattr(row, link), name)
            except Exception:  # no related row: null or left out, as DRF decides
                return generic(row)
            return value if type(value) in _PLAIN else generic(row)

        return read_linked
    return generic


# Field kinds whose to_representation reads nothing but the value (no request, no parent).
_CONVERTS = (
    serializers.ChoiceField,
    serializers.IntegerField,
    serializers.BooleanField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.TimeField,
    serializers.DecimalField,
    serializers.FloatField,
)


def _writer(field):
    """How a field's value (never None) is written; None if the plan does not know the field."""
    kind = type(field)
    method = kind.to_representation
    if (
        isinstance(field, serializers.UUIDField)
        and method is serializers.UUIDField.to_representation
    ):
        return str if field.uuid_format == "hex_verbose" else field.to_representation
    if (
        isinstance(field, serializers.CharField)
        and method is serializers.CharField.to_representation
    ):
        return str
    if (
        isinstance(field, serializers.JSONField)
        and method is serializers.JSONField.to_representation
    ):
        return field.to_representation if field.binary else _identity
    if kind is OwnClientText:
        return _identity
    if any(method is converts.to_representation for converts in _CONVERTS):
        return field.to_representation  # reads only the value: safe on the class's own copy
    if kind is serializers.ListSerializer and isinstance(field.child, RowsOut):
        write_row = _row_writer(type(field.child))
        if write_row.needs_fields:
            return None  # written by the nested serializer itself, as DRF would

        def write_rows(rows):
            if isinstance(rows, Manager):
                rows = rows.all()
            return [write_row(row) for row in rows]

        return write_rows
    return None


_ROW_WRITERS: dict = {}


def _row_writer(serializer_class):
    """The function writing one row as `serializer_class` would, made once per class:
    `write_row(row, serializer)`. A field the plan does not know (one that reads the request,
    as ClinicianText does) is read and written by the serializer's own bound field, as DRF
    would; `needs_fields` says whether the plan has such a field."""
    try:
        return _ROW_WRITERS[serializer_class]
    except KeyError:
        pass
    plan = []
    for field in serializer_class().fields.values():
        if field.write_only:
            continue
        write = _writer(field)
        read = _reader(field) if write is not None else None
        plan.append((field.field_name, read, write))
    steps = tuple(plan)

    def write_row(row, serializer=None) -> dict:
        out = {}
        for name, read, write in steps:
            if read is None:  # the serializer's own field, with its request
                field = serializer.fields[name]
                read, write = field.get_attribute, field.to_representation
            try:
                value = read(row)
            except SkipField:
                continue
            out[name] = None if value is None else write(value)
        return out

    write_row.needs_fields = any(read is None for _, read, _ in steps)
    _ROW_WRITERS[serializer_class] = write_row
    return write_row


class RowsOut(serializers.ModelSerializer):
    """An output serializer whose rows are written by the plan above (made once per class)."""

    def to_representation(self, instance):
        return _row_writer(type(self))(instance, self)


def _ref(source: str, **kwargs):
    """Another record, by its public id."""
    return serializers.UUIDField(source=f"{source}.public_id", read_only=True, **kwargs)


class ReferralOut(RowsOut):
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


class ClientOut(RowsOut):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Client
        fields = ["id", *CLIENT_FIELDS]  # as the referral records them


class AssessmentOut(RowsOut):
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


class QuestionnaireResponseOut(RowsOut):
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
        # Asked once per referral on a page (a flag shows three such fields).
        sight = self.context.setdefault("_risk_detail_sight", {})
        referral = instance.referral
        if referral.pk not in sight:
            user = self.context["request"].user
            sight[referral.pk] = access.may_read(user, "risk_detail", referral)
        if not sight[referral.pk]:
            return None
        return super().get_attribute(instance)

    def to_representation(self, value):
        return value


class RiskFlagOut(RowsOut):
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


class GoalRatingOut(RowsOut):
    class Meta:
        model = GoalRating
        fields = ["score", "rated_on"]


class GoalOut(RowsOut):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    description = OwnClientText(help_text="The goal in words: the client's therapist only.")
    close_reason = OwnClientText(help_text="Why it closed: the client's therapist only.")
    # Read in one query as plain rows (api.views.with_rating_rows), not as model rows.
    ratings = GoalRatingOut(many=True, read_only=True, source="rating_rows")

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


class SessionPlanOut(RowsOut):
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


class SessionOut(RowsOut):
    id = serializers.UUIDField(source="public_id", read_only=True)
    referral = _ref("referral")
    note = OwnClientText(help_text="The session's note: the client's therapist only.")

    class Meta:
        model = TherapySession
        fields = ["id", "referral", "occurred_on", "attendance", "note"]


class SlotOut(RowsOut):
    id = serializers.UUIDField(source="public_id", read_only=True)
    therapist = _ref("therapist")

    class Meta:
        model = WeeklySlot
        fields = ["id", "therapist", "weekday", "start", "length_minutes"]


class TherapistSlotOut(SlotOut):
    class Meta(SlotOut.Meta):
        fields = ["id", "weekday", "start", "length_minutes"]


class TherapistOut(RowsOut):
    id = serializers.UUIDField(source="public_id", read_only=True)
    # Read in one query as plain rows (api.views.with_slot_rows), not as model rows.
    slots = TherapistSlotOut(many=True, read_only=True, source="weekly_slots")

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


class ProposalOut(RowsOut):
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


class AllocationOut(RowsOut):
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


class NotificationOut(RowsOut):
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
