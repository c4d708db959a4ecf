"""Reads for the staff pages: every one starts from the user's own service.

Also the preview of a message (`notification_preview`): what a kind would look like for a
referral and where it would go now, addressed as a send would be; nothing is written. And,
for the client portal, the messages sent to one client (`client_messages_sent`,
`client_message_pdf`), scoped to a referral the caller has already checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.core.paginator import Page
from django.db.models import Model, Q, QuerySet

from common import access
from common.paging import page_of
from common.selectors import scope_to_service
from notifications import kinds, letters, rendering
from notifications.addressing import Plan, address, render_context
from notifications.models import Letter, Notification, PrintBatch
from notifications.outbox import json_safe

# The list pages never load stored PDFs or full bodies.
_LIST_DEFER = ("body_html", "body_text", "sms_text", "context")


def referral_get(*, user, public_id: UUID) -> Model | None:
    """The referral whose messages a page shows, or None when it is not the user's
    service's or the user does not open it (common.access). Read through the outbox's own
    link to the referral: notifications imports no app."""
    referrals = Notification._meta.get_field("referral").related_model.objects
    return (
        access.referrals_opened_by(user, scope_to_service(referrals.select_related("client"), user))
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
    """The notification, or Notification.DoesNotExist when it is not the user's service's or
    is about a referral the user does not open (common.access)."""
    notification = (
        scope_to_service(Notification.objects.all(), user)
        .select_related(
            "referral", "referral__client", "staff_user", "requested_by", "followed_up_by"
        )
        .prefetch_related("events", "events__by", "resends")
        .get(public_id=public_id)
    )
    if notification.referral_id and not access.may_open_referral(user, notification.referral):
        raise Notification.DoesNotExist
    return notification


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
    letter = (
        scope_to_service(Letter.objects.all(), user)
        .select_related("notification__referral")
        .get(notification__public_id=notification_public_id)
    )
    referral = letter.notification.referral
    if referral is not None and not access.may_open_referral(user, referral):
        raise Letter.DoesNotExist
    return letter


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


# --- Pages: what each staff page shows, read in one call -------------------------------


@dataclass(frozen=True)
class ReferralMessages:
    referral: Model
    notifications: Page
    kinds: list[tuple[str, str]]  # the kinds a member of staff can preview


def kind_choices() -> list[tuple[str, str]]:
    """The registered kinds, in the catalogue's order (the model's choices)."""
    registered = set(kinds.KINDS)
    return [(kind, label) for kind, label in Notification.Kind.choices if kind in registered]


def referral_messages(*, user, public_id: UUID, page=1) -> ReferralMessages | None:
    """One page of the messages about a referral of the user's service, or None."""
    referral = referral_get(user=user, public_id=public_id)
    if referral is None:
        return None
    return ReferralMessages(
        referral=referral,
        notifications=notification_list_for_referral(user=user, referral=referral, page=page),
        kinds=kind_choices(),
    )


@dataclass(frozen=True)
class MessageDetail:
    n: Notification
    letter: Letter | None  # the stored letter, without its PDF
    history: list[tuple]  # (when, what, detail, who), oldest first
    can_cancel: bool
    can_resend: bool
    needs_follow_up: bool


def notification_detail(*, user, public_id: UUID) -> MessageDetail | None:
    """One message of the user's service with its letter and history, or None."""
    try:
        notification = notification_get(user=user, public_id=public_id)
    except Notification.DoesNotExist:
        return None
    return MessageDetail(
        n=notification,
        letter=Letter.objects.filter(notification=notification).defer("pdf").first(),
        history=_history(notification),
        can_cancel=notification.status == Notification.Status.QUEUED,
        can_resend=not notification.is_open,
        needs_follow_up=notification.follow_up_needed and not notification.followed_up_at,
    )


def _history(notification: Notification) -> list[tuple]:
    """(when, what, detail, who) in order: queued, each event, and when it went."""
    queued_by = notification.requested_by if notification.resend_of_id else None
    lines = [(notification.created_at, "Queued", "", queued_by)]
    lines += [(e.at, e.get_event_display(), e.detail, e.by) for e in notification.events.all()]
    if notification.sent_at:
        how = notification.get_channel_display().lower()
        lines.append((notification.sent_at, f"Sent by {how}", notification.to_address, None))
    return sorted(lines, key=lambda line: line[0])


@dataclass(frozen=True)
class FollowUps:
    follow_ups: Page
    recently_closed: list[Notification]
    awaiting_print: int


def follow_up_page(*, user, page=1) -> FollowUps:
    """The follow-up list: one page of messages waiting for someone to act, the latest
    closed ones for context, and how many letters wait to be printed."""
    return FollowUps(
        follow_ups=notification_follow_up_list(user=user, page=page),
        recently_closed=list(notification_recently_closed(user=user)),
        awaiting_print=letters_awaiting_print(user=user).count(),
    )


@dataclass(frozen=True)
class PrintBatches:
    batches: Page
    awaiting_print: int


def print_batches_page(*, user, page=1) -> PrintBatches:
    return PrintBatches(
        batches=print_batch_page(user=user, page=page),
        awaiting_print=letters_awaiting_print(user=user).count(),
    )


@dataclass(frozen=True)
class MessagePreview:
    referral: Model
    preview: Preview
    kind_label: str
    recipients: list[tuple[str, str]]
    channel_label: str


def message_preview(
    *, user, public_id: UUID, kind: str, recipient: str | None
) -> MessagePreview | None:
    """A kind of message as it would be for a referral of the user's service (None when
    the referral is not one); ValueError for a kind or recipient that does not exist."""
    referral = referral_get(user=user, public_id=public_id)
    if referral is None:
        return None
    preview = notification_preview(referral=referral, kind=kind, recipient=recipient)
    return MessagePreview(
        referral=referral,
        preview=preview,
        kind_label=dict(Notification.Kind.choices)[kind],
        recipients=[
            (r, dict(Notification.Recipient.choices)[r]) for r in kinds.spec(kind).recipients
        ],
        channel_label=dict(Notification.Channel.choices).get(preview.channel, ""),
    )


# --- The preview of a message --------------------------------------------------------------


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
        context = json_safe(kinds.example_context(kind))
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
    plan = address(draft)
    if isinstance(plan, Plan):
        who, channel, reason = plan.recipient, plan.channel, ""
    else:
        who, channel, reason = _preview_recipient(draft), "", plan.reason
    rendered = rendering.render_all(render_context(draft, who))
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


# --- For the client (the portal): scoped to one referral, which the caller has checked ------

CLIENT_COPY_LIMIT = 50


def _client_copies(referral):
    # Messages addressed at send time carry a one-time link or code: nothing to keep a copy of.
    one_time = [kind for kind in kinds.KINDS if kinds.spec(kind).at_send]
    return Notification.objects.filter(
        referral=referral, recipient=kinds.CLIENT, status=Notification.Status.SENT
    ).exclude(kind__in=one_time)


def client_messages_sent(*, referral, limit: int = CLIENT_COPY_LIMIT) -> list[Notification]:
    """The letters and messages sent to the client about this referral, newest first (at
    most `limit`), without their bodies."""
    return list(
        _client_copies(referral)
        .defer("body_text", "body_html", "sms_text", "subject")
        .order_by("-sent_at", "-id")[:limit]
    )


def client_messages_with_text(*, referral, limit: int) -> list[Notification]:
    """The letters and messages sent to the client about this referral, oldest first (at
    most `limit`), with what they said: for the client's copy of their data (one read)."""
    return list(
        _client_copies(referral)
        .only(
            "public_id",
            "kind",
            "channel",
            "sent_at",
            "subject",
            "body_text",
            "body_html",
            "sms_text",
        )
        .order_by("sent_at", "id")[:limit]
    )


def client_message_pdf(*, referral, public_id: UUID) -> bytes | None:
    """One message sent to the client, as a PDF: a letter as printed; an email or a text as
    a letter on the service's letterhead, rendered from what it was sent about. None if it
    is not one of this referral's messages to the client."""
    notification = (
        _client_copies(referral)
        .select_related("service", "referral", "referral__client")
        .filter(public_id=public_id)
        .first()
    )
    if notification is None:
        return None
    letter = Letter.objects.filter(notification=notification).first()
    if letter is not None:
        return bytes(letter.pdf)
    contact = kinds.contact_options(client_id=referral.client_id)
    who = rendering.Recipient(
        name=contact.name, address_lines=rendering.address_lines(contact.address)
    )
    pdf, _pages = letters.render_pdf(
        rendering.render_letter_html(render_context(notification, who))
    )
    return pdf


def notifications_readable(*, user) -> QuerySet[Notification]:
    """Messages of the user's service about referrals the user opens (messages about no
    referral, to staff, are not listed: they are read on the staff pages)."""
    referrals = Notification._meta.get_field("referral").related_model.objects
    opened = access.referrals_opened_by(user, scope_to_service(referrals.all(), user))
    return (
        scope_to_service(Notification.objects.all(), user)
        .filter(referral__in=opened)
        .defer(*_LIST_DEFER)
    )
