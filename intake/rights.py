"""Rights requests: a client's request to correct their record (UK GDPR Art. 16) or to
restrict its use (Art. 18), worked by staff as a task (docs/security.md, "Rights requests").

Writes: `rights_request_open` (staff, or the client portal), `rights_request_extend`,
`rights_request_complete` and `restriction_lift`. Each is one atomic function, so each
decision has exactly one place to be audited. Reads: the task list, one request, a
referral's requests.

A restriction is in force from when it is recorded until it is lifted (or the request is
refused). While it is, `Referral.restricted_at` is set: staff pages of the referral show a
banner, allocation leaves the referral out, and no message goes to the client or their GP
(notifications asks `restriction_hold_reason` at send time and again when letters are
printed). Risk alerts to staff still go: the duty of care does not stop.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from django.core.paginator import Page
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from common.errors import ServiceError
from common.paging import page_of, page_with_rows
from common.selectors import scope_to_service
from intake.models import Referral, RightsRequest

Kind = RightsRequest.Kind
Status = RightsRequest.Status

DETAILS_LIMIT = 4000
# Art. 12(3): one month, "extended by two further months where necessary".
MAX_EXTENSION_MONTHS = 2
DUE_SOON_DAYS = 7

RESTRICTED_NOT_SENT = (
    "Not sent: the client has asked us to restrict the use of their record (a rights "
    "request), so no routine message goes to them or their GP while it is in force."
)


class RightsError(ServiceError):
    """A rights request change that cannot be made; the message says why."""


# --- Dates -----------------------------------------------------------------------------------


def months_after(day: date, months: int) -> date:
    """The same date `months` calendar months on; the month's last day where it has no such
    date (31 January + 1 month is 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def working_day(day: date) -> date:
    """The day itself, or the Monday after when it falls at a weekend (the ICO's guidance:
    a deadline on a non-working day moves to the next working day). Bank holidays are not
    known to the service; see docs/security.md."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def due_on(received_on: date, *, extension_months: int = 0) -> date:
    return working_day(months_after(received_on, 1 + extension_months))


# --- Writes ----------------------------------------------------------------------------------


def _clean_text(value: str, *, field: str, missing: str, limit: int = DETAILS_LIMIT) -> str:
    text = (value or "").strip()
    if not text:
        raise RightsError(missing, field=field)
    if len(text) > limit:
        raise RightsError(
            f"This must be {limit} characters or fewer (you have {len(text)})", field=field
        )
    return text


def _restriction_sync(referral_id: int) -> None:
    """Set `Referral.restricted_at` from the restrictions in force: the earliest one's start,
    or null. An UPDATE of that column only, so the referral's `updated_at` (from which the
    retention periods run) does not move."""
    first = (
        RightsRequest.objects.filter(
            referral_id=referral_id, kind=Kind.RESTRICTION, restriction_lifted_at__isnull=True
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    Referral.objects.filter(pk=referral_id).update(restricted_at=first)


def _locked_referral(referral_id: int) -> Referral:
    # One lock order everywhere: the referral, then its requests.
    return Referral.objects.select_for_update().get(pk=referral_id)


@transaction.atomic
def rights_request_open(
    *,
    referral: Referral,
    kind: str,
    details: str,
    source: str,
    received_on: date | None = None,
    recorded_by=None,
) -> RightsRequest:
    """Record a client's request on their referral, due one calendar month from receipt.

    Staff record it from a call, a letter or an email; the client portal calls it with
    `source="portal"` and no `recorded_by`. A restriction is in force at once: the referral
    is held from allocation and routine messages from then on."""
    if kind not in Kind.values:
        raise RightsError(
            "Choose whether the client asks for a copy, a correction or a restriction",
            field="kind",
        )
    if source not in RightsRequest.Source.values:
        raise RightsError("Choose how the request came", field="source")
    text = _clean_text(
        details, field="details", missing="Enter what the client asks for, in their words"
    )
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today:
        raise RightsError("The date received must be today or in the past", field="received_on")
    if received_on < today - timedelta(days=366):
        raise RightsError("The date received must be within the last year", field="received_on")
    locked = _locked_referral(referral.pk)
    request = RightsRequest.objects.create(
        service_id=locked.service_id,
        referral=locked,
        kind=kind,
        details=text,
        received_on=received_on,
        source=source,
        recorded_by=recorded_by,
        first_due_on=due_on(received_on),
        due_on=due_on(received_on),
    )
    if kind == Kind.RESTRICTION:
        _restriction_sync(locked.pk)
        referral.restricted_at = Referral.objects.values_list("restricted_at", flat=True).get(
            pk=locked.pk
        )
    return request


def _locked_request(request: RightsRequest) -> RightsRequest:
    _locked_referral(request.referral_id)
    return RightsRequest.objects.select_for_update().get(pk=request.pk)


@transaction.atomic
def rights_request_extend(
    *, request: RightsRequest, user, months: int, reason: str
) -> RightsRequest:
    """Extend the time to answer to two (months=1) or three (months=2) calendar months from
    receipt, with the reason the client is told. Art. 12(3) asks that the client hears of
    an extension within the first month, so it can be made only until the first due date."""
    locked = _locked_request(request)
    if locked.status != Status.OPEN:
        raise RightsError("This request is already completed, so it cannot be extended.")
    if months not in range(1, MAX_EXTENSION_MONTHS + 1):
        raise RightsError("Choose an extension of one or two months", field="months")
    if months <= locked.extension_months:
        raise RightsError(
            f"The request is already extended by {locked.extension_months} "
            f"month{'s' if locked.extension_months > 1 else ''}: choose a longer extension",
            field="months",
        )
    if timezone.localdate() > locked.first_due_on:
        raise RightsError(
            "An extension must be made, and the client told, within one month of receiving "
            f"the request (by {locked.first_due_on:%-d %B %Y}). That time has passed: "
            "complete the request as soon as you can.",
            field="months",
        )
    text = _clean_text(
        reason, field="reason", missing="Enter why more time is needed (the client is told)"
    )
    locked.extension_months = months
    locked.extension_reason = text
    locked.due_on = due_on(locked.received_on, extension_months=months)
    locked.extended_at = timezone.now()
    locked.extended_by = user
    locked.save(
        update_fields=[
            "extension_months",
            "extension_reason",
            "due_on",
            "extended_at",
            "extended_by",
            "updated_at",
        ]
    )
    return locked


@transaction.atomic
def rights_request_complete(
    *, request: RightsRequest, user, status: str, outcome: str, client_told_of_ico: bool = False
) -> RightsRequest:
    """Close the task with its outcome. Done: what was corrected (or that the restriction is
    in place). Refused: why, and the client must have been told of their right to complain
    to the ICO; a refused restriction is lifted at the same time, for the same reason."""
    locked = _locked_request(request)
    if locked.status != Status.OPEN:
        raise RightsError(
            f"This request was already completed ({locked.get_status_display().lower()})."
        )
    if status not in (Status.DONE, Status.REFUSED):
        raise RightsError("Choose whether the request was done or refused", field="status")
    done_words = {
        Kind.CORRECTION: "Enter what was corrected, and where",
        Kind.RESTRICTION: "Enter what was restricted and how the client was told",
        Kind.ACCESS: "Enter what was given to the client, how and when",
    }
    missing = (
        done_words[locked.kind]
        if status == Status.DONE
        else "Enter why the request was refused (the client is told)"
    )
    text = _clean_text(outcome, field="outcome", missing=missing)
    if status == Status.REFUSED and not client_told_of_ico:
        raise RightsError(
            "Tell the client they can complain to the Information Commissioner's Office "
            "(ICO), then confirm it here",
            field="client_told_of_ico",
        )
    now = timezone.now()
    locked.status = status
    locked.outcome = text
    locked.client_told_of_ico = bool(client_told_of_ico)
    locked.completed_at = now
    locked.completed_by = user
    fields = ["status", "outcome", "client_told_of_ico", "completed_at", "completed_by"]
    if status == Status.REFUSED and locked.in_force:
        locked.restriction_lifted_at = now
        locked.restriction_lifted_by = user
        locked.restriction_lift_reason = f"The request was refused: {text}"
        fields += ["restriction_lifted_at", "restriction_lifted_by", "restriction_lift_reason"]
    locked.save(update_fields=[*fields, "updated_at"])
    if locked.kind == Kind.RESTRICTION:
        _restriction_sync(locked.referral_id)
    return locked


@transaction.atomic
def restriction_lift(
    *, request: RightsRequest, user, reason: str, client_told: bool
) -> RightsRequest:
    """End a restriction, with the reason. Art. 18(3): the client is told before it is
    lifted, so the person lifting it confirms they were."""
    locked = _locked_request(request)
    if locked.kind != Kind.RESTRICTION:
        raise RightsError("Only a restriction can be lifted.")
    if locked.restriction_lifted_at is not None:
        raise RightsError(
            f"This restriction was already lifted on {locked.restriction_lifted_at:%-d %B %Y}."
        )
    text = _clean_text(reason, field="reason", missing="Enter why the restriction is lifted")
    if not client_told:
        raise RightsError(
            "The client must be told before a restriction is lifted: tell them, then confirm it "
            "here",
            field="client_told",
        )
    locked.restriction_lifted_at = timezone.now()
    locked.restriction_lifted_by = user
    locked.restriction_lift_reason = text
    locked.save(
        update_fields=[
            "restriction_lifted_at",
            "restriction_lifted_by",
            "restriction_lift_reason",
            "updated_at",
        ]
    )
    _restriction_sync(locked.referral_id)
    return locked


# --- Reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    request: RightsRequest
    overdue: bool
    due_soon: bool


def _tasks(user) -> QuerySet[RightsRequest]:
    return scope_to_service(RightsRequest.objects.all(), user).select_related(
        "referral", "referral__client"
    )


def rights_tasks_page(*, user, closed: bool = False, page=1) -> Page:
    """One page of the service's rights requests: open ones soonest due first (so overdue,
    then due soon), or completed ones newest first."""
    if closed:
        requests = _tasks(user).exclude(status=Status.OPEN).order_by("-completed_at", "-id")
    else:
        requests = _tasks(user).filter(status=Status.OPEN).order_by("due_on", "id")
    found = page_of(requests, page=page)
    today = timezone.localdate()
    return page_with_rows(
        found,
        [
            TaskRow(
                request=r,
                overdue=r.status == Status.OPEN and r.due_on < today,
                due_soon=r.status == Status.OPEN
                and today <= r.due_on <= today + timedelta(days=DUE_SOON_DAYS),
            )
            for r in found
        ],
    )


@dataclass(frozen=True)
class TaskCounts:
    open: int
    overdue: int


def rights_tasks_counts(*, user) -> TaskCounts:
    from django.db.models import Count, Q

    counts = (
        scope_to_service(RightsRequest.objects.all(), user)
        .filter(status=Status.OPEN)
        .aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=timezone.localdate())))
    )
    return TaskCounts(**counts)


def rights_request_get(*, user, public_id: UUID) -> RightsRequest | None:
    """One of the user's service's requests, with who recorded and completed it."""
    return (
        _tasks(user)
        .select_related("recorded_by", "completed_by", "extended_by", "restriction_lifted_by")
        .filter(public_id=public_id)
        .first()
    )


REFERRAL_REQUESTS_SHOWN = 20


def rights_requests_for_referral(*, referral: Referral) -> list[RightsRequest]:
    """The referral's requests, newest first, at most REFERRAL_REQUESTS_SHOWN."""
    return list(
        RightsRequest.objects.filter(referral=referral).order_by("-received_on", "-id")[
            :REFERRAL_REQUESTS_SHOWN
        ]
    )


# --- What other parts ask at the moment they act -----------------------------------------------


def restriction_hold_reason(referral) -> str:
    """Why nothing routine may go to the client or their GP about this referral now ("" when
    nothing stops it). Registered with notifications; reads the referral as loaded."""
    return RESTRICTED_NOT_SENT if getattr(referral, "restricted_at", None) else ""


def restriction_notice(context) -> str:
    """The banner at the top of every staff page about a referral under restriction."""
    referral = context.get("referral")
    if not isinstance(referral, Referral) or referral.restricted_at is None:
        return ""
    return render_to_string(
        "intake/staff/_restriction_banner.html",
        {"referral": referral, "staff_user": context.get("staff_user")},
    )
