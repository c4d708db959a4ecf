"""A copy of the client's data, for the client (UK GDPR Art. 15 and 20; docs/portal.md, "A
copy of your data").

`portal_data_copy` is the one read: it gathers what the service holds about the referral
from every app (the portal sits on top of them all) into one plain, JSON-ready dict with
stable keys (`FORMAT` names its version). The JSON download is that dict; the PDF is the
same dict laid out on the service's letterhead, rendered as letters are
(`notifications.letters.render_pdf`).

Bounded whatever the record holds: a fixed number of reads per referral (no read per
session, letter or questionnaire), and every list has a limit; a list that reaches its
limit is named in `lists_cut_short`, and the whole list then comes through a staff
request.

What is left out, and why, is `WITHHELD` (in the copy itself too): words staff wrote about
the client (health data a clinician must review before it is disclosed, Data Protection
Act 2018 Sch. 3 Pt. 2 paras 5-6), other people's information, and security records. The
client gets those through a subject access request to staff (the rights request route),
where a clinician decides.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.html import strip_tags

import measures
from assessment.forms import WEEKDAY_NAMES
from assessment.models import Assessment, AssessmentAppointment, AssessmentMeasure
from intake import forms as intake_forms
from intake.models import (
    PREFER_NOT_TO_SAY,
    Client,
    ConsentRecord,
    MeasureResponse,
    Preferences,
    Referral,
    RightsRequest,
    RiskFlag,
)
from notifications import letters
from notifications import selectors as notification_selectors
from therapy.forms import BREAK_KIND_NAMES
from therapy.models import (
    Goal,
    NonAttendanceStep,
    SessionPlan,
    SessionResponse,
    Therapy,
    TherapySession,
)

FORMAT = "threshold-data-copy/1"

# The most of each list a copy holds. Far above what one referral gathers; a list that
# reaches its limit is named in `lists_cut_short`.
LIMITS = {
    "consent": 1000,
    "questionnaires": 500,
    "assessment_appointments": 50,
    "therapy_periods": 20,
    "session_plans": 200,
    "goals": 200,
    "sessions": 1000,
    "non_attendance_steps": 100,
    "messages": 500,
    "rights_requests": 200,
}

# Risk flags raised by the client's own answers: what raised them is already in the copy
# (the answer itself). Flags staff raised are their clinical judgement (withheld below).
CLIENTS_OWN_RISK_SOURCES = (
    RiskFlag.Source.SAFETY_QUESTION,
    RiskFlag.Source.PHQ9_ITEM9,
    RiskFlag.Source.CORE10_ITEM6,
)

ABOUT = (
    "This is a copy of the information we hold about you and your referral: what you told "
    "us, the choices you made, your questionnaires with each answer and score, your "
    "appointments, your therapy plan, goals and sessions, the letters and messages we sent "
    "you, and the requests you made about your record. Some things are not in it; the last "
    "part says what, and how to ask for them."
)

SUBJECT_ACCESS = (
    "To ask for a copy of everything, including what is not in this copy, ask for your "
    "whole record on the 'Your data' page of the portal, or contact us by phone, letter or "
    "email (a subject access request). A clinician reads the record first, as the law asks, "
    "and we answer within one month."
)

# What the copy leaves out, and why: shown in the copy, on the page and in docs/portal.md.
WITHHELD = (
    {
        "what": "What clinicians wrote about you: the assessment's notes (each section, the "
        "risk assessment and risk plan, the formulation, the reasons for the "
        "recommendation, the summary for your GP and any additions), notes on sessions, "
        "the session plan's notes and reasons for changes, reasons goals were closed, "
        "reviews of your progress, the overall risk level, and risk flags raised by staff "
        "with what was done about them.",
        "why": "This is health information written by clinicians. The law asks that a "
        "clinician reads it before it is given out (Data Protection Act 2018, Schedule 3, "
        "Part 2), so it comes through a request to us, not automatically.",
    },
    {
        "what": "Letters to your GP about you.",
        "why": "They hold the assessment's summary for your GP, written by a clinician: "
        "they come through a request to us, for the same reason.",
    },
    {
        "what": "The names of the staff who saw you or recorded things, and information "
        "about anyone else.",
        "why": "This copy is about you. Information about other people is theirs "
        "(Data Protection Act 2018, Schedule 2, Part 3); staff names can be given through "
        "a request to us.",
    },
    {
        "what": "Sign-in links and codes, portal sign-in records, and the record of which "
        "staff opened your record and when.",
        "why": "These keep your record safe. Codes are kept only in a scrambled form that "
        "cannot be read back; the record of who opened your record can be asked for "
        "through a request to us.",
    },
    {
        "what": "How our systems handled things behind the scenes: internal numbers, how "
        "each message was delivered, a self-referral form saved part-way and not sent.",
        "why": "These say nothing about you beyond what is already in this copy; a saved "
        "form is deleted after a few days.",
    },
)


# --- Plain values -----------------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _label(choices, value) -> str:
    """The words for a stored choice ("" when nothing was given)."""
    if value == PREFER_NOT_TO_SAY:
        return "Prefer not to say"
    return str(dict(choices).get(value, value or ""))


def _labels(choices, values) -> list[str]:
    return [_label(choices, value) for value in (values or [])]


def _form_choices(form_class, name: str):
    return [(v, label) for v, label in form_class.base_fields[name].choices if v]


def _cut(rows: list, name: str, cut_short: list[str]) -> list:
    if len(rows) >= LIMITS[name]:
        cut_short.append(name)
    return rows


# --- The copy ---------------------------------------------------------------------------------


def portal_data_copy(*, referral: Referral) -> dict[str, Any]:
    """Everything the portal gives the client about this referral, as a JSON-ready dict
    (keys in docs/portal.md). Seventeen reads whatever the record holds.

    The caller has decided the person may have it: the portal passes the session's own
    referral. Staff answering a subject access request could start from the same copy and
    add what a clinician has reviewed from `WITHHELD`; it would then move below the
    whole-service apps, since the staff app may not import the portal."""
    cut_short: list[str] = []
    referral = Referral.objects.select_related("client", "service").get(pk=referral.pk)
    client = referral.client
    copy = {
        "format": FORMAT,
        "made_at": _when(timezone.now()),
        "about_this_copy": ABOUT,
        "service": {"name": referral.service.name},
        "client": _client(client),
        "referral": _referral(referral),
        "preferences": _preferences(referral),
        "consent": _cut(_consent(client), "consent", cut_short),
        "assessment": _assessment(referral, cut_short),
        "questionnaires": _cut(_questionnaires(referral), "questionnaires", cut_short),
        "risk_flags": _risk_flags(referral),
        "therapy": _therapy(referral, cut_short),
        "messages": _cut(_messages(referral), "messages", cut_short),
        "rights_requests": _cut(_rights_requests(referral), "rights_requests", cut_short),
        "lists_cut_short": cut_short,
        "withheld": [dict(item) for item in WITHHELD],
        "how_to_ask_for_everything": SUBJECT_ACCESS,
    }
    copy["referral"]["status_history"] = _status_history(copy)
    return copy


def _status_history(copy: dict) -> list[dict]:
    """The referral's steps, oldest first, from the dates the record holds: the service
    keeps each step's date (received, booked, assessed, started, ended), not a separate log
    of status changes, so a step with no date of its own (withdrawn, signposted) shows only
    as the status now."""
    steps = [{"on": copy["referral"]["received_at"], "what": "Referral received"}]
    assessment = copy["assessment"]
    for item in assessment["appointments"]:
        steps.append(
            {"on": item["booked_at"], "what": f"Assessment booked ({item['status'].lower()})"}
        )
    if assessment["finished_on"]:
        words = assessment["recommendation"]
        steps.append(
            {"on": assessment["finished_on"], "what": f"Assessment finished: {words}".strip()}
        )
    for period in copy["therapy"]["periods"]:
        steps.append({"on": period["started_on"], "what": "Therapy started"})
        if period["ended_on"]:
            how = f" ({period['how_it_ended'].lower()})" if period["how_it_ended"] else ""
            steps.append({"on": period["ended_on"], "what": f"Therapy ended{how}"})
    return sorted(steps, key=lambda step: step["on"] or "")


def _client(client: Client) -> dict:
    return {
        "given_name": client.given_name,
        "family_name": client.family_name,
        "preferred_name": client.preferred_name,
        "date_of_birth": _day(client.date_of_birth),
        "pronouns": client.pronouns,
        "gender": _label(intake_forms.GENDERS, client.gender_identity),
        "nhs_number": client.nhs_number,
        "postcode": client.postcode,
        "email": client.email,
        "mobile_phone": client.mobile_phone,
        "landline_phone": client.landline_phone,
        "address": client.address,
        "preferred_channel": _label(Client.Channel.choices, client.preferred_channel),
        "safe_contact_times": client.safe_contact_times,
        "gp_registered": _label(Client.GpRegistration.choices, client.gp_registered),
        "gp_practice_name": client.gp_practice_name,
        "gp_practice_address": client.gp_practice_address,
    }


def _referral(referral: Referral) -> dict:
    return {
        "reference": referral.reference,
        "status": referral.status,
        "status_label": referral.get_status_display(),
        "source": referral.get_source_display(),
        "received_at": _when(referral.received_at),
        "safe_now": _label(intake_forms.YES_NO, referral.safe_now),
        "difficulties_in_your_words": referral.presenting_problem,
        "difficulty_areas": _labels(intake_forms.DIFFICULTY_AREAS, referral.difficulty_areas),
        "difficulty_duration": _label(intake_forms.DURATIONS, referral.difficulty_duration),
        "hopes": referral.hopes,
        "previous_help": referral.previous_help,
        "current_services": _labels(intake_forms.CURRENT_SERVICES, referral.current_services),
        "restricted_since": _when(referral.restricted_at),
        # Filled in from the other parts once they are read (`_status_history`).
        "status_history": [],
    }


def _preferences(referral: Referral) -> dict | None:
    found = Preferences.objects.filter(referral=referral).select_related("site").first()
    if found is None:
        return None
    interpreter = {True: "Yes", False: "No"}.get(found.interpreter_needed, "")
    return {
        "therapist_gender": _label(Preferences.TherapistGender.choices, found.therapist_gender),
        "therapist_gender_importance": _label(
            Preferences.GenderWish.choices, found.therapist_gender_strength
        ),
        "language": found.language,
        "interpreter_needed": interpreter,
        "interpreter_language": found.interpreter_language,
        "access_needs": found.access_needs,
        "mode": _label(Preferences.Mode.choices, found.mode),
        "place": found.site.name if found.site_id else "",
        "availability": _labels(intake_forms.AVAILABILITY, found.availability),
        "more_than_weekly": _label(
            _form_choices(intake_forms.PreferencesForm, "more_than_weekly"),
            found.more_than_weekly,
        ),
    }


def _consent(client: Client) -> list[dict]:
    records = (
        ConsentRecord.objects.filter(client=client)
        .select_related("notice")
        .only(
            "topic",
            "decision",
            "wording",
            "wording_version",
            "via",
            "recorded_at",
            "notice__version",
        )
        .order_by("recorded_at", "id")[: LIMITS["consent"]]
    )
    return [
        {
            "topic": record.topic,
            "topic_label": record.get_topic_display(),
            "decision": record.decision,
            "decision_label": record.get_decision_display(),
            "question_shown": record.wording,
            "wording_version": record.wording_version,
            "privacy_notice_version": record.notice.version if record.notice_id else "",
            "how_recorded": record.get_via_display(),
            "recorded_at": _when(record.recorded_at),
        }
        for record in records
    ]


def _assessment(referral: Referral, cut_short: list[str]) -> dict:
    appointments = list(
        AssessmentAppointment.objects.filter(referral=referral)
        .select_related("site")
        .order_by("starts_at", "id")[: LIMITS["assessment_appointments"]]
    )
    _cut(appointments, "assessment_appointments", cut_short)
    # Only the columns given out: the clinicians' notes are not even read.
    found = (
        Assessment.objects.filter(referral=referral)
        .only(
            "status",
            "finished_at",
            "recommendation_choice",
            "recommendation_sessions_per_week",
            "recommendation_signpost_to",
        )
        .first()
    )
    measures_done = []
    if found is not None:
        measures_done = [
            {"measure": _measure_name(row.measure), "how": row.get_source_display()}
            for row in AssessmentMeasure.objects.filter(assessment=found).order_by("measure")
        ]
    finished = found is not None and found.status == Assessment.Status.FINISHED
    return {
        "appointments": [
            {
                "booked_at": _when(item.created_at),
                "starts_at": _when(item.starts_at),
                "duration_minutes": item.duration_minutes,
                "how": item.get_mode_display(),
                "where": item.where(),
                "status": item.get_status_display(),
            }
            for item in appointments
        ],
        "status": found.get_status_display() if found is not None else "Not started",
        "finished_on": _day(timezone.localtime(found.finished_at).date())
        if finished and found.finished_at
        else None,
        "recommendation": found.get_recommendation_choice_display() if finished else "",
        "sessions_per_week": found.recommendation_sessions_per_week if finished else None,
        "signposted_to": found.recommendation_signpost_to if finished else "",
        "questionnaires": measures_done,
    }


def _measure_name(code: str) -> str:
    try:
        return measures.get_measure(code).name
    except measures.MeasureError:
        return code.upper()


def _answer(measure, answer) -> str:
    if answer == measures.PREFER_NOT_TO_SAY:
        return "Prefer not to say"
    if answer == measures.NOT_APPLICABLE:
        return "Does not apply"
    if answer is None:
        return "Not answered"
    if measure and isinstance(answer, int) and 0 <= answer < len(measure.options):
        return measure.options[answer]
    return str(answer)


def _questionnaires(referral: Referral) -> list[dict]:
    responses = list(
        MeasureResponse.objects.filter(referral=referral)
        .only(
            "measure",
            "context",
            "answers",
            "total",
            "band",
            "withheld_reason",
            "completed_at",
        )
        .order_by("completed_at", "id")[: LIMITS["questionnaires"]]
    )
    session_of = dict(
        SessionResponse.objects.filter(response_id__in=[r.pk for r in responses]).values_list(
            "response_id", "session__occurred_on"
        )
    )
    rows = []
    for response in responses:
        try:
            measure = measures.get_measure(response.measure)
        except measures.MeasureError:  # a code no longer known: its answers as stored
            measure = None
        items = []
        for number, answer in enumerate(response.answers or [], start=1):
            question = measure.items[number - 1] if measure and number <= len(measure.items) else ""
            items.append(
                {
                    "number": number,
                    "question": question,
                    "answer": _answer(measure, answer),
                    "value": answer,
                }
            )
        rows.append(
            {
                "measure": response.measure,
                "name": measure.name if measure else response.measure.upper(),
                "title": measure.title if measure else "",
                "when": response.get_context_display(),
                "completed_at": _when(response.completed_at),
                "at_session_on": _day(session_of.get(response.pk)),
                "total": float(response.total) if response.total is not None else None,
                "severity": response.band,
                "not_scored_because": response.withheld_reason if response.total is None else "",
                "items": items,
            }
        )
    return rows


def _risk_flags(referral: Referral) -> list[dict]:
    flags = (
        RiskFlag.objects.filter(referral=referral, source__in=CLIENTS_OWN_RISK_SOURCES)
        .only("source", "raised_at", "acknowledged_at")
        .order_by("raised_at", "id")[:100]
    )
    return [
        {
            "raised_by": flag.get_source_display(),
            "raised_at": _when(flag.raised_at),
            "followed_up_at": _when(flag.acknowledged_at),
        }
        for flag in flags
    ]


def _therapy(referral: Referral, cut_short: list[str]) -> dict:
    periods = list(
        Therapy.objects.filter(referral=referral)
        .only("started_on", "first_appointment_at", "ended_on", "end_reason")
        .order_by("started_on", "id")[: LIMITS["therapy_periods"]]
    )
    plans = list(
        SessionPlan.objects.filter(referral=referral)
        .select_related("site")
        .defer("change_reason", "ending_plan")
        .order_by("version")[: LIMITS["session_plans"]]
    )
    goals = list(
        Goal.objects.filter(referral=referral)
        .prefetch_related("ratings")
        .order_by("agreed_on", "id")[: LIMITS["goals"]]
    )
    sessions = list(
        TherapySession.objects.filter(referral=referral)
        .only("occurred_on", "attendance")
        .order_by("occurred_on", "id")[: LIMITS["sessions"]]
    )
    steps = list(
        NonAttendanceStep.objects.filter(referral=referral)
        .only("step", "created_at")
        .order_by("created_at", "id")[: LIMITS["non_attendance_steps"]]
    )
    for rows, name in (
        (periods, "therapy_periods"),
        (plans, "session_plans"),
        (goals, "goals"),
        (sessions, "sessions"),
        (steps, "non_attendance_steps"),
    ):
        _cut(rows, name, cut_short)
    attended = sum(1 for s in sessions if s.attendance == TherapySession.Attendance.ATTENDED)
    return {
        "periods": [
            {
                "started_on": _day(item.started_on),
                "first_appointment_at": _when(item.first_appointment_at),
                "ended_on": _day(item.ended_on),
                "how_it_ended": item.get_end_reason_display() if item.end_reason else "",
            }
            for item in periods
        ],
        "session_plans": [_plan(plan) for plan in plans],
        "goals": [
            {
                "goal": goal.description,
                "status": goal.get_status_display(),
                "agreed_on": _day(goal.agreed_on),
                "closed_on": _day(goal.closed_on),
                "ratings": [
                    {"rated_on": _day(rating.rated_on), "score": rating.score}
                    for rating in sorted(goal.ratings.all(), key=lambda r: (r.rated_on, r.pk))
                ],
            }
            for goal in goals
        ],
        "sessions_attended": attended,
        "sessions_missed": sum(
            1 for s in sessions if s.attendance == TherapySession.Attendance.DID_NOT_ATTEND
        ),
        "sessions": [
            {"on": _day(s.occurred_on), "attendance": s.get_attendance_display()} for s in sessions
        ],
        "non_attendance_steps": [
            {"on": _day(timezone.localtime(s.created_at).date()), "step": s.get_step_display()}
            for s in steps
        ],
    }


def _plan(plan: SessionPlan) -> dict:
    where = plan.get_mode_display()
    if plan.site_id:
        where = ", ".join(part for part in (plan.site.name, plan.room) if part)
    return {
        "version": plan.version,
        "agreed_on": _day(timezone.localtime(plan.created_at).date()),
        "length": plan.get_length_display(),
        "session_count": plan.session_count,
        "sessions_per_week": plan.sessions_per_week,
        "regular_times": [
            f"{WEEKDAY_NAMES.get(str(t.get('weekday')), t.get('weekday'))} at {t.get('time')}"
            for t in (plan.regular_times or [])
        ],
        "where": where,
        "starts_on": _day(plan.starts_on),
        "ends_on": _day(plan.ends_on),
        "review_dates": list(plan.review_dates or []),
        # A break's dates and kind; its note is staff's own (withheld).
        "breaks": [
            {
                "starts_on": item.get("starts_on"),
                "ends_on": item.get("ends_on"),
                "kind": BREAK_KIND_NAMES.get(item.get("kind"), item.get("kind")),
            }
            for item in (plan.breaks or [])
        ],
        "questionnaires": [_measure_name(code) for code in (plan.repeat_measures or [])],
        "questionnaires_every_sessions": plan.measures_every_sessions,
    }


def _message_text(message) -> str:
    if message.body_text:
        return message.body_text
    if message.sms_text:
        return message.sms_text
    lines = (line.strip() for line in strip_tags(message.body_html or "").splitlines())
    return "\n".join(line for line in lines if line)


def _messages(referral: Referral) -> list[dict]:
    return [
        {
            "what": message.get_kind_display(),
            "how": message.get_channel_display(),
            "sent_at": _when(message.sent_at),
            "subject": message.subject,
            "text": _message_text(message),
        }
        for message in notification_selectors.client_messages_with_text(
            referral=referral, limit=LIMITS["messages"]
        )
    ]


def _rights_requests(referral: Referral) -> list[dict]:
    requests = RightsRequest.objects.filter(referral=referral).order_by("received_on", "id")[
        : LIMITS["rights_requests"]
    ]
    return [
        {
            "kind": request.get_kind_display(),
            "what_you_asked": request.details,
            "received_on": _day(request.received_on),
            "how_it_came": request.get_source_display(),
            "status": request.get_status_display(),
            "due_on": _day(request.due_on),
            "extended_by_months": request.extension_months,
            "why_extended": request.extension_reason,
            "outcome": request.outcome,
            "completed_at": _when(request.completed_at),
            "restriction_lifted_at": _when(request.restriction_lifted_at),
            "why_restriction_lifted": request.restriction_lift_reason,
        }
        for request in requests
    ]


# --- The PDF ----------------------------------------------------------------------------------

# The labels the PDF gives the copy's single-valued parts, in the order it shows them.
PDF_LABELS = {
    "client": (
        ("given_name", "Given name"),
        ("family_name", "Family name"),
        ("preferred_name", "Would like to be called"),
        ("date_of_birth", "Date of birth"),
        ("pronouns", "Pronouns"),
        ("gender", "Gender"),
        ("nhs_number", "NHS number"),
        ("postcode", "Postcode"),
        ("email", "Email address"),
        ("mobile_phone", "Mobile number"),
        ("landline_phone", "Landline number"),
        ("address", "Postal address"),
        ("preferred_channel", "Prefer to be contacted by"),
        ("safe_contact_times", "Times not safe or convenient to contact you"),
        ("gp_registered", "Registered with a GP"),
        ("gp_practice_name", "GP practice"),
        ("gp_practice_address", "GP practice address"),
    ),
    "referral": (
        ("reference", "Reference"),
        ("status_label", "Where it stands"),
        ("source", "How it came"),
        ("received_at", "Received"),
        ("safe_now", "Safe right now, when you referred"),
        ("difficulties_in_your_words", "What has been difficult, in your words"),
        ("difficulty_areas", "Part of it"),
        ("difficulty_duration", "How long it has lasted"),
        ("hopes", "Hopes for therapy"),
        ("previous_help", "Help before"),
        ("current_services", "In contact with when you referred"),
        ("restricted_since", "Use of your record restricted since"),
    ),
    "preferences": (
        ("therapist_gender", "Therapist's gender"),
        ("therapist_gender_importance", "How important"),
        ("language", "Language for therapy"),
        ("interpreter_needed", "Need an interpreter"),
        ("interpreter_language", "Interpreter language"),
        ("access_needs", "Access needs"),
        ("mode", "Sessions"),
        ("place", "Place"),
        ("availability", "Could usually come"),
        ("more_than_weekly", "Could come more than weekly"),
    ),
}


def _shown(value) -> str:
    from portal.templatetags.data_copy import in_words

    if isinstance(value, list) and value:
        return "\n".join(str(item) for item in value)
    return str(in_words(value))


def _pdf_rows(part: dict | None, name: str) -> list[tuple[str, str]]:
    if part is None:
        return []
    return [(label, _shown(part.get(key))) for key, label in PDF_LABELS[name]]


def portal_data_copy_pdf(*, copy: dict[str, Any]) -> bytes:
    """The copy laid out on the service's letterhead, rendered as letters are (the same
    dict as the JSON: nothing is in one and not the other)."""
    from django.template.loader import render_to_string

    html = render_to_string(
        "portal/data_copy_pdf.html",
        {
            "copy": copy,
            "client_rows": _pdf_rows(copy["client"], "client"),
            "referral_rows": _pdf_rows(copy["referral"], "referral"),
            "preference_rows": _pdf_rows(copy["preferences"], "preferences"),
        },
    )
    pdf, _pages = letters.render_pdf(html)
    return pdf
