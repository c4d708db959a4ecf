"""Clients and their referrals. The self-referral issue extends these with contact,
consent and questionnaire records; the shape here is what every later app relies on."""

from __future__ import annotations

from django.db import models

from common.models import BaseModel, Service


class Client(BaseModel):
    """A person referred to the service. They have no account."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="clients")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    nhs_number = models.CharField(max_length=10, blank=True)

    class Meta:
        indexes = [models.Index(fields=["service", "family_name"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.given_name
        return f"{first} {self.family_name}"


class Referral(BaseModel):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Waiting for assessment"
        ASSESSMENT_BOOKED = "assessment_booked", "Assessment booked"
        AWAITING_ALLOCATION = "awaiting_allocation", "Waiting for a therapist"
        ALLOCATED = "allocated", "Therapist allocated"
        IN_THERAPY = "in_therapy", "In therapy"
        ENDED = "ended", "Therapy ended"
        SIGNPOSTED = "signposted", "Signposted elsewhere"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Source(models.TextChoices):
        # NHS Talking Therapies data set: self-referral is its own source code.
        SELF = "self", "Self-referral"
        GP = "gp", "GP"
        PARTNER = "partner", "Partner service"

    class Risk(models.TextChoices):
        NONE_KNOWN = "none_known", "None known"
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="referrals")
    reference = models.CharField(max_length=12, unique=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.SUBMITTED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SELF)
    risk_level = models.CharField(max_length=16, choices=Risk.choices, default=Risk.NONE_KNOWN)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["service", "status", "received_at"])]

    def __str__(self) -> str:
        return self.reference
