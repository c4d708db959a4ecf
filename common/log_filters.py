"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging
from http import HTTPStatus


class RefusalOneLine(logging.Filter):
    """django.request logs a refused request (403, and 404 and other 4xx) with the
    exception's traceback, as if it were a fault. Make it one line: status, path and the
    account's id ("403 Forbidden: /staff/assessments/ user=12"), never a name. Server
    errors (5xx) keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        if status is None or request is None or not 400 <= status < 500:
            return True
        user = getattr(request, "user", None)
        user_id = user.pk if getattr(user, "is_authenticated", False) else "-"
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Client error"
        record.msg = "%s %s: %s user=%s"
        record.args = (status, phrase, request.path, user_id)
        record.exc_info = None
        record.exc_text = None
        return True
