"""What each kind of message is: who may receive it, on which channels, and its context.

Pure data: no database. The templates live in templates/notifications/messages/<kind>.*:
`.html` (subject, heading and body blocks shared by the email and the letter), `.txt`
(the plain-text email) and, where a text message makes sense, `.sms.txt`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

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
    # Context keys the templates use; `example` fills them for a staff preview.
    example: dict[str, Any] = field(default_factory=dict)
    # Addressed at send time by the app that registered it (`register_at_send`), for a
    # person with no client record yet; it may carry a one-time secret that is rendered
    # into the message and never stored.
    at_send: bool = False

    @property
    def has_sms(self) -> bool:
        return SMS in self.channels

    @property
    def client_facing(self) -> bool:
        return CLIENT in self.recipients


@dataclass(frozen=True)
class AtSend:
    """What the registering app supplies at the moment a message is sent.

    `email` is where it goes ("" when the person has not agreed to email); `values` join the
    template context (`c`) for this send only; each of `secrets` (a one-time code) is sent
    but replaced by "[code removed]" in the copy the outbox keeps. `cancel` says why it is
    no longer needed (the draft was used or has expired)."""

    email: str = ""
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


def _example_appointment() -> datetime:
    at = timezone.localtime() + timedelta(days=10)
    while at.weekday() >= 5:  # an example on a weekday, as real appointments are
        at += timedelta(days=1)
    return at.replace(hour=10, minute=30, second=0, microsecond=0)


def _examples() -> dict[str, dict[str, Any]]:
    appointment = _example_appointment()
    today = timezone.localdate()
    return {
        "assessment_invitation": {
            "appointment_at": appointment,
            "duration_minutes": 60,
            "location": "Riverside Clinic, 12 Mill Lane",
            "video_link": "",
        },
        "assessment_outcome": {
            "recommendation": "psychodynamic",
            "modality": "Psychodynamic psychotherapy",
            "sessions_per_week": 1,
            "signpost_to": "",
            "waiting_for_therapist": True,
        },
        "gp_letter": {"stage": "referral", "summary": ""},
        "allocation": {
            "appointment_at": appointment,
            "regular_day": "Tuesday",
            "regular_time": "10:30",
            "frequency": "once a week",
            "duration_minutes": 50,
            "location": "Riverside Clinic, 12 Mill Lane",
            "video_link": "",
            "session_count": 24,
            "therapist_name": "",
        },
        "therapist_break": {
            "change": "break",
            "break_starts_on": today + timedelta(days=21),
            "break_ends_on": today + timedelta(days=35),
            "resumes_on": today + timedelta(days=36),
            "new_day": "",
            "new_time": "",
        },
        "questionnaire_reminder": {
            "due_on": today + timedelta(days=7),
            "questionnaire_link": "",
        },
        "waiting_checkin": {"weeks_waiting": 6},
        "appointment_reminder": {
            "appointment_at": appointment,
            "location": "Riverside Clinic, 12 Mill Lane",
            "video_link": "",
        },
        "ending": {
            "last_session_on": today,
            "sessions_attended": 24,
            "summary": (
                "Over our sessions we looked together at the pattern of putting other "
                "people's needs first and how hard it has been to notice your own anger. "
                "You said the questionnaires and our conversations both showed that low "
                "mood has eased and that you feel more able to speak up at work."
            ),
            "plan": (
                "If things become difficult again, you planned to notice early signs such "
                "as sleeping badly and withdrawing from friends, to talk to someone you "
                "trust, and to contact your GP. You can refer yourself to us again."
            ),
        },
        "non_attendance_letter": {"missed_count": 2},
        "discharge_non_attendance": {"missed_count": 3, "last_offered_on": today},
        "draft_resume_link": {
            "code": "7K3M-X9QP-4RTW",
            "expires_at": timezone.now() + timedelta(days=7),
        },
        "risk_alert": {
            "reasons": ["Answered 'no' to 'Are you safe right now?' in the self-referral"],
            "raised_at": timezone.now(),
        },
    }


_SPECS = {
    "acknowledgement": KindSpec("acknowledgement", (CLIENT,), (EMAIL, SMS, LETTER)),
    "assessment_invitation": KindSpec("assessment_invitation", (CLIENT,), (EMAIL, SMS, LETTER)),
    # GP letters go by post to the practice, and only with the client's agreement.
    # The assessment's outcome is personal: by email or letter, never a text.
    "assessment_outcome": KindSpec("assessment_outcome", (CLIENT,), (EMAIL, LETTER)),
    "gp_letter": KindSpec("gp_letter", (GP,), (LETTER,), follow_up_if_undeliverable=False),
    "allocation": KindSpec("allocation", (CLIENT,), (EMAIL, SMS, LETTER)),
    "therapist_break": KindSpec("therapist_break", (CLIENT,), (EMAIL, SMS, LETTER)),
    "questionnaire_reminder": KindSpec(
        "questionnaire_reminder", (CLIENT,), (EMAIL, SMS, LETTER), daytime_only=True
    ),
    "waiting_checkin": KindSpec(
        "waiting_checkin", (CLIENT,), (EMAIL, SMS, LETTER), daytime_only=True
    ),
    # A posted reminder would arrive after the appointment; without email or text, none.
    "appointment_reminder": KindSpec(
        "appointment_reminder",
        (CLIENT,),
        (EMAIL, SMS),
        daytime_only=True,
        follow_up_if_undeliverable=False,
    ),
    # Endings and discharges are too personal, and too long, for a text message.
    "ending": KindSpec("ending", (CLIENT,), (EMAIL, LETTER)),
    "non_attendance_letter": KindSpec("non_attendance_letter", (CLIENT,), (EMAIL, LETTER)),
    "discharge_non_attendance": KindSpec("discharge_non_attendance", (CLIENT,), (EMAIL, LETTER)),
    # Risk alerts go to staff only: never on a client's channel.
    "risk_alert": KindSpec("risk_alert", (DUTY_INBOX, STAFF), (EMAIL,), urgent=True),
    # The link to a self-referral saved part-way, to someone who agreed to email. The code
    # shown on screen also works, so a link that cannot be sent needs no follow-up; one
    # that fails (the mail server refused it) is on the follow-up list like any other.
    "draft_resume_link": KindSpec(
        "draft_resume_link", (CLIENT,), (EMAIL,), follow_up_if_undeliverable=False, at_send=True
    ),
}

KINDS: tuple[str, ...] = tuple(_SPECS)


def spec(kind: str) -> KindSpec:
    try:
        return _SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown notification kind {kind!r}") from None


def example_context(kind: str) -> dict[str, Any]:
    return dict(_examples().get(kind, {}))


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
