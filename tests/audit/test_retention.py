"""Audit events are kept RETENTION_AUDIT_YEARS, then the retention schedule deletes them:
the one deletion the append-only table allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit import retention
from audit.models import AuditEvent
from common import retention as schedule

pytestmark = pytest.mark.django_db


def _event(user, at) -> AuditEvent:
    # Rows are only ever inserted: an old one is made by inserting it with its time.
    return AuditEvent.objects.create(
        service=user.service, user=user, action=AuditEvent.Action.READ, at=at
    )


def test_only_events_past_their_period_are_deleted(assessor, settings):
    settings.RETENTION_AUDIT_YEARS = 20
    now = timezone.now()
    cutoff = retention.years_before(now, 20)
    past = _event(assessor, cutoff - timedelta(days=1))
    inside = _event(assessor, cutoff + timedelta(days=1))
    recent = _event(assessor, now)

    assert retention.audit_events_remove(now, 100) == 1

    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {inside.pk, recent.pk}
    assert not AuditEvent.objects.filter(pk=past.pk).exists()
    assert retention.audit_events_remove(now, 100) == 0


def test_the_category_is_on_the_schedule_and_works_in_batches(assessor, settings):
    settings.RETENTION_AUDIT_YEARS = 8
    old = timezone.now() - timedelta(days=366 * 9)
    for _ in range(5):
        _event(assessor, old)

    assert "audit.events" in {category.name for category in schedule.categories()}
    counts = schedule.retention_run(batch_size=2, max_batches=20)

    assert counts["audit.events"] == 5
    assert not AuditEvent.objects.exists()
