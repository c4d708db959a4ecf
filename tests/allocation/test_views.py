"""The coordinator's allocation pages and therapist profiles over HTTP: access, filters,
progress without JavaScript, decisions, and errors that keep what was entered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation.models import Allocation, Proposal, ProposalRun
from intake.models import Referral
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting, run_queued

pytestmark = pytest.mark.django_db


def run_now(client, capture):
    with capture(execute=False):
        response = client.post(reverse("allocation-run-start"))
    run_queued()
    return response, ProposalRun.objects.order_by("-created_at").first()


def test_pages_need_sign_in_the_right_role_and_the_same_service(
    client, service, ada, coordinator, therapist_user, other_staff, assessor
):
    referral = make_waiting(service)
    coordinator_pages = [
        reverse("allocation-waiting-list"),
        reverse("allocation-referral", args=[referral.public_id]),
        reverse("allocation-referral-choose", args=[referral.public_id]),
    ]
    for url in [*coordinator_pages, reverse("allocation-caseloads")]:
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login/" in response["Location"]
    client.force_login(assessor)
    for url in coordinator_pages:
        assert client.get(url).status_code == 403
    client.force_login(therapist_user)
    assert client.get(reverse("allocation-caseloads")).status_code == 403
    # Another service's staff, whatever their roles, find nothing of ours.
    client.force_login(other_staff)
    assert client.get(coordinator_pages[1]).status_code == 404
    assert client.get(coordinator_pages[2]).status_code == 404
    assert client.get(reverse("allocation-therapist", args=[ada.public_id])).status_code == 404
    assert referral.reference not in client.get(coordinator_pages[0]).content.decode()
    client.force_login(coordinator)
    for url in [*coordinator_pages, reverse("allocation-caseloads")]:
        assert client.get(url).status_code == 200


def test_run_page_says_who_asked_for_it_in_one_plain_sentence(
    client, service, ada, coordinator, django_capture_on_commit_callbacks
):
    make_waiting(service)
    client.force_login(coordinator)
    _, run = run_now(client, django_capture_on_commit_callbacks)
    page = client.get(reverse("allocation-run", args=[run.public_id])).content.decode()
    name = coordinator.get_full_name() or coordinator.username
    assert f" by {name}.</p>" in page
    assert "asked for by a coordinator by" not in page.lower()
    assert "Asked for on " in page


def test_other_services_runs_and_proposals_are_not_found(
    client, service, ada, coordinator, other_staff, django_capture_on_commit_callbacks
):
    referral = make_waiting(service)
    client.force_login(coordinator)
    _, run = run_now(client, django_capture_on_commit_callbacks)
    proposal = Proposal.objects.get(run=run, referral=referral)
    client.force_login(other_staff)
    assert client.get(reverse("allocation-run", args=[run.public_id])).status_code == 404
    assert client.get(reverse("allocation-run-status", args=[run.public_id])).status_code == 404
    response = client.post(reverse("allocation-proposal-accept", args=[proposal.public_id]))
    assert response.status_code == 404
    response = client.post(reverse("allocation-bulk-accept"), {"proposal": [proposal.public_id]})
    assert not Allocation.objects.exists()


def test_waiting_list_warns_at_6_and_18_weeks_and_filters_and_sorts(
    signed_in, service, sites, ada, coordinator
):
    long_wait = make_waiting(service, weeks=19, risk="low")
    six = make_waiting(service, weeks=7, risk="high", language="Polish")
    new = make_waiting(
        service, weeks=1, interpreter_needed=True, interpreter_language="BSL", mode="remote"
    )
    client = signed_in(coordinator)
    page = client.get(reverse("allocation-waiting-list")).content.decode()
    assert "Past 18 weeks" in page and "Past 6 weeks" in page
    assert page.index(long_wait.reference) < page.index(six.reference) < page.index(new.reference)

    def shown(**query):
        html = client.get(reverse("allocation-waiting-list"), query).content.decode()
        return [r.reference for r in (long_wait, six, new) if r.reference in html]

    assert shown(wait="18") == [long_wait.reference]
    assert shown(wait="6") == [long_wait.reference, six.reference]
    assert shown(wait="under_6") == [new.reference]
    assert shown(risk="high") == [six.reference]
    assert shown(language="polish") == [six.reference]
    assert shown(language="bsl") == [new.reference]
    assert shown(needs="interpreter") == [new.reference]
    assert shown(needs="remote") == [new.reference]
    html = client.get(reverse("allocation-waiting-list"), {"sort": "risk"}).content.decode()
    assert html.index(six.reference) < html.index(long_wait.reference)
    html = client.get(reverse("allocation-waiting-list"), {"sort": "newest"}).content.decode()
    assert html.index(new.reference) < html.index(long_wait.reference)
    # Nonsense in the query string shows everyone rather than an error page.
    response = client.get(reverse("allocation-waiting-list"), {"wait": "x", "page": "zz"})
    assert response.status_code == 200 and len(shown(wait="x", risk="nope")) == 3


def test_run_page_refreshes_itself_without_javascript_and_can_be_told_to_stop(
    signed_in, service, coordinator
):
    client = signed_in(coordinator)
    response = client.post(reverse("allocation-run-start"))  # not committed: stays queued
    run = ProposalRun.objects.get()
    assert response["Location"] == reverse("allocation-run", args=[run.public_id])
    html = client.get(response["Location"]).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert "Stop reloading this page" in html and "Check again now" in html
    assert 'role="status"' in html and "Queued" in html
    html = client.get(response["Location"] + "?auto=off").content.decode()
    assert 'http-equiv="refresh"' not in html
    status = client.get(reverse("allocation-run-status", args=[run.public_id])).json()
    assert status["status"] == "queued" and status["in_progress"] is True
    assert "Queued" in status["html"]


def test_finished_run_page_shows_counts_and_no_refresh(
    signed_in, service, ada, coordinator, django_capture_on_commit_callbacks
):
    make_waiting(service, weeks=3)
    make_waiting(service, weeks=2)
    client = signed_in(coordinator)
    response, run = run_now(client, django_capture_on_commit_callbacks)
    html = client.get(response["Location"]).content.decode()
    assert run.status == "done"
    assert 'http-equiv="refresh"' not in html
    assert 'Referrals considered</dt><dd class="nhsuk-summary-list__value">2' in html
    assert 'Matched with a therapist</dt><dd class="nhsuk-summary-list__value">1' in html
    status = client.get(reverse("allocation-run-status", args=[run.public_id])).json()
    assert status == {**status, "status": "done", "considered": 2, "placed": 1}


def test_accept_from_the_referral_page_and_a_wrong_date_keeps_what_was_entered(
    signed_in, service, ada, coordinator, django_capture_on_commit_callbacks
):
    referral = make_waiting(service, availability=["tue_evening"])
    client = signed_in(coordinator)
    _, run = run_now(client, django_capture_on_commit_callbacks)
    proposal = Proposal.objects.get(run=run, referral=referral)
    page = client.get(reverse("allocation-referral", args=[referral.public_id])).content.decode()
    assert "Why this match" in page and "Ada Lewis" in page and "Accept this proposal" in page
    url = reverse("allocation-proposal-accept", args=[proposal.public_id])
    response = client.post(
        url,
        {
            "first_appointment_day": "31",
            "first_appointment_month": "2",
            "first_appointment_year": "2030",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and "First appointment must be a real date" in html
    assert 'value="31"' in html
    wednesday = timezone.localdate() + dt.timedelta(days=14)
    while wednesday.weekday() != 2:
        wednesday += dt.timedelta(days=1)
    response = client.post(
        url,
        {
            "first_appointment_day": str(wednesday.day),
            "first_appointment_month": str(wednesday.month),
            "first_appointment_year": str(wednesday.year),
        },
    )
    assert response.status_code == 400
    assert "must be on a Tuesday" in response.content.decode()
    response = client.post(url, {})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ALLOCATED


def test_bulk_accept_accepts_what_it_can_and_says_what_it_could_not(
    signed_in, service, sites, ada, coordinator, django_capture_on_commit_callbacks
):
    ada.capacity = 2
    ada.save()
    first = make_waiting(service, weeks=10, availability=["tue_evening"])
    second = make_waiting(service, weeks=9, availability=["thu_evening"])
    client = signed_in(coordinator)
    _, run = run_now(client, django_capture_on_commit_callbacks)
    ids = [str(p.public_id) for p in Proposal.objects.filter(run=run, therapist__isnull=False)]
    assert len(ids) == 2
    ada.capacity = 1  # a place went since the proposals were made
    ada.save()
    response = client.post(reverse("allocation-bulk-accept"), {"proposal": ids}, follow=True)
    html = response.content.decode()
    assert "1 proposal accepted" in html
    assert "was not allocated: Ada Lewis has no free place now" in html
    assert Allocation.objects.count() == 1
    assert {first.reference, second.reference} & set(
        Allocation.objects.values_list("referral__reference", flat=True)
    )
    response = client.post(reverse("allocation-bulk-accept"), {}, follow=True)
    assert "Select at least one proposal to accept" in response.content.decode()


def test_choose_another_therapist_errors_keep_the_choice_and_saving_records_the_reason(
    signed_in, service, sites, ada, coordinator
):
    referral = make_waiting(service)
    ben = make_therapist(
        service, [sites["Northgate"]], [(3, "17:00", sites["Northgate"])], display_name="Ben Hart"
    )
    slot = ben.slots.get()
    client = signed_in(coordinator)
    url = reverse("allocation-referral-choose", args=[referral.public_id])
    page = client.get(url).content.decode()
    assert "Ben Hart</legend>" in page and "has 30 free weekly sessions" in page
    assert "Thursday 17:00 (50 min, Northgate Clinic)" in page
    response = client.post(url, {"slots": [str(slot.public_id)], "reason": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter why you chose this therapist" in html
    assert f'value="{slot.public_id}" checked' in html
    response = client.post(url, {"slots": [str(slot.public_id)], "reason": "Client asked"})
    assert response.status_code == 302
    allocation = Allocation.objects.get(referral=referral)
    assert allocation.therapist == ben and allocation.override_reason == "Client asked"


def test_hold_needs_a_reason_and_shows_on_the_waiting_list(signed_in, service, ada, coordinator):
    referral = make_waiting(service)
    client = signed_in(coordinator)
    url = reverse("allocation-referral-hold", args=[referral.public_id])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "Enter why this referral is on hold" in response.content.decode()
    client.post(url, {"reason": "Moving house; will call in June"})
    html = client.get(reverse("allocation-waiting-list"), {"status": "held"}).content.decode()
    assert referral.reference in html and "Moving house" in html
    client.post(reverse("allocation-hold-release", args=[referral.public_id]))
    html = client.get(reverse("allocation-waiting-list"), {"status": "held"}).content.decode()
    assert "On hold</strong>" not in html and "Nobody matches these filters" in html


def test_caseloads_show_load_against_capacity_and_free_slots(
    signed_in, service, ada, coordinator, service_admin
):
    make_therapist(service, display_name="Cal Full", capacity=0)
    for user in (coordinator, service_admin):
        html = signed_in(user).get(reverse("allocation-caseloads")).content.decode()
        # Capacity in weekly sessions (a client seen twice a week uses two).
        assert "Ada Lewis" in html and "0 of 1 weekly sessions" in html
        assert "1 free session" in html
        assert "Tuesday 18:00 (Riverside Centre)" in html and "Thursday 18:00 (remote)" in html
        assert "Cal Full" in html and "Full" in html


def test_profile_editing_by_service_admin_with_errors_kept(
    signed_in, service, sites, ada, service_admin, coordinator
):
    url = reverse("allocation-therapist-edit", args=[ada.public_id])
    assert signed_in(coordinator).get(url).status_code == 403
    client = signed_in(service_admin)
    response = client.post(
        url,
        {
            "display_name": "Ada Lewis",
            "gender": "female",
            "modalities": ["psychodynamic"],
            "languages": "English, Polish",
            "frequencies": ["1"],
            "offers_remote": "yes",
            "capacity": "-3",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Weekly sessions must be 0 or more" in html and 'value="-3"' in html
    # Taking away the site of an existing slot is refused, and says which slot.
    response = client.post(
        url,
        {
            "display_name": "Ada Lewis",
            "gender": "female",
            "modalities": ["psychodynamic", "dit"],
            "languages": "English, Polish",
            "frequencies": ["1", "2"],
            "sites": [str(sites["Northgate"].public_id)],
            "offers_remote": "yes",
            "capacity": "20",
        },
    )
    assert "The Tuesday 18:00 (Riverside Centre) slot is at Riverside Centre" in (
        response.content.decode()
    )
    response = client.post(
        url,
        {
            "display_name": "Ada Lewis",
            "gender": "female",
            "modalities": ["psychodynamic", "dit"],
            "languages": "English, Polish, BSL",
            "frequencies": ["1", "2"],
            "sites": [str(sites["Riverside"].public_id)],
            "offers_remote": "yes",
            "capacity": "20",
        },
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.capacity == 20 and ada.languages == ["English", "Polish", "BSL"]


def test_a_therapist_keeps_their_own_slots_and_leave(signed_in, service, ada, therapist_user):
    client = signed_in(therapist_user)
    assert client.get(reverse("allocation-therapist", args=[ada.public_id])).status_code == 404
    ada.user = therapist_user
    ada.save()
    url = reverse("allocation-slot-add", args=[ada.public_id])
    response = client.post(
        url, {"weekday": "1", "start": "18:20", "length": "50", "site": "remote"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This overlaps the Tuesday 18:00 (Riverside Centre) slot" in html
    assert 'value="18:20"' in html
    response = client.post(
        url, {"weekday": "1", "start": "25:00", "length": "50", "site": "remote"}
    )
    assert "Enter a real time on the 24-hour clock" in response.content.decode()
    response = client.post(url, {"weekday": "2", "start": "9:30", "length": "50", "site": "remote"})
    assert response.status_code == 302
    assert ada.slots.filter(weekday=2, start=dt.time(9, 30), site=None).exists()

    url = reverse("allocation-leave-add", args=[ada.public_id])
    today = timezone.localdate()
    later = today + dt.timedelta(days=10)
    response = client.post(
        url,
        {
            "starts_on_day": str(later.day),
            "starts_on_month": str(later.month),
            "starts_on_year": str(later.year),
            "ends_on_day": str(today.day),
            "ends_on_month": str(today.month),
            "ends_on_year": str(today.year),
        },
    )
    assert response.status_code == 400
    assert "The last day of leave must be on or after the first" in response.content.decode()
    response = client.post(
        url,
        {
            "starts_on_day": str(today.day),
            "starts_on_month": str(today.month),
            "starts_on_year": str(today.year),
            "ends_on_day": str(later.day),
            "ends_on_month": str(later.month),
            "ends_on_year": str(later.year),
            "note": "Annual leave",
        },
    )
    assert response.status_code == 302
    assert ada.leave.get().note == "Annual leave"
    html = client.get(reverse("allocation-therapist", args=[ada.public_id])).content.decode()
    assert "Annual leave" in html


def test_service_admin_adds_a_therapist(signed_in, service, sites, service_admin):
    client = signed_in(service_admin)
    url = reverse("allocation-therapist-add")
    response = client.post(url, {"display_name": "", "languages": ""})
    assert response.status_code == 400
    html = response.content.decode()
    for message in (
        "Enter the therapist&#x27;s name",
        "Select at least one kind of therapy offered",
        "Enter at least one language",
        "Enter the weekly sessions",
    ):
        assert message in html
    response = client.post(
        url,
        {
            "display_name": "Noor Aziz",
            "gender": "female",
            "modalities": ["psychodynamic"],
            "languages": "English, Arabic",
            "frequencies": ["1"],
            "sites": [str(sites["Northgate"].public_id)],
            "offers_remote": "no",
            "capacity": "24",
        },
    )
    assert response.status_code == 302
    therapist = factories.TherapistFactory._meta.model.objects.get(display_name="Noor Aziz")
    assert therapist.service == service and list(therapist.sites.all()) == [sites["Northgate"]]


def test_a_therapist_sees_who_is_starting_with_them_until_therapy_starts(
    signed_in, service, ada, coordinator, therapist_user
):
    from allocation import decisions
    from common import roles
    from therapy.models import TherapySession
    from therapy.services import therapy_session_record

    ada.user = therapist_user
    ada.save()
    referral = make_waiting(service)
    someone_else = factories.UserFactory(service=service, roles=[roles.THERAPIST])
    tuesday = ada.slots.order_by("weekday").first()
    allocation = decisions.allocation_choose(
        referral=referral, user=coordinator, slot_ids=[tuesday.pk], reason="Evening slot"
    )

    html = signed_in(therapist_user).get(reverse("staff-home")).text
    assert "Starting with you" in html
    assert referral.reference in html
    assert f"{timezone.localtime(allocation.first_appointment_at):%H:%M}" in html
    assert referral.reference not in signed_in(someone_else).get(reverse("staff-home")).text

    referral.refresh_from_db()
    # Therapy starts with the first session the therapist records as attended.
    therapy_session_record(
        referral=referral,
        user=therapist_user,
        occurred_on=timezone.localdate(),
        attendance=TherapySession.Attendance.ATTENDED,
    )
    html = signed_in(therapist_user).get(reverse("staff-home")).text
    assert "Starting with you" not in html
    assert "1 in therapy with you" in html
