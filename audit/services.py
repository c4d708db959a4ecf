"""Recording audit events (docs/security.md, "Audit").

The middleware (audit/middleware.py) records every signed-in staff page and partner API
request. Code that does something a request's event does not say in full calls `record`
beside it: a resend or an override with its reason, one event per object of a bulk change,
a reset of someone's two-factor sign-in. For example:

    audit.services.record(
        request=request, action=AuditEvent.Action.RESEND, obj=resent, reason=reason
    )

`user` defaults to the request's; the address comes from the request (common.client_address,
which believes only the trusted proxies) or is given as `address` where there is no request.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models.sql import InsertQuery
from django.http import HttpRequest

from audit.models import AuditEvent
from common.client_address import client_address

Action = AuditEvent.Action


def object_type_of(obj: Any) -> str:
    """The kind of a model instance as the audit names it: its model's name ("referral",
    "notification", "allocation", "user")."""
    return obj._meta.model_name


def _referral_id_of(obj: Any) -> UUID | None:
    if obj is None:
        return None
    if object_type_of(obj) == "referral":
        return obj.public_id
    # A row about a referral (an allocation, a message): its referral's public id, read
    # only if the referral is already loaded or by one indexed query.
    referral = getattr(obj, "referral", None) if hasattr(obj, "referral_id") else None
    return getattr(referral, "public_id", None)


def record(
    *,
    action: str,
    user=None,
    request: HttpRequest | None = None,
    obj: Any = None,
    referral: Any = None,
    address: str | None = None,
    reason: str = "",
    view: str = "",
    method: str = "",
    status: int | None = None,
    object_type: str = "",
    object_id: str = "",
    referral_id: UUID | None = None,
    detail: dict | None = None,
    durable: bool = True,
    service_id: int | None = None,
) -> AuditEvent:
    """Write one event. `obj` is the model instance acted on (its kind and public id are
    kept) and `referral` the referral it belongs to (found from `obj` when not given);
    `reason` is what the member of staff typed, kept encrypted. The service is the member's,
    or with nobody signed in (the client, in the portal) `service_id` or the referral's.

    `durable=False` (the middleware's page reads, unless AUDIT_DURABLE_READS) commits on
    PostgreSQL without waiting for the write-ahead log to reach the disk: the event is
    committed and visible at once, and only a crash of the database server itself in the
    next fraction of a second (wal_writer_delay x 3, 0.6 s by default) could lose it. That
    wait is about half of an event's cost (docs/security.md, "Audit")."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if address is None:
        address = client_address(request) if request is not None else ""
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id or str(obj.public_id)
    elif referral is not None:
        object_type = object_type or "referral"
        object_id = object_id or str(referral.public_id)
    if referral_id is None:
        referral_id = referral.public_id if referral is not None else _referral_id_of(obj)
    event = AuditEvent(
        service_id=getattr(user, "service_id", None)
        or service_id
        or getattr(referral, "service_id", None),
        user=user,
        address=address or "",
        action=action,
        view=view,
        method=method,
        status=status,
        object_type=object_type,
        object_id=object_id,
        referral_id=referral_id,
        detail=detail or {},
        reason=(reason or "").strip(),
    )
    if durable or connection.vendor != "postgresql" or connection.in_atomic_block:
        # Inside a caller's transaction the event commits (or not) with its work.
        event.save(force_insert=True)
        return event
    _insert_without_waiting(event)
    return event


def _insert_without_waiting(event: AuditEvent) -> None:
    """INSERT the event in one round trip, committed without waiting for the disk: the
    setting and the INSERT go as one simple query, which PostgreSQL runs as one implicit
    transaction, so `SET LOCAL` holds for this commit only (as BEGIN; SET LOCAL; INSERT;
    COMMIT would, in four round trips). The INSERT is the one `save` would send, its text
    compiled once (`_insert_sql`) and its values prepared by each field as `save` prepares
    them."""
    fields, sql = _insert_sql()
    params = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.nextset()  # the INSERT's answer: the new event's id
        (event.pk,) = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias


# The fields an event is inserted with and the statement, by database alias: the same text
# for every event (no id given; every value a parameter), so compiled once rather than on
# each request, where compiling it cost about as much as the database took to write it.
_INSERTS: dict[str, tuple[list, str]] = {}


def _insert_sql() -> tuple[list, str]:
    cached = _INSERTS.get(connection.alias)
    if cached is None:
        fields = [
            f
            for f in AuditEvent._meta.local_concrete_fields
            if not f.generated and not f.primary_key
        ]
        query = InsertQuery(AuditEvent)
        query.insert_values(fields, [AuditEvent()])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [AuditEvent._meta.pk]
        ((sql, _params),) = compiler.as_sql()
        cached = _INSERTS[connection.alias] = (
            fields,
            f"SET LOCAL synchronous_commit TO OFF; {sql}",
        )
    return cached
