"""Staff pages over messages: per referral, follow-up, previews and print batches.

Every page needs a member of staff whose role uses it (docs/security.md) and shows only
their own service's data; a referral or message of another service answers 404, like one
that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.access import ANY_STAFF, OFFICE, role_required
from notifications import actions, kinds, letters, printing, selectors
from notifications.forms import CancelForm, FollowUpForm, ResendForm
from notifications.models import Letter, Notification, PrintBatch


def _referral(request: HttpRequest, public_id: UUID) -> Model:
    referral = selectors.referral_get(user=request.user, public_id=public_id)
    if referral is None:
        raise Http404("No such referral")
    return referral


def _notification(request: HttpRequest, public_id: UUID) -> Notification:
    try:
        return selectors.notification_get(user=request.user, public_id=public_id)
    except Notification.DoesNotExist:
        raise Http404("No such message") from None


def _kind_choices() -> list[tuple[str, str]]:
    # In the catalogue's order (the model's choices), whichever app registered each kind.
    registered = set(kinds.KINDS)
    return [(kind, label) for kind, label in Notification.Kind.choices if kind in registered]


@role_required(*ANY_STAFF)
@require_GET
def referral_messages(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral(request, public_id)
    notifications = selectors.notification_list_for_referral(
        user=request.user, referral=referral, page=request.GET.get("page")
    )
    return render(
        request,
        "notifications/staff/referral_messages.html",
        {"referral": referral, "notifications": notifications, "kinds": _kind_choices()},
    )


@role_required(*ANY_STAFF)
@require_GET
def message_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    return _detail(request, notification)


def _detail(request, notification, *, status=200, action_error="", **forms) -> HttpResponse:
    letter = Letter.objects.filter(notification=notification).defer("pdf").first()
    context = {
        "n": notification,
        "action_error": action_error,
        "letter": letter,
        "history": _history(notification),
        "resend_form": forms.get("resend_form") or ResendForm(),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "follow_up_form": forms.get("follow_up_form") or FollowUpForm(),
        "can_cancel": notification.status == Notification.Status.QUEUED,
        "can_resend": not notification.is_open,
        "needs_follow_up": notification.follow_up_needed and not notification.followed_up_at,
    }
    return render(request, "notifications/staff/message_detail.html", context, status=status)


def _history(notification: Notification) -> list[tuple]:
    """(when, what, detail, who) in order: queued, each event, and when it went."""
    queued_by = notification.requested_by if notification.resend_of_id else None
    lines = [(notification.created_at, "Queued", "", queued_by)]
    lines += [(e.at, e.get_event_display(), e.detail, e.by) for e in notification.events.all()]
    if notification.sent_at:
        how = notification.get_channel_display().lower()
        lines.append((notification.sent_at, f"Sent by {how}", notification.to_address, None))
    return sorted(lines, key=lambda line: line[0])


@role_required(*ANY_STAFF)
@require_POST
def message_resend(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    form = ResendForm(request.POST)
    if not form.is_valid():
        return _detail(request, notification, status=400, resend_form=form)
    try:
        resent = actions.notification_resend(
            notification=notification, user=request.user, reason=form.cleaned_data["reason"]
        )
    except actions.NotificationActionError as error:
        return _detail(request, notification, status=400, action_error=str(error))
    messages.success(request, "The message will be sent again. Consent is checked when it goes.")
    return redirect("staff-message-detail", public_id=resent.public_id)


@role_required(*ANY_STAFF)
@require_POST
def message_cancel(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, notification, status=400, cancel_form=form)
    try:
        actions.notification_cancel(
            notification=notification, user=request.user, reason=form.cleaned_data["reason"]
        )
    except actions.NotificationActionError as error:
        return _detail(request, notification, status=400, action_error=str(error))
    messages.success(request, "The message has been cancelled and will not be sent.")
    return redirect("staff-message-detail", public_id=notification.public_id)


@role_required(*ANY_STAFF)
@require_POST
def message_follow_up(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return _detail(request, notification, status=400, follow_up_form=form)
    try:
        actions.notification_follow_up_record(
            notification=notification, user=request.user, note=form.cleaned_data["note"]
        )
    except actions.NotificationActionError as error:
        return _detail(request, notification, status=400, action_error=str(error))
    messages.success(request, "Follow-up recorded.")
    return redirect("staff-messages")


@role_required(*ANY_STAFF)
@require_GET
def message_letter_pdf(request: HttpRequest, public_id: UUID) -> HttpResponse:
    try:
        letter = selectors.letter_get(user=request.user, notification_public_id=public_id)
    except Letter.DoesNotExist:
        raise Http404("No such letter") from None
    return _pdf(bytes(letter.pdf), f"letter-{public_id}.pdf")


@role_required(*ANY_STAFF)
@require_GET
def message_preview(request: HttpRequest, public_id: UUID, kind: str) -> HttpResponse:
    referral = _referral(request, public_id)
    preview = _preview(referral, kind, request.GET.get("recipient") or None)
    spec = kinds.spec(kind)
    return render(
        request,
        "notifications/staff/message_preview.html",
        {
            "referral": referral,
            "preview": preview,
            "kind_label": dict(Notification.Kind.choices)[kind],
            "recipients": [(r, dict(Notification.Recipient.choices)[r]) for r in spec.recipients],
            "channel_label": dict(Notification.Channel.choices).get(preview.channel, ""),
        },
    )


@role_required(*ANY_STAFF)
@require_GET
def message_preview_pdf(request: HttpRequest, public_id: UUID, kind: str) -> HttpResponse:
    referral = _referral(request, public_id)
    preview = _preview(referral, kind, request.GET.get("recipient") or None)
    pdf, _ = letters.render_pdf(preview.rendered.letter_html)
    return _pdf(pdf, f"preview-{kind}.pdf")


def _preview(referral: Model, kind: str, recipient: str | None) -> selectors.Preview:
    try:
        return selectors.notification_preview(referral=referral, kind=kind, recipient=recipient)
    except ValueError:
        raise Http404("No such kind of message") from None


@role_required(*ANY_STAFF)
@require_GET
def follow_up_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "notifications/staff/follow_up_list.html",
        {
            "follow_ups": selectors.notification_follow_up_list(
                user=user, page=request.GET.get("page")
            ),
            "recently_closed": selectors.notification_recently_closed(user=user),
            "awaiting_print": selectors.letters_awaiting_print(user=user).count(),
        },
    )


@role_required(*OFFICE)
@require_http_methods(["GET", "POST"])
def print_batches(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        batch = printing.print_batch_create(user=request.user)
        if batch is None:
            messages.info(request, "There are no letters waiting to be printed.")
        else:
            messages.success(
                request,
                f"Print batch made: {batch.letter_count} letters, {batch.page_count} pages. "
                "Download it below.",
            )
        return redirect("staff-print-batches")
    return render(
        request,
        "notifications/staff/print_batches.html",
        {
            "batches": selectors.print_batch_page(user=request.user, page=request.GET.get("page")),
            "awaiting_print": selectors.letters_awaiting_print(user=request.user).count(),
        },
    )


@role_required(*OFFICE)
@require_GET
def print_batch_download(request: HttpRequest, public_id: UUID) -> HttpResponse:
    try:
        batch = selectors.print_batch_get(user=request.user, public_id=public_id)
    except PrintBatch.DoesNotExist:
        raise Http404("No such print batch") from None
    pdf = printing.print_batch_download(batch=batch, user=request.user)
    return _pdf(pdf, f"print-batch-{batch.created_at:%Y-%m-%d-%H%M}.pdf", download=True)


def _pdf(content: bytes, filename: str, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
