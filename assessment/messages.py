"""Assessment's and therapy's kinds of message, registered with notifications in
`AssessmentConfig.ready()`."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from intake.messages import closed_reason
from notifications import kinds
from notifications.kinds import CLIENT, EMAIL, GP, LETTER, SMS, KindSpec


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
    KindSpec(
        "assessment_invitation",
        (CLIENT,),
        (EMAIL, SMS, LETTER),
        example=lambda: {
            "appointment_at": kinds.example_appointment(),
            "duration_minutes": 60,
            "location": "Riverside Clinic, 12 Mill Lane",
            "video_link": "",
        },
    ),
    # The assessment's outcome is personal: by email or letter, never a text.
    KindSpec(
        "assessment_outcome",
        (CLIENT,),
        (EMAIL, LETTER),
        example=lambda: {
            "recommendation": "psychodynamic",
            "modality": "Psychodynamic psychotherapy",
            "sessions_per_week": 1,
            "signpost_to": "",
            "waiting_for_therapist": True,
        },
    ),
    # GP letters go by post to the practice, and only with the client's agreement.
    KindSpec(
        "gp_letter",
        (GP,),
        (LETTER,),
        follow_up_if_undeliverable=False,
        example=lambda: {"stage": "referral", "summary": ""},
    ),
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
