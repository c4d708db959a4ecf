"""The national data set's codes for the project's own values. Pure: no Django.

NHS Talking Therapies data set code lists (docs/reporting.md gives each column and list):
source of referral (the mental health list, where self-referral is its own code), the
care spell's end code, and the attendance code of an appointment (the NHS Data
Dictionary's ATTENDED OR DID NOT ATTEND).
"""

from __future__ import annotations

# Referral.Source -> SOURCE OF REFERRAL FOR MENTAL HEALTH
SOURCE_CODES = {
    "self": "B1",  # Self Referral: Self
    "gp": "A1",  # Primary Health Care: General Medical Practitioner Practice
    "partner": "M6",  # Other service or agency
}

# TherapySession.Attendance -> ATTENDED OR DID NOT ATTEND
ATTENDANCE_CODES = {
    "attended": "5",  # Attended on time, or seen if late
    "cancelled_by_client": "2",  # Appointment cancelled by, or on behalf of, the patient
    "did_not_attend": "3",  # Did not attend, no advance warning given
    "cancelled_by_service": "4",  # Appointment cancelled or postponed by the provider
}

# End codes
NOT_ASSESSED = "50"  # Referred but not seen
SIGNPOSTED = "11"  # Not suitable, signposted elsewhere with the client's agreement
ADVICE_AND_DISCHARGE = "12"  # Discharged by mutual agreement following advice and support
REFERRED_ON = "13"  # Referred to another therapy service by mutual agreement
DECLINED = "14"  # Suitable, but declined the treatment offered
ASSESSMENT_INCOMPLETE = "16"  # Incomplete assessment (dropped out)
SEEN_NOT_KNOWN = "95"  # Not known (seen, not taken on for a course of treatment)
COMPLETED = "46"  # Mutually agreed completion of treatment
ENDED_EARLY_BY_CLIENT = "47"  # Ended earlier than the care professional planned
TREATED_NOT_KNOWN = "96"  # Not known (seen and taken on for a course of treatment)

CLOSED = ("ended", "signposted", "withdrawn")


def end_code(
    *,
    status: str,
    therapy_end_reason: str | None,
    assessment_status: str | None,
    recommendation: str | None,
    offered_here: str | None,
    treated: bool,
) -> str:
    """The end code of a closed referral; "" while it is open.

    treated: at least one attended therapy session. `therapy_end_reason` is the reason the
    last therapy ended (Therapy.EndReason), `recommendation` the finished assessment's
    (Assessment.Recommendation)."""
    if status not in CLOSED:
        return ""
    if treated:
        if therapy_end_reason == "completed":
            return COMPLETED
        if therapy_end_reason == "non_attendance":
            return ENDED_EARLY_BY_CLIENT
        return TREATED_NOT_KNOWN
    if assessment_status != "finished":
        # Withdrawn with an assessment begun and not finished, or before one.
        return ASSESSMENT_INCOMPLETE if assessment_status == "draft" else NOT_ASSESSED
    if status == "withdrawn":
        return DECLINED
    if recommendation == "signpost":
        return SIGNPOSTED
    if recommendation == "other_modality" and offered_here != "yes":
        return REFERRED_ON
    if recommendation == "discharge":
        return ADVICE_AND_DISCHARGE
    return SEEN_NOT_KNOWN
