import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("threshold")


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Threshold: services and staff"

    def ready(self) -> None:
        announce_mode()


def announce_mode() -> None:
    """Say at start-up which shape the service runs in: nothing switches silently."""
    database = settings.DATABASES["default"]
    if settings.EMBEDDED:
        logger.warning(
            "Embedded mode: REDIS_URL is not set, so Celery tasks run in-process "
            "(no broker, no worker); database %s; email to %s. "
            "Set REDIS_URL (and DATABASE_URL) for the production shape.",
            _describe_database(database),
            getattr(settings, "EMAIL_FILE_PATH", None) or settings.EMAIL_BACKEND,
        )
    else:
        logger.info(
            "Production shape: tasks go through Redis to Celery workers; database %s.",
            _describe_database(database),
        )


def _describe_database(database: dict) -> str:
    if database["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {database['NAME']}"
    return f"PostgreSQL {database.get('HOST') or 'local socket'}/{database['NAME']}"
