"""Allocation's kind of message, registered with notifications in `AllocationConfig.ready()`."""

from __future__ import annotations

from notifications import kinds
from notifications.kinds import CLIENT, EMAIL, LETTER, SMS, KindSpec

KINDS = (
    KindSpec(
        "allocation",
        (CLIENT,),
        (EMAIL, SMS, LETTER),
        example=lambda: {
            "appointment_at": kinds.example_appointment(),
            "regular_day": "Tuesday",
            "regular_time": "10:30",
            "frequency": "once a week",
            "duration_minutes": 50,
            "location": "Riverside Clinic, 12 Mill Lane",
            "video_link": "",
            "session_count": 24,
            "therapist_name": "",
        },
    ),
)


def register() -> None:
    for spec in KINDS:
        kinds.register(spec)
