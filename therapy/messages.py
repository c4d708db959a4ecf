"""Therapy's kinds of message, registered with notifications in `TherapyConfig.ready()`."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from intake.messages import closed_reason
from notifications import kinds
from notifications.kinds import CLIENT, EMAIL, LETTER, SMS, KindSpec


def _ending_example() -> dict:
    return {
        "last_session_on": timezone.localdate(),
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
    }


def _break_example() -> dict:
    today = timezone.localdate()
    return {
        "change": "break",
        "break_starts_on": today + timedelta(days=21),
        "break_ends_on": today + timedelta(days=35),
        "resumes_on": today + timedelta(days=36),
        "new_day": "",
        "new_time": "",
    }


KINDS = (
    KindSpec("therapist_break", (CLIENT,), (EMAIL, SMS, LETTER), example=_break_example),
    KindSpec(
        "questionnaire_reminder",
        (CLIENT,),
        (EMAIL, SMS, LETTER),
        daytime_only=True,
        example=lambda: {
            "due_on": timezone.localdate() + timedelta(days=7),
            "questionnaire_link": "",
        },
        no_longer_needed=closed_reason,
    ),
    # Endings and discharges are too personal, and too long, for a text message.
    KindSpec("ending", (CLIENT,), (EMAIL, LETTER), example=_ending_example),
    KindSpec(
        "non_attendance_letter",
        (CLIENT,),
        (EMAIL, LETTER),
        example=lambda: {"missed_count": 2},
    ),
    KindSpec(
        "discharge_non_attendance",
        (CLIENT,),
        (EMAIL, LETTER),
        example=lambda: {"missed_count": 3, "last_offered_on": timezone.localdate()},
    ),
)


def register() -> None:
    for spec in KINDS:
        kinds.register(spec)
