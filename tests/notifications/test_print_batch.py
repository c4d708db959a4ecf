"""Postal letters: gathered into a daily print batch, each letter printed once, agreement to
letters checked again as the batch is made."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from intake.services import consent_withdraw
from notifications import letters, printing, sending
from notifications.models import Letter, Notification, PrintBatch
from notifications.outbox import notification_queue
from tests.notifications.people import make_referral
from tests.support.services import require_postgres

pytestmark = pytest.mark.django_db


def letter_for(service, kind="acknowledgement", **fields):
    referral = make_referral(service, agreed=("letter", "gp"), **fields)
    recipient = "gp" if kind == "gp_letter" else "client"
    notification = notification_queue(kind=kind, referral=referral, recipient=recipient)
    sending.notification_deliver(public_id=notification.public_id)
    return Notification.objects.get(pk=notification.pk)


def test_letters_waiting_go_into_one_batch_and_never_into_a_second(service, coordinator):
    first = letter_for(service)
    second = letter_for(service, kind="gp_letter")

    batch = printing.print_batch_create(user=coordinator)

    assert batch.letter_count == 2
    assert set(Letter.objects.values_list("batch", flat=True)) == {batch.pk}
    # One-page letters each get a blank back page for double-sided printing.
    assert batch.page_count == 4 == letters.page_count(bytes(batch.pdf))
    text = letters.pdf_text(bytes(batch.pdf))
    assert "Sam Rivers" in text and "Orchard Surgery" in text
    assert printing.print_batch_create(user=coordinator) is None
    assert first.events.filter(event="batched").exists()
    assert second.events.filter(event="batched").exists()


def test_a_batch_holds_only_its_own_services_letters(service, other_service, coordinator):
    letter_for(service)
    letter_for(other_service)

    batch = printing.print_batch_create(user=coordinator)

    assert batch.letter_count == 1
    assert Letter.objects.filter(batch__isnull=True).count() == 1


def test_a_letter_whose_client_withdrew_agreement_is_held_back_not_printed(service, coordinator):
    kept = letter_for(service)
    withdrawn = letter_for(service)
    consent_withdraw(client=withdrawn.referral.client, topic="letters_home", via="staff")

    batch = printing.print_batch_create(user=coordinator)

    assert batch.letter_count == 1
    assert Letter.objects.get(notification=kept).batch == batch
    held = Letter.objects.get(notification=withdrawn)
    assert held.batch is None and "withdrew agreement to letters" in held.held_back_reason
    row = Notification.objects.get(pk=withdrawn.pk)
    assert row.status == Notification.Status.SUPPRESSED and row.follow_up_needed
    assert printing.print_batch_create(user=coordinator) is None  # not offered again


def test_downloads_are_recorded_with_who_and_when(service, coordinator, assessor):
    letter_for(service)
    batch = printing.print_batch_create(user=coordinator)

    pdf = printing.print_batch_download(batch=batch, user=assessor)
    printing.print_batch_download(batch=batch, user=coordinator)

    batch.refresh_from_db()
    assert pdf.startswith(b"%PDF")
    assert batch.first_downloaded_by == assessor and batch.first_downloaded_at is not None
    assert batch.download_count == 2


@pytest.mark.services
def test_two_people_making_a_batch_at_once_print_each_letter_once(
    transactional_db, service, coordinator, assessor
):
    require_postgres()
    for _ in range(6):
        letter_for(service)
    made = []
    start = threading.Barrier(2)

    def press(user):
        try:
            start.wait()
            made.append(printing.print_batch_create(user=user))
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(u,)) for u in (coordinator, assessor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    batches = [b for b in made if b is not None]
    assert sum(b.letter_count for b in batches) == 6
    assert Letter.objects.filter(batch__isnull=True).count() == 0
    assert PrintBatch.objects.count() == len(batches)


def test_a_batch_of_30_letters_runs_no_more_queries_than_a_batch_of_3(
    service, coordinator, django_assert_max_num_queries
):
    """Agreement is read again for every letter, but for all of them at once."""
    for _ in range(3):
        letter_for(service)
    with django_assert_max_num_queries(100) as three:
        assert printing.print_batch_create(user=coordinator).letter_count == 3
    for i in range(30):
        letter_for(service, kind="gp_letter" if i % 2 else "acknowledgement")
    with django_assert_max_num_queries(len(three)):
        assert printing.print_batch_create(user=coordinator).letter_count == 30
