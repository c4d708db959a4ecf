"""Reads for the staff pages: every one starts from the user's own service."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Page
from django.db.models import Model, Q, QuerySet

from common.paging import page_of
from common.selectors import scope_to_service
from notifications.models import Letter, Notification, PrintBatch

# The list pages never load stored PDFs or full bodies.
_LIST_DEFER = ("body_html", "body_text", "sms_text", "context")


def referral_get(*, user, public_id: UUID) -> Model | None:
    """The referral whose messages a page shows, or None when it is not the user's
    service's. Read through the outbox's own link to the referral: notifications imports
    no app."""
    referrals = Notification._meta.get_field("referral").related_model.objects
    return (
        scope_to_service(referrals.select_related("client"), user)
        .filter(public_id=public_id)
        .first()
    )


def notification_list_for_referral(*, user, referral, page=1) -> Page:
    """One page of the messages about one referral, newest first (the referral is already
    scoped)."""
    return page_of(
        scope_to_service(Notification.objects.all(), user)
        .filter(referral=referral)
        .select_related("requested_by", "resend_of")
        .defer(*_LIST_DEFER)
        .order_by("-created_at", "-id"),
        page=page,
    )


def notification_get(*, user, public_id: UUID) -> Notification:
    """The notification, or Notification.DoesNotExist when it is not the user's service's."""
    return (
        scope_to_service(Notification.objects.all(), user)
        .select_related(
            "referral", "referral__client", "staff_user", "requested_by", "followed_up_by"
        )
        .prefetch_related("events", "events__by", "resends")
        .get(public_id=public_id)
    )


def notification_follow_up_list(*, user, page=1) -> Page:
    """One page of the failed and suppressed messages still waiting for someone to act,
    oldest first."""
    return page_of(
        scope_to_service(Notification.objects.all(), user)
        .filter(
            status__in=[Notification.Status.FAILED, Notification.Status.SUPPRESSED],
            follow_up_needed=True,
            followed_up_at__isnull=True,
        )
        .select_related("referral", "referral__client")
        .defer(*_LIST_DEFER)
        .order_by("closed_at", "id"),
        page=page,
    )


def notification_recently_closed(*, user, limit: int = 20) -> QuerySet[Notification]:
    """Failed or suppressed messages that needed no follow-up, or have had it: for context."""
    return (
        scope_to_service(Notification.objects.all(), user)
        .filter(status__in=[Notification.Status.FAILED, Notification.Status.SUPPRESSED])
        .filter(Q(follow_up_needed=False) | Q(followed_up_at__isnull=False))
        .select_related("referral", "followed_up_by")
        .defer(*_LIST_DEFER)
        .order_by("-closed_at", "-id")[:limit]
    )


def letters_awaiting_print(*, user) -> QuerySet[Letter]:
    return (
        scope_to_service(Letter.objects.all(), user)
        .filter(batch__isnull=True, held_back_reason="")
        .defer("pdf")
    )


def letter_get(*, user, notification_public_id: UUID) -> Letter:
    return scope_to_service(Letter.objects.all(), user).get(
        notification__public_id=notification_public_id
    )


def print_batch_list(*, user) -> QuerySet[PrintBatch]:
    return (
        scope_to_service(PrintBatch.objects.all(), user)
        .select_related("created_by", "first_downloaded_by")
        .defer("pdf")
        .order_by("-created_at")
    )


def print_batch_page(*, user, page=1) -> Page:
    """One page of the service's print batches, newest first."""
    return page_of(print_batch_list(user=user).order_by("-created_at", "-id"), page=page)


def print_batch_get(*, user, public_id: UUID) -> PrintBatch:
    return scope_to_service(PrintBatch.objects.all(), user).get(public_id=public_id)
