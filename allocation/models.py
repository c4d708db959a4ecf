"""Therapists and their weekly free slots. The allocation issue adds leave, proposals and
allocations; a therapist's caseload is always derived from allocations, never typed in."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.models import BaseModel, Service, Site


class Therapist(BaseModel):
    class Gender(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        NON_BINARY = "non_binary", "Non-binary"
        NOT_STATED = "not_stated", "Not stated"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="therapists")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="therapist_profile",
    )
    display_name = models.CharField(max_length=200)
    gender = models.CharField(max_length=16, choices=Gender.choices, default=Gender.NOT_STATED)
    languages = models.JSONField(
        default=list, help_text="Languages spoken, e.g. ['English', 'Polish', 'BSL']."
    )
    modalities = models.JSONField(default=list, help_text="e.g. ['psychodynamic', 'dit'].")
    frequencies = models.JSONField(default=list, help_text="Sessions a week offered, e.g. [1, 2].")
    sites = models.ManyToManyField(Site, blank=True, related_name="therapists")
    offers_remote = models.BooleanField(default=True)
    capacity = models.PositiveSmallIntegerField(help_text="Most clients carried at once.")

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class WeeklySlot(BaseModel):
    """A regular weekly time a therapist keeps free for a client; no site means remote."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    length_minutes = models.PositiveSmallIntegerField(default=50)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="slot_weekday_valid"),
            models.CheckConstraint(
                condition=models.Q(length_minutes__gte=15) & models.Q(length_minutes__lte=180),
                name="slot_length_valid",
            ),
            models.UniqueConstraint(
                fields=["therapist", "weekday", "start"], name="slot_unique_start"
            ),
        ]

    def __str__(self) -> str:
        where = self.site.name if self.site_id else "remote"
        return f"{self.get_weekday_display()} {self.start:%H:%M} ({where})"
