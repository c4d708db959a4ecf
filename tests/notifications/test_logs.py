"""Logs carry ids (message, kind, channel, referral), never contact details, the client's own
words or a resume code; and no logged URL carries a code (the web server's access log records
every path and query string)."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from notifications import delivery, outbox, sending
from notifications.models import Notification
from tests.intake.walk import MINIMAL, post_step, walk
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db

EMAIL = "sam.client@example.org"
PHONE = "+447700900123"
SAFE_TIMES = "Tuesday mornings only, when my partner is at work"


def logged(caplog) -> str:
    """Everything the service's handlers would write: messages, arguments and tracebacks
    (not the test's own SMTP server, whose log is its business)."""
    formatter = logging.Formatter()
    return "\n".join(
        formatter.format(record) for record in caplog.records if record.name != "mail.log"
    )


def deliver(notification):
    try:
        return sending.notification_deliver(public_id=notification.public_id)
    except sending.DeliveryDeferred:
        return sending.Outcome.DEFERRED


def test_failed_and_undeliverable_messages_log_ids_not_contact_details_or_free_text(
    service, email_to_sink, monkeypatch, caplog
):
    details = {"safe_contact_times": SAFE_TIMES, "mobile_phone": PHONE}
    refused = make_referral(service, agreed=("email",), **details)
    phone_only = make_referral(service, agreed=("phone", "voicemail"), **details)
    passing = make_referral(service, agreed=("email",), **details)
    broken = make_referral(service, agreed=("email",), **details)
    queued = {
        name: outbox.notification_queue(kind="acknowledgement", referral=referral)
        for name, referral in [
            ("refused", refused),
            ("phone_only", phone_only),
            ("passing", passing),
            ("broken", broken),
        ]
    }

    caplog.set_level(logging.DEBUG, logger="threshold")
    caplog.set_level(logging.INFO)
    caplog.clear()
    email_to_sink.rcpt_reply = f"550 5.1.1 <{EMAIL}>: no such user"
    assert deliver(queued["refused"]) == sending.Outcome.FAILED
    assert deliver(queued["phone_only"]) == sending.Outcome.SUPPRESSED
    email_to_sink.rcpt_reply = f"450 4.2.1 <{EMAIL}>: mailbox busy"
    assert deliver(queued["passing"]) == sending.Outcome.DEFERRED

    def bug(**kwargs):
        raise ValueError(f"cannot send to {kwargs['to']}: {SAFE_TIMES}")

    monkeypatch.setattr(delivery, "send_email", bug)
    assert deliver(queued["broken"]) == sending.Outcome.FAILED

    text = logged(caplog)
    for secret in (EMAIL, PHONE, "07700", SAFE_TIMES, "partner", "no such user"):
        assert secret not in text, f"{secret!r} was logged"
    # Still useful to whoever reads the log: which message, what kind, which channel.
    for name in ("refused", "phone_only", "broken"):
        notification = Notification.objects.get(pk=queued[name].pk)
        assert str(notification.public_id) in text
    assert "acknowledgement" in text and "email" in text and str(refused.public_id) in text
    # Staff still see the whole reason on the message itself.
    assert SAFE_TIMES in Notification.objects.get(pk=queued["phone_only"].pk).status_reason


@pytest.fixture
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


def routes(patterns=None, prefix="") -> list[str]:
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            found += routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def test_saving_and_resuming_log_no_code_and_no_logged_url_carries_one(
    client, referral_service, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG, logger="threshold")
    caplog.set_level(logging.INFO)
    walk(client, MINIMAL, stop_before="gp")
    requested = []
    with django_capture_on_commit_callbacks(execute=True):
        saved = post_step(client, "gp", {}, save_draft="1")
        requested.append(saved.request)
        page = client.get(saved.url)
    requested.append(page.request)
    shown = page.text.split('class="th-code">')[1].split("<")[0]
    row = Notification.objects.get(kind="draft_resume_link")
    sending.notification_deliver(public_id=row.public_id)
    [link] = re.findall(r"https?://\S+/refer/resume/\S*", mailoutbox[0].body)
    emailed = link.split("#", 1)[1]

    # What a browser asks for when the link is opened: the fragment never leaves it.
    parts = urlsplit(link)
    opened = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert opened.status_code == 200
    client.cookies.clear()
    resumed = client.post(reverse("refer-resume"), {"code": emailed})
    assert resumed.status_code == 302
    requested += [opened.request, resumed.request]

    codes = {shown, emailed, shown.replace("-", ""), emailed.replace("-", "")}
    access_log = " ".join(f"{r['PATH_INFO']}?{r.get('QUERY_STRING', '')}" for r in requested)
    for code in codes:
        assert code not in parts.path + parts.query
        assert code not in access_log
        assert code not in logged(caplog)
    assert "robin@example.com" not in logged(caplog)
    # No page takes a code in its path, so no old link or guess puts one in a logged URL.
    assert not [route for route in routes() if "resume" in route and "<" in route]
