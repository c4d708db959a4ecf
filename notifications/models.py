"""The outbox: every letter and message as a row, from queueing to its outcome.

A row is written inside the transaction that caused it and is the source of truth; the
broker only carries "look at row X now". Workers claim a row with a conditional UPDATE,
so a message dispatched twice, or redelivered after a worker died, is delivered once.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from common import encryption
from common.models import BaseModel, Service


class Notification(BaseModel):
    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement of referral"
        ASSESSMENT_INVITATION = "assessment_invitation", "Invitation to assessment"
        ASSESSMENT_OUTCOME = "assessment_outcome", "Outcome of the assessment"
        GP_LETTER = "gp_letter", "Letter to the GP"
        ALLOCATION = "allocation", "Allocation and first appointment"
        THERAPIST_BREAK = "therapist_break", "Therapist's break or change of time"
        QUESTIONNAIRE_REMINDER = "questionnaire_reminder", "Questionnaire reminder"
        WAITING_CHECKIN = "waiting_checkin", "Still waiting check-in"
        APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
        ENDING = "ending", "Ending letter"
        NON_ATTENDANCE_LETTER = "non_attendance_letter", "Letter after missed sessions"
        DISCHARGE_NON_ATTENDANCE = "discharge_non_attendance", "Discharge after non-attendance"
        RISK_ALERT = "risk_alert", "Urgent risk alert"
        DRAFT_RESUME_LINK = "draft_resume_link", "Link to a saved self-referral"
        PORTAL_SIGN_IN_LINK = "portal_sign_in_link", "Sign-in link for the client portal"

    class Recipient(models.TextChoices):
        CLIENT = "client", "Client"
        GP = "gp", "GP practice"
        DUTY_INBOX = "duty_inbox", "Duty inbox"
        STAFF = "staff", "Member of staff"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"
        LETTER = "letter", "Letter"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not sent (no agreed channel)"
        CANCELLED = "cancelled", "Cancelled"

    # Foreign keys carry no index of their own where a composite index below starts with
    # them, or where nothing looks rows up by them: every index is paid for on each insert.
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="notifications", db_index=False
    )
    referral = models.ForeignKey(
        "intake.Referral",
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="notifications",
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications_received",
        db_index=False,
        help_text="The member of staff it is addressed to, when the recipient is staff.",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    recipient = models.CharField(max_length=16, choices=Recipient.choices)
    occurrence = models.CharField(max_length=100)
    idempotency_key = models.CharField(max_length=200)
    context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    urgent = models.BooleanField(default=False, db_default=False)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_default="queued"
    )
    status_reason = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="Why it was suppressed, cancelled or failed.",
    )
    send_after = models.DateTimeField(default=timezone.now)
    # When a delivery task was last published for this row; the sweeper re-publishes rows
    # left queued long after this (a crash between commit and publish, a lost broker).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True, default="", db_default="")
    appointment_at = models.DateTimeField(
        null=True, blank=True, help_text="The appointment it announces, for reminders."
    )

    # What went out, kept exactly as sent.
    channel = models.CharField(
        max_length=16, choices=Channel.choices, blank=True, default="", db_default=""
    )
    to_address = models.TextField(blank=True, default="", db_default="")
    message_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    provider_reference = models.CharField(max_length=200, blank=True, default="", db_default="")
    subject = encryption.EncryptedCharField(max_length=300, blank=True, default="", db_default="")
    body_text = encryption.EncryptedTextField(blank=True, default="", db_default="")
    body_html = encryption.EncryptedTextField(blank=True, default="", db_default="")
    sms_text = encryption.EncryptedTextField(blank=True, default="", db_default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it failed, was suppressed or was cancelled."
    )

    # A staff resend is a new row pointing at the one it repeats.
    resend_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resends",
        db_index=False,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications_requested",
        db_index=False,
    )
    request_reason = models.TextField(blank=True, default="", db_default="")

    # Failed and suppressed messages that a person must act on (call the client, fix an
    # address) stay on the staff follow-up list until someone records what they did.
    follow_up_needed = models.BooleanField(default=False, db_default=False)
    followed_up_at = models.DateTimeField(null=True, blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications_followed_up",
        db_index=False,
    )
    follow_up_note = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's view: only rows still to send are in it.
            models.Index(
                fields=["status", "send_after"],
                name="notif_open_due",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            # The staff follow-up list: only failed and suppressed rows are in it.
            models.Index(
                fields=["service", "closed_at"],
                name="notif_service_problems",
                condition=models.Q(status__in=["failed", "suppressed"]),
            ),
            models.Index(fields=["referral", "created_at"], name="notif_referral_created"),
            models.Index(
                fields=["kind", "status", "appointment_at"],
                name="notif_appointments",
                condition=models.Q(appointment_at__isnull=False),
            ),
            models.Index(
                fields=["resend_of"],
                name="notif_resend_of",
                condition=models.Q(resend_of__isnull=False),
            ),
            # The API's list (api/): the service's rows, newest first, a page at a time.
            models.Index(fields=["service", "created_at"], name="notif_service_created"),
        ]
        constraints = [
            # A plain unique constraint (no extra pattern index): INSERT … ON CONFLICT uses it.
            models.UniqueConstraint(fields=["idempotency_key"], name="notif_idempotency_key"),
            models.CheckConstraint(
                condition=~models.Q(kind="risk_alert")
                | models.Q(recipient__in=["duty_inbox", "staff"]),
                name="notif_risk_alert_to_staff_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display().lower()})"

    @property
    def is_open(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.SENDING}


class NotificationEvent(models.Model):
    """What happened to a notification, in order: the audit trail staff see."""

    class Event(models.TextChoices):
        ATTEMPT = "attempt", "Delivery attempt started"
        INTERRUPTED = "interrupted", "An earlier attempt was interrupted"
        REPUBLISHED = "republished", "Published again: the attempt in progress stopped"
        DEFERRED = "deferred", "Temporary problem: will try again"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not sent: no agreed channel"
        CANCELLED = "cancelled", "Cancelled"
        RESEND = "resend", "Resent by staff"
        FOLLOWED_UP = "followed_up", "Followed up by staff"
        BATCHED = "batched", "Added to a print batch"
        HELD_BACK = "held_back", "Held back from printing"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=16, choices=Event.choices)
    detail = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_event_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


class PrintBatch(BaseModel):
    """The letters staff print together, usually once a day. A letter joins one batch only."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="print_batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    letter_count = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(default=0)
    pdf = models.BinaryField()
    first_downloaded_at = models.DateTimeField(null=True, blank=True)
    first_downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Print batch of {self.letter_count} letters, {self.created_at:%Y-%m-%d %H:%M}"


class Letter(BaseModel):
    """A rendered postal letter (PDF) waiting for, or included in, a print batch."""

    notification = models.OneToOneField(
        Notification, on_delete=models.PROTECT, related_name="letter"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="letters")
    pdf = models.BinaryField()
    page_count = models.PositiveSmallIntegerField()
    batch = models.ForeignKey(
        PrintBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="letters"
    )
    held_back_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["service", "batch"], name="letter_service_batch")]

    def __str__(self) -> str:
        return f"Letter for {self.notification}"
