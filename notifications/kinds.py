"""What each kind of message is: who may receive it, on which channels, and its context;
and the registry through which the apps above tell the outbox what it needs from them.

Notifications knows no app. Each app registers its own kinds in its `AppConfig.ready()`
(`register`, with an example context for staff previews and, where events can overtake a
queued message, why it is no longer needed). Intake registers the one function that reads
a client's contact details and consent at send time (`register_contact`), where the
people still waiting are (`register_waiting`), and whether the client has restricted the use
of their record (`register_restriction`). No database here.

The templates live in templates/notifications/messages/<kind>.*: `.html` (subject, heading
and body blocks shared by the email and the letter), `.txt` (the plain-text email) and,
where a text message makes sense, `.sms.txt`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from django.utils import timezone

CLIENT = "client"
GP = "gp"
DUTY_INBOX = "duty_inbox"
STAFF = "staff"

EMAIL = "email"
SMS = "sms"
LETTER = "letter"


@dataclass(frozen=True)
class KindSpec:
    kind: str
    recipients: tuple[str, ...]
    channels: tuple[str, ...]
    # Reminders and check-ins wait for daytime; a message the client has just triggered
    # (an acknowledgement) does not.
    daytime_only: bool = False
    urgent: bool = False
    # When no agreed channel can carry it, does a person need to step in?
    follow_up_if_undeliverable: bool = True
    # Context keys the templates use, with example values for a staff preview (a function:
    # examples are dated from today).
    example: Callable[[], dict[str, Any]] = dict
    # Given the referral when the message is due: why events have overtaken it ("" if it is
    # still needed). Supplied by the app that knows the referral's states.
    no_longer_needed: Callable[[Any], str] | None = None
    # Addressed at send time by the app that registered it (`register_at_send`), for a
    # person with no client record yet; it may carry a one-time secret that is rendered
    # into the message and never stored.
    at_send: bool = False
    # For a staff preview of an `at_send` kind: to whom and how it goes.
    at_send_note: str = ""

    @property
    def has_sms(self) -> bool:
        return SMS in self.channels

    @property
    def client_facing(self) -> bool:
        return CLIENT in self.recipients


@dataclass(frozen=True)
class AtSend:
    """What the registering app supplies at the moment a message is sent.

    `email` is where it goes ("" when the person has not agreed to email), or `sms` the mobile
    number a text goes to (a kind with SMS among its channels); `values` join the
    template context (`c`) for this send only; each of `secrets` (a one-time code) is sent
    but replaced by "[code removed]" in the copy the outbox keeps. `cancel` says why it is
    no longer needed (the draft was used or has expired)."""

    email: str = ""
    sms: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    cancel: str = ""


_AT_SEND: dict[str, Callable[..., AtSend]] = {}


def register_at_send(kind: str, supply: Callable[..., AtSend]) -> None:
    """Called from an app's `ready()`: `supply(context=...)` addresses an `at_send` kind."""
    if not spec(kind).at_send:
        raise ValueError(f"{kind} is not addressed at send time")
    _AT_SEND[kind] = supply


def at_send(kind: str, *, context: dict[str, Any]) -> AtSend:
    try:
        supply = _AT_SEND[kind]
    except KeyError:
        raise LookupError(f"no app has registered how to address {kind!r}") from None
    return supply(context=context)


SECRET_REMOVED = "[code removed]"


_SPECS: dict[str, KindSpec] = {}


def register(kind_spec: KindSpec) -> None:
    """Called from an app's `ready()`: the app that queues a kind says what it is."""
    known = _SPECS.get(kind_spec.kind)
    if known is not None and known != kind_spec:
        raise ValueError(f"{kind_spec.kind} is already registered differently")
    _SPECS[kind_spec.kind] = kind_spec


def __getattr__(name: str) -> Any:
    # KINDS is read live: the apps register their kinds when Django is set up.
    if name == "KINDS":
        return tuple(_SPECS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_registered(kind: str) -> bool:
    """Whether some app has registered this kind (a service may queue a kind only then)."""
    return kind in _SPECS


def spec(kind: str) -> KindSpec:
    try:
        return _SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown notification kind {kind!r}") from None


def example_context(kind: str) -> dict[str, Any]:
    return dict(spec(kind).example())


def example_appointment() -> datetime:
    """An example appointment for previews: ten days on, on a weekday, at 10:30."""
    at = timezone.localtime() + timedelta(days=10)
    while at.weekday() >= 5:  # an example on a weekday, as real appointments are
        at += timedelta(days=1)
    return at.replace(hour=10, minute=30, second=0, microsecond=0)


class ContactOptions(Protocol):
    """A client's contact details and what they agreed to, read at send time."""

    name: str
    address: str
    email: str
    mobile_phone: str
    gp_practice_name: str
    gp_practice_address: str
    gp_share_ok: bool
    letters_ok: bool
    voicemail_ok: bool
    safe_contact_times: str

    def consented_channels(self) -> list[str]: ...


_CONTACT: list[Callable[..., ContactOptions]] = []
_CONTACT_MANY: list[Callable[..., dict[int, ContactOptions]]] = []
_WAITING: list[Callable[..., Any]] = []


def register_contact(
    supply: Callable[..., ContactOptions],
    *,
    supply_many: Callable[..., dict[int, ContactOptions]] | None = None,
) -> None:
    """Called from intake's `ready()`: `supply(client_id=...)` reads contact details and
    consent now. Consent is asked at send time through this one function, or through
    `supply_many(client_ids=...)` for many clients at once (a print batch)."""
    _CONTACT[:] = [supply]
    _CONTACT_MANY[:] = [supply_many] if supply_many else []


def contact_options(*, client_id: int) -> ContactOptions:
    if not _CONTACT:
        raise LookupError("no app has registered how to read a client's contact options")
    return _CONTACT[0](client_id=client_id)


def contacts_options(*, client_ids: list[int]) -> dict[int, ContactOptions]:
    """ContactOptions for several clients, keyed by client id."""
    if _CONTACT_MANY:
        return _CONTACT_MANY[0](client_ids=client_ids)
    return {client_id: contact_options(client_id=client_id) for client_id in client_ids}


def register_waiting(supply: Callable[..., Any]) -> None:
    """Called from intake's `ready()`: `supply(before=...)` gives every service's referrals
    received before then and still waiting, as a QuerySet (for the 6-weekly check-in
    sweep, which reads it in chunks)."""
    _WAITING[:] = [supply]


def referrals_waiting(*, before: datetime) -> Any:
    if not _WAITING:
        raise LookupError("no app has registered which referrals are waiting")
    return _WAITING[0](before=before)


_RESTRICTED: list[Callable[[Any], str]] = []


def register_restriction(supply: Callable[[Any], str]) -> None:
    """Called from intake's `ready()`: `supply(referral)` says why nothing routine may go to
    the client or their GP about this referral now ("" when nothing stops it): a
    restriction of use the client asked for. Asked at send time and when letters are
    printed, like consent."""
    _RESTRICTED[:] = [supply]


def restricted(referral: Any) -> str:
    if referral is None or not _RESTRICTED:
        return ""
    return _RESTRICTED[0](referral)


def parse_context(raw: dict[str, Any]) -> dict[str, Any]:
    """Stored context (JSON) back to Python values: `*_at` are datetimes, `*_on` dates."""
    parsed: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if isinstance(value, str) and value and key.endswith("_at"):
            parsed[key] = _to_datetime(value)
        elif isinstance(value, str) and value and key.endswith("_on"):
            parsed[key] = date.fromisoformat(value[:10])
        else:
            parsed[key] = value
    return parsed


def _to_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return timezone.localtime(moment)


def appointment_at(context: dict[str, Any]) -> datetime | None:
    value = (context or {}).get("appointment_at")
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, str) and value:
        return _to_datetime(value)
    return None


DAY_STARTS = time(9, 0)
DAY_ENDS = time(19, 0)


def daytime(moment: datetime) -> datetime:
    """The moment itself if it is daytime in the service's zone, else the next 09:00."""
    local = timezone.localtime(moment)
    if local.time() < DAY_STARTS:
        return local.replace(hour=9, minute=0, second=0, microsecond=0)
    if local.time() >= DAY_ENDS:
        tomorrow = local + timedelta(days=1)
        return tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
    return moment
