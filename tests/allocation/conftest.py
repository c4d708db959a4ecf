"""Fixtures for the allocation tests: a small service with sites, therapists with weekly
slots, and referrals waiting for a therapist with preferences and a recommendation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from common import roles
from intake.models import Referral
from tests import factories


def make_sites(service):
    return {
        "Riverside": factories.SiteFactory(service=service, name="Riverside Centre"),
        "Northgate": factories.SiteFactory(service=service, name="Northgate Clinic"),
    }


def make_ada(service, sites):
    """A therapist with one free place: Tuesday 18:00 at Riverside, Thursday 18:00 remote."""
    return make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"]), (3, "18:00", None)],
        display_name="Ada Lewis",
        capacity=1,
        languages=["English", "Polish"],
        frequencies=[1, 2],
    )


@pytest.fixture
def sites(service):
    return make_sites(service)


def make_therapist(service, sites=(), slots=(), **extra):
    """slots: (weekday, "HH:MM", site or None for remote)."""
    therapist = factories.TherapistFactory(service=service, **extra)
    therapist.sites.set(sites)
    for weekday, start, site in slots:
        hour, minute = (int(x) for x in start.split(":"))
        factories.WeeklySlotFactory(
            therapist=therapist, weekday=weekday, start=dt.time(hour, minute), site=site
        )
    return therapist


def make_waiting(service, *, weeks=3, risk="low", sessions=1, modality="psychodynamic", **prefs):
    referral = factories.ReferralFactory(
        client__service=service,
        status=Referral.Status.AWAITING_ALLOCATION,
        risk_level=risk,
        received_at=timezone.now() - dt.timedelta(weeks=weeks, days=1),
    )
    prefs.setdefault("availability", ["tue_morning", "tue_evening", "thu_evening"])
    factories.PreferencesFactory(referral=referral, **prefs)
    factories.FinishedAssessmentFactory(
        referral=referral,
        recommendation_modality=modality,
        recommendation_sessions_per_week=sessions,
    )
    return referral


@pytest.fixture
def ada(service, sites):
    return make_ada(service, sites)


@pytest.fixture
def second_coordinator(service):
    return factories.UserFactory(username="bea", service=service, roles=[roles.COORDINATOR])


def run_queued() -> None:
    """Do what a worker would for every queued run: the task's body, in this process.

    Tests call this rather than rely on embedded mode's in-process tasks, so they behave the
    same with a real broker (REQUIRE_SERVICES=1); test_worker.py covers the real worker.
    """
    from allocation import services
    from allocation.models import ProposalRun

    for run in ProposalRun.objects.filter(status=ProposalRun.Status.QUEUED):
        services.proposal_run_execute(run_id=run.public_id)


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
