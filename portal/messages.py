"""The portal's one kind of message, registered with notifications in `PortalConfig.ready()`:
the sign-in link, addressed and given its token at the moment it is sent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notifications import kinds
from notifications.kinds import CLIENT, EMAIL, SMS, KindSpec

SIGN_IN_KIND = "portal_sign_in_link"

KINDS = (
    # The link goes only by the channel the client chose, and only while they agree to it.
    # Nobody needs to follow up one that cannot go: the client can ask again.
    KindSpec(
        SIGN_IN_KIND,
        (CLIENT,),
        (EMAIL, SMS),
        follow_up_if_undeliverable=False,
        at_send=True,
        at_send_note=(
            "Sent only when the client asks for it on the portal, by the email or text "
            "message they chose, while they agree to it."
        ),
        example=lambda: {
            "link": "https://example.invalid/portal/sign-in/example-token/",
            "expires_at": timezone.now() + timedelta(minutes=30),
        },
    ),
)


def register() -> None:
    from portal import services

    for spec in KINDS:
        kinds.register(spec)
    kinds.register_at_send(SIGN_IN_KIND, services.portal_link_address)
