"""A service's year in small: referrals, assessments, sessions, endings, risk flags and
caseloads, each date chosen so that every figure on the reporting page can be worked out
by hand (tests/reporting/test_selectors.py does, measure by measure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

import measures
from allocation.models import Allocation, AllocationSlot
from assessment.models import AssessmentMeasure
from intake.models import MeasureResponse, Referral, RiskFlag
from reporting.selectors import Period
from tests import factories
from therapy.models import Therapy, TherapySession

D = dt.date
PERIOD = Period(first=D(2026, 1, 5), last=D(2026, 3, 29))  # twelve weeks, Monday to Sunday


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def referral(service, received: dt.date, source="self", status="submitted", **extra) -> Referral:
    return factories.ReferralFactory(
        client__service=service,
        received_at=at(received),
        source=source,
        status=status,
        **extra,
    )


def score(referral, code: str, total: int, on: dt.date) -> MeasureResponse:
    measure = measures.get_measure(code)
    return MeasureResponse.objects.create(
        referral=referral,
        measure=code,
        context=MeasureResponse.Context.REVIEW,
        answers=[],
        total=total,
        caseness=measure.is_case(total),
        completed_at=at(on),
    )


def assess(referral, on: dt.date, *, phq9=None, gad7=None, recommendation="psychodynamic"):
    assessment = factories.FinishedAssessmentFactory(
        referral=referral, finished_at=at(on, 16), recommendation_choice=recommendation
    )
    for code, total in ((measures.PHQ9, phq9), (measures.GAD7, gad7)):
        AssessmentMeasure.objects.create(
            assessment=assessment,
            measure=code,
            source=AssessmentMeasure.Source.ENTERED if total is not None else "not_done",
            response=score(referral, code, total, on) if total is not None else None,
        )
    return assessment


def treat(referral, therapist, sessions, *, ended_on=None, end_reason=""):
    """sessions: [(date, attendance)]."""
    therapy = Therapy.objects.create(
        service=referral.service,
        referral=referral,
        therapist=therapist,
        started_on=sessions[0][0],
        started_by=therapist,
        ended_on=ended_on,
        end_reason=end_reason,
    )
    for day, attendance in sessions:
        TherapySession.objects.create(
            service=referral.service,
            referral=referral,
            therapy=therapy,
            occurred_on=day,
            attendance=attendance,
            recorded_by=therapist,
        )
    return therapy


def flag(referral, raised: dt.datetime, acknowledged: dt.datetime | None, by=None):
    return RiskFlag.objects.create(
        service=referral.service,
        referral=referral,
        source=RiskFlag.Source.STAFF,
        detail="Raised in the reporting test",
        severity=RiskFlag.objects.filter(referral=referral).count(),
        raised_at=raised,
        acknowledged_at=acknowledged,
        acknowledged_by=by if acknowledged else None,
        action_taken="Called the client" if acknowledged else "",
    )


def allocate(referral, therapist_profile, by, weekly=1):
    """Allocate with `weekly` regular weekly slots booked (a client seen twice a week: 2)."""
    allocation = Allocation.objects.create(
        service=referral.service,
        referral=referral,
        therapist=therapist_profile,
        source=Allocation.Source.RECORDED,
        first_appointment_at=at(D(2025, 7, 1)),
        allocated_by=by,
        allocated_at=at(D(2025, 6, 20)),
    )
    for _ in range(weekly):
        slot = factories.WeeklySlotFactory(
            therapist=therapist_profile,
            weekday=therapist_profile.slots.count() % 5 + 1,
            start=dt.time(9 + therapist_profile.slots.count() // 5, 0),
        )
        AllocationSlot.objects.create(allocation=allocation, slot=slot)
    return allocation


A, DNA, CANCELLED = "attended", "did_not_attend", "cancelled_by_client"


def finished_referrals(service, therapist, count: int, start: int = 0) -> None:
    """count referrals in the range, each assessed, treated (two attended sessions and one
    missed), scored at the end and ended: something for every chart to count."""
    for n in range(start, start + count):
        day = D(2026, 1, 5) + dt.timedelta(days=n % 60)
        r = referral(service, day, ("self", "gp", "partner")[n % 3], "ended")
        assess(r, day + dt.timedelta(days=3), phq9=n % 27, gad7=n % 21)
        sessions = [(day + dt.timedelta(days=d), kind) for d, kind in ((10, A), (17, DNA), (24, A))]
        treat(r, therapist, sessions, ended_on=sessions[-1][0], end_reason="completed")
        score(r, measures.PHQ9, (n * 7) % 27, sessions[-1][0])
        score(r, measures.GAD7, (n * 5) % 21, sessions[-1][0])
        flag(r, at(day, 9), at(day, 9 + n % 5) if n % 4 else None, by=therapist)


@dataclass
class World:
    refs: dict[str, Referral]
    period: Period = PERIOD


@pytest.fixture
def world(service, other_service, coordinator, therapist_user) -> World:
    t = therapist_user
    r = {}
    # R1: self-referral, assessed in a week, treated and recovered.
    r["R1"] = referral(service, D(2026, 1, 5), "self", "ended")
    assess(r["R1"], D(2026, 1, 12), phq9=15, gad7=12)
    treat(
        r["R1"],
        t,
        [(D(2026, 2, 2), A), (D(2026, 2, 9), A), (D(2026, 2, 16), DNA), (D(2026, 2, 23), A)],
        ended_on=D(2026, 2, 23),
        end_reason="completed",
    )
    score(r["R1"], measures.PHQ9, 5, D(2026, 2, 23))
    score(r["R1"], measures.GAD7, 4, D(2026, 2, 23))
    # R2: from a GP, not a case at assessment (45 days), reliably worse by the end.
    r["R2"] = referral(service, D(2026, 1, 6), "gp", "ended")
    assess(r["R2"], D(2026, 2, 20), phq9=8, gad7=6)
    treat(
        r["R2"],
        t,
        [(D(2026, 3, 2), A), (D(2026, 3, 9), A), (D(2026, 3, 16), CANCELLED)],
        ended_on=D(2026, 3, 9),
        end_reason="completed",
    )
    score(r["R2"], measures.PHQ9, 16, D(2026, 3, 9))
    score(r["R2"], measures.GAD7, 6, D(2026, 3, 9))
    # R3: from a partner, assessed with PHQ-9 only (a case), waiting for a therapist.
    r["R3"] = referral(service, D(2026, 1, 14), "partner", "awaiting_allocation")
    assess(r["R3"], D(2026, 1, 20), phq9=12)
    # R4: a self-referral still waiting for assessment.
    r["R4"] = referral(service, D(2026, 2, 10), "self", "submitted")
    # R5: referred and assessed before the range; treatment starts in it (37 days).
    r["R5"] = referral(service, D(2025, 12, 1), "self", "in_therapy")
    assess(r["R5"], D(2025, 12, 10), phq9=11, gad7=9)
    treat(r["R5"], t, [(D(2026, 1, 7), A), (D(2026, 1, 14), DNA)])
    # R6: from a GP, assessed the next day with no questionnaires, signposted.
    r["R6"] = referral(service, D(2026, 1, 20), "gp", "signposted")
    assess(r["R6"], D(2026, 1, 21), recommendation="signpost")
    # R7: finished treatment with a single pair of scores (no paired outcome).
    r["R7"] = referral(service, D(2026, 1, 8), "self", "ended")
    treat(
        r["R7"],
        t,
        [(D(2026, 3, 12), A), (D(2026, 3, 19), A)],
        ended_on=D(2026, 3, 19),
        end_reason="completed",
    )
    score(r["R7"], measures.PHQ9, 14, D(2026, 3, 12))
    score(r["R7"], measures.GAD7, 10, D(2026, 3, 12))
    # R8: withdrawn before the range; R9: received after it. Neither is in the return.
    r["R8"] = referral(service, D(2025, 10, 1), "self", "withdrawn")
    Referral.objects.filter(pk=r["R8"].pk).update(updated_at=at(D(2025, 11, 1)))
    r["R9"] = referral(service, D(2026, 4, 2), "gp", "submitted")

    # Caseloads, in weekly sessions: one therapist over capacity (3 clients, one seen twice a
    # week: 4 sessions of 3), one with room (1 client, 1 session of 5).
    full = factories.TherapistFactory(service=service, display_name="Avery Full", capacity=3)
    roomy = factories.TherapistFactory(service=service, display_name="Blake Roomy", capacity=5)
    for name, weekly in (("A1", 2), ("A2", 1), ("A3", 1)):
        r[name] = referral(service, D(2025, 6, 1), "gp", "allocated")
        allocate(r[name], full, coordinator, weekly=weekly)
    allocate(r["R5"], roomy, coordinator)

    # Risk flags: two within the hour (one at exactly an hour), one after five hours, one
    # still open; one raised before the range.
    flag(r["R1"], at(D(2026, 1, 12), 10), at(D(2026, 1, 12), 10, 30), coordinator)
    flag(r["R2"], at(D(2026, 2, 1), 9), at(D(2026, 2, 1), 14), coordinator)
    flag(r["R3"], at(D(2026, 3, 1), 9), None)
    flag(r["R4"], at(D(2026, 3, 2), 8), at(D(2026, 3, 2), 9), coordinator)
    flag(r["R5"], at(D(2025, 12, 31), 9), at(D(2025, 12, 31), 9, 5), coordinator)

    # Another service's referral, assessment, session and flag, all in the range: never counted.
    theirs = referral(other_service, D(2026, 1, 6), "self", "ended")
    their_therapist = factories.UserFactory(service=other_service)
    assess(theirs, D(2026, 1, 7), phq9=20, gad7=20)
    treat(
        theirs,
        their_therapist,
        [(D(2026, 1, 9), A), (D(2026, 1, 16), A)],
        ended_on=D(2026, 1, 16),
        end_reason="completed",
    )
    score(theirs, measures.PHQ9, 2, D(2026, 1, 16))
    score(theirs, measures.GAD7, 2, D(2026, 1, 16))
    flag(theirs, at(D(2026, 1, 10)), None)
    factories.TherapistFactory(service=other_service, display_name="Casey Elsewhere")
    return World(refs=r)
