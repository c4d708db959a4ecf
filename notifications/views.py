"""Staff pages over messages: per referral, follow-up, previews and print batches.

Every page needs a member of staff whose role uses it (docs/security.md) and shows only
their own service's data; a referral or message of another service answers 404, like one
that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit import services as audit
from common.access import ANY_STAFF, OFFICE, role_required
from common.pages import page_context
from notifications import actions, letters, printing, selectors
from notifications.forms import CancelForm, FollowUpForm, ResendForm
from notifications.models import Letter, Notification, PrintBatch


def _notification(request: HttpRequest, public_id: UUID) -> Notification:
    try:
        return selectors.notification_get(user=request.user, public_id=public_id)
    except Notification.DoesNotExist:
        raise Http404("No such message") from None


@role_required(*ANY_STAFF)
@require_safe
def referral_messages(request: HttpRequest, public_id: UUID) -> HttpResponse:
    page = selectors.referral_messages(
        user=request.user, public_id=public_id, page=request.GET.get("page")
    )
    if page is None:
        raise Http404("No such referral")
    return render(
        request,
        "notifications/staff/referral_messages.html",
        {"referral": page.referral, "notifications": page.notifications, "kinds": page.kinds},
    )


@role_required(*ANY_STAFF)
@require_safe
def message_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _detail(request, public_id)


def _detail(request, public_id: UUID, *, status=200, action_error="", **forms) -> HttpResponse:
    detail = selectors.notification_detail(user=request.user, public_id=public_id)
    if detail is None:
        raise Http404("No such message")
    context = {
        **page_context(detail),
        "action_error": action_error,
        "resend_form": forms.get("resend_form") or ResendForm(),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "follow_up_form": forms.get("follow_up_form") or FollowUpForm(),
    }
    return render(request, "notifications/staff/message_detail.html", context, status=status)


@role_required(*ANY_STAFF)
@require_POST
def message_resend(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    form = ResendForm(request.POST)
    if not form.is_valid():
        return _detail(request, public_id, status=400, resend_form=form)
    try:
        resent = actions.notification_resend(
            notification=notification, user=request.user, reason=form.cleaned_data["reason"]
        )
    except actions.NotificationActionError as error:
        return _detail(request, public_id, status=400, action_error=str(error))
    audit.record(
        request=request, action=audit.Action.RESEND, obj=resent, reason=resent.request_reason
    )
    messages.success(request, "The message will be sent again. Consent is checked when it goes.")
    return redirect("staff-message-detail", public_id=resent.public_id)


@role_required(*ANY_STAFF)
@require_POST
def message_cancel(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, public_id, status=400, cancel_form=form)
    try:
        actions.notification_cancel(
            notification=notification, user=request.user, reason=form.cleaned_data["reason"]
        )
    except actions.NotificationActionError as error:
        return _detail(request, public_id, status=400, action_error=str(error))
    messages.success(request, "The message has been cancelled and will not be sent.")
    return redirect("staff-message-detail", public_id=notification.public_id)


@role_required(*ANY_STAFF)
@require_POST
def message_follow_up(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return _detail(request, public_id, status=400, follow_up_form=form)
    try:
        actions.notification_follow_up_record(
            notification=notification, user=request.user, note=form.cleaned_data["note"]
        )
    except actions.NotificationActionError as error:
        return _detail(request, public_id, status=400, action_error=str(error))
    messages.success(request, "Follow-up recorded.")
    return redirect("staff-messages")


# An email's own HTML, shown in a sandboxed frame on the message and preview pages. Email
# needs inline styles; this response alone allows them (the pages framing it do not), runs no
# script, loads nothing from elsewhere, and may be framed only by our own pages.
EMAIL_FRAME_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:"],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
}


def _email_frame(html: str) -> HttpResponse:
    return HttpResponse(html)


@role_required(*ANY_STAFF)
@require_safe
@xframe_options_sameorigin
@csp(EMAIL_FRAME_POLICY)
def message_email(request: HttpRequest, public_id: UUID) -> HttpResponse:
    notification = _notification(request, public_id)
    if notification.status != Notification.Status.SENT or not notification.body_html:
        raise Http404("No email sent")
    return _email_frame(notification.body_html)


@role_required(*ANY_STAFF)
@require_safe
@xframe_options_sameorigin
@csp(EMAIL_FRAME_POLICY)
def message_preview_email(request: HttpRequest, public_id: UUID, kind: str) -> HttpResponse:
    return _email_frame(_preview(request, public_id, kind).preview.rendered.html)


@role_required(*ANY_STAFF)
@require_safe
def message_letter_pdf(request: HttpRequest, public_id: UUID) -> HttpResponse:
    try:
        letter = selectors.letter_get(user=request.user, notification_public_id=public_id)
    except Letter.DoesNotExist:
        raise Http404("No such letter") from None
    return _pdf(bytes(letter.pdf), f"letter-{public_id}.pdf")


@role_required(*ANY_STAFF)
@require_safe
def message_preview(request: HttpRequest, public_id: UUID, kind: str) -> HttpResponse:
    page = _preview(request, public_id, kind)
    return render(
        request,
        "notifications/staff/message_preview.html",
        page_context(page),
    )


@role_required(*ANY_STAFF)
@require_safe
def message_preview_pdf(request: HttpRequest, public_id: UUID, kind: str) -> HttpResponse:
    page = _preview(request, public_id, kind)
    pdf, _ = letters.render_pdf(page.preview.rendered.letter_html)
    return _pdf(pdf, f"preview-{kind}.pdf")


def _preview(request, public_id: UUID, kind: str) -> selectors.MessagePreview:
    recipient = request.GET.get("recipient") or None
    try:
        page = selectors.message_preview(
            user=request.user, public_id=public_id, kind=kind, recipient=recipient
        )
    except ValueError:
        raise Http404("No such kind of message") from None
    if page is None:
        raise Http404("No such referral")
    return page


@role_required(*ANY_STAFF)
@require_safe
def follow_up_list(request: HttpRequest) -> HttpResponse:
    page = selectors.follow_up_page(user=request.user, page=request.GET.get("page"))
    return render(
        request,
        "notifications/staff/follow_up_list.html",
        page_context(page),
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
    page = selectors.print_batches_page(user=request.user, page=request.GET.get("page"))
    return render(
        request,
        "notifications/staff/print_batches.html",
        page_context(page),
    )


@role_required(*OFFICE)
@require_safe
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
