"""Intake's kinds of message, registered with notifications in `IntakeConfig.ready()`, and
what notifications asks of intake when it sends: a client's contact details and consent,
read at that moment, and the referrals still waiting (for the 6-weekly check-in)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from intake import drafts, rights, selectors
from intake.models import Referral
from notifications import kinds
from notifications.kinds import CLIENT, DUTY_INBOX, EMAIL, LETTER, SMS, STAFF, KindSpec


def _still_waiting(referral: Referral) -> str:
    if referral.status not in selectors.WAITING_STATUSES:
        return f"No longer waiting: the referral is now '{referral.get_status_display()}'."
    return ""


def closed_reason(referral: Referral) -> str:
    """Why a reminder is not needed once the referral is withdrawn or ended ("" if open)."""
    if referral.status in {Referral.Status.WITHDRAWN, Referral.Status.ENDED}:
        return f"Not needed: the referral is now '{referral.get_status_display()}'."
    return ""


def _appointment_example() -> dict:
    return {
        "appointment_at": kinds.example_appointment(),
        "location": "Riverside Clinic, 12 Mill Lane",
        "video_link": "",
    }


KINDS = (
    KindSpec("acknowledgement", (CLIENT,), (EMAIL, SMS, LETTER)),
    KindSpec(
        "waiting_checkin",
        (CLIENT,),
        (EMAIL, SMS, LETTER),
        daytime_only=True,
        example=lambda: {"weeks_waiting": 6},
        no_longer_needed=_still_waiting,
    ),
    # A posted reminder would arrive after the appointment; without email or text, none.
    # Queued by the notifications sweep from the invitation or allocation letter.
    KindSpec(
        "appointment_reminder",
        (CLIENT,),
        (EMAIL, SMS),
        daytime_only=True,
        follow_up_if_undeliverable=False,
        example=_appointment_example,
        no_longer_needed=closed_reason,
    ),
    # Risk alerts go to staff only: never on a client's channel.
    KindSpec(
        "risk_alert",
        (DUTY_INBOX, STAFF),
        (EMAIL,),
        urgent=True,
        example=lambda: {
            "reasons": ["Answered 'no' to 'Are you safe right now?' in the self-referral"],
            "raised_at": timezone.now(),
        },
    ),
    # The link to a self-referral saved part-way, to someone who agreed to email. The code
    # shown on screen also works, so a link that cannot be sent needs no follow-up; one
    # that fails (the mail server refused it) is on the follow-up list like any other.
    KindSpec(
        "draft_resume_link",
        (CLIENT,),
        (EMAIL,),
        follow_up_if_undeliverable=False,
        at_send=True,
        example=lambda: {
            "code": "7K3M-X9QP-4RTW",
            "expires_at": timezone.now() + timedelta(days=7),
        },
    ),
)


def register() -> None:
    for spec in KINDS:
        kinds.register(spec)
    # The save-and-return email is addressed, and its code issued, when it is sent.
    kinds.register_at_send(drafts.RESUME_LINK_KIND, drafts.draft_resume_link_address)
    # Consent at send time: what the client agreed to, read now, not when it was queued.
    kinds.register_contact(
        selectors.client_contact_options, supply_many=selectors.clients_contact_options
    )
    kinds.register_waiting(selectors.referrals_waiting_since)
    # A restriction the client asked for holds every message to them or their GP.
    kinds.register_restriction(rights.restriction_hold_reason)
