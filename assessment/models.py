"""The assessment: its appointment, the record itself, its questionnaires and addenda.
Therapy's records (goals, the session plan, sessions, progress flags) live in the therapy
app; questionnaire responses and risk flags are the referral's own record, in intake.models.

Clinical text is kept exactly as the member of staff wrote it. What the client chose not to
share is recorded as such ("The client chose not to say"), never as a blank.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models, transaction
from django.db.models import OuterRef, Subquery

from common import encryption
from common.models import BaseModel, Service, Site

# --- Assessment -----------------------------------------------------------------------------


class SectionStatus(models.TextChoices):
    """Every section of the assessment keeps these three apart."""

    ANSWERED = "answered", "The client talked about this"
    DECLINED = "declined", "The client chose not to say"
    NOT_ASKED = "not_asked", "Not asked yet"


class RiskAnswer(models.TextChoices):
    NONE_IDENTIFIED = "none_identified", "No risk identified"
    PRESENT = "present", "Risk identified"
    DECLINED = "declined", "The client chose not to say"
    NOT_ASKED = "not_asked", "Not asked yet"


class Mode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video call"
    PHONE = "phone", "Telephone"


class AssessmentAppointment(BaseModel):
    """A booked assessment. Booking again replaces the earlier booking, which is kept."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        REPLACED = "replaced", "Replaced by a later booking"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="assessment_appointments"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True)
    room = models.CharField(max_length=100, blank=True)
    video_link = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(status="booked"),
                name="one_booked_assessment_per_referral",
            )
        ]

    def where(self) -> str:
        if self.mode == Mode.VIDEO:
            return "Video call"
        if self.mode == Mode.PHONE:
            return "Telephone"
        parts = [self.site.name if self.site_id else "", self.room]
        return ", ".join(part for part in parts if part) or "In person"


# What the referral carries of its assessment (intake.Referral): referral field, ours.
CARRIED = {"assessed_by": "assessor", "assessment_finished_by": "finished_by"}
_CARRIED_WRITES = {*CARRIED.values(), *(f"{name}_id" for name in CARRIED.values())}
CARRY_BATCH = 5_000


def referrals_carry_who_assessed(referral_ids: Iterable[int]) -> None:
    """Copy each referral's assessment's `assessor` and `finished_by` onto the referral
    (`Referral.assessed_by`, `Referral.assessment_finished_by`; null where there is none),
    read from the assessment rows as they are now, a batch of referrals per UPDATE. The
    referral's `updated_at` stays: who assessed is not a change of the referral."""
    from intake.models import Referral

    ids = sorted(set(referral_ids))
    of_referral = Assessment.objects.filter(referral=OuterRef("pk"))
    for start in range(0, len(ids), CARRY_BATCH):
        Referral.objects.filter(pk__in=ids[start : start + CARRY_BATCH]).update(
            **{carried: Subquery(of_referral.values(ours)[:1]) for carried, ours in CARRIED.items()}
        )


class AssessmentQuerySet(models.QuerySet):
    """Writes in bulk carry who assessed onto the referrals too, as `Assessment.save` does
    (the benchmarks' seed makes assessments with bulk_create; a fix-up may update them)."""

    def bulk_create(self, objs, *args, **kwargs):
        made = super().bulk_create(objs, *args, **kwargs)
        referrals_carry_who_assessed(a.referral_id for a in made)
        return made

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            changed = super().bulk_update(objs, fields, *args, **kwargs)
            if _CARRIED_WRITES.intersection(fields):
                referrals_carry_who_assessed(a.referral_id for a in objs)
        return changed

    def update(self, **kwargs):
        if not _CARRIED_WRITES.intersection(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            referral_ids = list(self.values_list("referral_id", flat=True))
            changed = super().update(**kwargs)
            referrals_carry_who_assessed(referral_ids)
        return changed

    def delete(self):
        with transaction.atomic(using=self.db, savepoint=False):
            referral_ids = list(self.values_list("referral_id", flat=True))
            deleted = super().delete()
            referrals_carry_who_assessed(referral_ids)
        return deleted

    delete.alters_data = True
    delete.queryset_only = True


class Assessment(BaseModel):
    """One intake assessment of a referral: a draft the assessor can leave and resume, then
    finished and locked. Corrections after that are addenda.

    Section answers are columns named `<step>_<field>`, the wizard's step and field names,
    so the wizard, the check page and the read-only page share one description of them.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "In progress"
        FINISHED = "finished", "Finished"

    class Recommendation(models.TextChoices):
        PSYCHODYNAMIC = "psychodynamic", "Psychodynamic therapy"
        OTHER_MODALITY = "other_modality", "Another kind of therapy"
        SIGNPOST = "signpost", "Signposting to another service"
        DISCHARGE = "discharge", "Discharge with no further treatment"

    class ClientView(models.TextChoices):
        MAKES_SENSE = "makes_sense", "It made sense to them"
        PARTLY = "partly", "Parts of it made sense"
        UNSURE = "unsure", "They were unsure"
        DOES_NOT_FIT = "does_not_fit", "It did not fit how they see things"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.OneToOneField(
        "intake.Referral", on_delete=models.PROTECT, related_name="assessment"
    )
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The wizard's own state while in progress (steps as typed, current step).
    draft_data = encryption.EncryptedJSONField(default=dict, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    presenting_status = models.CharField(max_length=16, choices=SectionStatus.choices, blank=True)
    presenting_own_words = models.TextField(blank=True)
    presenting_impact = models.TextField(blank=True)

    relationships_status = models.CharField(
        max_length=16, choices=SectionStatus.choices, blank=True
    )
    relationships_patterns = models.JSONField(default=list, blank=True)
    relationships_detail = models.TextField(blank=True)

    history_status = models.CharField(max_length=16, choices=SectionStatus.choices, blank=True)
    history_background = models.TextField(blank=True)
    history_previous_help = models.TextField(blank=True)

    circumstances_status = models.CharField(
        max_length=16, choices=SectionStatus.choices, blank=True
    )
    circumstances_living = models.TextField(blank=True)
    circumstances_support = models.TextField(blank=True)

    risk_to_self = models.CharField(max_length=16, choices=RiskAnswer.choices, blank=True)
    risk_to_self_detail = encryption.EncryptedTextField(blank=True)
    risk_to_others = models.CharField(max_length=16, choices=RiskAnswer.choices, blank=True)
    risk_to_others_detail = encryption.EncryptedTextField(blank=True)
    risk_from_others = models.CharField(max_length=16, choices=RiskAnswer.choices, blank=True)
    risk_from_others_detail = encryption.EncryptedTextField(blank=True)
    risk_safeguarding = models.CharField(max_length=16, choices=RiskAnswer.choices, blank=True)
    risk_safeguarding_detail = encryption.EncryptedTextField(blank=True)
    risk_level = models.CharField(max_length=16, blank=True)
    risk_plan = encryption.EncryptedTextField(blank=True)

    formulation_status = models.CharField(max_length=16, choices=SectionStatus.choices, blank=True)
    formulation_text = encryption.EncryptedTextField(blank=True)
    formulation_approach_explained = models.CharField(max_length=8, blank=True)
    formulation_client_view = models.CharField(
        max_length=16, choices=ClientView.choices, blank=True
    )
    formulation_client_view_words = encryption.EncryptedTextField(blank=True)

    recommendation_choice = models.CharField(
        max_length=16, choices=Recommendation.choices, blank=True
    )
    # Read by allocation (through selectors.referral_recommendation): the engine's codes.
    recommendation_modality = models.CharField(max_length=32, blank=True)
    recommendation_offered_here = models.CharField(max_length=8, blank=True)
    recommendation_sessions_per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    recommendation_signpost_to = models.CharField(max_length=300, blank=True)
    recommendation_reason = models.TextField(blank=True)

    letters_gp_summary = models.TextField(blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        indexes = [
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="assessment_service_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recommendation_sessions_per_week__isnull=True)
                | models.Q(
                    recommendation_sessions_per_week__gte=1,
                    recommendation_sessions_per_week__lte=5,
                ),
                name="assessment_sessions_per_week_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | (models.Q(finished_at__isnull=False) & ~models.Q(recommendation_choice="")),
                name="finished_assessment_has_recommendation",
            ),
        ]

    def save(self, *args, **kwargs):
        """Saved, and who assessed carried onto the referral (intake.Referral.assessed_by,
        assessment_finished_by) in the same transaction: every writer (the wizard's
        services, the demo, the tests' factories) keeps the two in step without knowing."""
        update_fields = kwargs.get("update_fields")
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            super().save(*args, **kwargs)
            if update_fields is None or _CARRIED_WRITES.intersection(update_fields):
                self._carry_to_referral()

    def _carry_to_referral(self) -> None:
        from intake.models import Referral

        # Written only when it differs, so a save that changes neither rewrites nothing.
        Referral.objects.filter(pk=self.referral_id).exclude(
            assessed_by=self.assessor_id, assessment_finished_by=self.finished_by_id
        ).update(assessed_by=self.assessor_id, assessment_finished_by=self.finished_by_id)

    def delete(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            deleted = super().delete(*args, **kwargs)
            referrals_carry_who_assessed([self.referral_id])
        return deleted

    @property
    def is_locked(self) -> bool:
        return self.status == self.Status.FINISHED


class AssessmentMeasure(BaseModel):
    """How one questionnaire was dealt with at the assessment."""

    class Source(models.TextChoices):
        ENTERED = "entered", "Completed with the assessor"
        ONLINE = "online", "Completed online by the client"
        DECLINED = "declined", "The client chose not to complete it"
        NOT_DONE = "not_done", "Not done yet"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="measures")
    measure = models.CharField(max_length=16)
    source = models.CharField(max_length=16, choices=Source.choices)
    response = models.ForeignKey(
        "intake.MeasureResponse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "measure"], name="one_row_per_measure_per_assessment"
            )
        ]


class AssessmentAddendum(BaseModel):
    """A correction or addition to a finished assessment. Never edited, never deleted."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="addenda")
    section = models.CharField(max_length=32)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)

    class Meta:
        ordering = ["created_at", "id"]
