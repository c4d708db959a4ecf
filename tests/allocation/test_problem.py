"""The engine's problem built from the database: every need comes from the data it should,
and what is booked, on hold or away is left out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from allocation import engine, engine_input
from allocation.models import Allocation, AllocationSlot, Hold
from intake.models import Referral, RiskFlag
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db


def by_id(rows):
    return {row["id"]: row for row in rows}


def test_referral_needs_come_from_preferences_recommendation_and_risk(service, sites, ada):
    today = timezone.localdate()
    polish = make_waiting(
        service,
        weeks=7,
        risk="medium",
        sessions=2,
        modality="dit",
        language="Polish",
        therapist_gender="female",
        therapist_gender_strength="requirement",
        mode="in_person",
        site=sites["Northgate"],
        availability=["mon_morning", "wed_evening", "sat_afternoon"],
    )
    bsl = make_waiting(
        service,
        weeks=1,
        language="English",
        interpreter_needed=True,
        interpreter_language="British Sign Language",
        therapist_gender="male",
        therapist_gender_strength="preference",
        mode="remote",
        availability=[],
    )
    built = engine_input.allocation_problem(service=service, today=today)
    rows = by_id(built.data["referrals"])

    first = rows[polish.reference]
    assert first["modality"] == "dit" and first["sessions_per_week"] == 2
    assert first["language"] == "polish" and "needs_interpreter" not in first
    assert first["gender_preference"] == {"strength": "required", "gender": "female"}
    assert first["mode"] == "in_person"
    assert sorted(first["sites"]) == ["Northgate Clinic", "Riverside Centre"]
    assert first["preferred_site"] == "Northgate Clinic"
    assert first["availability"] == [[0, "morning"], [2, "evening"], [5, "afternoon"]]
    assert first["risk"] == "medium"
    received = timezone.localtime(polish.received_at).date()
    assert first["referral_date"] == received.isoformat()
    assert first["planned_start"] == (today + dt.timedelta(days=7)).isoformat()

    second = rows[bsl.reference]
    assert second["language"] == "bsl" and second["needs_interpreter"] is True
    assert second["gender_preference"] == {"strength": "preferred", "gender": "male"}
    assert second["mode"] == "remote" and second["sites"] == []
    # No times given: any weekday time is assumed, not "never".
    assert len(second["availability"]) == 15

    problem = engine.parse_problem(built.data)
    weeks = {r.id: r.weeks_waiting for r in problem.referrals}
    assert weeks[polish.reference] == 7 and weeks[bsl.reference] == 1


def test_an_open_risk_flag_makes_the_referral_high_risk(service, ada):
    referral = make_waiting(service, risk="low")
    flag = RiskFlag.objects.create(
        service=service,
        referral=referral,
        source=RiskFlag.Source.STAFF,
        detail="Raised by staff",
        raised_at=timezone.now(),
    )
    rows = by_id(engine_input.allocation_problem(service=service).data["referrals"])
    assert rows[referral.reference]["risk"] == "high"
    flag.acknowledged_at = timezone.now()
    flag.acknowledged_by = factories.UserFactory(service=service)
    flag.action_taken = "Called the client"
    flag.save()
    rows = by_id(engine_input.allocation_problem(service=service).data["referrals"])
    assert rows[referral.reference]["risk"] == "low"


def test_only_referrals_waiting_and_not_on_hold_are_considered(service, ada, coordinator):
    waiting = make_waiting(service)
    held = make_waiting(service)
    Hold.objects.create(service=service, referral=held, reason="Away", held_by=coordinator)
    assessed = factories.ReferralFactory(client__service=service, status="assessment_booked")
    other = make_waiting(factories.ServiceFactory(slug="elsewhere"))
    built = engine_input.allocation_problem(service=service)
    ids = set(by_id(built.data["referrals"]))
    assert ids == {waiting.reference}
    assert held.reference not in ids and assessed.reference not in ids
    assert other.reference not in ids


def test_therapists_slots_minus_bookings_caseload_from_allocations_and_leave(
    service, sites, ada, coordinator
):
    today = timezone.localdate()
    tuesday = ada.slots.get(weekday=1)
    client = make_waiting(service)
    Referral.objects.filter(pk=client.pk).update(status=Referral.Status.ALLOCATED)
    allocation = Allocation.objects.create(
        service=service,
        referral=client,
        therapist=ada,
        source=Allocation.Source.RECORDED,
        regular_times=[],
        first_appointment_at=timezone.now(),
        allocated_by=coordinator,
        allocated_at=timezone.now(),
    )
    AllocationSlot.objects.create(allocation=allocation, slot=tuesday)
    factories.LeavePeriodFactory(
        therapist=ada,
        starts_on=today - dt.timedelta(days=30),
        ends_on=today - dt.timedelta(days=20),
    )
    factories.LeavePeriodFactory(
        therapist=ada, starts_on=today + dt.timedelta(days=3), ends_on=today + dt.timedelta(days=10)
    )
    quiet = make_therapist(service, display_name="Ada Lewis", gender="not_stated")

    built = engine_input.allocation_problem(service=service, today=today)
    rows = by_id(built.data["therapists"])
    # Two therapists with one name get told apart.
    assert set(rows) == {"Ada Lewis", "Ada Lewis (2)"}
    first = rows["Ada Lewis"] if built.therapists["Ada Lewis"] == ada.pk else rows["Ada Lewis (2)"]
    assert first["caseload"] == 1 and first["capacity"] == 1
    assert [s["day"] for s in first["slots"]] == [3]  # Tuesday is booked
    assert first["slots"][0]["site"] == "remote"
    assert first["languages"] == ["english", "polish"]
    assert first["leave"] == [
        {
            "start": (today + dt.timedelta(days=3)).isoformat(),
            "end": (today + dt.timedelta(days=10)).isoformat(),
            "notes": "leave",
        }
    ]
    other = rows["Ada Lewis (2)"] if first is rows["Ada Lewis"] else rows["Ada Lewis"]
    assert "gender" not in other and quiet.pk in built.therapists.values()

    # When the client's therapy ends, the place and the slot come back by themselves.
    Referral.objects.filter(pk=client.pk).update(status=Referral.Status.ENDED)
    rows = by_id(engine_input.allocation_problem(service=service, today=today).data["therapists"])
    freed = [r for r in rows.values() if r["caseload"] == 0 and len(r["slots"]) == 2]
    assert freed


def test_built_problem_parses_and_an_empty_service_is_a_normal_problem(service, ada):
    make_waiting(service)
    engine.parse_problem(engine_input.allocation_problem(service=service).data)
    empty = factories.ServiceFactory(slug="empty")
    built = engine_input.allocation_problem(service=empty)
    assert built.data["referrals"] == [] and built.data["therapists"] == []
    result = engine.solve(engine.parse_problem(built.data))
    assert result.assignments == () and result.unplaced == ()
