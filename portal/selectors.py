"""What the client sees in the portal, read for the one referral their session belongs to.

Every read here takes that referral (from `portal.services.portal_session_open`), never an
id from the address bar, so one client's session cannot reach another's records: a letter
asked for by id is looked for among this referral's own messages only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.utils import timezone

import measures
from assessment import selectors as assessment_selectors
from intake.models import ConsentRecord, Referral
from notifications import selectors as notification_selectors
from portal.services import QUESTIONS, WITHDRAWABLE
from therapy import selectors as therapy_selectors

# Where the referral stands, and what happens next, in plain words.
STATUS_WORDS = {
    Referral.Status.SUBMITTED: (
        "We have your referral",
        "An assessor will contact you to arrange an assessment: a conversation about what "
        "has been troubling you and whether our therapy is right for you.",
    ),
    Referral.Status.ASSESSMENT_BOOKED: (
        "Your assessment is booked",
        "Your assessment is below. After it, we will write to you about what was agreed.",
    ),
    Referral.Status.AWAITING_ALLOCATION: (
        "You are waiting for a therapist",
        "After your assessment we agreed that therapy here could help. We are finding a "
        "therapist who can see you at a regular time that suits you. We will contact you "
        "when we have one.",
    ),
    Referral.Status.ALLOCATED: (
        "A therapist has been found for you",
        "Your regular day, time and place are below. We will see you at your first session.",
    ),
    Referral.Status.IN_THERAPY: (
        "You are in therapy",
        "Your regular sessions, any planned breaks and what you agreed are below. If "
        "anything changes, your therapist will talk to you about it first.",
    ),
    Referral.Status.ENDED: (
        "Your therapy has ended",
        "If things become difficult again, you can refer yourself again, or speak to your GP.",
    ),
    Referral.Status.SIGNPOSTED: (
        "We suggested another service",
        "We wrote to you about a service that may suit you better. You can refer yourself "
        "again at any time.",
    ),
    Referral.Status.WITHDRAWN: (
        "Your referral is withdrawn",
        "We will not contact you about appointments. You can refer yourself again at any time.",
    ),
}
WAITING = (
    Referral.Status.SUBMITTED,
    Referral.Status.ASSESSMENT_BOOKED,
    Referral.Status.AWAITING_ALLOCATION,
    Referral.Status.ALLOCATED,
)
SHOWS_PLAN = (Referral.Status.ALLOCATED, Referral.Status.IN_THERAPY, Referral.Status.ENDED)


def _weeks_and_days(start: date, end: date) -> str:
    days = max((end - start).days, 0)
    if not days:
        return "Less than a day"
    weeks, rest = divmod(days, 7)
    parts = []
    if weeks:
        parts.append(f"{weeks} week{'s' if weeks != 1 else ''}")
    if rest:
        parts.append(f"{rest} day{'s' if rest != 1 else ''}")
    return " and ".join(parts)


@dataclass(frozen=True)
class Overview:
    referral: Referral
    heading: str
    next_steps: str
    received_on: date
    waiting: str  # "3 weeks and 2 days" while still waiting, else ""
    assessment: object | None
    plan: object | None
    plan_words: dict | None
    breaks_ahead: list
    ending_on: date | None
    therapy_started_on: date | None
    first_session_at: object | None
    goals: list
    can_withdraw: bool


def portal_overview(*, referral: Referral) -> Overview:
    """Where the referral stands, what happens next, the waiting time so far, appointments
    (the assessment; once allocated the regular day, time and place, planned breaks and the
    ending date) and the goals and session plan as agreed."""
    today = timezone.localdate()
    received = timezone.localtime(referral.received_at).date()
    heading, next_steps = STATUS_WORDS[referral.status]
    plan = words = therapy = None
    breaks_ahead: list = []
    goals: list = []
    if referral.status in SHOWS_PLAN:
        plan = therapy_selectors.session_plan_current(referral)
        therapy = therapy_selectors.therapy_current(referral=referral)
        goals = therapy_selectors.goals_for(referral=referral)
        if plan is not None:
            words = therapy_selectors.plan_description(plan)
            breaks_ahead = [item for item in words["breaks"] if item["ends"] >= today]
    assessment = None
    if referral.status == Referral.Status.ASSESSMENT_BOOKED:
        assessment = assessment_selectors.booking_current(referral=referral)
    return Overview(
        referral=referral,
        heading=heading,
        next_steps=next_steps,
        received_on=received,
        waiting=_weeks_and_days(received, today) if referral.status in WAITING else "",
        assessment=assessment,
        plan=plan,
        plan_words=words,
        breaks_ahead=breaks_ahead,
        ending_on=plan.ends_on if plan is not None else None,
        therapy_started_on=therapy.started_on if therapy is not None else None,
        first_session_at=therapy.first_appointment_at if therapy is not None else None,
        goals=goals,
        can_withdraw=referral.status in WITHDRAWABLE,
    )


def portal_messages(*, referral: Referral) -> list:
    """The letters and messages sent to the client, newest first (at most 50)."""
    return notification_selectors.client_messages_sent(referral=referral)


def portal_message_pdf(*, referral: Referral, public_id: UUID) -> bytes | None:
    """One of this referral's messages to the client as a PDF, or None if it is not one."""
    return notification_selectors.client_message_pdf(referral=referral, public_id=public_id)


@dataclass(frozen=True)
class Choice:
    topic: str
    label: str
    question: str
    current: ConsentRecord | None
    history: list  # every decision on this topic, newest first


def portal_choices(*, referral: Referral) -> list[Choice]:
    """Each choice the client can change here, with what they decided last and every
    decision before it, each with the words they were shown (one read)."""
    records: dict[str, list[ConsentRecord]] = {topic: [] for topic in QUESTIONS}
    for record in ConsentRecord.objects.filter(
        client_id=referral.client_id, topic__in=list(QUESTIONS)
    ).order_by("-recorded_at", "-id")[:500]:
        records[record.topic].append(record)
    return [
        Choice(
            topic=topic,
            label=ConsentRecord.Topic(topic).label,
            question=question,
            current=records[topic][0] if records[topic] else None,
            history=records[topic],
        )
        for topic, question in QUESTIONS.items()
    ]


def portal_other_decisions(*, referral: Referral) -> list[ConsentRecord]:
    """Decisions the client made that the portal does not change (the privacy notice seen,
    the answers being their own), newest first, with their words."""
    return list(
        ConsentRecord.objects.filter(client_id=referral.client_id)
        .exclude(topic__in=list(QUESTIONS))
        .select_related("notice")
        .order_by("-recorded_at", "-id")[:100]
    )


# --- Questionnaires and the client's own scores -----------------------------------------------

# What each questionnaire asks about, in plain words, for the client's own progress page.
MEASURE_WORDS = {
    measures.PHQ9: "asks about low mood over the last 2 weeks",
    measures.GAD7: "asks about worry and anxiety over the last 2 weeks",
    measures.CORE10: "asks how much distress you have felt over the last week",
    measures.WSAS: "asks how much your difficulties get in the way of work, home, time with "
    "other people and time on your own",
}


def portal_questionnaires(*, referral: Referral) -> list:
    """The questionnaires the client may complete now (therapy.selectors.questionnaires_due:
    the session plan's when their turn comes, and any their therapist asked for)."""
    return therapy_selectors.questionnaires_due(referral=referral)


def portal_questionnaire_due(*, referral: Referral, code: str):
    """One questionnaire due now, or None."""
    return next((due for due in portal_questionnaires(referral=referral) if due.code == code), None)


@dataclass(frozen=True)
class Saved:
    measure: measures.Measure
    risk: bool  # a risk question answered above 0: the page shows crisis help at once
    still_due: list


def portal_questionnaire_saved(*, referral: Referral, public_id: UUID) -> Saved | None:
    """A questionnaire this client completed in the portal, and what is still to do; None
    if the id is not one of theirs."""
    response = therapy_selectors.online_response_get(referral=referral, public_id=public_id)
    if response is None:
        return None
    result = measures.score(response.measure, list(response.answers))
    return Saved(
        measure=measures.get_measure(response.measure),
        risk=result.risk_flag,
        still_due=portal_questionnaires(referral=referral),
    )


@dataclass(frozen=True)
class OwnScore:
    table: object  # therapy.selectors.MeasureTable: the chart and the table it pictures
    about: str  # what the questionnaire asks about, in plain words
    total_max: int


def portal_progress(*, referral: Referral) -> list[OwnScore]:
    """The client's questionnaire totals over time: the same charts and tables the
    therapist's progress page shows, with what each questionnaire asks about."""
    return [
        OwnScore(
            table=table,
            about=MEASURE_WORDS.get(table.code, ""),
            total_max=measures.get_measure(table.code).total_max,
        )
        for table in therapy_selectors.measure_tables(referral=referral, for_client=True)
    ]
