"""Staff pages: every message for a referral with its status, channel, attempts, problems and
content as sent; resend with a reason, cancel, follow up; previews; print batches. Scoped to
the user's own service: anything else is 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications import kinds, printing, selectors, sending
from notifications.models import Notification
from notifications.outbox import notification_queue
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db

Status = Notification.Status


@pytest.fixture
def sent(referral):
    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    return Notification.objects.get(pk=notification.pk)


@pytest.fixture
def suppressed(service):
    referral = make_referral(service, agreed=("phone",))
    notification = notification_queue(kind="assessment_invitation", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    return Notification.objects.get(pk=notification.pk)


def test_the_referrals_messages_page_lists_each_with_status_channel_and_attempts(
    client, assessor, sent, suppressed
):
    client.force_login(assessor)

    page = client.get(reverse("staff-referral-messages", args=[sent.referral.public_id]))

    assert page.status_code == 200
    assert "Acknowledgement of referral" in page.text
    assert "Sent" in page.text and "Email" in page.text
    assert "phone calls only" not in page.text  # another referral's message


def test_a_message_page_shows_the_content_as_sent_and_its_history(client, assessor, sent):
    client.force_login(assessor)

    page = client.get(reverse("staff-message-detail", args=[sent.public_id]))

    assert page.status_code == 200
    assert sent.subject in page.text
    assert "WHAT HAPPENS NEXT" in page.text  # the plain-text body as sent
    assert sent.message_id.replace("<", "&lt;").replace(">", "&gt;") in page.text
    assert "History" in page.text
    # The HTML email sits in a sandboxed frame of its own address: it cannot break out of
    # the page, and its inline styles are allowed there alone (docs/security.md).
    email_url = reverse("staff-message-email", args=[sent.public_id])
    assert f'sandbox="" src="{email_url}"' in page.text
    email = client.get(email_url)
    assert email.text.startswith("<!DOCTYPE html>")
    assert 'lang="en-GB"' in email.text
    assert "What happens next" in email.text  # the HTML body as sent


def test_a_problem_is_shown_with_its_reason(client, assessor, suppressed):
    client.force_login(assessor)

    page = client.get(reverse("staff-referral-messages", args=[suppressed.referral.public_id]))

    assert "Not sent (no agreed channel)" in page.text
    assert "phone calls only" in page.text


def test_resending_needs_a_reason_and_records_who_and_why(client, assessor, sent):
    client.force_login(assessor)
    url = reverse("staff-message-resend", args=[sent.public_id])

    refused = client.post(url, {"resend-reason": ""})
    assert refused.status_code == 400
    assert "Enter why you are sending the message again" in refused.text

    response = client.post(url, {"resend-reason": "Client says it never arrived"})

    resent = Notification.objects.get(resend_of=sent)
    assert response.status_code == 302
    assert response.url == reverse("staff-message-detail", args=[resent.public_id])
    assert resent.requested_by == assessor
    assert resent.request_reason == "Client says it never arrived"
    assert resent.status == Status.QUEUED and resent.occurrence == "1/resend-1"
    assert sent.events.filter(event="resend", by=assessor).exists()


def test_cancelling_works_only_while_queued(client, coordinator, referral, sent):
    queued = notification_queue(kind="waiting_checkin", referral=referral)
    client.force_login(coordinator)

    client.post(
        reverse("staff-message-cancel", args=[queued.public_id]),
        {"cancel-reason": "Seen in clinic"},
    )
    too_late = client.post(reverse("staff-message-cancel", args=[sent.public_id]), {})

    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED and "Seen in clinic" in queued.status_reason
    assert too_late.status_code == 400
    assert "still queued" in too_late.text
    assert Notification.objects.get(pk=sent.pk).status == Status.SENT


def test_the_follow_up_list_shows_what_needs_a_person_until_they_record_it(
    client, coordinator, suppressed, sent
):
    client.force_login(coordinator)

    listing = client.get(reverse("staff-messages"))
    assert listing.status_code == 200
    assert suppressed.referral.reference in listing.text
    assert "phone calls only" in listing.text

    client.post(
        reverse("staff-message-follow-up", args=[suppressed.public_id]),
        {"followup-note": "Phoned and offered the appointment; accepted."},
    )

    assert (
        suppressed.referral.reference
        not in client.get(reverse("staff-messages")).text.split("Recently not sent")[0]
    )
    row = Notification.objects.get(pk=suppressed.pk)
    assert row.followed_up_by == coordinator and "Phoned" in row.follow_up_note


def test_failed_messages_appear_on_the_follow_up_list(client, coordinator, referral, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    notification = notification_queue(kind="acknowledgement", referral=referral)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.FAILED,
        status_reason="Gave up after 1 attempts. Last problem: 550 no such mailbox",
        follow_up_needed=True,
    )
    client.force_login(coordinator)

    listing = client.get(reverse("staff-messages"))

    assert "Failed" in listing.text and "550 no such mailbox" in listing.text


@pytest.mark.parametrize("kind", kinds.KINDS)
def test_staff_can_preview_every_kind_before_it_is_sent(client, assessor, referral, kind):
    client.force_login(assessor)

    page = client.get(reverse("staff-message-preview", args=[referral.public_id, kind]))
    pdf = client.get(reverse("staff-message-preview-pdf", args=[referral.public_id, kind]))

    assert page.status_code == 200
    assert "Example details" in page.text  # nothing queued yet: example dates are marked
    email_url = reverse("staff-message-preview-email", args=[referral.public_id, kind])
    assert f'sandbox="" src="{email_url}?recipient=' in page.text
    assert client.get(email_url).text.startswith("<!DOCTYPE html>")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert not Notification.objects.exists()  # a preview sends and stores nothing


def test_the_preview_says_how_it_would_go_now(client, assessor, service):
    referral = make_referral(service, agreed=("sms",))
    client.force_login(assessor)

    by_text = client.get(
        reverse("staff-message-preview", args=[referral.public_id, "acknowledgement"])
    )
    not_at_all = client.get(reverse("staff-message-preview", args=[referral.public_id, "ending"]))

    assert "would go by <strong>text message</strong>" in by_text.text
    assert "would not be sent" in not_at_all.text


def test_print_batches_are_made_and_downloaded_from_the_page(client, coordinator, service):
    referral = make_referral(service, agreed=("letter",))
    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    client.force_login(coordinator)

    assert "1</strong> letter waiting" in client.get(reverse("staff-print-batches")).text
    client.post(reverse("staff-print-batches"))
    page = client.get(reverse("staff-print-batches"))
    batch = selectors.print_batch_list(user=coordinator).get()
    download = client.get(reverse("staff-print-batch-download", args=[batch.public_id]))
    letter = client.get(reverse("staff-message-letter", args=[notification.public_id]))

    assert "0</strong> letters waiting" in page.text
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert "attachment" in download["Content-Disposition"]
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")


def test_another_services_staff_see_none_of_it(client, other_staff, sent, coordinator):
    printing.print_batch_create(user=coordinator)  # nothing to print: no batch
    referral = sent.referral
    client.force_login(other_staff)

    for url in [
        reverse("staff-referral-messages", args=[referral.public_id]),
        reverse("staff-message-detail", args=[sent.public_id]),
        reverse("staff-message-preview", args=[referral.public_id, "acknowledgement"]),
        reverse("staff-message-preview-pdf", args=[referral.public_id, "acknowledgement"]),
        reverse("staff-message-letter", args=[sent.public_id]),
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        reverse("staff-message-resend", args=[sent.public_id]),
        reverse("staff-message-cancel", args=[sent.public_id]),
        reverse("staff-message-follow-up", args=[sent.public_id]),
    ]:
        assert client.post(url, {"resend-reason": "x", "followup-note": "x"}).status_code == 404
    assert referral.reference not in client.get(reverse("staff-messages")).text
    assert Notification.objects.filter(resend_of=sent).count() == 0


def test_another_services_print_batch_is_not_found(client, other_staff, service, coordinator):
    referral = make_referral(service, agreed=("letter",))
    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    batch = printing.print_batch_create(user=coordinator)
    client.force_login(other_staff)

    assert (
        client.get(reverse("staff-print-batch-download", args=[batch.public_id])).status_code == 404
    )
    assert client.post(reverse("staff-print-batches")).status_code == 302
    batch.refresh_from_db()
    assert batch.download_count == 0


def test_unknown_kinds_are_not_found(client, assessor, referral):
    client.force_login(assessor)
    url = reverse("staff-message-preview", args=[referral.public_id, "pigeon"])
    assert client.get(url).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, sent):
    for url in [
        reverse("staff-messages"),
        reverse("staff-print-batches"),
        reverse("staff-referral-messages", args=[sent.referral.public_id]),
        reverse("staff-message-detail", args=[sent.public_id]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("staff-login"))


def test_a_message_whose_text_the_retention_schedule_cleared_says_so(client, assessor, sent):
    Notification.objects.filter(pk=sent.pk).update(body_text="", body_html="", sms_text="")
    client.force_login(assessor)

    page = client.get(reverse("staff-message-detail", args=[sent.public_id]))

    assert page.status_code == 200
    assert "The text of this message is no longer kept" in page.text
    assert reverse("staff-message-email", args=[sent.public_id]) not in page.text
    assert sent.subject in page.text  # the fact of sending stays
