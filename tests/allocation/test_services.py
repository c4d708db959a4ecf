"""Allocation's services: proposal runs, accepting, choosing another therapist, holds,
staleness, and the letter and session plan that follow an allocation."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from allocation import decisions, selectors, services, therapists
from allocation.models import Allocation, AllocationSlot, Proposal, ProposalRun, WeeklySlot
from intake.models import Referral, RiskFlag
from notifications.models import Notification
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting, run_queued
from therapy.models import SessionPlan

pytestmark = pytest.mark.django_db


def run_now(service, user=None, capture=None, trigger=ProposalRun.Trigger.COORDINATOR):
    """Request a run (its publication on commit captured, not sent) and run its task."""
    with capture(execute=False):
        run = services.proposal_run_request(service_id=service.pk, trigger=trigger, user=user)
    run_queued()
    run.refresh_from_db()
    return run


def test_a_run_writes_a_proposal_for_everyone_with_reasons_that_match_the_data(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    first = make_waiting(service, weeks=20, language="Polish")
    second = make_waiting(service, weeks=2)
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    assert run.status == ProposalRun.Status.DONE
    assert (run.considered, run.placed, run.therapists) == (2, 1, 1)
    assert run.objective["placed"] == 1 and run.objective["optimal"] is True
    placed = Proposal.objects.get(run=run, therapist__isnull=False)
    assert placed.referral == first and placed.therapist == ada
    tuesday = ada.slots.get(weekday=1)
    assert placed.slots == [
        {
            "slot": str(tuesday.public_id),
            "weekday": 1,
            "start": "18:00",
            "length": 50,
            "site": "Riverside Centre",
        }
    ]
    assert placed.reasons[0].startswith("priority 2000: waiting 20 weeks")
    assert "speaks Polish" in placed.reasons
    assert (
        "Tuesday 18:00 evening slot (50 min, in person at Riverside Centre) matches availability"
        in placed.reasons
    )
    waiting = Proposal.objects.get(run=run, referral=second)
    assert waiting.therapist is None
    assert "with 1 therapist (Ada Lewis)" in waiting.reasons[0]
    assert waiting.suggestions[0].startswith("next in line when Ada Lewis")


@pytest.mark.parametrize(
    ("risk", "flagged", "words", "not_words"),
    [
        ("none_known", False, "risk: none known", "low risk"),
        ("medium", True, "risk: medium, with a risk flag not yet acknowledged", "high risk"),
        ("high", False, "risk: high", "risk flag"),
    ],
)
def test_reasons_word_the_risk_as_the_referral_list_does(
    service, ada, coordinator, django_capture_on_commit_callbacks, risk, flagged, words, not_words
):
    referral = make_waiting(service, weeks=20, risk=risk)
    if flagged:
        RiskFlag.objects.create(
            service=service,
            referral=referral,
            source=RiskFlag.Source.STAFF,
            detail="Raised by staff",
            raised_at=timezone.now(),
        )
    run_now(service, coordinator, django_capture_on_commit_callbacks)
    reasons = Proposal.objects.get(referral=referral).reasons
    assert words in reasons[0], reasons
    assert referral.get_risk_level_display().lower() in reasons[0]
    assert not any(not_words in reason for reason in reasons), reasons


def test_run_is_idempotent_and_an_empty_waiting_list_is_a_normal_result(
    service, coordinator, django_capture_on_commit_callbacks
):
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    assert run.status == ProposalRun.Status.DONE and (run.considered, run.placed) == (0, 0)
    assert services.proposal_run_execute(run_id=run.public_id) is None  # already done
    assert services.proposal_run_execute(run_id=uuid.uuid4()) is None  # unknown: nothing


def test_one_queued_run_serves_every_request_until_it_starts(service, coordinator):
    first = services.proposal_run_request(service_id=service.pk, trigger="coordinator")
    again = services.proposal_run_request(service_id=service.pk, trigger="nightly")
    assert first == again
    assert ProposalRun.objects.filter(service=service).count() == 1


def test_inconsistent_data_fails_the_run_with_a_message_naming_the_record(
    service, sites, coordinator, django_capture_on_commit_callbacks
):
    make_waiting(service)
    therapist = make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Ben Carter",
    )
    # Slots that overlap, written behind the forms' back (the forms refuse them).
    WeeklySlot.objects.create(
        therapist=therapist, weekday=1, start=dt.time(18, 30), site=sites["Riverside"]
    )
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    assert run.status == ProposalRun.Status.FAILED
    assert "therapist 'Ben Carter'" in run.error
    assert "Tuesday 18:00 and Tuesday 18:30 overlap" in run.error
    assert not Proposal.objects.filter(run=run).exists()


def test_accepting_allocates_sets_the_plan_moves_the_referral_and_queues_the_letter(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    referral = make_waiting(service, weeks=9)
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    proposal = Proposal.objects.get(run=run, referral=referral)
    allocation = decisions.proposal_accept(proposal=proposal, user=coordinator)

    referral.refresh_from_db()
    proposal.refresh_from_db()
    assert referral.status == Referral.Status.ALLOCATED
    assert proposal.decision == Proposal.Decision.ACCEPTED and proposal.decided_by == coordinator
    assert allocation.therapist == ada and allocation.source == Allocation.Source.PROPOSAL
    assert AllocationSlot.objects.get(allocation=allocation, active=True).slot.weekday == 1
    first = timezone.localtime(allocation.first_appointment_at)
    assert first.weekday() == 1 and first.strftime("%H:%M") == "18:00"
    assert first.date() >= timezone.localdate() + dt.timedelta(days=7)

    plan = SessionPlan.objects.get(referral=referral)
    assert plan.regular_times == [{"weekday": 1, "time": "18:00"}]
    assert plan.mode == "in_person" and plan.site.name == "Riverside Centre"
    assert allocation.session_plan_version == plan.version

    letter = Notification.objects.get(referral=referral, kind="allocation")
    assert letter.occurrence == f"allocation-{allocation.public_id}"
    context = letter.context
    assert context["regular_day"] == "Tuesday" and context["regular_time"] == "18:00"
    assert context["therapist_name"] == "Ada Lewis" and context["site"] == "Riverside Centre"
    assert context["remote"] is False and context["frequency"] == "once a week"


def test_accepting_twice_or_after_the_place_has_gone_changes_nothing(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    first = make_waiting(service, weeks=9)
    make_waiting(service, weeks=8, availability=["thu_evening"])
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    proposal = Proposal.objects.get(run=run, referral=first)
    decisions.proposal_accept(proposal=proposal, user=coordinator)
    with pytest.raises(services.AllocationError, match="already decided"):
        decisions.proposal_accept(proposal=proposal, user=coordinator)

    # Ada has one place: a second allocation to her is refused, with the reason.
    ada.capacity = 2
    ada.save()
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    second = Proposal.objects.get(run=run, therapist__isnull=False)
    ada.capacity = 1
    ada.save()
    with pytest.raises(services.AllocationError, match="Ada Lewis has no free place now"):
        decisions.proposal_accept(proposal=second, user=coordinator)
    assert Allocation.objects.filter(therapist=ada).count() == 1
    assert second.referral.status == Referral.Status.AWAITING_ALLOCATION


def test_a_slot_booked_since_the_proposal_is_refused(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    ada.capacity = 5
    ada.save()
    first = make_waiting(service, weeks=9, availability=["tue_evening"])
    second = make_waiting(service, weeks=8, availability=["tue_evening"])
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    proposal = Proposal.objects.get(run=run, referral=first)
    decisions.proposal_accept(proposal=proposal, user=coordinator)
    # An out-of-date proposal giving the same slot to someone else.
    stale = Proposal.objects.get(run=run, referral=second)
    stale.therapist, stale.slots = ada, proposal.slots
    stale.save()
    with pytest.raises(services.AllocationError, match="has just been booked for someone else"):
        decisions.proposal_accept(proposal=stale, user=coordinator)


def test_choosing_another_therapist_needs_a_reason_and_records_it(
    service, sites, ada, coordinator, django_capture_on_commit_callbacks
):
    ben = make_therapist(
        service, [sites["Northgate"]], [(3, "17:00", sites["Northgate"])], display_name="Ben"
    )
    referral = make_waiting(service, weeks=9)
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    slot = ben.slots.get()
    with pytest.raises(services.AllocationError, match="Enter why you chose this therapist"):
        decisions.allocation_choose(
            referral=referral, user=coordinator, slot_ids=[slot.pk], reason="  "
        )
    allocation = decisions.allocation_choose(
        referral=referral,
        user=coordinator,
        slot_ids=[slot.pk],
        reason="Knows the client's family's GP practice: continuity matters here",
    )
    assert allocation.therapist == ben and allocation.source == Allocation.Source.OVERRIDE
    assert allocation.override_reason.startswith("Knows the client")
    proposal = Proposal.objects.get(run=run, referral=referral)
    assert proposal.decision == Proposal.Decision.OVERRIDDEN
    run.refresh_from_db()
    assert run.stale_since is not None and "another therapist" in run.stale_reason


def test_choosing_needs_as_many_slots_as_sessions_on_different_days(
    service, sites, coordinator, ada
):
    referral = make_waiting(service, sessions=2)
    ada.capacity = 2  # two free weekly sessions: a client seen twice a week uses two
    ada.save(update_fields=["capacity"])
    tuesday, thursday = ada.slots.order_by("weekday")
    with pytest.raises(services.AllocationError, match="Select 2 slots"):
        decisions.allocation_choose(
            referral=referral, user=coordinator, slot_ids=[tuesday.pk], reason="Fits"
        )
    allocation = decisions.allocation_choose(
        referral=referral, user=coordinator, slot_ids=[tuesday.pk, thursday.pk], reason="Fits"
    )
    assert [t["weekday"] for t in allocation.regular_times] == [1, 3]
    assert SessionPlan.objects.get(referral=referral).sessions_per_week == 2


def test_a_first_appointment_on_another_day_or_during_leave_is_refused(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    referral = make_waiting(service, availability=["tue_evening"])
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    proposal = Proposal.objects.get(run=run, referral=referral)
    today = timezone.localdate()
    wednesday = today + dt.timedelta(days=(2 - today.weekday()) % 7 + 7)
    with pytest.raises(services.AllocationError, match="must be on a Tuesday"):
        decisions.proposal_accept(proposal=proposal, user=coordinator, first_appointment=wednesday)
    tuesday = wednesday - dt.timedelta(days=1)
    factories.LeavePeriodFactory(therapist=ada, starts_on=tuesday, ends_on=tuesday)
    with pytest.raises(services.AllocationError, match="is on leave"):
        decisions.proposal_accept(proposal=proposal, user=coordinator, first_appointment=tuesday)
    allocation = decisions.proposal_accept(
        proposal=proposal, user=coordinator, first_appointment=tuesday + dt.timedelta(days=7)
    )
    assert timezone.localtime(allocation.first_appointment_at).date() == tuesday + dt.timedelta(
        days=7
    )


def test_the_default_first_appointment_skips_leave(service, ada):
    today = timezone.localdate()
    factories.LeavePeriodFactory(therapist=ada, starts_on=today, ends_on=today + dt.timedelta(30))
    first = selectors.first_appointment_for(therapist=ada, slots=list(ada.slots.all()))
    assert timezone.localtime(first).date() > today + dt.timedelta(days=30)


def test_hold_leaves_the_referral_out_and_release_brings_it_back(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    referral = make_waiting(service)
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    with pytest.raises(services.AllocationError, match="Enter why this referral is on hold"):
        decisions.referral_hold(referral=referral, user=coordinator, reason="")
    hold = decisions.referral_hold(referral=referral, user=coordinator, reason="Abroad until May")
    assert Proposal.objects.get(run=run, referral=referral).decision == Proposal.Decision.HELD
    with pytest.raises(services.AllocationError, match="is on hold"):
        decisions.allocation_choose(
            referral=referral,
            user=coordinator,
            slot_ids=[ada.slots.first().pk],
            reason="Because",
        )
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    assert run.considered == 0
    decisions.hold_release(hold=hold, user=coordinator)
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    assert run.considered == 1 and run.placed == 1


def test_profile_slot_and_leave_changes_make_the_proposals_stale(
    service, sites, ada, coordinator, service_admin, django_capture_on_commit_callbacks
):
    make_waiting(service)
    changes = [
        lambda: therapists.leave_add(
            therapist=ada,
            user=service_admin,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + dt.timedelta(days=3),
        ),
        lambda: therapists.weekly_slot_add(
            therapist=ada,
            user=service_admin,
            weekday=4,
            start=dt.time(9),
            length=50,
            site=None,
        ),
        lambda: therapists.therapist_update(
            therapist=ada,
            user=service_admin,
            data=therapists.ProfileInput(
                display_name="Ada Lewis",
                gender="female",
                modalities=["psychodynamic"],
                languages=["English"],
                frequencies=[1],
                sites=[sites["Riverside"]],
                offers_remote=True,
                capacity=3,
            ),
        ),
    ]
    for change in changes:
        run = run_now(service, coordinator, django_capture_on_commit_callbacks)
        assert run.stale_since is None
        change()
        run.refresh_from_db()
        assert run.stale_since is not None and "Ada Lewis" in run.stale_reason


def test_a_new_referral_marks_proposals_stale_and_one_ready_for_allocation_queues_a_run(
    service, ada, coordinator, django_capture_on_commit_callbacks
):
    from intake.services import ReferralInput, referral_status_set, referral_submit

    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    referral_submit(
        service=service,
        data=ReferralInput(given_name="Sam", family_name="Reed", date_of_birth=dt.date(1990, 1, 2)),
        idempotency_key="allocation-test",
        via="self_referral",
    )
    run.refresh_from_db()
    assert run.stale_reason == "a new referral arrived"

    referral = factories.ReferralFactory(client__service=service, status="assessment_booked")
    factories.PreferencesFactory(referral=referral)
    with django_capture_on_commit_callbacks(execute=False) as published:
        referral_status_set(referral=referral, status=Referral.Status.AWAITING_ALLOCATION)
    assert len(published) == 1  # the run is handed to a worker once this commits
    run_queued()
    fresh = ProposalRun.objects.filter(service=service).order_by("-created_at").first()
    assert fresh.trigger == ProposalRun.Trigger.REFERRAL_READY
    assert fresh.status == ProposalRun.Status.DONE and fresh.considered == 1


def test_slot_rules_are_checked_with_clear_errors(service, sites, ada, service_admin):
    add = therapists.weekly_slot_add
    with pytest.raises(services.AllocationError, match="overlaps the Tuesday 18:00"):
        add(
            therapist=ada,
            user=service_admin,
            weekday=1,
            start=dt.time(18, 30),
            length=50,
            site=None,
        )
    with pytest.raises(services.AllocationError, match="does not work at Northgate Clinic"):
        add(
            therapist=ada,
            user=service_admin,
            weekday=2,
            start=dt.time(9),
            length=50,
            site=sites["Northgate"],
        )
    with pytest.raises(services.AllocationError, match="must end by midnight"):
        add(
            therapist=ada,
            user=service_admin,
            weekday=2,
            start=dt.time(23, 30),
            length=50,
            site=None,
        )


def test_a_booked_slot_cannot_be_removed(
    service, ada, coordinator, service_admin, django_capture_on_commit_callbacks
):
    referral = make_waiting(service, availability=["tue_evening"])
    run = run_now(service, coordinator, django_capture_on_commit_callbacks)
    decisions.proposal_accept(
        proposal=Proposal.objects.get(run=run, referral=referral), user=coordinator
    )
    tuesday = ada.slots.get(weekday=1)
    with pytest.raises(services.AllocationError, match=f"regular time of {referral.reference}"):
        therapists.weekly_slot_remove(slot=tuesday, user=service_admin)
    # Once therapy has ended the slot is free again, and can go.
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.ENDED)
    therapists.weekly_slot_remove(slot=tuesday, user=service_admin)
    assert not ada.slots.filter(weekday=1).exists()


def test_only_a_service_admin_or_the_therapist_themselves_may_change_a_profile(
    service, ada, coordinator, therapist_user, service_admin, other_staff
):
    assert therapists.can_edit_therapist(user=service_admin, therapist=ada)
    assert not therapists.can_edit_therapist(user=coordinator, therapist=ada)
    assert not therapists.can_edit_therapist(user=therapist_user, therapist=ada)
    assert not therapists.can_edit_therapist(user=other_staff, therapist=ada)
    ada.user = therapist_user
    ada.save()
    assert therapists.can_edit_therapist(user=therapist_user, therapist=ada)
    with pytest.raises(services.AllocationError, match="Only a service administrator"):
        therapists.leave_add(
            therapist=ada,
            user=coordinator,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
        )


def test_the_nightly_run_is_on_the_beat_schedule():
    from allocation.tasks import allocation_propose, allocation_propose_nightly
    from config.celery import app

    entry = app.conf.beat_schedule["allocation-nightly"]
    assert entry["task"] == allocation_propose_nightly.name
    assert allocation_propose.name == "allocation.tasks.allocation_propose"
    assert allocation_propose.soft_time_limit and allocation_propose.time_limit


def test_the_letter_gives_the_regular_days_and_times_and_the_therapist(service, ada, coordinator):
    from notifications import rendering

    referral = make_waiting(service, sessions=2)
    ada.capacity = 2  # two free weekly sessions: a client seen twice a week uses two
    ada.save(update_fields=["capacity"])
    tuesday, thursday = ada.slots.order_by("weekday")
    decisions.allocation_choose(
        referral=referral,
        user=coordinator,
        slot_ids=[tuesday.pk, thursday.pk],
        reason="Twice a week as recommended",
    )
    letter = Notification.objects.get(referral=referral, kind="allocation")
    ctx = rendering.build_context(
        kind="allocation",
        service=service,
        referral=referral,
        recipient=rendering.Recipient(name="Sam Reed", address_lines=()),
        context=letter.context,
    )
    text = " ".join(rendering.render_all(ctx).text.split())
    assert "Ada Lewis" in text
    assert "Tuesdays at 6pm" in text and "Thursdays at 6pm" in text
    assert "twice a week" in text
