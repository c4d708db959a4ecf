"""Rate limits on the public self-referral pages: sending a referral, saving it for later
(which can email a link) and entering a resume code.

Each try is counted per client address (`common.client_address`, never a header a client
can forge) and, where the person typed one, per email address and phone number, in the
shared cache with an atomic increment (django-ratelimit's fixed windows; the counters hold
hashes, never the address or contact itself). The rates are settings (docs/security.md,
"Rate limits and client addresses"). Over a limit, the person gets a page that says when
to try again and where to get help now; their answers stay in the session.
"""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import get_usage

from common.client_address import client_address

SUBMIT = "submit"
SAVE = "save"
RESUME = "resume"
# Each door's rate settings: per client address, and per email or phone typed (if any).
DOORS = {
    SUBMIT: ("RATE_REFERRAL_PER_ADDRESS", "RATE_REFERRAL_PER_CONTACT"),
    SAVE: ("RATE_SAVE_PER_ADDRESS", "RATE_SAVE_PER_CONTACT"),
    RESUME: ("RATE_RESUME_PER_ADDRESS", None),
}
CONTACT_FIELDS = ("contact-email", "contact-mobile_phone", "contact-landline_phone")


def _count(request: HttpRequest, *, group: str, value: str, rate: str) -> int | None:
    """One more try for `value`; the seconds until its window ends, when over the limit."""
    # Hashed here: what was typed may hold anything, even half a character (a surrogate).
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    usage = get_usage(
        request, group=group, key=lambda _group, _request: digest, rate=rate, increment=True
    )
    if usage is None or not usage["should_limit"]:
        return None
    return max(int(usage["time_left"]), 1)


def _contact_key(value: str) -> str:
    value = (value or "").strip().lower()
    if "@" in value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    # 07700 900123 and +44 7700 900123 are one phone.
    return digits[-10:] if len(digits) >= 10 else ""


def door_wait(request: HttpRequest, *, door: str, contacts=()) -> int | None:
    """Count one try at a door; when any of its limits is reached, the seconds to wait."""
    per_address, per_contact = DOORS[door]
    waits = [
        _count(
            request,
            group=f"refer-{door}-address",
            value=client_address(request),
            rate=getattr(settings, per_address),
        )
    ]
    if per_contact:
        for contact in sorted({_contact_key(c) for c in contacts} - {""}):
            waits.append(
                _count(
                    request,
                    group=f"refer-{door}-contact",
                    value=contact,
                    rate=getattr(settings, per_contact),
                )
            )
    waits = [wait for wait in waits if wait]
    return max(waits) if waits else None


def rate_limited_page(
    request: HttpRequest, *, door: str, wait_seconds: int, back_url: str = ""
) -> HttpResponse:
    minutes = max(math.ceil(wait_seconds / 60), 1)
    response = render(
        request,
        "intake/refer/rate_limited.html",
        {
            "door": door,
            "minutes": minutes,
            "try_after": timezone.localtime() + timedelta(seconds=wait_seconds),
            "back_url": back_url,
        },
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response


def limit_wizard_posts(post):
    """For the wizard's `post`: "Send referral" and "Save and come back later" count
    towards their limits; over one, the rate-limited page. What was typed on the page is
    kept with the rest of the answers, so nothing is lost."""

    @functools.wraps(post)
    def limited(wizard, *args, **kwargs):
        request = wizard.request
        step = request.POST.get(f"{wizard.prefix}-current_step")
        if "save_draft" in request.POST:
            door = SAVE
        elif step == "check" and wizard.storage.data.get("step_data"):
            door = SUBMIT  # (with no answers, nothing is sent: a repeat after the referral)
        else:
            return post(wizard, *args, **kwargs)
        stored = wizard.storage.get_step_data("contact") or {}
        contacts = [
            source.get(name, "") for source in (request.POST, stored) for name in CONTACT_FIELDS
        ]
        wait = door_wait(request, door=door, contacts=contacts)
        if wait is None:
            return post(wizard, *args, **kwargs)
        if door == SAVE and step in wizard.get_form_list():
            wizard.storage.set_step_data(step, request.POST)
        back = wizard.get_step_url(step) if step in wizard.get_form_list() else ""
        return rate_limited_page(request, door=door, wait_seconds=wait, back_url=back)

    return limited


def limit_resume(view):
    """For the resume view: each code entered counts towards the address's limit."""

    @functools.wraps(view)
    def limited(request, *args, **kwargs):
        if request.method == "POST":
            wait = door_wait(request, door=RESUME)
            if wait is not None:
                return rate_limited_page(request, door=RESUME, wait_seconds=wait)
        return view(request, *args, **kwargs)

    return limited
