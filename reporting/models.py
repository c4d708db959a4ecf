"""The reporting page's facts: one row per referral of the values its waiting-times,
caseness and outcomes sections count, rebuilt per service by reporting.facts (a beat task
every REPORTING_FACTS_MINUTES and `manage.py reporting_facts`). Derived data only: every
value is worked out again from the referral, assessment, therapy and questionnaire tables
at each build, so a row is never edited by hand (docs/reporting.md, "Facts")."""

from __future__ import annotations

from django.db import models

from common.models import Service
from intake.models import Referral


class FactsBuild(models.Model):
    """When a service's facts were last built: the page's "Figures as at" for them."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    built_at = models.DateTimeField()
    referrals = models.PositiveIntegerField()
    seconds = models.FloatField()

    def __str__(self) -> str:
        return f"Reporting facts of service {self.service_id} as at {self.built_at:%Y-%m-%d %H:%M}"


class ReferralFacts(models.Model):
    """One referral's dates and values as at its service's last build (local dates)."""

    referral = models.OneToOneField(
        Referral, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    received_on = models.DateField()
    source = models.CharField(max_length=20)
    # The finished assessment: its day, and each questionnaire's caseness as it used it.
    assessed_on = models.DateField(null=True)
    assessed_phq9_case = models.BooleanField(null=True)
    assessed_gad7_case = models.BooleanField(null=True)
    # The first and second attended therapy sessions, and how many were attended.
    first_treated_on = models.DateField(null=True)
    second_treated_on = models.DateField(null=True)
    attended = models.PositiveIntegerField()
    # The referral ended (its status), and its last therapy's end.
    ended = models.BooleanField()
    ended_on = models.DateField(null=True)
    end_reason = models.CharField(max_length=40, blank=True)
    # Each questionnaire's first and last scored total, in (completed_at, id) order; paired
    # when each questionnaire has two or more scored totals.
    first_phq9 = models.SmallIntegerField(null=True)
    last_phq9 = models.SmallIntegerField(null=True)
    first_gad7 = models.SmallIntegerField(null=True)
    last_gad7 = models.SmallIntegerField(null=True)
    paired = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(fields=["service", "assessed_on"], name="facts_assessed_idx"),
            models.Index(fields=["service", "first_treated_on"], name="facts_treated_idx"),
            models.Index(fields=["service", "ended_on"], name="facts_ended_idx"),
        ]

    def __str__(self) -> str:
        return f"Reporting facts of referral {self.referral_id}"
