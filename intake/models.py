"""Clients, their referrals, what they chose to share and what they consented to, and the
referral's clinical record: every questionnaire answered and every risk flag raised.

The clinical record lives here, the lowest app that writes it: the self-referral and the
partner API write it at submission, the assessment and therapy at their own times, each
through intake.clinical_record."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from common import encryption
from common.models import BaseModel, Service, Site

PREFER_NOT_TO_SAY = "prefer_not_to_say"


class Client(BaseModel):
    """A person referred to the service. They have no account.

    Everything beyond name and date of birth is optional: blank means "not shared", and
    "prefer not to say" is stored as its own value where the form offers it.
    """

    class GpRegistration(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        NOT_SURE = "not_sure", "Not sure"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"
        PHONE = "phone", "Phone call"
        LETTER = "letter", "Letter"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="clients")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    pronouns = models.CharField(max_length=50, blank=True)
    gender_identity = models.CharField(max_length=100, blank=True)
    nhs_number = models.CharField(max_length=10, blank=True)
    postcode = models.CharField(max_length=8, blank=True)

    email = models.EmailField(blank=True)
    mobile_phone = models.CharField(
        max_length=20, blank=True, help_text="E.164, e.g. +447700900123"
    )
    landline_phone = models.CharField(max_length=20, blank=True)
    address = models.TextField(blank=True)
    preferred_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    safe_contact_times = models.CharField(max_length=200, blank=True)

    gp_registered = models.CharField(max_length=16, choices=GpRegistration.choices, blank=True)
    gp_practice_name = models.CharField(max_length=200, blank=True)
    gp_practice_address = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["service", "family_name"]),
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="client_service_created"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.given_name
        return f"{first} {self.family_name}"


# What the referral triggers write to ReferralTally: the rows a statement changed, counted
# by kind (service, status, who carried out and who finished the assessment).
_TALLY_KEY = "{row}.service_id, {row}.status, {row}.assessed_by_id, {row}.assessment_finished_by_id"
_TALLY_SQL = """
INSERT INTO intake_referraltally (service_id, status, assessed_by_id, finished_by_id, n)
SELECT service_id, status, assessed_by_id, assessment_finished_by_id, sum(n)
FROM ({changes}) AS changed
GROUP BY service_id, status, assessed_by_id, assessment_finished_by_id
HAVING sum(n) <> 0;
RETURN NULL;
"""


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
    reference = models.CharField(max_length=14, unique=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.SUBMITTED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SELF)
    risk_level = models.CharField(max_length=16, choices=Risk.choices, default=Risk.NONE_KNOWN)
    received_at = models.DateTimeField()
    # The key a submission carried (the wizard's draft id or an API Idempotency-Key):
    # a replay finds this row instead of creating a second referral.
    idempotency_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    submission_fingerprint = models.CharField(max_length=16, blank=True)
    safe_now = models.CharField(
        max_length=16, blank=True, help_text="Answer to 'are you safe right now?'"
    )

    # What brings you here: every answer optional, in the client's own words.
    presenting_problem = encryption.EncryptedTextField(blank=True)
    difficulty_areas = models.JSONField(default=list, blank=True)
    difficulty_duration = models.CharField(max_length=32, blank=True)
    hopes = encryption.EncryptedTextField(blank=True)
    previous_help = encryption.EncryptedTextField(blank=True)
    current_services = models.JSONField(default=list, blank=True)
    # Since when a restriction the client asked for (UK GDPR Art. 18) has been in force;
    # null when none is. Kept by intake.rights alone, from the rights requests, so that
    # sending, allocation and every staff page read it without another query.
    restricted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Who carried out the referral's assessment and who finished it: the assessment's own
    # `assessor` and `finished_by`, carried here by the assessment app whenever it writes
    # them (assessment.models), so that an assessor's reach (common.access) is read from the
    # referral alone. Null while there is no assessment (or it is not finished). Indexed
    # only with the service, below: nothing looks a user's referrals up across services.
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        related_name="+",
    )
    assessment_finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        ordering = ["received_at"]
        indexes = [
            models.Index(fields=["service", "status", "received_at"]),
            # The staff referral list with no status filter: oldest first, a page at a time.
            models.Index(fields=["service", "received_at", "id"], name="referral_service_received"),
            # Counting the referrals an assessor opens (common.access.referrals_opened_count),
            # from these indexes alone: those they assessed, by status, and those they
            # finished, by who carried out the assessment (to leave out those counted above).
            models.Index(
                fields=["service", "assessed_by", "status"], name="referral_service_assessed"
            ),
            models.Index(
                fields=["service", "assessment_finished_by", "assessed_by"],
                include=["status"],
                name="referral_service_finished",
            ),
            # Lists of referrals still open (worklist, waiting lists), oldest first. Without
            # it the planner walks the index above from the oldest referral, past years of
            # ended ones, to reach the few still waiting, which are the newest.
            models.Index(
                fields=["service", "received_at", "id"],
                name="referral_open_received",
                condition=models.Q(
                    status__in=[
                        "submitted",
                        "assessment_booked",
                        "awaiting_allocation",
                        "allocated",
                    ]
                ),
            ),
        ]
        # Every statement that inserts, changes or deletes referrals writes how many of each
        # kind it added and took away to ReferralTally, in the same transaction (PostgreSQL).
        triggers = [
            pgtrigger.Trigger(
                name="tally_insert",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="added"),
                func=_TALLY_SQL.format(changes="SELECT *, 1 AS n FROM added"),
            ),
            pgtrigger.Trigger(
                name="tally_update",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_rows", new="new_rows"),
                func=_TALLY_SQL.format(
                    changes=(
                        "SELECT b.*, -1 AS n FROM old_rows b JOIN new_rows a ON a.id = b.id "
                        f"WHERE ({_TALLY_KEY.format(row='b')}) IS DISTINCT FROM "
                        f"({_TALLY_KEY.format(row='a')}) "
                        "UNION ALL "
                        "SELECT a.*, 1 AS n FROM old_rows b JOIN new_rows a ON a.id = b.id "
                        f"WHERE ({_TALLY_KEY.format(row='b')}) IS DISTINCT FROM "
                        f"({_TALLY_KEY.format(row='a')})"
                    )
                ),
            ),
            pgtrigger.Trigger(
                name="tally_delete",
                when=pgtrigger.After,
                operation=pgtrigger.Delete,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="removed"),
                func=_TALLY_SQL.format(changes="SELECT *, -1 AS n FROM removed"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class ReferralTally(models.Model):
    """How many of a service's referrals are in each status, by who carried out and who
    finished their assessment: what the staff referral list's count reads instead of counting
    tens of thousands of referrals (intake.tally).

    Written only by PostgreSQL: triggers on the referral table add a row for each kind of
    referral a statement added (n > 0) or took away (n < 0), in the statement's transaction,
    so no two writers wait on one counter. A beat task folds the rows into one a kind
    (intake.tally.tally_fold), so the table stays as small as the kinds in use. On SQLite
    (the embedded mode) there are no triggers and the count is taken from the referrals."""

    service_id = models.BigIntegerField()
    status = models.CharField(max_length=32)
    assessed_by_id = models.BigIntegerField(null=True)
    finished_by_id = models.BigIntegerField(null=True)
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["service_id", "status"], name="tally_service_status")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.status}: {self.n:+d}"


class Preferences(BaseModel):
    """What the client would like from therapy arrangements; read by allocation."""

    class GenderWish(models.TextChoices):
        NONE = "", "No preference"
        PREFERENCE = "preference", "A preference"
        REQUIREMENT = "requirement", "A requirement"

    class TherapistGender(models.TextChoices):
        # Blank is no answer; "any" is the answer "I do not mind".
        ANY = "any", "Does not mind"
        FEMALE = "female", "A woman"
        MALE = "male", "A man"
        NON_BINARY = "non_binary", "A non-binary person"

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        REMOTE = "remote", "Remote (video or phone)"
        EITHER = "either", "Either"

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="preferences")
    therapist_gender = models.CharField(max_length=16, choices=TherapistGender.choices, blank=True)
    therapist_gender_strength = models.CharField(
        max_length=16, choices=GenderWish.choices, blank=True
    )
    language = models.CharField(max_length=50, blank=True)
    # None: not answered, kept apart from "no".
    interpreter_needed = models.BooleanField(null=True, blank=True, default=None)
    interpreter_language = models.CharField(max_length=50, blank=True)
    access_needs = models.TextField(blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, blank=True)
    site = models.ForeignKey(Site, on_delete=models.SET_NULL, null=True, blank=True)
    availability = models.JSONField(
        default=list, blank=True, help_text="e.g. ['mon_morning', 'thu_evening']"
    )
    more_than_weekly = models.CharField(max_length=16, blank=True)
    # Exact windows the coordinator agreed with the client, e.g. [{"day": 1, "start":
    # "17:30", "end": "20:00"}] for Tuesday 17:30-20:00 (day 0 is Monday). When any are
    # recorded they are the client's times, in place of the parts of the day in
    # ``availability`` (kept as the client gave them); empty: the parts of the day.
    time_windows = models.JSONField(default=list, blank=True)
    # Times the client would rather have, in the same form (a fit bonus, not a requirement).
    preferred_windows = models.JSONField(default=list, blank=True)


class PrivacyNotice(BaseModel):
    """The privacy notice shown to clients; versions are kept, never edited after use."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="privacy_notices")
    version = models.CharField(max_length=20)
    text = models.TextField()
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["-published_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="notice_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service} privacy notice {self.version}"


class ConsentRecord(BaseModel):
    """One decision by the client, as they made it. Append-only: a withdrawal is a new row.

    The current position on a topic is the latest row for that topic.
    """

    class Topic(models.TextChoices):
        CONTACT_EMAIL = "contact_email", "Contact by email"
        CONTACT_SMS = "contact_sms", "Contact by text message"
        CONTACT_PHONE = "contact_phone", "Contact by phone call"
        VOICEMAIL = "voicemail", "Leave a voicemail"
        LETTERS_HOME = "letters_home", "Letters to the home address"
        TELL_GP = "tell_gp", "Tell the GP about the referral"
        OUTCOME_DATA = "outcome_data", "Use anonymised outcomes for service evaluation"
        PRIVACY_NOTICE = "privacy_notice", "Privacy notice seen"
        ANSWERS_OWN = "answers_own", "Answers are the client's own"

    class Decision(models.TextChoices):
        GRANTED = "granted", "Yes"
        REFUSED = "refused", "No"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Via(models.TextChoices):
        SELF_REFERRAL = "self_referral", "Online self-referral"
        API = "api", "Partner API"
        STAFF = "staff", "Recorded by staff"
        PORTAL = "portal", "Client portal"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="consents")
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="consents"
    )
    topic = models.CharField(max_length=32, choices=Topic.choices)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    # Kept whole, however long: a cut question is not what the client agreed to.
    wording = models.TextField(help_text="The question as the client saw it.")
    wording_version = models.CharField(
        max_length=64,
        help_text="The version of the words shown: our privacy notice's for the online form, "
        "the partner's own for the partner API.",
    )
    notice = models.ForeignKey(PrivacyNotice, on_delete=models.PROTECT, null=True, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["client", "topic", "-recorded_at"])]


class ReferralDraft(BaseModel):
    """A self-referral saved part-way ("save and come back later").

    The data is held server-side; the client holds only the codes, whose hashes are stored.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    # The hash of the code in the latest resume email (issued when that email is sent).
    link_code_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    data = encryption.EncryptedJSONField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)


# --- The referral's clinical record ------------------------------------------------------


class MeasureResponse(BaseModel):
    """One completed questionnaire, with its score as computed by measures."""

    class Context(models.TextChoices):
        SELF_REFERRAL = "self_referral", "Self-referral"
        ASSESSMENT = "assessment", "Assessment"
        REVIEW = "review", "Review during therapy"
        # Completed by the client, alone, in the client portal during therapy.
        PORTAL = "portal", "Online in the client portal"

    referral = models.ForeignKey(
        "Referral", on_delete=models.PROTECT, related_name="measure_responses"
    )
    measure = models.CharField(max_length=16)
    context = models.CharField(max_length=16, choices=Context.choices)
    # One entry per item: the option chosen (0-based), null (not answered) or a sentinel
    # string ("prefer_not_to_say", "not_applicable"), exactly as given.
    answers = encryption.EncryptedJSONField()
    total = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    caseness = models.BooleanField(null=True)
    withheld_reason = models.CharField(max_length=300, blank=True)
    completed_at = models.DateTimeField()
    # A questionnaire repeated during therapy is linked to its session by therapy
    # (therapy.SessionResponse), so the record never points at an app above intake.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["completed_at"]
        indexes = [
            models.Index(fields=["referral", "measure", "completed_at"]),
            # The service report's first and last scored total of each questionnaire per
            # referral (reporting/sql.py): one index-only look-up at either end, ties on the
            # same moment broken by id, as the report orders them.
            models.Index(
                fields=["referral", "measure", "completed_at", "id"],
                include=["total"],
                condition=models.Q(total__isnull=False),
                name="response_scored_order_idx",
            ),
            # The API's list (api/), newest first, a page at a time: no service column here,
            # the list keeps the rows of the service's referrals as it walks this index.
            models.Index(fields=["created_at"], name="measureresponse_created"),
        ]


class RiskFlag(BaseModel):
    """A risk signal that a person must acknowledge. It stays open until they do."""

    class Source(models.TextChoices):
        SAFETY_QUESTION = "safety_question", "Said they were not safe right now"
        PHQ9_ITEM9 = "phq9_item9", "PHQ-9 item 9 (thoughts of death or self-harm)"
        CORE10_ITEM6 = "core10_item6", "CORE-10 item 6 (plans to end life)"
        ASSESSMENT = "assessment", "Raised at assessment"
        STAFF = "staff", "Raised by staff"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="risk_flags")
    referral = models.ForeignKey("Referral", on_delete=models.PROTECT, related_name="risk_flags")
    source = models.CharField(max_length=32, choices=Source.choices)
    detail = encryption.EncryptedCharField(max_length=300)
    # How strong the signal was, comparable only within one source: the answer to a
    # questionnaire's risk item, or the level assessed (2 medium, 3 high).
    severity = models.PositiveSmallIntegerField(null=True, blank=True)
    # Why this is a new flag and not a repeat of an earlier one; shown to staff.
    reason = models.CharField(max_length=300, blank=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    action_taken = encryption.EncryptedTextField(blank=True)

    class Meta:
        ordering = ["raised_at"]
        indexes = [
            models.Index(fields=["service", "acknowledged_at"]),
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="riskflag_service_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(acknowledged_at__isnull=True)
                | (models.Q(acknowledged_by__isnull=False) & ~models.Q(action_taken="")),
                name="risk_ack_names_who_and_action",
            ),
            # The backstop for risk_signal_record's referral lock: one open flag per signal.
            models.UniqueConstraint(
                fields=["referral", "source", "severity"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="risk_one_open_flag_per_signal",
            ),
        ]

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class RiskFlagRepeat(BaseModel):
    """The same risk seen again while its flag was open or recently acknowledged: recorded
    against that flag instead of opening another one."""

    flag = models.ForeignKey(RiskFlag, on_delete=models.PROTECT, related_name="repeats")
    detail = encryption.EncryptedCharField(max_length=300)
    severity = models.PositiveSmallIntegerField(null=True, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["seen_at", "id"]


# --- Rights requests ----------------------------------------------------------------------


class RightsRequest(BaseModel):
    """A client's request for a copy of their whole record (UK GDPR Art. 15), to correct it
    (Art. 16) or to restrict its use (Art. 18), worked by staff as a task until it is
    completed with an outcome.

    Written only by intake.rights. A restriction is in force from when it is recorded until
    it is lifted (or refused), and `Referral.restricted_at` says so."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        RESTRICTION = "restriction", "Restriction"
        ACCESS = "access", "Access to their record"

    class Source(models.TextChoices):
        PHONE = "phone", "Phone call"
        LETTER = "letter", "Letter"
        EMAIL = "email", "Email"
        IN_PERSON = "in_person", "In person"
        PORTAL = "portal", "Client portal"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="rights_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What the client asks, in their words or as noted by staff.
    details = encryption.EncryptedTextField()
    received_on = models.DateField()
    source = models.CharField(max_length=16, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # One calendar month from receipt (Art. 12(3)); up to two more with a reason.
    first_due_on = models.DateField()
    due_on = models.DateField()
    extension_months = models.PositiveSmallIntegerField(default=0)
    extension_reason = encryption.EncryptedTextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # Done: what was corrected or restricted. Refused: why.
    outcome = encryption.EncryptedTextField(blank=True)
    client_told_of_ico = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    restriction_lifted_at = models.DateTimeField(null=True, blank=True)
    restriction_lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    restriction_lift_reason = encryption.EncryptedTextField(blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            # The task list: a service's open requests, soonest due first.
            models.Index(fields=["service", "status", "due_on", "id"], name="rights_task_list"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="open", completed_at__isnull=True)
                    | (
                        ~models.Q(status="open")
                        & models.Q(completed_at__isnull=False)
                        & ~models.Q(outcome="")
                    )
                ),
                name="rights_completed_with_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="refused") | models.Q(client_told_of_ico=True),
                name="rights_refusal_tells_of_ico",
            ),
            models.CheckConstraint(
                condition=models.Q(restriction_lifted_at__isnull=True)
                | (models.Q(kind="restriction") & ~models.Q(restriction_lift_reason="")),
                name="rights_lift_is_a_restriction_with_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(extension_months__lte=2), name="rights_extension_at_most_2"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request on {self.referral_id}"

    @property
    def in_force(self) -> bool:
        """A restriction still in force."""
        return self.kind == self.Kind.RESTRICTION and self.restriction_lifted_at is None


from intake.api_tokens import ApiToken, ApiTokenUse  # noqa: E402, F401  (partner API tokens)
