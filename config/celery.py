"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("threshold")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _seconds(name: str, default: int) -> float:
    # Read here without Django settings (not loaded yet); settings.py reports a bad value.
    try:
        return float(max(1, int(os.environ.get(name) or default)))
    except ValueError:
        return float(default)


def _minutes(name: str, default: int) -> float:
    return 60 * _seconds(name, default)


# The beat schedule lives in code, reviewed like the rest.
app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "common.tasks.worker_heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "purge-referral-drafts": {
        "task": "intake.tasks.drafts_purge",
        "schedule": crontab(minute=5),
    },
    # The rows each referral write added to the referral tally, folded into one a kind.
    "referral-tally-fold": {
        "task": "intake.tasks.tally_fold",
        "schedule": _minutes("REFERRAL_TALLY_FOLD_MINUTES", 5),
        "options": {"expires": _minutes("REFERRAL_TALLY_FOLD_MINUTES", 5)},
    },
    "purge-old-heartbeats": {
        "task": "common.tasks.heartbeats_purge",
        "schedule": crontab(minute=17, hour=3),
    },
    # The outbox, not the broker, is the record of what must be sent: publish again what
    # was left queued (a crash between commit and publish, a Redis restart).
    "notifications-outbox-sweep": {
        "task": "notifications.outbox_sweep",
        "schedule": _seconds("NOTIFICATIONS_SWEEP_SECONDS", 60),
        "options": {"expires": _seconds("NOTIFICATIONS_SWEEP_SECONDS", 60)},
    },
    # Fresh allocation proposals for every service with people waiting, before the day starts.
    "allocation-nightly": {
        "task": "allocation.tasks.allocation_propose_nightly",
        "schedule": crontab(minute=30, hour=2),
        "options": {"expires": 3600},
    },
    # Check-ins and appointment reminders come from database state, not broker countdowns.
    "notifications-reminders-sweep": {
        "task": "notifications.reminders_sweep",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # The retention schedule (common/retention.py): every app's categories, once a night.
    "retention-nightly": {
        "task": "common.tasks.retention_run",
        "schedule": crontab(minute=45, hour=3),
        "options": {"expires": 3600},
    },
    # The reporting page's per-referral facts (reporting/facts.py), every service.
    "reporting-facts": {
        "task": "reporting.tasks.facts_rebuild",
        "schedule": _minutes("REPORTING_FACTS_MINUTES", 5),
        "options": {"expires": _minutes("REPORTING_FACTS_MINUTES", 5)},
    },
}
