"""django-filter FilterSets, one per list. A value that is not valid (a status that does not
exist, a date that is not one) is a 400 naming the parameter, in the Error shape."""

from __future__ import annotations

import django_filters as df

from allocation.models import Allocation, Proposal, Therapist, WeeklySlot
from assessment.models import Assessment
from intake.models import Client, MeasureResponse, Referral, RiskFlag
from notifications.models import Notification
from therapy.models import Goal, SessionPlan, TherapySession


def _referral():
    return df.UUIDFilter(field_name="referral__public_id", help_text="A referral's id.")


class ReferralFilter(df.FilterSet):
    client = df.UUIDFilter(field_name="client__public_id", help_text="A client's id.")
    received_after = df.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = df.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Referral
        fields = ["status", "source", "risk_level", "client"]


class ClientFilter(df.FilterSet):
    family_name = df.CharFilter(help_text="Exactly this family name.")
    nhs_number = df.CharFilter(help_text="Exactly this NHS number (10 digits, no spaces).")

    class Meta:
        model = Client
        fields = ["family_name", "nhs_number"]


class AssessmentFilter(df.FilterSet):
    referral = _referral()

    class Meta:
        model = Assessment
        fields = ["referral", "risk_level", "recommendation_choice"]


class QuestionnaireResponseFilter(df.FilterSet):
    referral = _referral()
    measure = df.CharFilter(help_text="phq9, gad7, core10 or wsas.")

    class Meta:
        model = MeasureResponse
        fields = ["referral", "measure", "context"]


class RiskFlagFilter(df.FilterSet):
    referral = _referral()
    open = df.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", help_text="true: not acknowledged."
    )

    class Meta:
        model = RiskFlag
        fields = ["referral", "source", "open"]


class GoalFilter(df.FilterSet):
    referral = _referral()

    class Meta:
        model = Goal
        fields = ["referral", "status"]


class SessionPlanFilter(df.FilterSet):
    referral = _referral()

    class Meta:
        model = SessionPlan
        fields = ["referral"]


class SessionFilter(df.FilterSet):
    referral = _referral()
    occurred_after = df.DateFilter(field_name="occurred_on", lookup_expr="gte")
    occurred_before = df.DateFilter(field_name="occurred_on", lookup_expr="lte")

    class Meta:
        model = TherapySession
        fields = ["referral", "attendance"]


class TherapistFilter(df.FilterSet):
    class Meta:
        model = Therapist
        fields = ["gender", "offers_remote"]


class SlotFilter(df.FilterSet):
    therapist = df.UUIDFilter(field_name="therapist__public_id", help_text="A therapist's id.")

    class Meta:
        model = WeeklySlot
        fields = ["therapist", "weekday"]


class ProposalFilter(df.FilterSet):
    referral = _referral()
    run = df.UUIDFilter(field_name="run__public_id", help_text="A proposal run's id.")

    class Meta:
        model = Proposal
        fields = ["referral", "run", "decision"]


class AllocationFilter(df.FilterSet):
    referral = _referral()
    therapist = df.UUIDFilter(field_name="therapist__public_id", help_text="A therapist's id.")

    class Meta:
        model = Allocation
        fields = ["referral", "therapist", "status"]


class NotificationFilter(df.FilterSet):
    referral = _referral()

    class Meta:
        model = Notification
        fields = ["referral", "kind", "status", "channel", "recipient"]
