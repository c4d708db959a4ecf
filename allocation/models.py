"""Therapists, their weekly slots and leave; proposal runs and their proposals; allocations
and holds. A therapist's caseload is always derived from allocations, never typed in."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.models import BaseModel, Service, Site

# Specialisms a therapist may have and a referral may require (the engine's words).
SPECIALISMS = [
    ("young adults", "Young adults"),
    ("trauma", "Trauma"),
    ("perinatal", "Perinatal"),
    ("older adults", "Older adults"),
    ("eating disorders", "Eating disorders"),
]


class Therapist(BaseModel):
    class Grade(models.TextChoices):
        QUALIFIED = "qualified", "Qualified"
        TRAINEE = "trainee", "Trainee"

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
    # Weekly sessions: a client seen twice a week uses two (docs/allocation.md, "Caseload
    # mix"). Sessions in use are counted from allocations' slots, never typed in.
    capacity = models.PositiveSmallIntegerField(
        "weekly sessions", help_text="Most therapy sessions a week carried at once."
    )
    grade = models.CharField(max_length=16, choices=Grade.choices, default=Grade.QUALIFIED)
    # Works under clinical supervision; a trainee always does.
    supervised = models.BooleanField(default=False)
    specialisms = models.JSONField(default=list, blank=True, help_text="SPECIALISMS codes.")
    # The caseload mix: the most high-risk and complex clients carried at once (empty: no
    # cap); the clients already allocated count against them.
    max_high_risk = models.PositiveSmallIntegerField(null=True, blank=True)
    max_complex = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(grade="trainee") | models.Q(supervised=True),
                name="trainee_is_supervised",
            )
        ]

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
        # A plain lookup: get_weekday_display() flattens the choices on every call, and the
        # caseloads page shows every free slot of the team.
        where = self.site.name if self.site_id else "remote"
        return f"{self.Weekday(self.weekday).label} {self.start:%H:%M} ({where})"


class LeavePeriod(BaseModel):
    """A therapist's leave or planned break, both dates inclusive. Proposals skip a
    therapist who is away on any day of a client's planned course (docs/allocation.md)."""

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave"
        BREAK = "break", "Planned break"

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="leave")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LEAVE)
    starts_on = models.DateField()
    ends_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="leave_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.therapist} away {self.starts_on} to {self.ends_on}"


class ProposalRun(BaseModel):
    """One run of the matching engine over a service's waiting list: its progress while it
    runs, then the proposal set it wrote. A set goes stale when its inputs change."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COORDINATOR = "coordinator", "Asked for by a coordinator"
        NIGHTLY = "nightly", "Nightly run"
        REFERRAL_READY = "referral_ready", "A referral became ready for allocation"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    phase = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    considered = models.PositiveIntegerField(null=True, blank=True)
    therapists = models.PositiveIntegerField(null=True, blank=True)
    placed = models.PositiveIntegerField(null=True, blank=True)
    objective = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    stale_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["service", "status", "-created_at"])]
        constraints = [
            # At most one run per service waits for a worker: it serves every request made
            # while it waits, as it reads the waiting list only when it starts.
            models.UniqueConstraint(
                fields=["service"], condition=models.Q(status="queued"), name="one_queued_run"
            )
        ]

    def __str__(self) -> str:
        return f"Allocation run {self.public_id} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class Proposal(BaseModel):
    """What the engine proposes for one referral in one run: a therapist and weekly
    slot(s) with the reasons, or why no match is possible yet and what would change that.
    The coordinator decides; the decision is recorded here."""

    class Decision(models.TextChoices):
        OPEN = "open", "Waiting for a decision"
        ACCEPTED = "accepted", "Accepted"
        OVERRIDDEN = "overridden", "Another therapist chosen"
        HELD = "held", "On hold"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(ProposalRun, on_delete=models.CASCADE, related_name="proposals")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.CASCADE, related_name="allocation_proposals"
    )
    therapist = models.ForeignKey(
        Therapist, on_delete=models.CASCADE, null=True, blank=True, related_name="proposals"
    )
    # [{"slot": public id, "weekday", "start": "HH:MM", "length", "site": name or ""}]
    slots = models.JSONField(default=list, blank=True)
    priority = models.PositiveIntegerField(default=0)
    fit = models.PositiveSmallIntegerField(default=0)
    reasons = models.JSONField(default=list)
    suggestions = models.JSONField(default=list, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "id"]
        indexes = [
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="proposal_service_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "referral"], name="one_proposal_per_run")
        ]

    @property
    def placed(self) -> bool:
        return self.therapist_id is not None


class Allocation(BaseModel):
    """A client allocated to a therapist at regular weekly time(s). The therapist's caseload
    is the number of their active allocations whose referral is allocated or in therapy."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    class Source(models.TextChoices):
        PROPOSAL = "proposal", "Proposal accepted"
        OVERRIDE = "override", "Another therapist chosen by the coordinator"
        RECORDED = "recorded", "Recorded before proposals were used"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="allocations"
    )
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="allocations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=16, choices=Source.choices)
    proposal = models.ForeignKey(
        Proposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_reason = models.TextField(blank=True)
    # The regular time(s), as booked: [{"weekday", "time": "HH:MM", "length", "site"}].
    regular_times = models.JSONField(default=list)
    first_appointment_at = models.DateTimeField()
    session_plan_version = models.PositiveIntegerField(null=True, blank=True)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    allocated_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-allocated_at", "-id"]
        indexes = [
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="allocation_service_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(status="active"),
                name="one_active_allocation_per_referral",
            ),
            models.CheckConstraint(
                condition=~models.Q(source="override") | ~models.Q(override_reason=""),
                name="override_has_reason",
            ),
        ]


class AllocationSlot(models.Model):
    """A weekly slot booked by an allocation. While booked (`active`) no other allocation can
    hold it: a partial unique index, so two coordinators can never book it twice."""

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="bookings")
    slot = models.ForeignKey(WeeklySlot, on_delete=models.PROTECT, related_name="bookings")
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slot"], condition=models.Q(active=True), name="slot_booked_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.slot} ({'booked' if self.active else 'released'})"


class Hold(BaseModel):
    """A coordinator's decision to leave a referral out of allocation for now, and why."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.PROTECT, related_name="allocation_holds"
    )
    reason = models.CharField(max_length=500)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(released_at__isnull=True),
                name="one_open_hold_per_referral",
            )
        ]


class TherapistExclusion(BaseModel):
    """A therapist a client must never be allocated to, and why: a conflict of interest, a
    previous complaint, a relative. Proposals never place the client with them, and
    choosing them is refused until the exclusion is removed."""

    class Reason(models.TextChoices):
        # The codes are the engine's (allocation.engine.problem.EXCLUSION_REASONS).
        CONFLICT_OF_INTEREST = "conflict_of_interest", "Conflict of interest"
        PREVIOUS_COMPLAINT = "previous_complaint", "A previous complaint"
        RELATIVE = "relative", "A relative or someone the client knows"
        OTHER = "other", "Another reason (say which)"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "intake.Referral", on_delete=models.CASCADE, related_name="therapist_exclusions"
    )
    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="exclusions")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "therapist"], name="therapist_excluded_once_per_referral"
            ),
            models.CheckConstraint(
                condition=~models.Q(reason="other") | ~models.Q(note=""),
                name="exclusion_other_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.therapist} excluded ({self.get_reason_display()})"


class AllocationNeeds(BaseModel):
    """What the coordinator records for allocating one referral, beyond the client's own
    preferences: the therapist genders excluded ("not a man"), a requirement that stands
    together with the client's gender preference; the competence the therapist needs (a
    qualified therapist, one not under supervision) and a specialism; the earliest date the
    client can start, and the planned length of the course (empty: open-ended)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.OneToOneField(
        "intake.Referral", on_delete=models.CASCADE, related_name="allocation_needs"
    )

    class Competence(models.TextChoices):
        # The engine's codes (allocation.engine.problem.COMPETENCES).
        ANY = "any", "Any therapist, a trainee included"
        QUALIFIED = "qualified", "A qualified therapist"
        INDEPENDENT = "independent", "A qualified therapist not under supervision"

    # Therapist.Gender values the therapist must not be, e.g. ["male"].
    gender_excluded = models.JSONField(default=list, blank=True)
    competence = models.CharField(max_length=16, choices=Competence.choices, default="any")
    specialism = models.CharField(max_length=40, choices=SPECIALISMS, blank=True)
    earliest_start = models.DateField(null=True, blank=True)
    # Weeks of therapy planned (1-520); empty: open-ended.
    therapy_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    # Needs BSL as well as a spoken language (a signing therapist, or a BSL interpreter if
    # the service can book one), and the spoken language they also use (empty: English).
    bsl = models.BooleanField(default=False)

    class Continuity(models.TextChoices):
        # The engine's codes (allocation.engine.problem.CONTINUITY).
        PREFERRED = "preferred", "A wish: the assessor if they can, scored as a better fit"
        REQUIRED = "required", "A requirement: only the assessor"
        NONE = "none", "No wish"

    # Continuity with the assessor (who must have a therapist profile to be proposed).
    continuity = models.CharField(
        max_length=16, choices=Continuity.choices, default=Continuity.PREFERRED
    )
    # Access and travel: step-free sites only; minutes of travel to each site by name, and
    # the most the client can travel (empty: no limit).
    step_free = models.BooleanField(default=False)
    travel_minutes = models.JSONField(default=dict, blank=True)
    max_travel_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    spoken_language = models.CharField(max_length=50, blank=True)
    # A complex case (docs/allocation.md, "Caseload mix"): counts against a therapist's cap
    # on complex clients.
    complex_case = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(therapy_weeks__isnull=True)
                | models.Q(therapy_weeks__gte=1, therapy_weeks__lte=520),
                name="therapy_weeks_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"Allocation needs of {self.referral_id}"


class AllocationSettings(BaseModel):
    """A service's settings for allocation: the languages it can book an interpreter for.
    ``interpreter_languages`` None: any language (the default); a list (engine codes,
    "bsl" for BSL): only those, so a client needing an interpreter in another language is
    proposed only to a therapist who speaks it."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="allocation_settings"
    )
    interpreter_languages = models.JSONField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Allocation settings of {self.service_id}"


class SiteAccess(BaseModel):
    """Access at one of the service's sites: whether it is step-free (level or ramped
    entrance, a lift to the rooms used). No row: not known to be step-free."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="access")
    step_free = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Access at {self.site_id}"
