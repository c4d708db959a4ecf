"""Rate limits on the portal's public doors, counted like the self-referral's
(intake/limits.py): django-ratelimit's fixed windows in the shared cache, per client address
(`common.client_address`), for asking for a link per referral reference typed, and for
downloading the data copy per referral. The
counters hold hashes only. Over a limit: a 429 page like the self-referral's, saying
when to try again and where to get help now.

A reference is counted whether or not it exists, so the limit itself tells nobody anything.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import get_usage

from common.client_address import client_address

ASK = "portal-ask"
SIGN_IN = "portal-sign-in"
COPY = "portal-copy"


def _count(request: HttpRequest, *, group: str, value: str, rate: str) -> int | None:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    usage = get_usage(
        request, group=group, key=lambda _group, _request: digest, rate=rate, increment=True
    )
    if usage is None or not usage["should_limit"]:
        return None
    return max(int(usage["time_left"]), 1)


def ask_wait(request: HttpRequest, *, reference: str) -> int | None:
    """Count one request for a link; the seconds to wait when a limit is reached."""
    waits = [
        _count(
            request,
            group=f"{ASK}-address",
            value=client_address(request),
            rate=settings.RATE_PORTAL_PER_ADDRESS,
        ),
        _count(
            request,
            group=f"{ASK}-reference",
            value=reference,
            rate=settings.RATE_PORTAL_PER_REFERENCE,
        ),
    ]
    waits = [wait for wait in waits if wait]
    return max(waits) if waits else None


def sign_in_wait(request: HttpRequest) -> int | None:
    """Count one sign-in with a link; the seconds to wait when the limit is reached."""
    return _count(
        request,
        group=f"{SIGN_IN}-address",
        value=client_address(request),
        rate=settings.RATE_PORTAL_SIGN_IN_PER_ADDRESS,
    )


def copy_wait(request: HttpRequest, *, referral) -> int | None:
    """Count one download of the data copy (JSON or PDF, together); the seconds to wait when
    the limit is reached. Counted per referral, not per session, so signing in again does
    not start afresh: a PDF copy costs about a second of CPU."""
    return _count(
        request,
        group=f"{COPY}-referral",
        value=str(referral.public_id),
        rate=settings.RATE_PORTAL_COPY_PER_REFERRAL,
    )


def rate_limited_page(request: HttpRequest, *, door: str, wait_seconds: int) -> HttpResponse:
    minutes = max(math.ceil(wait_seconds / 60), 1)
    response = render(
        request,
        "portal/rate_limited.html",
        {
            "door": door,
            "minutes": minutes,
            "try_after": timezone.localtime() + timedelta(seconds=wait_seconds),
            "back_url": "",
            # Signed in (the copy's door): the portal's navigation leads back.
            "portal_session": getattr(request, "portal_session", None),
        },
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response
