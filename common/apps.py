import logging
import sys
from pathlib import Path

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("threshold")


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Threshold: services and staff"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_start_staff_session, dispatch_uid="common.staff_session")
        if not _offline_command(sys.argv):
            announce_mode()


def _start_staff_session(sender, request, user, **kwargs) -> None:
    import time

    from common.sessions import staff_session_start

    if request is not None and hasattr(request, "session"):
        staff_session_start(request.session, now=int(time.time()))


def _offline_command(argv: list[str]) -> bool:
    """True for `manage.py <command>` whose command says it touches neither the database nor
    Redis (`uses_services = False`, e.g. allocate, which reads a file and writes a result):
    the announcement would be about things it never uses. Everything else announces."""
    if len(argv) < 2 or Path(argv[0]).name not in {"manage.py", "django-admin"}:
        return False
    from django.core.management import get_commands, load_command_class

    app = get_commands().get(argv[1])
    if app is None:
        return False
    try:
        command = load_command_class(app, argv[1])
    except Exception:  # a broken command reports itself; the announcement stays
        return False
    return getattr(command, "uses_services", True) is False


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
    if getattr(settings, "FIELD_ENCRYPTION_DEVELOPMENT_KEY", False):
        logger.warning(
            "FIELD_ENCRYPTION_KEYS is not set: clinical free text is encrypted under a fixed "
            "development key. Set it (docs/security.md) before holding real records."
        )


def _describe_database(database: dict) -> str:
    if database["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {database['NAME']}"
    return f"PostgreSQL {database.get('HOST') or 'local socket'}/{database['NAME']}"
