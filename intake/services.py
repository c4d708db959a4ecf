"""Writes for intake: submitting a referral, consent decisions and a client's contact details."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from common.models import Service
from intake import clinical_record, signals
from intake.models import (
    Client,
    ConsentRecord,
    MeasureResponse,
    Preferences,
    PrivacyNotice,
    Referral,
    RiskFlag,
)
from intake.references import reference_generate
from intake.selectors import portal_reachable


def consent_record(
    *,
    client: Client,
    topic: str,
    decision: str,
    wording: str,
    wording_version: str,
    via: str,
    referral: Referral | None = None,
    notice: PrivacyNotice | None = None,
    recorded_by=None,
) -> ConsentRecord:
    """Append one decision. Never edits an earlier one: history is the record."""
    return ConsentRecord.objects.create(
        client=client,
        referral=referral,
        topic=_known(topic, ConsentRecord.Topic),
        decision=_known(decision, ConsentRecord.Decision),
        wording=wording,
        wording_version=wording_version,
        notice=notice,
        via=via,
        recorded_at=timezone.now(),
        recorded_by=recorded_by,
    )


def _known(value: str, choices) -> str:
    if value not in choices.values:
        raise ValueError(f"unknown {choices.__name__.lower()} {value!r}")
    return value


@transaction.atomic
def consent_withdraw(*, client: Client, topic: str, via: str, recorded_by=None) -> ConsentRecord:
    return consent_record(
        client=client,
        topic=topic,
        decision=ConsentRecord.Decision.WITHDRAWN,
        wording="Consent withdrawn",
        wording_version="withdrawal-1",
        via=via,
        recorded_by=recorded_by,
    )


CONTACT_FIELDS = (
    "email",
    "mobile_phone",
    "landline_phone",
    "address",
    "preferred_channel",
    "safe_contact_times",
)


@transaction.atomic
def client_contact_update(*, client_id: int, **values) -> Client:
    """Change how a client may be reached (the client portal): only the contact fields. The
    outbox reads them when each message is sent, so a queued message uses the new ones."""
    unknown = set(values) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"not contact details: {sorted(unknown)}")
    channel = values.get("preferred_channel", "")
    if channel and channel not in Client.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    client = Client.objects.select_for_update().get(pk=client_id)
    for name, value in values.items():
        setattr(client, name, value)
    client.save(update_fields=[*values, "updated_at"])
    return client


# --- Submitting a referral -------------------------------------------------------------


@dataclass
class ConsentDecision:
    topic: str
    granted: bool
    wording: str  # the question exactly as shown, kept whole
    # The version of the words shown: our privacy notice's for the online form, the
    # partner's own for the partner API. Never a constant stamped on every record.
    wording_version: str


@dataclass
class MeasureAnswers:
    measure: str
    answers: list


@dataclass
class ReferralInput:
    """A referral as the service needs it, whoever sent it (wizard or partner API)."""

    given_name: str
    family_name: str
    date_of_birth: date
    source: str = Referral.Source.SELF
    safe_now: str = ""
    preferred_name: str = ""
    pronouns: str = ""
    gender_identity: str = ""
    nhs_number: str = ""
    postcode: str = ""
    email: str = ""
    mobile_phone: str = ""
    landline_phone: str = ""
    address: str = ""
    preferred_channel: str = ""
    safe_contact_times: str = ""
    gp_registered: str = ""
    gp_practice_name: str = ""
    gp_practice_address: str = ""
    presenting_problem: str = ""
    difficulty_areas: list[str] = field(default_factory=list)
    difficulty_duration: str = ""
    hopes: str = ""
    previous_help: str = ""
    current_services: list[str] = field(default_factory=list)
    preferences: dict = field(default_factory=dict)
    consents: list[ConsentDecision] = field(default_factory=list)
    questionnaires: list[MeasureAnswers] = field(default_factory=list)
    # The privacy notice the person was shown when they agreed (None: for the online form,
    # the current one; the partner API links none, as the partner showed its own words).
    privacy_notice_id: int | None = None


@dataclass(frozen=True)
class SubmitResult:
    referral: Referral
    created: bool
    risk_flags: int


# A new reference clashing with an existing one is about one chance in 10^11 per referral;
# the unique index catches it, and the submit tries again with a fresh reference.
SUBMIT_ATTEMPTS = 3


def referral_submit(
    *,
    service: Service,
    data: ReferralInput,
    idempotency_key: str,
    via: str,
    fingerprint: str = "",
) -> SubmitResult:
    """Create the client, referral, consents, scored questionnaires and risk flags at once.

    Idempotent: a second call with the same key returns the first referral unchanged, so a
    double click or a replayed request makes exactly one referral. Messages (the
    acknowledgement, an urgent alert for a risk flag) are queued through the outbox and
    leave only when this transaction commits.

    The first try goes straight to the inserts, with no look-ups first: the unique indexes
    on the idempotency key and the reference decide, and only a clash pays for a look-up.
    Each try is one transaction (a savepoint inside a caller's transaction), so a clash
    leaves nothing behind.
    """
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            with transaction.atomic():  # a replay or a concurrent twin meets the unique key
                return _referral_create(service, data, idempotency_key, via, fingerprint)
        except IntegrityError:
            existing = Referral.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return SubmitResult(existing, created=False, risk_flags=existing.risk_flags.count())
            if attempt == SUBMIT_ATTEMPTS:
                raise  # not a passing clash: the database's own message says what it is
            # Not this key: a reference that clashed (or the notice noted was removed).
            # Try again with another reference and the notice current now.
            data = dataclasses.replace(data, privacy_notice_id=None)
    raise AssertionError("unreachable")


def _referral_create(
    service, data: ReferralInput, idempotency_key: str, via: str, fingerprint: str
):
    now = timezone.now()
    client = Client.objects.create(
        service=service,
        **{name: getattr(data, name) for name in CLIENT_FIELDS},
    )
    referral = Referral.objects.create(
        service=service,
        client=client,
        reference=reference_generate(),
        source=data.source,
        received_at=now,
        idempotency_key=idempotency_key,
        submission_fingerprint=fingerprint,
        safe_now=data.safe_now,
        presenting_problem=data.presenting_problem,
        difficulty_areas=data.difficulty_areas,
        difficulty_duration=data.difficulty_duration,
        hopes=data.hopes,
        previous_help=data.previous_help,
        current_services=data.current_services,
    )
    Preferences.objects.create(referral=referral, **_preferences(service, data.preferences))
    notice_id = data.privacy_notice_id
    if notice_id is None and via != ConsentRecord.Via.API:
        notice = service.privacy_notices.order_by("-published_at").only("id").first()
        notice_id = notice.pk if notice is not None else None
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            client=client,
            referral=referral,
            topic=_known(decision.topic, ConsentRecord.Topic),
            decision=(
                ConsentRecord.Decision.GRANTED
                if decision.granted
                else ConsentRecord.Decision.REFUSED
            ),
            wording=decision.wording,
            wording_version=decision.wording_version,
            notice_id=notice_id,
            via=via,
            recorded_at=now,
        )
        for decision in data.consents
    )
    flags = []
    if data.safe_now == "no":
        flags.append(
            clinical_record.risk_flag_raise(
                referral=referral,
                source=RiskFlag.Source.SAFETY_QUESTION,
                detail="Answered 'no' to 'Are you safe right now?' in the self-referral",
            )
        )
    if data.questionnaires:
        _, raised = clinical_record.measure_responses_record(
            referral=referral,
            answers={q.measure: q.answers for q in data.questionnaires},
            context=MeasureResponse.Context.SELF_REFERRAL,
            completed_at=now,
        )
        flags.extend(raised)
    if flags:
        referral.risk_level = Referral.Risk.HIGH if data.safe_now == "no" else Referral.Risk.MEDIUM
        referral.save(update_fields=["risk_level", "updated_at"])
    _queue_messages(referral, flags)
    signals.referral_submitted.send(sender=Referral, referral=referral)
    return SubmitResult(referral, created=True, risk_flags=len(flags))


CLIENT_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "pronouns",
    "gender_identity",
    "nhs_number",
    "postcode",
    "email",
    "mobile_phone",
    "landline_phone",
    "address",
    "preferred_channel",
    "safe_contact_times",
    "gp_registered",
    "gp_practice_name",
    "gp_practice_address",
)
PREFERENCE_FIELDS = (
    "therapist_gender",
    "therapist_gender_strength",
    "language",
    "interpreter_needed",
    "interpreter_language",
    "access_needs",
    "mode",
    "availability",
    "more_than_weekly",
    # Exact times, recorded by the coordinator (allocation), not asked of the client.
    "time_windows",
    "preferred_windows",
)


def _preferences(service: Service, given: dict) -> dict:
    values = {name: given[name] for name in PREFERENCE_FIELDS if name in given}
    site_id = given.get("site")
    if site_id:
        values["site"] = service.sites.filter(public_id=site_id).first()
    return values


def _portal_link(referral: Referral) -> str:
    """The client portal's address (by its URL name: intake imports nothing of the portal)
    when the portal can send this client a sign-in link; otherwise none."""
    if portal_reachable(client_id=referral.client_id):
        return settings.SITE_URL + reverse("portal-start")
    return ""


def _queue_messages(referral: Referral, flags: list) -> None:
    from notifications.outbox import notification_queue

    notification_queue(
        kind="acknowledgement",
        referral=referral,
        recipient="client",
        context={"portal_link": _portal_link(referral)},
    )
    if flags:
        notification_queue(
            kind="risk_alert",
            referral=referral,
            recipient="duty_inbox",
            context={"reasons": [flag.detail for flag in flags]},
        )


# --- Status changes made by other apps (assessment, allocation) --------------------------


class ReferralStatusError(ValueError):
    """The referral is not in a state this change can follow from."""


def referral_status_set(
    *,
    referral: Referral,
    status: str,
    from_statuses: tuple[str, ...] | None = None,
    risk_level: str | None = None,
) -> Referral:
    """Move a referral on, optionally only from the states named, and record a new risk
    level when an assessment has set one. Runs inside the caller's transaction and locks
    the row, so two people acting at once cannot both move it."""
    if status not in Referral.Status.values:
        raise ValueError(f"unknown referral status {status!r}")
    if risk_level is not None and risk_level not in Referral.Risk.values:
        raise ValueError(f"unknown risk level {risk_level!r}")
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if from_statuses is not None and locked.status not in from_statuses:
        raise ReferralStatusError(
            f"The referral is now '{locked.get_status_display()}', so it cannot be moved to "
            f"'{Referral.Status(status).label}'."
        )
    previous, locked.status = locked.status, status
    fields = ["status", "updated_at"]
    if risk_level is not None:
        locked.risk_level = risk_level
        fields.append("risk_level")
    locked.save(update_fields=fields)
    referral.status, referral.risk_level = locked.status, locked.risk_level
    signals.referral_status_changed.send(
        sender=Referral, referral=locked, status=status, previous=previous
    )
    return locked


# --- The client's exact times, recorded by the coordinator (allocation) ---------------------


def preferences_times_set(
    *, referral: Referral, time_windows: list[dict], preferred_windows: list[dict]
) -> bool:
    """Record the exact windows the client can come, and those they would rather have, each
    ``{"day": 0-6, "start": "HH:MM", "end": "HH:MM"}`` already checked by the caller
    (allocation reads and checks times). Runs inside the caller's transaction and locks
    the row. The parts of the day the client gave are kept as they gave them. Returns
    whether anything changed."""
    for window in (*time_windows, *preferred_windows):
        if set(window) != {"day", "start", "end"}:
            raise ValueError("a window is {day, start, end}")
    preferences, _ = Preferences.objects.select_for_update().get_or_create(referral=referral)
    if (preferences.time_windows, preferences.preferred_windows) == (
        time_windows,
        preferred_windows,
    ):
        return False
    preferences.time_windows = list(time_windows)
    preferences.preferred_windows = list(preferred_windows)
    preferences.save(update_fields=["time_windows", "preferred_windows", "updated_at"])
    return True
