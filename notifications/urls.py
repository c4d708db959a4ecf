from django.urls import path

from notifications import views

urlpatterns = [
    path(
        "staff/referrals/<uuid:public_id>/messages/",
        views.referral_messages,
        name="staff-referral-messages",
    ),
    path(
        "staff/referrals/<uuid:public_id>/messages/preview/<slug:kind>/",
        views.message_preview,
        name="staff-message-preview",
    ),
    path(
        "staff/referrals/<uuid:public_id>/messages/preview/<slug:kind>/letter.pdf",
        views.message_preview_pdf,
        name="staff-message-preview-pdf",
    ),
    path(
        "staff/referrals/<uuid:public_id>/messages/preview/<slug:kind>/email.html",
        views.message_preview_email,
        name="staff-message-preview-email",
    ),
    path("staff/messages/", views.follow_up_list, name="staff-messages"),
    path("staff/messages/print/", views.print_batches, name="staff-print-batches"),
    path(
        "staff/messages/print/<uuid:public_id>.pdf",
        views.print_batch_download,
        name="staff-print-batch-download",
    ),
    path("staff/messages/<uuid:public_id>/", views.message_detail, name="staff-message-detail"),
    path(
        "staff/messages/<uuid:public_id>/resend/",
        views.message_resend,
        name="staff-message-resend",
    ),
    path(
        "staff/messages/<uuid:public_id>/cancel/",
        views.message_cancel,
        name="staff-message-cancel",
    ),
    path(
        "staff/messages/<uuid:public_id>/follow-up/",
        views.message_follow_up,
        name="staff-message-follow-up",
    ),
    path(
        "staff/messages/<uuid:public_id>/email.html",
        views.message_email,
        name="staff-message-email",
    ),
    path(
        "staff/messages/<uuid:public_id>/letter.pdf",
        views.message_letter_pdf,
        name="staff-message-letter",
    ),
]
