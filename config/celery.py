"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("threshold")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule lives in code, reviewed like the rest; later issues add their sweeps here.
app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "common.tasks.worker_heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "purge-old-heartbeats": {
        "task": "common.tasks.heartbeats_purge",
        "schedule": crontab(minute=17, hour=3),
    },
}
