"""Reads over referrals for staff pages; every one is scoped to the user's service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.core.paginator import Page
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from common.paging import page_of
from common.selectors import scope_to_service
from intake.models import PrivacyNotice, Referral, RiskFlag

WAIT_WARNING = timedelta(weeks=6)
WAIT_BREACH = timedelta(weeks=18)


def referral_list(*, user, status: str | None = None) -> QuerySet[Referral]:
    referrals = scope_to_service(Referral.objects.select_related("client"), user)
    if status:
        referrals = referrals.filter(status=status)
    return referrals.order_by("received_at", "id")


def referral_page(*, user, status: str | None = None, page=1) -> Page:
    """One page of the service's referrals, oldest first (the staff referral list)."""
    return page_of(referral_list(user=user, status=status), page=page)


def referral_get(*, user, public_id: UUID) -> Referral:
    """The referral, or Referral.DoesNotExist when it is not the user's service's."""
    return referral_list(user=user).get(public_id=public_id)


@dataclass(frozen=True)
class WaitingCounts:
    awaiting_assessment: int
    awaiting_allocation: int
    over_6_weeks: int
    over_18_weeks: int


# A referral in these states is still waiting to start therapy.
WAITING_STATUSES = (
    Referral.Status.SUBMITTED,
    Referral.Status.ASSESSMENT_BOOKED,
    Referral.Status.AWAITING_ALLOCATION,
)


def referrals_waiting_since(*, before) -> QuerySet[Referral]:
    """Every service's referrals received before `before` and still waiting (for sweeps
    run by beat, which act for every service; never for a page)."""
    return Referral.objects.filter(
        status__in=WAITING_STATUSES, received_at__lte=before
    ).select_related("service")


def referral_waiting_counts(*, user) -> WaitingCounts:
    now = timezone.now()
    waiting = WAITING_STATUSES
    # Every count is of referrals still waiting: read only those (an index range), not
    # every referral the service ever had.
    counts = (
        scope_to_service(Referral.objects.all(), user)
        .filter(status__in=waiting)
        .aggregate(
            awaiting_assessment=Count("id", filter=Q(status=Referral.Status.SUBMITTED)),
            awaiting_allocation=Count("id", filter=Q(status=Referral.Status.AWAITING_ALLOCATION)),
            over_6_weeks=Count(
                "id", filter=Q(status__in=waiting, received_at__lte=now - WAIT_WARNING)
            ),
            over_18_weeks=Count(
                "id", filter=Q(status__in=waiting, received_at__lte=now - WAIT_BREACH)
            ),
        )
    )
    return WaitingCounts(**counts)


@dataclass(frozen=True)
class ContactOptions:
    """How a client may be reached right now, from their details and latest consents.

    Notifications read this at the moment of sending, never from a copy taken when a
    message was queued.
    """

    client_id: int
    name: str
    email: str
    mobile_phone: str
    landline_phone: str
    address: str
    postcode: str
    preferred_channel: str
    safe_contact_times: str
    email_ok: bool
    sms_ok: bool
    phone_ok: bool
    voicemail_ok: bool
    letters_ok: bool
    gp_share_ok: bool
    gp_practice_name: str
    gp_practice_address: str

    def consented_channels(self) -> list[str]:
        """Usable channels, the client's preferred one first."""
        usable = [
            channel
            for channel, ok in (
                ("email", self.email_ok and bool(self.email)),
                ("sms", self.sms_ok and bool(self.mobile_phone)),
                ("letter", self.letters_ok and bool(self.address)),
                ("phone", self.phone_ok and bool(self.mobile_phone or self.landline_phone)),
            )
            if ok
        ]
        if self.preferred_channel in usable:
            usable.remove(self.preferred_channel)
            usable.insert(0, self.preferred_channel)
        return usable


def consent_current(*, client_id: int) -> dict[str, str]:
    """The latest decision per topic for a client: {topic: decision}."""
    from intake.models import ConsentRecord

    current: dict[str, str] = {}
    for topic, decision in (
        ConsentRecord.objects.filter(client_id=client_id)
        .order_by("recorded_at", "id")
        .values_list("topic", "decision")
    ):
        current[topic] = decision
    return current


def client_contact_options(*, client_id: int) -> ContactOptions:
    return clients_contact_options(client_ids=[client_id])[client_id]


def gp_share_ok(*, referral: Referral) -> bool:
    """Whether the client's current consent lets the service write to their GP."""
    from intake.models import ConsentRecord

    decision = consent_current(client_id=referral.client_id).get(ConsentRecord.Topic.TELL_GP)
    return decision == ConsentRecord.Decision.GRANTED


def clients_contact_options(*, client_ids: list[int]) -> dict[int, ContactOptions]:
    """ContactOptions for several clients in two queries (a print batch reads every
    letter's client at once). Client.DoesNotExist if one of them does not exist."""
    from intake.models import Client, ConsentRecord

    clients = Client.objects.in_bulk(client_ids)
    missing = set(client_ids) - set(clients)
    if missing:
        raise Client.DoesNotExist(f"No client with id {min(missing)}")
    consents: dict[int, dict[str, str]] = {pk: {} for pk in clients}
    for client_id, topic, decision in (
        ConsentRecord.objects.filter(client_id__in=list(clients))
        .order_by("recorded_at", "id")
        .values_list("client_id", "topic", "decision")
    ):
        consents[client_id][topic] = decision  # the latest decision per topic wins
    granted = ConsentRecord.Decision.GRANTED
    Topic = ConsentRecord.Topic
    options = {}
    for pk, client in clients.items():
        current = consents[pk]

        def ok(topic: str, current=current) -> bool:
            return current.get(topic) == granted

        options[pk] = ContactOptions(
            client_id=client.pk,
            name=client.display_name,
            email=client.email,
            mobile_phone=client.mobile_phone,
            landline_phone=client.landline_phone,
            address=client.address,
            postcode=client.postcode,
            preferred_channel=client.preferred_channel,
            safe_contact_times=client.safe_contact_times,
            email_ok=ok(Topic.CONTACT_EMAIL),
            sms_ok=ok(Topic.CONTACT_SMS),
            phone_ok=ok(Topic.CONTACT_PHONE),
            voicemail_ok=ok(Topic.VOICEMAIL),
            letters_ok=ok(Topic.LETTERS_HOME),
            gp_share_ok=ok(Topic.TELL_GP),
            gp_practice_name=client.gp_practice_name,
            gp_practice_address=client.gp_practice_address,
        )
    return options


_SERVICE_MEMO: dict = {}
SERVICE_MEMO_SECONDS = 30


def self_referral_service():
    """The service that takes self-referrals on this site (looked up at most every 30 s
    per process: every page of the form needs it).

    SELF_REFERRAL_SERVICE names it by slug; without it, the site must hold exactly one
    open service (as a single-service deployment does).
    """
    import time

    from django.conf import settings

    key = settings.SELF_REFERRAL_SERVICE
    memo = _SERVICE_MEMO.get(key)
    if memo and memo[0] > time.monotonic():
        return memo[1]
    service = _self_referral_service_lookup(key)
    _SERVICE_MEMO[key] = (time.monotonic() + SERVICE_MEMO_SECONDS, service)
    return service


def _self_referral_service_lookup(slug: str):
    from common.models import Service

    services = Service.objects.filter(self_referral_open=True)
    if slug:
        return services.filter(slug=slug).first()
    found = list(services[:2])
    return found[0] if len(found) == 1 else None


def privacy_notice_current(*, service):
    return service.privacy_notices.order_by("-published_at").first() if service else None


def privacy_notice_version(*, notice_id: int) -> str | None:
    return PrivacyNotice.objects.filter(pk=notice_id).values_list("version", flat=True).first()


@dataclass(frozen=True)
class ReferralOverview:
    referral: Referral
    preferences: object | None
    consents: list
    risk_flags: list
    measures: list


def referral_overview(*, user, public_id: UUID) -> ReferralOverview:
    """Everything a member of staff sees on one referral's page (DoesNotExist if not theirs)."""
    from intake.models import ConsentRecord, Preferences

    referral = referral_list(user=user).select_related("client").get(public_id=public_id)
    latest: dict[str, ConsentRecord] = {}
    for record in ConsentRecord.objects.filter(client_id=referral.client_id).order_by(
        "recorded_at", "id"
    ):
        latest[record.topic] = record
    return ReferralOverview(
        referral=referral,
        preferences=Preferences.objects.filter(referral=referral).select_related("site").first(),
        consents=sorted(latest.values(), key=lambda r: r.get_topic_display()),
        risk_flags=list(
            referral.risk_flags.select_related("acknowledged_by").prefetch_related("repeats")
        ),
        measures=list(referral.measure_responses.all()),
    )


def risk_flag_get(*, user, referral: Referral, public_id: UUID) -> RiskFlag | None:
    """One risk flag of this referral, if the user's service holds it."""
    return (
        scope_to_service(RiskFlag.objects.all(), user)
        .filter(public_id=public_id, referral=referral)
        .first()
    )
