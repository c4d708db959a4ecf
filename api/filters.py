"""django-filter FilterSets, one per list. A value that is not valid (a status that does not
exist, a date that is not one) is a 400 naming the parameter, in the Error shape."""

from __future__ import annotations

from datetime import UTC

import django_filters as df
from django import forms
from django_filters.fields import IsoDateTimeField

from allocation.models import Allocation, Proposal, Therapist, WeeklySlot
from assessment.models import Assessment
from intake.models import Client, MeasureResponse, Referral, RiskFlag
from notifications.models import Notification
from therapy.models import Goal, SessionPlan, TherapySession


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, moved to UTC before it reaches the query: Python reads offsets up
    to 23:59 but PostgreSQL only to 15:59, and a moment near the calendar's ends may not
    exist once moved (a 400, not a 500)."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                "Enter a date and time between the years 1 and 9999 (UTC).", code="invalid"
            ) from None


class UtcIsoDateTimeFilter(df.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def _referral():
    return df.UUIDFilter(field_name="referral__public_id", help_text="A referral's id.")


class ReferralFilter(df.FilterSet):
    client = df.UUIDFilter(field_name="client__public_id", help_text="A client's id.")
    received_after = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

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
