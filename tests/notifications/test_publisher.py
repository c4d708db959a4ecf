"""The outbox publisher: committed rows are handed to a background thread, urgent first, and
nothing it cannot publish is lost (the row stays queued for the sweeper)."""

from __future__ import annotations

import threading
import uuid

import pytest

from intake.services import referral_submit
from notifications import outbox, tasks
from notifications import publisher as publisher_module
from notifications.models import Notification
from notifications.publisher import Publisher
from tests.intake.test_services import _input


@pytest.fixture
def background(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.NOTIFICATIONS_PUBLISH_IN_BACKGROUND = True


class HeldBroker:
    """Stands in for tasks.dispatch: records each publish, and can hold the first one."""

    def __init__(self, hold_first: bool = False):
        self.published: list[tuple[uuid.UUID, bool]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, public_id, urgent=False):
        self.started.set()
        assert self.release.wait(10), "the test never released the broker"
        self.published.append((public_id, urgent))


def test_submit_hands_over_and_returns_while_the_broker_is_still_busy(background, monkeypatch):
    broker = HeldBroker(hold_first=True)
    monkeypatch.setattr(tasks, "dispatch", broker)
    publisher = Publisher()
    first = uuid.uuid4()

    publisher.submit(first, urgent=False)  # returns although the publish is held
    assert broker.started.wait(5)
    assert broker.published == []
    broker.release.set()

    assert publisher.flush()
    assert broker.published == [(first, False)]


def test_risk_alerts_are_published_before_routine_letters_waiting(background, monkeypatch):
    broker = HeldBroker(hold_first=True)
    monkeypatch.setattr(tasks, "dispatch", broker)
    publisher = Publisher()
    busy, letter_a, letter_b, alert = (uuid.uuid4() for _ in range(4))

    publisher.submit(busy, urgent=False)
    assert broker.started.wait(5)  # the thread is inside the first publish
    publisher.submit(letter_a, urgent=False)
    publisher.submit(letter_b, urgent=False)
    publisher.submit(alert, urgent=True)
    broker.release.set()

    assert publisher.flush()
    assert [public_id for public_id, _ in broker.published] == [busy, alert, letter_a, letter_b]


def test_a_publish_that_raises_does_not_stop_the_ones_after_it(background, monkeypatch):
    published = []

    def flaky(public_id, urgent=False):
        if not published:
            published.append("boom")
            raise RuntimeError("broker fell over")
        published.append(public_id)

    monkeypatch.setattr(tasks, "dispatch", flaky)
    publisher = Publisher()
    second = uuid.uuid4()
    publisher.submit(uuid.uuid4(), urgent=False)
    publisher.submit(second, urgent=False)

    assert publisher.flush()
    assert published == ["boom", second]


def test_when_too_much_is_waiting_the_rest_is_left_to_the_sweeper(background, monkeypatch):
    broker = HeldBroker(hold_first=True)
    monkeypatch.setattr(tasks, "dispatch", broker)
    monkeypatch.setattr(publisher_module, "MAX_WAITING", 2)
    publisher = Publisher()
    ids = [uuid.uuid4() for _ in range(4)]

    for public_id in ids:
        publisher.submit(public_id, urgent=False)
    broker.release.set()

    assert publisher.flush()
    assert [public_id for public_id, _ in broker.published] == ids[:2]


def test_embedded_mode_publishes_in_line(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    published = []
    monkeypatch.setattr(tasks, "dispatch", lambda public_id, urgent=False: published.append(1))

    Publisher().submit(uuid.uuid4(), urgent=False)

    assert published == [1]  # already, with no thread involved


@pytest.mark.django_db(transaction=True)
def test_a_referral_is_made_while_the_broker_hangs_and_its_message_goes_after(
    background, service, monkeypatch
):
    broker = HeldBroker(hold_first=True)
    monkeypatch.setattr(tasks, "dispatch", broker)
    monkeypatch.setattr(outbox, "publisher", Publisher())

    result = referral_submit(service=service, data=_input(), idempotency_key="hang", via="api")

    # The submit has returned and committed while the publish is still held.
    assert result.created
    assert broker.started.wait(5)
    acknowledgement = Notification.objects.get(referral=result.referral)
    assert broker.published == []
    broker.release.set()
    assert outbox.publisher.flush()
    assert broker.published == [(acknowledgement.public_id, False)]


def test_a_forked_worker_process_gets_a_publisher_thread_of_its_own(background, monkeypatch):
    import os

    from notifications.publisher import publisher

    published_here = []
    monkeypatch.setattr(tasks, "dispatch", lambda public_id, urgent=False: published_here.append(1))
    publisher.submit(uuid.uuid4(), urgent=False)  # the parent's thread is running
    assert publisher.flush()
    read_end, write_end = os.pipe()

    child = os.fork()
    if child == 0:  # a gunicorn or Celery worker after the fork
        try:
            monkeypatch.setattr(
                tasks, "dispatch", lambda public_id, urgent=False: os.write(write_end, b"x")
            )
            publisher.submit(uuid.uuid4(), urgent=False)
            os._exit(0 if publisher.flush(5) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    os.close(write_end)

    assert os.waitstatus_to_exitcode(status) == 0
    assert os.read(read_end, 10) == b"x"  # published by the child's own thread
    assert published_here == [1]
