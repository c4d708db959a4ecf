"""The beat sweeps: the outbox re-published when the broker lost it, and the messages that
come from the passing of time (6-week check-ins, appointment reminders)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from intake.models import Referral
from notifications import kinds, selectors, sending, sweeps, tasks
from notifications.models import Notification
from notifications.outbox import notification_queue
from tests import factories
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db

Status = Notification.Status


@pytest.fixture
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(
        tasks, "dispatch", lambda public_id, urgent=False: calls.append((public_id, urgent))
    )
    return calls


def test_a_row_left_queued_long_after_its_dispatch_is_published_again(
    referral, settings, published
):
    settings.NOTIFICATIONS_REDISPATCH_SECONDS = 300
    notification = notification_queue(kind="acknowledgement", referral=referral)
    published.clear()

    assert sweeps.outbox_sweep() == 0  # just dispatched: give the broker its chance

    later = timezone.now() + timedelta(seconds=301)
    assert sweeps.outbox_sweep(now=later) == 1
    assert published == [(notification.public_id, False)]
    assert sweeps.outbox_sweep(now=later + timedelta(seconds=10)) == 0  # not every sweep


def test_a_failed_publish_is_picked_up_by_the_very_next_sweep(referral, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver, "apply_async", broker_down)
    notification = notification_queue(kind="acknowledgement", referral=referral)

    tasks.dispatch(notification.public_id)  # what on_commit runs: logs, never raises

    sent = []
    monkeypatch.setattr(tasks, "dispatch", lambda public_id, urgent=False: sent.append(public_id))
    assert sweeps.outbox_sweep() == 1
    assert sent == [notification.public_id]


def test_a_message_whose_sender_died_is_published_again_after_its_lease(referral, published):
    notification = notification_queue(kind="acknowledgement", referral=referral)
    lease_end = timezone.now() + timedelta(seconds=120)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, lease_until=lease_end
    )
    published.clear()

    assert sweeps.outbox_sweep(now=lease_end - timedelta(seconds=1)) == 0
    assert sweeps.outbox_sweep(now=lease_end + timedelta(seconds=1)) == 1
    # Not at every sweep: the re-publish gets the same chance as a first publish.
    assert sweeps.outbox_sweep(now=lease_end + timedelta(seconds=60)) == 0
    # But again once that chance has passed and nobody took it up.
    assert sweeps.outbox_sweep(now=lease_end + timedelta(seconds=302)) == 1


def test_a_risk_alert_whose_re_publish_is_lost_too_is_picked_up_until_staff_have_it(
    service, monkeypatch, settings
):
    """A worker died while sending a risk alert, and every re-publish is lost as well (Redis
    restarted without persistence, the worker killed again). Every sweep picks the alert up
    again, and when re-publishing has not got it sent, it is handed to staff."""
    settings.NOTIFICATIONS_REDISPATCH_SECONDS = 300
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    lost = []
    # The broker accepts the message and loses it: no worker ever sees it.
    monkeypatch.setattr(tasks.deliver_urgent, "apply_async", lambda **kw: lost.append(kw))
    referral = make_referral(service)
    alert = notification_queue(kind="risk_alert", referral=referral, recipient="duty_inbox")
    started = timezone.now()
    Notification.objects.filter(pk=alert.pk).update(
        status=Status.SENDING, attempts=1, lease_until=started + timedelta(minutes=2)
    )

    for hours in (1, 6, 48):
        lost.clear()
        assert sweeps.outbox_sweep(now=started + timedelta(hours=hours)) == 1
        assert [call["args"] for call in lost] == [[str(alert.public_id)]]
        assert Notification.objects.get(pk=alert.pk).status == Status.SENDING

    sweeps.outbox_sweep(now=started + timedelta(hours=48, minutes=10))

    alert.refresh_from_db()
    assert alert.status == Status.FAILED
    assert alert.follow_up_needed
    assert "re-published 3 times" in alert.status_reason
    staff = factories.UserFactory(service=service)
    assert list(selectors.notification_follow_up_list(user=staff)) == [alert]
    lost.clear()
    assert sweeps.outbox_sweep(now=started + timedelta(hours=72)) == 0
    assert lost == []


def test_risk_alerts_are_swept_first_and_on_the_urgent_task(service, published, settings):
    settings.NOTIFICATIONS_REDISPATCH_SECONDS = 1
    referral = make_referral(service)
    notification_queue(kind="acknowledgement", referral=referral)
    alert = notification_queue(kind="risk_alert", referral=referral, recipient="duty_inbox")
    published.clear()

    sweeps.outbox_sweep(now=timezone.now() + timedelta(seconds=5))

    assert published[0] == (alert.public_id, True)


def weeks_ago(n: float) -> datetime:
    return timezone.now() - timedelta(weeks=n)


def test_a_check_in_is_queued_at_six_weeks_of_waiting_and_again_at_twelve(service):
    five = make_referral(service, received_at=weeks_ago(5))
    seven = make_referral(service, received_at=weeks_ago(7))
    allocated = make_referral(service, received_at=weeks_ago(8))
    Referral.objects.filter(pk=allocated.pk).update(status=Referral.Status.ALLOCATED)

    assert sweeps.waiting_checkins_queue() == 1
    assert sweeps.waiting_checkins_queue() == 0  # once per 6 weeks, however often swept

    checkin = Notification.objects.get(kind="waiting_checkin")
    assert checkin.referral == seven and checkin.occurrence == "week-6"
    assert checkin.context == {"weeks_waiting": 6}
    assert not Notification.objects.filter(referral__in=[five, allocated]).exists()

    assert sweeps.waiting_checkins_queue(now=timezone.now() + timedelta(weeks=6)) == 2
    assert set(
        Notification.objects.filter(referral=seven).values_list("occurrence", flat=True)
    ) == {"week-6", "week-12"}


def test_check_ins_wait_for_daytime():
    night = timezone.make_aware(datetime(2026, 3, 3, 23, 30))
    early = timezone.make_aware(datetime(2026, 3, 4, 6, 0))
    noon = timezone.make_aware(datetime(2026, 3, 4, 12, 0))

    assert timezone.localtime(kinds.daytime(night)).strftime("%d %H:%M") == "04 09:00"
    assert timezone.localtime(kinds.daytime(early)).strftime("%d %H:%M") == "04 09:00"
    assert kinds.daytime(noon) == noon


def sent_invitation(referral, at, **context):
    notification = notification_queue(
        kind="assessment_invitation",
        referral=referral,
        occurrence=at.isoformat(),
        context={"appointment_at": at, "location": "Riverside Clinic", **context},
    )
    Notification.objects.filter(pk=notification.pk).update(status=Status.SENT)
    return notification


def test_an_appointment_reminder_is_queued_about_two_days_before(referral):
    soon = timezone.now() + timedelta(hours=30)
    later = timezone.now() + timedelta(days=6)
    invitation = sent_invitation(referral, soon)
    sent_invitation(make_referral(referral.service), later)

    assert sweeps.appointment_reminders_queue() == 1
    sweeps.appointment_reminders_queue()

    reminder = Notification.objects.get(kind="appointment_reminder")
    assert reminder.referral == referral
    assert reminder.appointment_at == invitation.appointment_at
    assert reminder.context["location"] == "Riverside Clinic"
    assert reminder.context["source"] == str(invitation.public_id)
    assert reminder.send_after < soon


def test_a_rearranged_appointment_is_reminded_once_at_its_new_time(referral):
    first = sent_invitation(referral, timezone.now() + timedelta(hours=30))
    second = sent_invitation(referral, timezone.now() + timedelta(hours=40))

    sweeps.appointment_reminders_queue()

    [reminder] = Notification.objects.filter(kind="appointment_reminder")
    assert reminder.appointment_at == second.appointment_at
    assert reminder.context["source"] == str(second.public_id)
    assert first.appointment_at != reminder.appointment_at


def test_the_reminder_sweep_reads_rearranged_appointments_in_one_query(
    referral, django_assert_max_num_queries
):
    """The sweep finds each announcement's latest letter in the same query, not one query
    per announcement: 30 rearranged appointments cost what 3 do."""

    def rearranged(n):
        for _ in range(n):
            other = make_referral(referral.service)
            sent_invitation(other, timezone.now() + timedelta(hours=30))
            sent_invitation(other, timezone.now() + timedelta(days=9))  # rebooked

    rearranged(3)
    with django_assert_max_num_queries(100) as three:
        assert sweeps.appointment_reminders_queue() == 0
    rearranged(27)
    with django_assert_max_num_queries(len(three)):
        assert sweeps.appointment_reminders_queue() == 0


def test_a_reminder_overtaken_by_a_new_invitation_is_cancelled_when_due(referral, settings):
    sent_invitation(referral, timezone.now() + timedelta(hours=30))
    sweeps.appointment_reminders_queue()
    reminder = Notification.objects.get(kind="appointment_reminder")
    Notification.objects.filter(pk=reminder.pk).update(send_after=timezone.now())
    sent_invitation(referral, timezone.now() + timedelta(days=9))  # rebooked meanwhile

    outcome = sending.notification_deliver(public_id=reminder.public_id)

    assert outcome == sending.Outcome.CANCELLED
    assert "rearranged" in Notification.objects.get(pk=reminder.pk).status_reason


def test_the_sweep_command_runs_the_sweeps_once(referral, capsys):
    call_command("notifications_sweep")
    assert "dispatched" in capsys.readouterr().out
