"""The outbox: writing a message into it, inside the caller's transaction.

This module owns the row that becomes a message. `notification_queue` checks what is asked
(a kind's recipients, a risk alert never to a client), computes the idempotency key (kind,
referral, occurrence) and writes the row with `INSERT … ON CONFLICT DO NOTHING`, so the same
message asked for twice is one row. A row due now is published to a worker only once the
caller's transaction commits (`notifications/publisher.py`). `insert` is shared with a
staff resend, and `event_record` writes one line of a message's history for every module
that changes a row. Delivery is `notifications/sending.py`; sweeps `notifications/sweeps.py`.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import NOT_PROVIDED, Model
from django.utils import timezone

from notifications import kinds
from notifications.models import Notification, NotificationEvent
from notifications.publisher import publisher


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
    return insert(
        Notification(
            service_id=service_id,
            referral=referral,
            staff_user=staff_user,
            kind=kind,
            recipient=recipient,
            occurrence=occurrence,
            idempotency_key=key,
            context=json_safe(context or {}),
            urgent=spec.urgent,
            send_after=send_after or timezone.now(),
            appointment_at=kinds.appointment_at(context or {}),
        )
    )


def json_safe(context: dict) -> dict:
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


def insert(notification: Notification) -> Notification:
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


def event_record(notification_id: int, event: str, detail: str = "", by=None) -> None:
    """One line of a message's history (what happened, and who did it if a person did)."""
    NotificationEvent.objects.create(
        notification_id=notification_id, event=event, detail=detail[:2000], by=by
    )
