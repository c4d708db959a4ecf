"""Assessment's kinds of message, registered with notifications in
`AssessmentConfig.ready()`."""

from __future__ import annotations

from notifications import kinds
from notifications.kinds import CLIENT, EMAIL, GP, LETTER, SMS, KindSpec

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
)


def register() -> None:
    for spec in KINDS:
        kinds.register(spec)
