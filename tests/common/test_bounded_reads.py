"""Every staff list page reads a bounded page of rows in a fixed number of queries.

Each test fills a page's list with 3 rows, counts the queries the page runs, fills it to
30 rows and asserts the page still runs no more queries than that, and shows all 30
(a page of 50). A list past one page shows the NHS.UK pagination, keeping the filters.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocation.models import Allocation
from assessment.models import AssessmentAppointment
from intake.models import MeasureResponse, Referral, RiskFlag
from notifications.models import Notification, PrintBatch
from tests import factories
from therapy.models import ProgressFlag, TherapySession

pytestmark = pytest.mark.django_db

_seq = itertools.count()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response
    return len(context.captured_queries)


def _assert_flat(client, url, add, django_assert_max_num_queries, *, shows=None):
    """3 rows, then 30: the page runs no more queries with 30 than with 3."""
    add(3)
    _queries(client, url)  # warm per-process caches (content types, the service memo)
    small = _queries(client, url)
    add(27)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200
    if shows is not None:
        for text in shows():
            assert text in response.content.decode(), text
    return response


def _referral(service, **kwargs):
    kwargs.setdefault("received_at", timezone.now() - dt.timedelta(weeks=8))
    return factories.ReferralFactory(client__service=service, **kwargs)


def _risk_flag(referral, **kwargs):
    return RiskFlag.objects.create(
        service=referral.service,
        referral=referral,
        source=RiskFlag.Source.PHQ9_ITEM9,
        detail="Thoughts of self-harm on several days",
        raised_at=timezone.now(),
        **kwargs,
    )


def _in_therapy(service, therapist, *, sessions=6):
    therapy = factories.TherapyFactory(
        referral__client__service=service, therapist=therapist, started_by=therapist
    )
    referral = therapy.referral
    factories.SessionPlanFactory(referral=referral, created_by=therapist)
    factories.SessionPlanFactory(referral=referral, created_by=therapist, version=2)
    start = timezone.localdate() - dt.timedelta(weeks=sessions + 1)
    for week in range(sessions):
        session = TherapySession.objects.create(
            service=service,
            referral=referral,
            therapy=therapy,
            occurred_on=start + dt.timedelta(weeks=week),
            attendance=TherapySession.Attendance.ATTENDED
            if week < sessions - 2
            else TherapySession.Attendance.DID_NOT_ATTEND,
            recorded_by=therapist,
        )
        if week == 1:
            response = MeasureResponse.objects.create(
                referral=referral,
                measure="phq9",
                context=MeasureResponse.Context.REVIEW,
                answers=[1] * 9,
                total=9,
                completed_at=timezone.now(),
            )
            session.measure_responses.add(response)
    ProgressFlag.objects.create(
        service=service,
        referral=referral,
        reason=ProgressFlag.Reason.RELIABLE_DETERIORATION,
        detail="PHQ-9 up by 6",
        raised_at=timezone.now(),
    )
    _risk_flag(referral)
    return therapy


def _waiting(service, status=Referral.Status.AWAITING_ALLOCATION):
    assessment = factories.FinishedAssessmentFactory(
        referral__client__service=service, referral__status=status
    )
    factories.PreferencesFactory(referral=assessment.referral)
    _risk_flag(assessment.referral)
    return assessment.referral


# --- Referrals ---------------------------------------------------------------------------


def test_referral_list_runs_the_same_queries_for_30_rows_as_for_3(
    client, assessor, service, django_assert_max_num_queries
):
    made = []

    def add(n):
        for _ in range(n):
            referral = _referral(service)
            _risk_flag(referral)
            made.append(referral)

    client.force_login(assessor)
    _assert_flat(
        client,
        reverse("staff-referral-list"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [r.reference for r in made],
    )


def test_referral_list_pages_keep_the_filter(client, assessor, service):
    referrals = [
        _referral(service, received_at=timezone.now() - dt.timedelta(days=200 - i))
        for i in range(60)
    ]
    _referral(service, status=Referral.Status.ENDED)
    client.force_login(assessor)
    url = reverse("staff-referral-list")
    first = client.get(url, {"status": Referral.Status.SUBMITTED}).content.decode()
    assert referrals[49].reference in first
    assert referrals[50].reference not in first  # 50 a page
    assert "nhsuk-pagination" in first
    assert "60 referrals" in first
    assert "?status=submitted&amp;page=2" in first
    second = client.get(url, {"status": Referral.Status.SUBMITTED, "page": "2"}).content.decode()
    assert referrals[50].reference in second
    assert referrals[0].reference not in second
    # A page that is not a number, or past the end, shows a page rather than an error.
    assert client.get(url, {"page": "x"}).status_code == 200
    assert referrals[-1].reference in client.get(url, {"page": "99"}).content.decode()


# --- Assessments -------------------------------------------------------------------------


def test_assessment_worklist_runs_the_same_queries_for_30_rows_as_for_3(
    client, assessor, service, django_assert_max_num_queries
):
    made = []

    def add(n):
        for i in range(n):
            referral = _referral(service)
            _risk_flag(referral)
            if i % 2:
                AssessmentAppointment.objects.create(
                    service=service,
                    referral=referral,
                    starts_at=timezone.now() + dt.timedelta(days=3),
                    mode="video",
                    booked_by=assessor,
                )
            made.append(referral)

    client.force_login(assessor)
    _assert_flat(
        client,
        reverse("assessment-worklist"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [r.reference for r in made],
    )


# --- Therapy -----------------------------------------------------------------------------


def test_therapist_caseload_runs_the_same_queries_for_30_clients_as_for_3(
    client, therapist_user, service, django_assert_max_num_queries
):
    made = []

    def add(n):
        made.extend(_in_therapy(service, therapist_user) for _ in range(n))

    client.force_login(therapist_user)
    response = _assert_flat(
        client,
        reverse("therapy-caseload"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [t.referral.client.display_name for t in made],
    )
    assert "2 missed in a row" in response.content.decode()


def test_therapy_overview_runs_the_same_queries_for_30_rows_as_for_3(
    client, coordinator, service, django_assert_max_num_queries
):
    therapist = factories.UserFactory(service=service, roles=["Therapist"])
    made = []

    def add(n):
        for _ in range(n):
            made.append(_in_therapy(service, therapist).referral)
            made.append(_waiting(service, Referral.Status.ALLOCATED))

    client.force_login(coordinator)
    _assert_flat(
        client,
        reverse("therapy-overview"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [r.reference for r in made],
    )


# --- Allocation --------------------------------------------------------------------------


def test_allocation_waiting_list_runs_the_same_queries_for_30_rows_as_for_3(
    client, coordinator, service, django_assert_max_num_queries
):
    made = []

    def add(n):
        made.extend(_waiting(service) for _ in range(n))

    client.force_login(coordinator)
    _assert_flat(
        client,
        reverse("allocation-waiting-list"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [r.reference for r in made],
    )


def test_allocation_waiting_list_pages_keep_the_filters(client, coordinator, service):
    made = [_waiting(service) for _ in range(55)]
    client.force_login(coordinator)
    url = reverse("allocation-waiting-list")
    first = client.get(url, {"sort": "newest"}).content.decode()
    assert "nhsuk-pagination" in first
    assert "?sort=newest&amp;page=2" in first
    second = client.get(url, {"sort": "newest", "page": "2"}).content.decode()
    # Newest first: the oldest five are on the second page.
    assert all(r.reference in second for r in made[:5])
    assert made[-1].reference not in second


def test_allocation_waiting_list_second_page_runs_no_more_queries_than_the_first(
    client, coordinator, service
):
    made = [_waiting(service) for _ in range(55)]
    client.force_login(coordinator)
    url = reverse("allocation-waiting-list")
    _queries(client, url)  # warm per-process caches
    first = _queries(client, url)
    with CaptureQueriesContext(connection) as second:
        response = client.get(url, {"page": "2"})
    assert len(second.captured_queries) <= first
    assert all(r.reference in response.content.decode() for r in made[50:])


def test_caseloads_run_the_same_queries_for_30_therapists_as_for_3(
    client, coordinator, service, django_assert_max_num_queries
):
    def add(n):
        for _ in range(n):
            therapist = factories.TherapistFactory(
                service=service, display_name=f"Therapist {next(_seq)}"
            )
            for hour in (9, 10, 11, 12, 13):
                factories.WeeklySlotFactory(therapist=therapist, start=dt.time(hour, 0))
            factories.LeavePeriodFactory(therapist=therapist)
            made.append(therapist)

    made = []
    client.force_login(coordinator)
    _assert_flat(
        client,
        reverse("allocation-caseloads"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [t.display_name for t in made],
    )


def test_caseloads_page_the_team_50_at_a_time_with_totals_for_all(client, coordinator, service):
    made = [
        factories.TherapistFactory(service=service, display_name=f"Therapist {i:02d}", capacity=2)
        for i in range(55)
    ]
    client.force_login(coordinator)
    url = reverse("allocation-caseloads")
    first = client.get(url).content.decode()
    assert "nhsuk-pagination" in first
    assert all(t.display_name in first for t in made[:50])
    assert "Therapist 50" not in first
    second = client.get(url, {"page": "2"}).content.decode()
    assert all(t.display_name in second for t in made[50:])
    assert "Therapist 00" not in second
    # The totals are the whole team's, whichever page is shown: 55 therapists with 2 free
    # weekly sessions each.
    totals = 'Weekly sessions in use</dt><dd class="nhsuk-summary-list__value">0 of 110<'
    assert totals in first and totals in second


def test_caseloads_show_a_count_of_free_slots_and_the_first_few(client, coordinator, service):
    therapist = factories.TherapistFactory(service=service)
    for hour in range(8, 20):
        factories.WeeklySlotFactory(therapist=therapist, weekday=0, start=dt.time(hour, 0))
    client.force_login(coordinator)
    listed = client.get(reverse("allocation-caseloads")).content.decode()
    assert "12 free slots" in listed
    assert "Monday 08:00 (remote)" in listed and "Monday 10:00 (remote)" in listed
    assert "Monday 11:00 (remote)" not in listed and "9 more" in listed
    profile = client.get(reverse("allocation-therapist", args=[therapist.public_id]))
    shown = profile.content.decode()
    assert all(f"Monday {hour:02d}:00 (remote)" in shown for hour in range(8, 20))


# --- Messages ----------------------------------------------------------------------------


def _failed_message(service, **kwargs):
    referral = _referral(service)
    return Notification.objects.create(
        service=service,
        referral=referral,
        kind=Notification.Kind.APPOINTMENT_REMINDER,
        recipient=Notification.Recipient.CLIENT,
        occurrence=f"bounded-{next(_seq)}",
        idempotency_key=f"bounded-{next(_seq)}",
        status=Notification.Status.FAILED,
        status_reason="The mailbox is full",
        closed_at=timezone.now(),
        **kwargs,
    )


def test_follow_up_list_runs_the_same_queries_for_30_rows_as_for_3(
    client, coordinator, service, django_assert_max_num_queries
):
    made = []

    def add(n):
        for _ in range(n):
            made.append(_failed_message(service, follow_up_needed=True))
            _failed_message(service, follow_up_needed=False)

    client.force_login(coordinator)
    _assert_flat(
        client,
        reverse("staff-messages"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [n.referral.reference for n in made],
    )


def test_referral_messages_run_the_same_queries_for_30_rows_as_for_3(
    client, coordinator, service, django_assert_max_num_queries
):
    referral = _referral(service)

    def add(n):
        for _ in range(n):
            Notification.objects.create(
                service=service,
                referral=referral,
                kind=Notification.Kind.ACKNOWLEDGEMENT,
                recipient=Notification.Recipient.CLIENT,
                occurrence=f"bounded-{next(_seq)}",
                idempotency_key=f"bounded-{next(_seq)}",
                requested_by=coordinator,
            )

    client.force_login(coordinator)
    _assert_flat(
        client,
        reverse("staff-referral-messages", args=[referral.public_id]),
        add,
        django_assert_max_num_queries,
    )


def test_print_batches_run_the_same_queries_for_30_rows_as_for_3(
    client, service_admin, coordinator, service, django_assert_max_num_queries
):
    def add(n):
        for _ in range(n):
            PrintBatch.objects.create(
                service=service,
                created_by=coordinator,
                letter_count=2,
                page_count=3,
                pdf=b"%PDF",
                first_downloaded_at=timezone.now(),
                first_downloaded_by=coordinator,
            )

    client.force_login(coordinator)
    response = _assert_flat(
        client, reverse("staff-print-batches"), add, django_assert_max_num_queries
    )
    assert response.content.decode().count("staff/messages/print/") >= 30


# --- The home page for each role ---------------------------------------------------------


@pytest.mark.parametrize("persona", ["assessor", "coordinator", "therapist_user", "service_admin"])
def test_home_runs_the_same_queries_for_30_rows_as_for_3(
    client, request, persona, service, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)
    is_therapist = persona == "therapist_user"
    therapist = (
        user if is_therapist else factories.UserFactory(service=service, roles=["Therapist"])
    )
    profile = factories.TherapistFactory(service=service, user=therapist)

    def add(n):
        for _ in range(n):
            _risk_flag(_referral(service))
            _in_therapy(service, therapist)
            referral = _waiting(service, Referral.Status.ALLOCATED)
            Allocation.objects.create(
                service=service,
                referral=referral,
                therapist=profile,
                source=Allocation.Source.OVERRIDE,
                override_reason="Bounded reads test",
                first_appointment_at=timezone.now() + dt.timedelta(days=5),
                allocated_by=therapist,
                allocated_at=timezone.now(),
            )
            factories.UserFactory(service=service, roles=["Assessor"])

    client.force_login(user)
    _assert_flat(client, reverse("staff-home"), add, django_assert_max_num_queries)


def test_finished_assessments_run_the_same_queries_for_30_rows_as_for_3(
    client, assessor, service, django_assert_max_num_queries
):
    made = []

    def add(n):
        for _ in range(n):
            made.append(
                factories.FinishedAssessmentFactory(
                    referral__client__service=service,
                    finished_by=assessor,
                    finished_at=timezone.now() - dt.timedelta(minutes=len(made)),
                )
            )

    client.force_login(assessor)
    _assert_flat(
        client,
        reverse("assessment-finished"),
        add,
        django_assert_max_num_queries,
        shows=lambda: [a.referral.reference for a in made],
    )


# --- Deep pages of the referral list ------------------------------------------------------


def _link(page: str, rel: str) -> str | None:
    for match in re.finditer(
        r'<a href="(\?[^"]*)" class="nhsuk-pagination__\w+" rel="(\w+)"', page
    ):
        if match.group(2) == rel:
            return html.unescape(match.group(1))
    return None


def _references(page: str, made) -> list[str]:
    """The references of `made` on the page, in the order the page shows them."""
    found = [(page.find(r.reference), r.reference) for r in made if r.reference in page]
    return [reference for _, reference in sorted(found)]


@pytest.fixture
def long_list(service):
    """161 referrals (four pages of 50, the last holding 11), oldest first; two of them
    received at the same moment, so the order has a tie for the id to settle."""
    start = timezone.now() - dt.timedelta(days=400)
    made = [_referral(service, received_at=start + dt.timedelta(hours=i)) for i in range(160)]
    made.insert(50, _referral(service, received_at=made[49].received_at))
    return made


def test_referral_list_pages_followed_by_their_links_show_every_referral_once_in_order(
    client, coordinator, long_list
):
    client.force_login(coordinator)
    url = reverse("staff-referral-list")
    shown, link, numbers = [], "", []
    while link is not None:
        page = client.get(url + link).content.decode()
        numbers.append(re.search(r"page (\d+) of 4", page).group(1))
        shown += _references(page, long_list)
        link = _link(page, "next")
    assert numbers == ["1", "2", "3", "4"]
    assert shown == [r.reference for r in long_list]
    # And back again from the last page by the previous links.
    shown_back, link = [], _link(client.get(url, {"page": "4"}).content.decode(), "prev")
    while link is not None:
        page = client.get(url + link).content.decode()
        shown_back = _references(page, long_list) + shown_back
        link = _link(page, "prev")
    assert shown_back == [r.reference for r in long_list[:150]]


def test_referral_list_pages_by_number_alone_show_the_same_rows_as_by_their_links(
    client, coordinator, long_list
):
    client.force_login(coordinator)
    url = reverse("staff-referral-list")
    second_by_link = client.get(url + _link(client.get(url).content.decode(), "next"))
    assert "after=" in _link(client.get(url).content.decode(), "next")
    for number, rows in (("2", long_list[50:100]), ("3", long_list[100:150])):
        page = client.get(url, {"page": number}).content.decode()
        assert _references(page, long_list) == [r.reference for r in rows]
    assert _references(second_by_link.content.decode(), long_list) == [
        r.reference for r in long_list[50:100]
    ]
    last = client.get(url, {"page": "4"}).content.decode()
    assert _references(last, long_list) == [r.reference for r in long_list[150:]]
    # A link naming a referral that is not there, or not an id, still shows its page.
    for after in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        page = client.get(url, {"page": "3", "after": after}).content.decode()
        assert _references(page, long_list) == [r.reference for r in long_list[100:150]]


def test_referral_list_pages_keep_their_place_by_a_referral_that_changed_state(
    client, coordinator, long_list
):
    client.force_login(coordinator)
    url = reverse("staff-referral-list")
    first = client.get(url, {"status": Referral.Status.SUBMITTED}).content.decode()
    link = _link(first, "next")
    assert "status=submitted" in link and "page=2" in link
    # The last referral on the first page ends before the next page is opened.
    Referral.objects.filter(pk=long_list[49].pk).update(status=Referral.Status.ENDED)
    second = client.get(url + link).content.decode()
    assert _references(second, long_list) == [r.reference for r in long_list[50:100]]


def test_referral_list_deep_pages_run_no_more_queries_than_the_first_and_no_offset(
    client, coordinator, long_list
):
    client.force_login(coordinator)
    url = reverse("staff-referral-list")
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as first:
        page = client.get(url).content.decode()
    link = _link(page, "next")
    for _ in range(2):
        with CaptureQueriesContext(connection) as deeper:
            page = client.get(url + link).content.decode()
        assert len(deeper.captured_queries) <= len(first.captured_queries)
        assert not any(" OFFSET " in q["sql"] for q in deeper.captured_queries)
        link = _link(page, "next")
    with CaptureQueriesContext(connection) as last:
        client.get(url, {"page": "4"})
    assert len(last.captured_queries) <= len(first.captured_queries)
    assert not any(" OFFSET " in q["sql"] for q in last.captured_queries)
