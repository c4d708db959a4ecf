"""Writes for notifications: queueing (the outbox), delivery, staff actions, sweeps, printing.

The outbox in PostgreSQL is the source of truth. `notification_queue` writes a row inside the
caller's transaction and publishes "deliver row X" only once that transaction commits. A
worker claims the row with a conditional UPDATE, reads consent and contact details at that
moment, sends on the first agreed channel and records the outcome. The beat sweeper
re-publishes rows that were left behind, so a lost broker message delays a letter but never
loses it. See docs/notifications.md for the exactly-once argument and its one small window.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import NOT_PROVIDED, Count, F, Model, OuterRef, Q, Subquery
from django.utils import timezone

from notifications import delivery, kinds, letters, rendering, tasks
from notifications.kinds import ContactOptions
from notifications.models import Letter, Notification, NotificationEvent, PrintBatch
from notifications.publisher import publisher

logger = logging.getLogger("threshold.notifications")

Status = Notification.Status
Event = NotificationEvent.Event


class Outcome(enum.StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEFERRED = "deferred"
    NOT_CLAIMED = "not_claimed"


class DeliveryDeferred(Exception):
    """A passing problem: the row is back in the queue, due again in `retry_in` seconds."""

    def __init__(self, retry_in: int, error: str):
        super().__init__(error)
        self.retry_in = retry_in
        self.error = error


class NotificationActionError(Exception):
    """A staff action that does not apply to this notification now (shown to the user)."""


# --------------------------------------------------------------------------------------
# Queueing


def idempotency_key(
    *,
    kind: str,
    referral: Model | None,
    recipient: str,
    occurrence: str,
    staff_user=None,
) -> str:
    """kind + referral + occurrence; the recipient joins it only when it is not the kind's
    usual one (a risk alert to a named member of staff as well as to the duty inbox)."""
    spec = kinds.spec(kind)
    who = kind if recipient == spec.recipients[0] else f"{kind}/{recipient}"
    if recipient == kinds.STAFF and staff_user is not None:
        who = f"{who}-{staff_user.public_id}"
    return f"{who}:{referral.public_id if referral is not None else '-'}:{occurrence}"


def notification_queue(
    *,
    kind: str,
    referral: Model | None = None,
    recipient: str = "client",
    occurrence: str = "1",
    context: dict | None = None,
    staff_user=None,
    send_after: datetime | None = None,
    service=None,
) -> Notification:
    """Write a notification into the outbox, inside the caller's transaction.

    Delivery is published only when that transaction commits, so a rolled-back caller sends
    nothing. The same kind, referral and occurrence a second time returns the row already
    there (unchanged): never a second message. `send_after` schedules it for later; the
    beat sweeper dispatches it when due. A kind addressed at send time (`at_send`) has no
    referral yet and names its `service`.
    """
    spec = kinds.spec(kind)
    if kind == "risk_alert" and recipient == "client":
        # Said plainly, because it matters: a risk alert never goes to a client's channels.
        raise ValueError("a risk alert goes to staff (duty_inbox or staff), never to the client")
    if recipient not in spec.recipients:
        raise ValueError(f"{kind} goes to {' or '.join(spec.recipients)}, not to {recipient!r}")
    if recipient in (kinds.CLIENT, kinds.GP) and referral is None and not spec.at_send:
        raise ValueError(f"a {kind} to the {recipient} needs a referral")
    if recipient == kinds.STAFF and staff_user is None:
        raise ValueError("a notification to a member of staff needs staff_user")
    occurrence = str(occurrence).strip()
    if not occurrence or len(occurrence) > 100:
        raise ValueError("occurrence must be 1 to 100 characters")
    if referral is not None:
        service_id = referral.service_id
    elif staff_user is not None:
        service_id = staff_user.service_id
    else:
        service_id = getattr(service, "pk", service)
    if service_id is None:
        raise ValueError("a notification must belong to a service")
    key = idempotency_key(
        kind=kind,
        referral=referral,
        recipient=recipient,
        occurrence=occurrence,
        staff_user=staff_user,
    )
    return _insert(
        Notification(
            service_id=service_id,
            referral=referral,
            staff_user=staff_user,
            kind=kind,
            recipient=recipient,
            occurrence=occurrence,
            idempotency_key=key,
            context=_json_safe(context or {}),
            urgent=spec.urgent,
            send_after=send_after or timezone.now(),
            appointment_at=kinds.appointment_at(context or {}),
        )
    )


def _json_safe(context: dict) -> dict:
    if not isinstance(context, dict):
        raise ValueError("context must be a dict")
    # Round-trip now, so a value JSON cannot hold fails in the caller, not in the worker.
    return json.loads(json.dumps(context, cls=DjangoJSONEncoder))


@functools.cache
def _insert_fields() -> tuple[tuple, tuple]:
    """(fields every new row writes, fields the database can fill by itself with their
    default: a db_default, or NULL). A new row leaves the second kind out unless it sets
    them (a resend sets its own few)."""
    always, optional = [], []
    for field in Notification._meta.local_concrete_fields:
        if field.primary_key:
            continue
        fills_itself = field.db_default is not NOT_PROVIDED or (
            field.null and field.get_default() is None
        )
        if fills_itself:
            optional.append((field, field.get_default()))
        else:
            always.append(field)
    return tuple(always), tuple(optional)


@functools.cache
def _insert_sql(alias: str, columns: tuple[str, ...]) -> str:
    db = connections[alias]
    quote = db.ops.quote_name
    return (
        f"INSERT INTO {quote(Notification._meta.db_table)} "
        f"({', '.join(quote(column) for column in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({quote('idempotency_key')}) DO NOTHING RETURNING {quote('id')}"
    )


def _insert(notification: Notification) -> Notification:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id: one round trip and
    no savepoint, so it is safe and cheap inside the caller's transaction. A concurrent
    insert of the same key waits for the other transaction, then finds its row.

    This is on the path of every submission, so it writes only the columns that vary and
    leaves the rest (the outcome of a delivery, the follow-up) to their database defaults.
    """
    now = timezone.now()
    due_now = notification.send_after <= now
    notification.dispatched_at = now if due_now else None
    always, optional = _insert_fields()
    fields = [
        *always,
        *(f for f, default in optional if getattr(notification, f.attname) != default),
    ]
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy: hot path
    values = [field.get_db_prep_save(field.pre_save(notification, True), db) for field in fields]
    sql = _insert_sql(db.alias, tuple(field.column for field in fields))
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return Notification.objects.get(idempotency_key=notification.idempotency_key)
    notification.pk = row[0]
    notification._state.adding = False
    notification._state.db = db.alias
    if due_now:
        public_id, urgent = notification.public_id, notification.urgent
        transaction.on_commit(lambda: publisher.submit(public_id, urgent=urgent))
    return notification


# --------------------------------------------------------------------------------------
# Delivery


@dataclass(frozen=True)
class _Plan:
    channel: str
    to_address: str
    recipient: rendering.Recipient
    contact: ContactOptions | None


@dataclass(frozen=True)
class _Undeliverable:
    reason: str
    follow_up: bool


def notification_deliver(*, public_id: uuid.UUID) -> Outcome:
    """Deliver one notification, if it is due and nobody else is delivering it.

    Idempotent: a second call (a duplicate task, a redelivery after a worker died) finds the
    row claimed or finished and does nothing. Raises DeliveryDeferred after a passing error,
    with the row back in the queue for a later attempt.
    """
    notification = _claim(public_id)
    if notification is None:
        return Outcome.NOT_CLAIMED
    if isinstance(notification, Outcome):
        return notification
    try:
        return _deliver_claimed(notification)
    except DeliveryDeferred:
        raise
    except Exception as error:
        if delivery.is_transient(error):
            return _defer(notification, error)
        # Not a named passing error: retrying blindly could loop for ever. Fail it and let
        # a person look. The log has where it happened, not the error's text, which can
        # carry an address or the client's words (staff see the whole reason on the row).
        logger.error(
            "notification %s failed: unexpected %s\n%s",
            _ids(notification),
            delivery.log_summary(error),
            delivery.log_frames(error),
        )
        _close(
            notification,
            Status.FAILED,
            reason="Could not be sent because of an unexpected problem: "
            + delivery.describe(error),
            follow_up=True,
            event=Event.FAILED,
            error=delivery.describe(error),
        )
        return Outcome.FAILED


def _claim(public_id: uuid.UUID) -> Notification | Outcome | None:
    """Take the row for this worker: a conditional UPDATE on the state just read, so of two
    workers at it together exactly one succeeds. None when it is not ours to send."""
    now = timezone.now()
    row = (
        Notification.objects.select_related("service", "referral", "referral__client", "staff_user")
        .filter(public_id=public_id)
        .first()
    )
    if row is None:
        return None
    if row.status == Status.QUEUED and row.send_after <= now:
        condition = Q(status=Status.QUEUED, send_after=row.send_after)
        interrupted = False
    elif row.status == Status.SENDING and row.lease_until and row.lease_until < now:
        # The worker that held it died or hung past its lease: the attempt was interrupted.
        condition = Q(status=Status.SENDING, claim_token=row.claim_token)
        interrupted = True
    else:
        return None
    if interrupted and row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        # Something about this message stops workers mid-send every time: stop trying.
        closed = (
            Notification.objects.filter(pk=row.pk)
            .filter(condition)
            .update(
                status=Status.FAILED,
                status_reason=f"Delivery was interrupted {row.attempts} times; stopped trying.",
                last_error="Interrupted (worker stopped while sending)",
                lease_until=None,
                closed_at=now,
                follow_up_needed=True,
                updated_at=now,
            )
        )
        if closed:
            _event(row.pk, Event.FAILED, "Interrupted too many times")
            return Outcome.FAILED
        return None
    claim = {
        "status": Status.SENDING,
        "claim_token": uuid.uuid4(),
        "lease_until": now + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS),
        "attempts": row.attempts + 1,
        "updated_at": now,
    }
    if not Notification.objects.filter(pk=row.pk).filter(condition).update(**claim):
        return None  # another worker got there first
    for name, value in claim.items():
        setattr(row, name, value)
    if interrupted:
        _event(row.pk, Event.INTERRUPTED, "The previous attempt stopped part-way; trying again.")
    return row


def _ids(notification: Notification) -> str:
    """How a notification is named in logs: ids only, never an address or free text."""
    referral = notification.referral.public_id if notification.referral_id else "-"
    channel = notification.channel or "-"
    return f"{notification.public_id} ({notification.kind}, {channel}, referral {referral})"


def _deliver_claimed(notification: Notification) -> Outcome:
    if kinds.spec(notification.kind).at_send:
        return _deliver_at_send(notification)
    irrelevant = _no_longer_needed(notification)
    if irrelevant:
        _close(notification, Status.CANCELLED, reason=irrelevant, event=Event.CANCELLED)
        return Outcome.CANCELLED
    plan = _plan(notification)
    if isinstance(plan, _Undeliverable):
        _close(
            notification,
            Status.SUPPRESSED,
            reason=plan.reason,
            follow_up=plan.follow_up,
            event=Event.SUPPRESSED,
        )
        return Outcome.SUPPRESSED
    notification.channel = plan.channel  # for the log, should it fail
    ctx = _render_context(notification, plan.recipient)
    sent: dict[str, Any] = {"channel": plan.channel, "to_address": plan.to_address}
    if plan.channel == kinds.EMAIL:
        subject, text, html = rendering.render_email(ctx)
        sent.update(subject=subject, body_text=text, body_html=html)
        sent["message_id"] = delivery.send_email(
            public_id=notification.public_id,
            to=plan.to_address,
            subject=subject,
            text=text,
            html=html,
        )
        # The narrow window: the server has the message, our commit has not happened yet.
        _mark_sent(notification, sent)
    elif plan.channel == kinds.SMS:
        body = rendering.render_sms(ctx)
        sent.update(sms_text=body)
        sent["provider_reference"] = delivery.send_sms(
            public_id=notification.public_id, phone_number=plan.to_address, body=body
        )
        _mark_sent(notification, sent)
    else:
        html = rendering.render_letter_html(ctx)
        pdf, pages = letters.render_pdf(html)
        sent.update(subject=rendering.render_subject(ctx), body_html=html)
        # Nothing leaves the building until staff print the batch, so storing the letter
        # and marking it sent in one transaction is exactly once.
        _mark_sent(notification, sent, letter=(pdf, pages))
    return Outcome.SENT


def _deliver_at_send(notification: Notification) -> Outcome:
    """A kind its app addresses now (a saved draft's resume link): the app gives the address
    and any one-time secret; the email carries the secret, the stored copy does not."""
    supplied = kinds.at_send(notification.kind, context=notification.context)
    if supplied.cancel:
        _close(notification, Status.CANCELLED, reason=supplied.cancel, event=Event.CANCELLED)
        return Outcome.CANCELLED
    if not supplied.email:
        _close(
            notification,
            Status.SUPPRESSED,
            reason="Not sent: no email address that we were allowed to use.",
            follow_up=kinds.spec(notification.kind).follow_up_if_undeliverable,
            event=Event.SUPPRESSED,
        )
        return Outcome.SUPPRESSED
    notification.channel = kinds.EMAIL
    who = rendering.Recipient(name="", address_lines=(), email=supplied.email)
    ctx = _render_context(notification, who)
    ctx["c"] = {**ctx["c"], **supplied.values}
    subject, text, html = rendering.render_email(ctx)
    message_id = delivery.send_email(
        public_id=notification.public_id, to=supplied.email, subject=subject, text=text, html=html
    )

    def kept(content: str) -> str:
        for secret in supplied.secrets:
            content = content.replace(secret, kinds.SECRET_REMOVED)
        return content

    _mark_sent(
        notification,
        {
            "channel": kinds.EMAIL,
            "to_address": supplied.email,
            "message_id": message_id,
            "subject": kept(subject),
            "body_text": kept(text),
            "body_html": kept(html),
        },
    )
    return Outcome.SENT


def _plan(notification: Notification) -> _Plan | _Undeliverable:
    spec = kinds.spec(notification.kind)
    if spec.at_send:
        # Only a preview gets here: such a message is addressed when it is sent.
        return _Undeliverable(
            "Sent only to someone saving a self-referral part-way, to the address they gave.",
            follow_up=False,
        )
    service = notification.service
    if notification.recipient == kinds.DUTY_INBOX:
        if not service.duty_inbox_email:
            return _Undeliverable("The service has no duty inbox address.", follow_up=True)
        who = rendering.Recipient(
            name="", address_lines=(service.duty_inbox_email,), email=service.duty_inbox_email
        )
        return _Plan(kinds.EMAIL, service.duty_inbox_email, who, None)
    if notification.recipient == kinds.STAFF:
        user = notification.staff_user
        if user is None or not user.email or not user.is_active:
            return _Undeliverable("The member of staff has no active email address.", True)
        who = rendering.Recipient(
            name=user.get_full_name() or user.username, address_lines=(user.email,)
        )
        return _Plan(kinds.EMAIL, user.email, who, None)

    # Client and GP: what the client agreed to, read now, not when the message was queued.
    contact = kinds.contact_options(client_id=notification.referral.client_id)
    if notification.recipient == kinds.GP:
        if not contact.gp_share_ok:
            return _Undeliverable("The client has not agreed to us telling their GP.", False)
        if not (contact.gp_practice_name and contact.gp_practice_address):
            return _Undeliverable(
                "The client agreed to us telling their GP, but we do not have the practice's "
                "name and address.",
                follow_up=True,
            )
        lines = rendering.address_lines(contact.gp_practice_address)
        who = rendering.Recipient(name=contact.gp_practice_name, address_lines=lines)
        return _Plan(kinds.LETTER, "\n".join([contact.gp_practice_name, *lines]), who, contact)

    agreed = contact.consented_channels()
    for channel in agreed:
        if channel not in spec.channels:
            continue
        who = rendering.Recipient(
            name=contact.name,
            address_lines=rendering.address_lines(contact.address),
            email=contact.email,
            phone=contact.mobile_phone,
        )
        if channel == kinds.SMS:
            ctx = _render_context(notification, who)
            if not rendering.sms_fits(rendering.render_sms(ctx)):
                logger.warning("notification %s: SMS too long, next channel", notification.pk)
                continue
            return _Plan(channel, contact.mobile_phone, who, contact)
        if channel == kinds.EMAIL:
            return _Plan(channel, contact.email, who, contact)
        return _Plan(channel, "\n".join([contact.name, *who.address_lines]), who, contact)
    return _Undeliverable(
        _why_undeliverable(spec, agreed, contact), spec.follow_up_if_undeliverable
    )


_CHANNEL_WORDS = {"email": "email", "sms": "text message", "letter": "letter", "phone": "phone"}


def _why_undeliverable(spec: kinds.KindSpec, agreed: list[str], contact: ContactOptions) -> str:
    possible = " or ".join(_CHANNEL_WORDS[c] for c in spec.channels)
    if not agreed:
        return (
            f"The client has not agreed to any way of contact this message can use "
            f"({possible}), or we lack the details for it."
        )
    if agreed == ["phone"]:
        voicemail = (
            "They agreed to voicemail."
            if contact.voicemail_ok
            else "Do not leave a voicemail: they have not agreed to one."
        )
        times = (
            f" Safe times to call: {contact.safe_contact_times}."
            if contact.safe_contact_times
            else ""
        )
        return (
            f"The client agreed to phone calls only. Please call them instead. {voicemail}{times}"
        )
    return (
        f"This message can go by {possible}; the client agreed only to "
        f"{' and '.join(_CHANNEL_WORDS[c] for c in agreed)}."
    )


def _no_longer_needed(notification: Notification) -> str:
    """A reminder or check-in that events have overtaken is cancelled, not sent."""
    referral = notification.referral
    if referral is None:
        return ""
    # The registering app knows its referral's states (waiting, withdrawn, ended).
    still_needed = kinds.spec(notification.kind).no_longer_needed
    overtaken = still_needed(referral) if still_needed is not None else ""
    if overtaken:
        return overtaken
    if notification.kind == "appointment_reminder":
        source = notification.context.get("source")
        newer = (
            Notification.objects.filter(
                referral=referral, kind__in=APPOINTMENT_KINDS, appointment_at__isnull=False
            )
            .exclude(status__in=[Status.CANCELLED, Status.FAILED, Status.SUPPRESSED])
            .order_by("-created_at", "-id")
            .values_list("public_id", flat=True)
            .first()
        )
        if source and newer and str(newer) != source:
            return "Not needed: the appointment was rearranged."
        if notification.appointment_at and notification.appointment_at <= timezone.now():
            return "Not needed: the appointment time has passed."
    return ""


def _render_context(notification: Notification, who: rendering.Recipient) -> dict[str, Any]:
    referral = notification.referral
    about = None
    if notification.recipient == kinds.GP and referral is not None:
        client = referral.client
        about = {
            "name": f"{client.given_name} {client.family_name}",
            "date_of_birth": client.date_of_birth,
            "nhs_number": client.nhs_number,
        }
    ctx = rendering.build_context(
        kind=notification.kind,
        service=notification.service,
        referral=referral,
        recipient=who,
        context=notification.context,
        about_client=about,
    )
    ctx["received_at"] = referral.received_at if referral is not None else None
    return ctx


def _mark_sent(
    notification: Notification, sent: dict[str, Any], letter: tuple[bytes, int] | None = None
) -> None:
    """Record the outcome in one UPDATE (a letter: with its stored PDF, in one transaction).
    The row itself says when and how it went; no separate event is written."""
    if letter is None:
        _record_sent(notification, sent)
        return
    with transaction.atomic():
        if _record_sent(notification, sent):
            pdf, pages = letter
            Letter.objects.create(
                notification_id=notification.pk,
                service_id=notification.service_id,
                pdf=pdf,
                page_count=pages,
            )


def _record_sent(notification: Notification, sent: dict[str, Any]) -> bool:
    now = timezone.now()
    updated = Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, claim_token=notification.claim_token
    ).update(
        status=Status.SENT, sent_at=now, lease_until=None, last_error="", updated_at=now, **sent
    )
    if not updated:
        # Our lease ran out and another worker took over: it records the outcome (and, for
        # a letter, stores its own copy; we must not store a second).
        logger.warning("notification %s: lost its claim before recording", notification.pk)
    return bool(updated)


def _defer(notification: Notification, error: BaseException) -> Outcome:
    text = delivery.describe(error)
    attempts = notification.attempts
    if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        _close(
            notification,
            Status.FAILED,
            reason=f"Gave up after {attempts} attempts. Last problem: {text}",
            follow_up=True,
            event=Event.FAILED,
            error=text,
        )
        return Outcome.FAILED
    retry_in = retry_delay(attempts, urgent=notification.urgent)
    now = timezone.now()
    due = now + timedelta(seconds=retry_in)
    Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, claim_token=notification.claim_token
    ).update(
        status=Status.QUEUED,
        send_after=due,
        # The retry task is due then; the sweeper steps in only if that task is lost.
        dispatched_at=due,
        lease_until=None,
        last_error=text,
        updated_at=now,
    )
    _event(notification.pk, Event.DEFERRED, f"{text} (attempt {attempts}; next in {retry_in}s)")
    raise DeliveryDeferred(retry_in, text)


def retry_delay(attempts: int, *, urgent: bool = False) -> int:
    """Exponential backoff: base, 2 x base, 4 x base ..., capped. Risk alerts retry sooner."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    if urgent:
        base = max(1, base // 5)
    return int(min(settings.NOTIFICATIONS_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1)))


def _close(
    notification: Notification,
    status: str,
    *,
    reason: str,
    event: str,
    follow_up: bool = False,
    error: str = "",
) -> None:
    now = timezone.now()
    with transaction.atomic():
        Notification.objects.filter(
            pk=notification.pk, status=Status.SENDING, claim_token=notification.claim_token
        ).update(
            status=status,
            status_reason=reason,
            last_error=error or F("last_error"),
            lease_until=None,
            closed_at=now,
            follow_up_needed=follow_up,
            updated_at=now,
        )
        _event(notification.pk, event, reason)
    level = logging.ERROR if status == Status.FAILED else logging.INFO
    # The reason can name an address or the client's safe times to call: staff see it on
    # the row; the log names the message only.
    logger.log(level, "notification %s %s", _ids(notification), status)


def _event(notification_id: int, event: str, detail: str = "", by=None) -> None:
    NotificationEvent.objects.create(
        notification_id=notification_id, event=event, detail=detail[:2000], by=by
    )


# --------------------------------------------------------------------------------------
# Staff actions


@transaction.atomic
def notification_cancel(*, notification: Notification, user, reason: str = "") -> Notification:
    """Cancel a message that has not gone yet. One being sent cannot be called back."""
    now = timezone.now()
    cancelled = Notification.objects.filter(pk=notification.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED,
        status_reason=f"Cancelled by staff. {reason}".strip(),
        closed_at=now,
        updated_at=now,
    )
    if not cancelled:
        raise NotificationActionError("Only a message that is still queued can be cancelled.")
    _event(notification.pk, Event.CANCELLED, reason or "Cancelled by staff", by=user)
    notification.refresh_from_db()
    return notification


@transaction.atomic
def notification_resend(*, notification: Notification, user, reason: str) -> Notification:
    """Send a message again, as a new notification that records who asked and why.

    Consent is checked again when the new one is sent. Two people pressing "resend" at the
    same moment make one new message, not two (they compute the same key).
    """
    reason = (reason or "").strip()
    if not reason:
        raise NotificationActionError("Say why the message is being sent again.")
    if notification.is_open:
        raise NotificationActionError("This message has not finished yet; it cannot be resent.")
    original = notification.resend_of or notification
    number = original.resends.count() + 1
    occurrence = f"{original.occurrence}/resend-{number}"
    key = idempotency_key(
        kind=original.kind,
        referral=original.referral,
        recipient=original.recipient,
        occurrence=occurrence,
        staff_user=original.staff_user,
    )
    resent = _insert(
        Notification(
            service_id=original.service_id,
            referral=original.referral,
            staff_user=original.staff_user,
            kind=original.kind,
            recipient=original.recipient,
            occurrence=occurrence[:100],
            idempotency_key=key,
            context=original.context,
            urgent=original.urgent,
            send_after=timezone.now(),
            appointment_at=original.appointment_at,
            resend_of=original,
            requested_by=user,
            request_reason=reason,
        )
    )
    _event(notification.pk, Event.RESEND, reason, by=user)
    _follow_up_resolve(notification, user=user, note=f"Resent: {reason}")
    return resent


@transaction.atomic
def notification_follow_up_record(*, notification: Notification, user, note: str) -> Notification:
    """Record what a person did about a failed or suppressed message (e.g. phoned)."""
    note = (note or "").strip()
    if not note:
        raise NotificationActionError("Say what was done.")
    if not _follow_up_resolve(notification, user=user, note=note):
        raise NotificationActionError("This message is not waiting for follow-up.")
    notification.refresh_from_db()
    return notification


def _follow_up_resolve(notification: Notification, *, user, note: str) -> bool:
    now = timezone.now()
    done = Notification.objects.filter(
        pk=notification.pk, follow_up_needed=True, followed_up_at__isnull=True
    ).update(followed_up_at=now, followed_up_by=user, follow_up_note=note, updated_at=now)
    if done:
        _event(notification.pk, Event.FOLLOWED_UP, note, by=user)
    return bool(done)


# --------------------------------------------------------------------------------------
# Sweeps (beat): the outbox, and messages that come from the passing of time


def outbox_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Publish again what the broker may have lost: rows due but left queued well after
    their last dispatch, and rows whose sender's lease ran out. Returns how many.

    A row whose lease ran out is picked up at every sweep (at most once per re-dispatch
    delay) until it is sent, fails or is handed to staff: its re-publish can be lost too
    (Redis restarted without persistence, the worker killed again). Each re-publish is
    recorded; after NOTIFICATIONS_MAX_ATTEMPTS of them without the message going, the
    sweeper stops, fails it and puts it on the follow-up list, so a stuck risk alert
    reaches a person."""
    now = now or timezone.now()
    stale_dispatch = now - timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_SECONDS)
    not_recently = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale_dispatch)
    due = Q(status=Status.QUEUED, send_after__lte=now) & not_recently
    abandoned = Q(status=Status.SENDING, lease_until__lt=now) & (
        not_recently | Q(dispatched_at__lt=F("lease_until"))
    )
    rows = list(
        Notification.objects.filter(due | abandoned)
        .order_by("-urgent", "send_after", "id")
        .values_list("pk", "public_id", "urgent", "status", "lease_until")[:limit]
    )
    if not rows:
        return 0
    stuck = {pk: lease for pk, _, _, status, lease in rows if status == Status.SENDING}
    republished = dict(
        NotificationEvent.objects.filter(notification_id__in=list(stuck), event=Event.REPUBLISHED)
        .values("notification_id")
        .annotate(n=Count("id"))
        .values_list("notification_id", "n")
    )
    given_up = {pk for pk in stuck if republished.get(pk, 0) >= settings.NOTIFICATIONS_MAX_ATTEMPTS}
    for pk in given_up:
        _abandoned_hand_over(pk, lease_until=stuck[pk], times=republished[pk], now=now)
    to_publish = [row for row in rows if row[0] not in given_up]
    if not to_publish:
        return 0
    Notification.objects.filter(pk__in=[row[0] for row in to_publish]).update(dispatched_at=now)
    NotificationEvent.objects.bulk_create(
        [
            NotificationEvent(
                notification_id=pk,
                at=now,
                event=Event.REPUBLISHED,
                detail="The attempt in progress stopped and its lease ran out; published again.",
            )
            for pk, *_ in to_publish
            if pk in stuck
        ]
    )
    for _, public_id, urgent, _, _ in to_publish:
        tasks.dispatch(public_id, urgent=urgent)
    logger.info("outbox sweep: dispatched %d notifications", len(to_publish))
    return len(to_publish)


def _abandoned_hand_over(pk: int, *, lease_until: datetime, times: int, now: datetime) -> None:
    """Fail a row that re-publishing has not got sent, and put it on the follow-up list.
    Conditional on the lease just read: a worker that has claimed it meanwhile keeps it."""
    reason = (
        f"Sending stopped part-way and the message was re-published {times} times without "
        "being sent; stopped trying. Please make sure it reaches its recipient."
    )
    with transaction.atomic():
        closed = Notification.objects.filter(
            pk=pk, status=Status.SENDING, lease_until=lease_until
        ).update(
            status=Status.FAILED,
            status_reason=reason,
            last_error="Interrupted, and not taken up again after re-publishing",
            lease_until=None,
            closed_at=now,
            follow_up_needed=True,
            updated_at=now,
        )
        if closed:
            _event(pk, Event.FAILED, reason)
    if closed:
        logger.error("notification %s failed: re-published %d times, not sent", pk, times)


CHECKIN_EVERY = timedelta(weeks=6)
APPOINTMENT_KINDS = ("assessment_invitation", "allocation")
REMINDER_BEFORE = timedelta(hours=48)
REMINDER_AT_LEAST = timedelta(hours=3)


def waiting_checkins_queue(*, now: datetime | None = None) -> int:
    """A "still waiting" message at 6 weeks of waiting, and every 6 weeks after that."""
    now = now or timezone.now()
    waiting = kinds.referrals_waiting(before=now - CHECKIN_EVERY)
    candidates = []
    for referral in waiting.iterator(chunk_size=500):
        weeks = int((now - referral.received_at) / CHECKIN_EVERY) * 6
        candidates.append((referral, weeks))
    keys = {
        idempotency_key(
            kind="waiting_checkin", referral=r, recipient="client", occurrence=f"week-{w}"
        ): (r, w)
        for r, w in candidates
    }
    existing = set(
        Notification.objects.filter(idempotency_key__in=list(keys)).values_list(
            "idempotency_key", flat=True
        )
    )
    queued = 0
    send_after = kinds.daytime(now)
    for key, (referral, weeks) in keys.items():
        if key in existing:
            continue
        with transaction.atomic():
            notification_queue(
                kind="waiting_checkin",
                referral=referral,
                occurrence=f"week-{weeks}",
                context={"weeks_waiting": weeks},
                send_after=send_after,
            )
        queued += 1
    return queued


def appointment_reminders_queue(*, now: datetime | None = None) -> int:
    """A reminder about 2 days before each appointment an invitation or allocation letter
    announced, unless it was rearranged since (the latest letter wins)."""
    now = now or timezone.now()
    # Each referral's latest appointment letter (not cancelled, failed or suppressed), read
    # in the same query as the announcements rather than once per announcement.
    latest = (
        Notification.objects.filter(referral_id=OuterRef("referral_id"), kind__in=APPOINTMENT_KINDS)
        .exclude(status__in=[Status.CANCELLED, Status.FAILED, Status.SUPPRESSED])
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    announced = (
        Notification.objects.filter(
            kind__in=APPOINTMENT_KINDS,
            status=Status.SENT,
            appointment_at__gt=now + REMINDER_AT_LEAST,
            appointment_at__lte=now + REMINDER_BEFORE,
            recipient=kinds.CLIENT,
        )
        .annotate(latest_id=Subquery(latest))
        .filter(pk=F("latest_id"))
        .select_related("referral", "referral__service")
        .order_by("referral_id", "-created_at")
    )
    queued = 0
    for source in announced:
        send_after = kinds.daytime(now)
        if send_after > source.appointment_at - REMINDER_AT_LEAST:
            send_after = now
        occurrence = timezone.localtime(source.appointment_at).strftime("%Y%m%dT%H%M")
        context = {
            key: source.context.get(key)
            for key in ("location", "video_link", "by_phone")
            if source.context.get(key)
        }
        with transaction.atomic():
            notification_queue(
                kind="appointment_reminder",
                referral=source.referral,
                occurrence=occurrence,
                context={
                    **context,
                    "appointment_at": source.appointment_at,
                    "source": str(source.public_id),
                },
                send_after=send_after,
            )
        queued += 1
    return queued


# --------------------------------------------------------------------------------------
# Printing


def print_batch_create(*, user) -> PrintBatch | None:
    """Gather every letter not yet printed into one batch (one PDF), once.

    Letters are locked while they are gathered, so two people pressing the button at once
    make one batch, and a letter is in exactly one batch. Consent is read again now: a
    letter whose client has since withdrawn agreement to letters (or to telling the GP) is
    held back and put on the follow-up list instead of being printed.
    """
    if not user.service_id:
        return None
    with transaction.atomic():
        pending = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(service_id=user.service_id, batch__isnull=True, held_back_reason="")
            .select_related("notification", "notification__referral")
            .order_by("created_at", "id")
        )
        printable = []
        contacts = kinds.contacts_options(
            client_ids=list(
                {
                    letter.notification.referral.client_id
                    for letter in pending
                    if letter.notification.referral is not None
                }
            )
        )
        for letter in pending:
            reason = _letter_consent_gone(letter.notification, contacts)
            if reason:
                _letter_hold_back(letter, reason)
            else:
                printable.append(letter)
        if not printable:
            return None
        pdf, pages = letters.merge_for_printing([bytes(letter.pdf) for letter in printable])
        batch = PrintBatch.objects.create(
            service_id=user.service_id,
            created_by=user,
            letter_count=len(printable),
            page_count=pages,
            pdf=pdf,
        )
        Letter.objects.filter(pk__in=[letter.pk for letter in printable]).update(
            batch=batch, updated_at=timezone.now()
        )
        NotificationEvent.objects.bulk_create(
            [
                NotificationEvent(
                    notification_id=letter.notification_id,
                    event=Event.BATCHED,
                    detail=f"Print batch of {batch.created_at:%d %B %Y %H:%M}",
                    by=user,
                )
                for letter in printable
            ]
        )
    return batch


def _letter_consent_gone(notification: Notification, contacts: dict[int, ContactOptions]) -> str:
    if notification.referral is None or notification.recipient not in (kinds.CLIENT, kinds.GP):
        return ""
    contact = contacts[notification.referral.client_id]
    if notification.recipient == kinds.GP and not contact.gp_share_ok:
        return "Not printed: the client withdrew agreement to us telling their GP."
    if notification.recipient == kinds.CLIENT and not contact.letters_ok:
        return "Not printed: the client withdrew agreement to letters at home."
    return ""


def _letter_hold_back(letter: Letter, reason: str) -> None:
    now = timezone.now()
    Letter.objects.filter(pk=letter.pk).update(held_back_reason=reason, updated_at=now)
    Notification.objects.filter(pk=letter.notification_id).update(
        status=Status.SUPPRESSED,
        status_reason=reason,
        closed_at=now,
        follow_up_needed=True,
        updated_at=now,
    )
    _event(letter.notification_id, Event.HELD_BACK, reason)


def print_batch_download(*, batch: PrintBatch, user) -> bytes:
    """The batch's PDF; the first download (who and when) and every later one are recorded."""
    now = timezone.now()
    PrintBatch.objects.filter(pk=batch.pk, first_downloaded_at__isnull=True).update(
        first_downloaded_at=now, first_downloaded_by=user
    )
    PrintBatch.objects.filter(pk=batch.pk).update(download_count=F("download_count") + 1)
    return bytes(batch.pdf)


# --------------------------------------------------------------------------------------
# Preview (reads only: nothing is written or sent)


@dataclass(frozen=True)
class Preview:
    kind: str
    recipient: str
    rendered: rendering.Rendered
    channel: str  # the channel it would use if sent now, or ""
    undeliverable_reason: str
    example: bool  # true when example values stand in for details not known yet
    sms_length: int
    sms_encoding: str


def notification_preview(
    *,
    referral: Model,
    kind: str,
    recipient: str | None = None,
    notification: Notification | None = None,
) -> Preview:
    """What a kind of message would look like for this referral, and where it would go if
    it were sent now. Uses a queued or sent message's own details when given one, else the
    latest message of that kind for the referral, else example values (and says so)."""
    spec = kinds.spec(kind)
    recipient = recipient or (notification.recipient if notification else spec.recipients[0])
    if recipient not in spec.recipients:
        raise ValueError(f"{kind} goes to {' or '.join(spec.recipients)}")
    example = False
    if notification is None:
        notification = (
            Notification.objects.filter(referral=referral, kind=kind, recipient=recipient)
            .order_by("-created_at", "-id")
            .first()
        )
    if notification is not None:
        context = notification.context
    else:
        example = True
        context = _json_safe(kinds.example_context(kind))
    draft = Notification(
        service=referral.service,
        referral=referral,
        staff_user=notification.staff_user if notification else None,
        kind=kind,
        recipient=recipient,
        context=context,
        urgent=spec.urgent,
        appointment_at=kinds.appointment_at(context),
    )
    plan = _plan(draft)
    if isinstance(plan, _Plan):
        who, channel, reason = plan.recipient, plan.channel, ""
    else:
        who, channel, reason = _preview_recipient(draft), "", plan.reason
    rendered = rendering.render_all(_render_context(draft, who))
    length, encoding = rendering.sms_length(rendered.sms)
    return Preview(
        kind=kind,
        recipient=recipient,
        rendered=rendered,
        channel=channel,
        undeliverable_reason=reason,
        example=example,
        sms_length=length if rendered.sms else 0,
        sms_encoding=encoding,
    )


def _preview_recipient(draft: Notification) -> rendering.Recipient:
    if draft.recipient == kinds.DUTY_INBOX:
        return rendering.Recipient(name="", address_lines=(draft.service.duty_inbox_email,))
    if draft.recipient == kinds.STAFF:
        return rendering.Recipient(name="A member of staff", address_lines=())
    contact = kinds.contact_options(client_id=draft.referral.client_id)
    if draft.recipient == kinds.GP:
        return rendering.Recipient(
            name=contact.gp_practice_name or "The GP practice",
            address_lines=rendering.address_lines(contact.gp_practice_address),
        )
    return rendering.Recipient(
        name=contact.name, address_lines=rendering.address_lines(contact.address)
    )
