"""The retention schedule: a registry the apps fill, one beat task that runs it."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from common import retention
from common.tasks import retention_run
from config.celery import app as celery_app
from intake.models import ReferralDraft

pytestmark = pytest.mark.django_db


def test_every_category_is_registered_by_its_app():
    names = {category.name for category in retention.categories()}
    assert names == {
        "intake.drafts",
        "intake.referrals_not_seen",
        "intake.clinical_records_due",
        "intake.api_token_uses",
        "notifications.message_bodies",
        "portal.sign_ins",
        "audit.events",
        "api.idempotency_keys",
    }


def test_the_beat_schedule_runs_retention_every_night():
    entries = [e for e in celery_app.conf.beat_schedule.values() if e["task"] == retention_run.name]
    assert len(entries) == 1
    assert entries[0]["schedule"].hour == {3}


def _old_draft():
    draft = ReferralDraft.objects.create(
        data={}, expires_at=timezone.now() + timedelta(days=7), token_hash=secrets.token_hex(32)
    )
    ReferralDraft.objects.filter(pk=draft.pk).update(created_at=timezone.now() - timedelta(days=60))
    return draft


def test_a_run_works_in_bounded_batches_and_a_rerun_removes_nothing(monkeypatch):
    for _ in range(5):
        _old_draft()
    calls = []
    real = retention._categories["intake.drafts"].remove

    def counted(now, batch_size):
        calls.append(batch_size)
        return real(now, batch_size)

    monkeypatch.setitem(
        retention._categories,
        "intake.drafts",
        retention.Category(name="intake.drafts", action="deleted", remove=counted),
    )

    first = retention.retention_run(batch_size=2, max_batches=10)
    second = retention.retention_run(batch_size=2, max_batches=10)

    assert first["intake.drafts"] == 5
    assert calls[:3] == [2, 2, 2]  # 2, 2, then 1 (short: finished)
    assert second == dict.fromkeys(first, 0)
    assert not ReferralDraft.objects.exists()


def test_max_batches_leaves_the_rest_for_the_next_run():
    for _ in range(5):
        _old_draft()

    assert retention.retention_run(batch_size=2, max_batches=1)["intake.drafts"] == 2
    assert ReferralDraft.objects.count() == 3


def test_one_failing_category_does_not_stop_the_others(monkeypatch, caplog):
    caplog.set_level("INFO")
    _old_draft()

    def broken(now, batch_size):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        retention._categories,
        "aaa.broken",
        retention.Category(name="aaa.broken", action="deleted", remove=broken),
    )

    counts = retention.retention_run()

    assert counts["aaa.broken"] == 0 and counts["intake.drafts"] == 1
    # Logs carry category names and counts only.
    assert all(
        "retention" in r.getMessage() for r in caplog.records if r.name.endswith("retention")
    )


@pytest.mark.services
def test_the_task_runs_through_a_real_worker(celery_worker):
    draft = _old_draft()

    retention_run.delay()

    deadline = time.monotonic() + 30
    while ReferralDraft.objects.filter(pk=draft.pk).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ReferralDraft.objects.filter(pk=draft.pk).exists(), celery_worker.log_path
