"""Every action a client takes in the portal, one function each (so each can be audited in
one place): asking for a sign-in link, signing in, opening and ending a portal session,
changing a consent decision or contact details, and withdrawing the referral.

Nothing here says whether a referral exists: `portal_link_request` returns nothing, and the
page after it is the same whatever was found. Secrets (the link's token, the session's key)
are random and stored only as hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from common.client_address import client_address
from common.errors import ServiceError
from intake import selectors as intake_selectors
from intake import services as intake_services
from intake.models import Client, ConsentRecord, Referral
from intake.references import reference_is_well_formed
from notifications.kinds import AtSend
from portal.messages import SIGN_IN_KIND
from portal.models import PortalSession, SignInLink
from therapy import services as therapy_services

CHANNEL_TOPIC = {
    SignInLink.Channel.EMAIL: ConsentRecord.Topic.CONTACT_EMAIL,
    SignInLink.Channel.SMS: ConsentRecord.Topic.CONTACT_SMS,
}
# A request not sent within this long (a worker down for hours) is not sent at all.
REQUEST_STALE_AFTER = timedelta(hours=2)
# The time a session was last used is written at most this often.
SEEN_EVERY = timedelta(seconds=60)
COOKIE_NAME = "threshold_portal"
COOKIE_PATH = "/portal/"

# The referral can be withdrawn here only before therapy starts: once it has, ending is
# planned with the therapist (docs/portal.md).
WITHDRAWABLE = (
    Referral.Status.SUBMITTED,
    Referral.Status.ASSESSMENT_BOOKED,
    Referral.Status.AWAITING_ALLOCATION,
    Referral.Status.ALLOCATED,
)

# The questions the portal asks, as the client sees them; the version is kept with each
# decision. Change the words, change the version.
WORDING_VERSION = "portal-1"
QUESTIONS = {
    ConsentRecord.Topic.CONTACT_EMAIL: "May we contact you by email?",
    ConsentRecord.Topic.CONTACT_SMS: "May we send you text messages?",
    ConsentRecord.Topic.CONTACT_PHONE: "May we phone you?",
    ConsentRecord.Topic.VOICEMAIL: "If you do not answer, may we leave a voicemail message?",
    ConsentRecord.Topic.LETTERS_HOME: "May we send you letters at your home address?",
    ConsentRecord.Topic.TELL_GP: "May we tell your GP about your referral and your care?",
    ConsentRecord.Topic.OUTCOME_DATA: (
        "May we use your questionnaire scores, with your name and details removed, to "
        "see how well the service works?"
    ),
}


class PortalError(ServiceError):
    """Something the client asked for that cannot be done; the message says why."""


class LinkUnusable(PortalError):
    """A sign-in link that cannot sign anyone in; `reason` says which case."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class SessionEnded(PortalError):
    """No portal session, or one that has ended; `reason` is a PortalSession.Ended value or
    "none"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_reference(value: str) -> str:
    return "".join((value or "").split()).upper()


# --- Getting in ---------------------------------------------------------------------------


@transaction.atomic
def portal_link_request(*, reference: str, date_of_birth: date, channel: str) -> None:
    """Send a sign-in link to the client of this referral, by the channel they chose, if the
    date of birth matches and they agree to that channel. Otherwise nothing happens, and the
    caller cannot tell which: it must answer the same either way."""
    reference = normalise_reference(reference)
    if channel not in CHANNEL_TOPIC or not reference_is_well_formed(reference):
        return
    referral = Referral.objects.select_related("client").filter(reference=reference).first()
    if referral is None or referral.client.date_of_birth != date_of_birth:
        return
    if not _channel_usable(referral.client_id, channel):
        return
    link = SignInLink.objects.create(referral=referral, channel=channel)
    from notifications.outbox import notification_queue

    notification_queue(
        kind=SIGN_IN_KIND,
        referral=referral,
        recipient="client",
        occurrence=str(link.public_id),
        context={"link": str(link.public_id)},
    )


def _channel_usable(client_id: int, channel: str) -> bool:
    """Whether the client agrees, now, to this channel, and we hold its detail."""
    contact = intake_selectors.client_contact_options(client_id=client_id)
    if channel == SignInLink.Channel.EMAIL:
        return contact.email_ok and bool(contact.email)
    if channel == SignInLink.Channel.SMS:
        return contact.sms_ok and bool(contact.mobile_phone)
    return False


def portal_link_address(*, context: dict) -> AtSend:
    """For the outbox, at the moment of sending: where the link goes (the channel the client
    chose, only while they agree to it) and a fresh token for it. Only the token's hash is
    kept, so a resend issues a new token and the earlier message's link stops working."""
    now = timezone.now()
    link = (
        SignInLink.objects.select_related("referral__client")
        .filter(public_id=context.get("link"))
        .first()
    )
    if link is None:
        return AtSend(cancel="Not needed: the sign-in request no longer exists.")
    if link.used_at is not None:
        return AtSend(cancel="Not needed: the client has already signed in with this link.")
    if link.created_at <= now - REQUEST_STALE_AFTER:
        return AtSend(cancel="Not needed: the client asked for it more than 2 hours ago.")
    contact = intake_selectors.client_contact_options(client_id=link.referral.client_id)
    email = sms = ""
    if link.channel == SignInLink.Channel.EMAIL and contact.email_ok:
        email = contact.email
    elif link.channel == SignInLink.Channel.SMS and contact.sms_ok:
        sms = contact.mobile_phone
    if not (email or sms):
        return AtSend()  # no longer agreed: suppressed, never sent another way
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=settings.PORTAL_LINK_MINUTES)
    issued = SignInLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        token_hash=_hash(token), issued_at=now, expires_at=expires_at, updated_at=now
    )
    if not issued:
        return AtSend(cancel="Not needed: the client has already signed in with this link.")
    url = settings.SITE_URL + reverse("portal-sign-in", kwargs={"token": token})
    return AtSend(
        email=email,
        sms=sms,
        values={"link": url, "expires_at": timezone.localtime(expires_at)},
        secrets=(token,),
    )


LINK_UNKNOWN = (
    "This sign-in link is not recognised. Check that you copied the whole link, or ask for "
    "a new one."
)
LINK_USED = "This sign-in link has already been used. Each link works once: ask for a new one."
LINK_EXPIRED = (
    "This sign-in link has expired. Links work for {minutes} minutes after we send them: "
    "ask for a new one."
)
LINK_CHANNEL = (
    "This sign-in link can no longer be used, because you have told us not to contact you "
    "the way it was sent. Ask for a new one by a way you agree to."
)


def _link_usable(link: SignInLink | None, now) -> SignInLink:
    if link is None or link.token_hash is None:
        raise LinkUnusable(LINK_UNKNOWN, reason="unknown")
    if link.used_at is not None:
        raise LinkUnusable(LINK_USED, reason="used")
    if link.expires_at is None or link.expires_at <= now:
        minutes = settings.PORTAL_LINK_MINUTES
        raise LinkUnusable(LINK_EXPIRED.format(minutes=minutes), reason="expired")
    if not _channel_usable(link.referral.client_id, link.channel):
        raise LinkUnusable(LINK_CHANNEL, reason="channel")
    return link


def portal_link_check(*, token: str) -> SignInLink:
    """The link for this token if it can still sign in (LinkUnusable otherwise). Looking
    never spends it: mail scanners open links too."""
    link = (
        SignInLink.objects.select_related("referral").filter(token_hash=_hash(token or "")).first()
    )
    return _link_usable(link, timezone.now())


@dataclass(frozen=True)
class SignedIn:
    session: PortalSession
    key: str  # for the cookie, never stored


@transaction.atomic
def portal_sign_in(*, token: str, address: str = "") -> SignedIn:
    """Spend the link and open a portal session (LinkUnusable if it cannot); the sign-in is
    on the audit trail, from the client's address."""
    now = timezone.now()
    link = (
        SignInLink.objects.select_for_update()
        .select_related("referral")
        .filter(token_hash=_hash(token or ""))
        .first()
    )
    link = _link_usable(link, now)
    link.used_at = now
    link.save(update_fields=["used_at", "updated_at"])
    key = secrets.token_urlsafe(32)
    session = PortalSession.objects.create(
        referral=link.referral,
        link=link,
        channel=link.channel,
        key_hash=_hash(key),
        last_seen_at=now,
    )
    audit.record(
        action=AuditEvent.Action.PORTAL_SIGN_IN,
        referral=link.referral,
        address=address,
        detail={"by": "client", "channel": link.channel},
    )
    return SignedIn(session=session, key=key)


# --- The session --------------------------------------------------------------------------


def portal_session_open(*, key: str) -> PortalSession:
    """The client's live portal session for this cookie, its last use recorded; SessionEnded
    (with why) if there is none, or it has run out, or the client no longer agrees to the
    channel they signed in by, which ends it there and then."""
    if not key:
        raise SessionEnded("none")
    session = (
        PortalSession.objects.select_related("referral__client", "referral__service")
        .filter(key_hash=_hash(key))
        .first()
    )
    if session is None:
        raise SessionEnded("none")
    if session.ended_at is not None:
        raise SessionEnded(session.end_reason or "none")
    now = timezone.now()
    ended = ""
    if session.created_at + timedelta(minutes=settings.PORTAL_SESSION_MAX_MINUTES) <= now:
        ended = PortalSession.Ended.EXPIRED
    elif session.last_seen_at + timedelta(minutes=settings.PORTAL_SESSION_IDLE_MINUTES) <= now:
        ended = PortalSession.Ended.IDLE
    else:
        topic = CHANNEL_TOPIC[session.channel]
        decision = intake_selectors.consent_current(client_id=session.referral.client_id).get(topic)
        if decision != ConsentRecord.Decision.GRANTED:
            ended = PortalSession.Ended.CHANNEL_WITHDRAWN
    if ended:
        _session_end(session, ended, now)
        raise SessionEnded(ended)
    if now - session.last_seen_at >= SEEN_EVERY:
        PortalSession.objects.filter(pk=session.pk).update(last_seen_at=now, updated_at=now)
        session.last_seen_at = now
    return session


def portal_page_record(*, request, session: PortalSession, response) -> None:
    """Every portal page the client opens or sends is on the audit trail, like a staff
    page (audit/middleware.py): the page, read or write, the answer and the address."""
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    match = request.resolver_match
    audit.record(
        action=AuditEvent.Action.WRITE if write else AuditEvent.Action.READ,
        address=client_address(request),  # no request: a staff sign-in is not the client
        referral=session.referral,
        view=(match.url_name or "") if match else "",
        method=request.method[:10],
        status=response.status_code,
        detail={"by": "client", "channel": session.channel},
        durable=write or settings.AUDIT_DURABLE_READS,
    )


def _session_end(session: PortalSession, reason: str, now=None) -> None:
    now = now or timezone.now()
    PortalSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason=reason, updated_at=now
    )
    session.ended_at, session.end_reason = now, reason


def portal_sign_out(*, session: PortalSession) -> None:
    """End the session on the server: the old cookie, copied or replayed, opens nothing."""
    _session_end(session, PortalSession.Ended.SIGNED_OUT)


# --- Consent and contact ------------------------------------------------------------------


@transaction.atomic
def portal_consent_set(*, session: PortalSession, topic: str, agree: bool) -> ConsentRecord:
    """Record the client's decision on one topic, with the words they were shown. A new
    record, never an edit; it counts at once, for messages already queued too (the outbox
    reads consent when it sends). Saying no to the channel they signed in by ends this
    session."""
    if topic not in QUESTIONS:
        raise PortalError("That choice cannot be changed here.", field="decision")
    client = Client.objects.select_for_update().get(pk=session.referral.client_id)
    current = intake_selectors.consent_current(client_id=client.pk).get(topic)
    if agree:
        decision = ConsentRecord.Decision.GRANTED
    elif current == ConsentRecord.Decision.GRANTED:
        decision = ConsentRecord.Decision.WITHDRAWN
    else:
        decision = ConsentRecord.Decision.REFUSED
    record = intake_services.consent_record(
        client=client,
        referral=session.referral,
        topic=topic,
        decision=decision,
        wording=QUESTIONS[topic],
        wording_version=WORDING_VERSION,
        via=ConsentRecord.Via.PORTAL,
    )
    if not agree and CHANNEL_TOPIC.get(session.channel) == topic:
        _session_end(session, PortalSession.Ended.CHANNEL_WITHDRAWN)
    return record


@transaction.atomic
def portal_contact_update(*, session: PortalSession, values: dict) -> Client:
    """Change the client's contact details and safe times to call; staff see the change on
    the referral at once, and messages read the new details when they are sent."""
    return intake_services.client_contact_update(client_id=session.referral.client_id, **values)


# --- Corrections (docs/portal.md, "Corrections") --------------------------------------------

# At most this many correction requests from the portal open at once on a referral: enough
# for a client with several things to put right, not a way to flood the staff's task list.
MAX_OPEN_CORRECTIONS = 3
CORRECTIONS_FULL = (
    "You already have {count} correction requests waiting for an answer. We will reply to "
    "them first. If something else is wrong, add it when we reply, or contact us."
)


@transaction.atomic
def portal_correction_request(*, session: PortalSession, wrong: str, should_say: str):
    """Ask staff to correct the record: a rights request (UK GDPR Art. 16) of kind
    correction, from the portal, on the staff's task list at once and due in one month. The
    referral is locked first, so two requests at once cannot pass the limit together."""
    from intake import rights
    from intake.models import RightsRequest

    Referral.objects.select_for_update().only("pk").get(pk=session.referral_id)
    count = RightsRequest.objects.filter(
        referral_id=session.referral_id,
        kind=RightsRequest.Kind.CORRECTION,
        source=RightsRequest.Source.PORTAL,
        status=RightsRequest.Status.OPEN,
    ).count()
    if count >= MAX_OPEN_CORRECTIONS:
        raise PortalError(CORRECTIONS_FULL.format(count=count))
    details = f"What is wrong:\n{wrong.strip()}\n\nWhat it should say:\n{should_say.strip()}"
    try:
        return rights.rights_request_open(
            referral=session.referral,
            kind=RightsRequest.Kind.CORRECTION,
            details=details,
            source=RightsRequest.Source.PORTAL,
        )
    except rights.RightsError as problem:
        raise PortalError(problem.message) from None


WHOLE_RECORD_WORDS = "A copy of the whole record, asked for in the client portal."


@transaction.atomic
def portal_access_request(*, session: PortalSession, details: str = ""):
    """Ask for a copy of the whole record (UK GDPR Art. 15): a rights request of kind access,
    from the portal, due in one month. One at a time: a second, while the first waits, is
    refused with the date the first is due (the referral is locked first)."""
    from intake import rights
    from intake.models import RightsRequest

    Referral.objects.select_for_update().only("pk").get(pk=session.referral_id)
    waiting = (
        RightsRequest.objects.filter(
            referral_id=session.referral_id,
            kind=RightsRequest.Kind.ACCESS,
            status=RightsRequest.Status.OPEN,
        )
        .order_by("due_on")
        .first()
    )
    if waiting is not None:
        raise PortalError(
            f"You asked for a copy of your whole record on {waiting.received_on:%-d %B %Y}. "
            f"We will send it by {waiting.due_on:%-d %B %Y}."
        )
    text = WHOLE_RECORD_WORDS
    if details.strip():
        text += f"\n\nAnything in particular:\n{details.strip()}"
    return rights.rights_request_open(
        referral=session.referral,
        kind=RightsRequest.Kind.ACCESS,
        details=text,
        source=RightsRequest.Source.PORTAL,
    )


# --- Withdrawing the referral ---------------------------------------------------------------


@transaction.atomic
def portal_referral_withdraw(*, session: PortalSession) -> Referral:
    """Withdraw the referral (the client confirmed it on the page before)."""
    try:
        return intake_services.referral_status_set(
            referral=session.referral,
            status=Referral.Status.WITHDRAWN,
            from_statuses=WITHDRAWABLE,
        )
    except intake_services.ReferralStatusError:
        raise PortalError(
            "Your referral cannot be withdrawn here now. If you are in therapy, please talk "
            "to your therapist about ending, or call us."
        ) from None


# --- Questionnaires ---------------------------------------------------------------------------


@transaction.atomic
def portal_questionnaire_complete(*, session: PortalSession, measure: str, answers: list):
    """The client's answers to a questionnaire due now, recorded by therapy where the
    therapist's progress page reads them; a risk item endorsed raises a flag and an urgent
    duty alert (therapy.services.questionnaire_complete_online). PortalError if it is not
    due (done already in another tab, or no longer in therapy)."""
    try:
        return therapy_services.questionnaire_complete_online(
            referral=session.referral, measure=measure, answers=answers
        )
    except therapy_services.TherapyError as problem:
        raise PortalError(problem.message) from None
