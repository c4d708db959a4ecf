"""Addressing: who a message goes to, on which channel, and what its templates are given.

Read at send time, never at queueing: `address` reads the client's consent and contact
details now (through the kinds registry, since notifications imports no app) and answers a
`Plan` (channel, address, recipient) or `Undeliverable` (the reason staff see, and whether
it goes on the follow-up list). `render_context` builds what the templates see. Both the
delivery state machine (`notifications/sending.py`) and the preview a member of staff opens
(`notifications/selectors.py`) use them, so a preview says exactly where a message would go.
Reads only: nothing here writes or sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from notifications import kinds, rendering
from notifications.kinds import ContactOptions
from notifications.models import Notification

logger = logging.getLogger("threshold.notifications")


@dataclass(frozen=True)
class Plan:
    channel: str
    to_address: str
    recipient: rendering.Recipient
    contact: ContactOptions | None


@dataclass(frozen=True)
class Undeliverable:
    reason: str
    follow_up: bool


def address(notification: Notification) -> Plan | Undeliverable:
    spec = kinds.spec(notification.kind)
    if spec.at_send:
        # Only a preview gets here: such a message is addressed when it is sent.
        return Undeliverable(
            spec.at_send_note
            or "Sent only to someone saving a self-referral part-way, to the address they gave.",
            follow_up=False,
        )
    service = notification.service
    if notification.recipient == kinds.DUTY_INBOX:
        if not service.duty_inbox_email:
            return Undeliverable("The service has no duty inbox address.", follow_up=True)
        who = rendering.Recipient(
            name="", address_lines=(service.duty_inbox_email,), email=service.duty_inbox_email
        )
        return Plan(kinds.EMAIL, service.duty_inbox_email, who, None)
    if notification.recipient == kinds.STAFF:
        user = notification.staff_user
        if user is None or not user.email or not user.is_active:
            return Undeliverable("The member of staff has no active email address.", True)
        who = rendering.Recipient(
            name=user.get_full_name() or user.username, address_lines=(user.email,)
        )
        return Plan(kinds.EMAIL, user.email, who, None)

    # Client and GP: nothing while the client has restricted the use of their record (staff
    # alerts above still go: risk and safeguarding duties do not stop).
    held = kinds.restricted(notification.referral)
    if held:
        return Undeliverable(held, follow_up=False)
    # Client and GP: what the client agreed to, read now, not when the message was queued.
    contact = kinds.contact_options(client_id=notification.referral.client_id)
    if notification.recipient == kinds.GP:
        if not contact.gp_share_ok:
            return Undeliverable("The client has not agreed to us telling their GP.", False)
        if not (contact.gp_practice_name and contact.gp_practice_address):
            return Undeliverable(
                "The client agreed to us telling their GP, but we do not have the practice's "
                "name and address.",
                follow_up=True,
            )
        lines = rendering.address_lines(contact.gp_practice_address)
        who = rendering.Recipient(name=contact.gp_practice_name, address_lines=lines)
        return Plan(kinds.LETTER, "\n".join([contact.gp_practice_name, *lines]), who, contact)

    agreed = contact.consented_channels()
    for channel in agreed:
        if channel not in spec.channels:
            continue
        who = rendering.Recipient(
            name=contact.name,
            address_lines=rendering.address_lines(contact.address),
            email=contact.email,
            phone=contact.mobile_phone,
        )
        if channel == kinds.SMS:
            ctx = render_context(notification, who)
            if not rendering.sms_fits(rendering.render_sms(ctx)):
                logger.warning("notification %s: SMS too long, next channel", notification.pk)
                continue
            return Plan(channel, contact.mobile_phone, who, contact)
        if channel == kinds.EMAIL:
            return Plan(channel, contact.email, who, contact)
        return Plan(channel, "\n".join([contact.name, *who.address_lines]), who, contact)
    return Undeliverable(_why_undeliverable(spec, agreed, contact), spec.follow_up_if_undeliverable)


_CHANNEL_WORDS = {"email": "email", "sms": "text message", "letter": "letter", "phone": "phone"}


def _why_undeliverable(spec: kinds.KindSpec, agreed: list[str], contact: ContactOptions) -> str:
    possible = " or ".join(_CHANNEL_WORDS[c] for c in spec.channels)
    if not agreed:
        return (
            f"The client has not agreed to any way of contact this message can use "
            f"({possible}), or we lack the details for it."
        )
    if agreed == ["phone"]:
        voicemail = (
            "They agreed to voicemail."
            if contact.voicemail_ok
            else "Do not leave a voicemail: they have not agreed to one."
        )
        times = (
            f" Safe times to call: {contact.safe_contact_times}."
            if contact.safe_contact_times
            else ""
        )
        return (
            f"The client agreed to phone calls only. Please call them instead. {voicemail}{times}"
        )
    return (
        f"This message can go by {possible}; the client agreed only to "
        f"{' and '.join(_CHANNEL_WORDS[c] for c in agreed)}."
    )


def render_context(notification: Notification, who: rendering.Recipient) -> dict[str, Any]:
    referral = notification.referral
    about = None
    if notification.recipient == kinds.GP and referral is not None:
        client = referral.client
        about = {
            "name": f"{client.given_name} {client.family_name}",
            "date_of_birth": client.date_of_birth,
            "nhs_number": client.nhs_number,
        }
    ctx = rendering.build_context(
        kind=notification.kind,
        service=notification.service,
        referral=referral,
        recipient=who,
        context=notification.context,
        about_client=about,
    )
    ctx["received_at"] = referral.received_at if referral is not None else None
    return ctx
