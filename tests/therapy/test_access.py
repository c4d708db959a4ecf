"""Who sees what: assessors see only their service; therapists see only their own clients;
coordinators see their service's therapy; nobody sees another service's. A record someone
may not see answers 404, exactly like one that does not exist; a page the role does not use
at all answers 403."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from intake.models import Referral
from tests.assessment.conftest import MINIMAL, finish, start, walk
from therapy import selectors

pytestmark = pytest.mark.django_db

CLIENT_PAGES = ["therapy-client", "session-plan", "goals", "sessions", "progress", "non-attendance"]


@pytest.mark.parametrize("page", CLIENT_PAGES)
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("therapist", 200),
        ("coordinator", 200),
        ("therapist_user", 404),  # a therapist of the same service, not this client's
        ("assessor", 403),  # roles that do not use therapy records (docs/security.md)
        ("service_admin", 403),
        ("other_staff", 404),  # another service, every role
    ],
)
def test_client_records_access_matrix(client, request, in_therapy, page, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(page, args=[in_therapy.public_id])).status_code == status


@pytest.mark.parametrize(
    ("page", "therapist_status", "coordinator_status"),
    [
        ("session-plan-edit", 200, 200),
        ("session-plan-break-add", 302, 302),  # no plan yet: sent to agree one first
        ("therapy-end", 200, 403),
    ],
)
def test_changes_are_for_the_clients_therapist_and_where_said_the_coordinator(
    client,
    in_therapy,
    therapist,
    coordinator,
    therapist_user,
    page,
    therapist_status,
    coordinator_status,
):
    url = reverse(page, args=[in_therapy.public_id])
    client.force_login(therapist)
    assert client.get(url).status_code == therapist_status
    client.force_login(coordinator)
    assert client.get(url).status_code == coordinator_status
    client.force_login(therapist_user)
    assert client.get(url).status_code == 404


def test_therapists_lists_hold_only_their_own_clients(
    client, in_therapy, therapist, therapist_user, other_staff
):
    assert [row.therapy.referral for row in selectors.therapist_caseload(user=therapist)] == [
        in_therapy
    ]
    assert list(selectors.therapist_caseload(user=therapist_user)) == []
    assert list(selectors.therapist_caseload(user=other_staff)) == []
    with pytest.raises(Referral.DoesNotExist):
        selectors.care_referral_get(user=therapist_user, public_id=in_therapy.public_id)
    client.force_login(therapist_user)
    assert in_therapy.reference not in client.get(reverse("therapy-caseload")).text


def test_coordinator_pages_show_only_their_service(client, in_therapy, coordinator, other_staff):
    client.force_login(coordinator)
    assert in_therapy.client.display_name in client.get(reverse("therapy-overview")).text
    client.force_login(other_staff)
    assert in_therapy.client.display_name not in client.get(reverse("therapy-overview")).text


@pytest.mark.parametrize(
    ("name", "persona"),
    [
        ("assessment-worklist", "therapist_user"),
        ("assessment-worklist", "coordinator"),
        ("therapy-overview", "therapist_user"),
        ("therapy-caseload", "assessor"),
    ],
)
def test_role_pages_refuse_other_roles(client, request, name, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(name)).status_code == 403


def test_finished_assessment_is_readable_by_the_clients_therapist_only(
    client, assessor, referral, coordinator, therapist, therapist_user
):
    from therapy import services

    client.force_login(assessor)
    assessment = start(client, referral)
    answers = {**MINIMAL}
    answers["recommendation"] = {"choice": "psychodynamic", "sessions_per_week": "1", "reason": "x"}
    answers["formulation"] = {"status": "declined"}
    walk(client, assessment, answers)
    finish(client, assessment)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.AWAITING_ALLOCATION
    services.therapy_start(
        referral=referral,
        therapist=therapist,
        started_on=referral.received_at.date(),
        user=coordinator,
    )
    url = reverse("assessment-detail", args=[assessment.public_id])
    for persona, status in [(therapist, 200), (coordinator, 200), (therapist_user, 404)]:
        client.force_login(persona)
        assert client.get(url).status_code == status
    client.force_login(therapist)
    assert client.post(url, {"section": "risk", "text": "x"}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, in_therapy):
    urls = [
        reverse("assessment-worklist"),
        reverse("therapy-caseload"),
        reverse("therapy-overview"),
    ]
    urls += [reverse(page, args=[in_therapy.public_id]) for page in CLIENT_PAGES]
    urls += [reverse("assessment-step", args=[uuid.uuid4(), "presenting"])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("staff-login"))


def test_bad_and_unknown_ids_are_404_not_500(client, therapist, in_therapy):
    client.force_login(therapist)
    for url in [
        f"/staff/referrals/{uuid.uuid4()}/progress/",
        "/staff/referrals/not-a-uuid/progress/",
        f"/staff/referrals/{in_therapy.public_id}/goals/{uuid.uuid4()}/close/",
        f"/staff/referrals/{in_therapy.public_id}/sessions/{uuid.uuid4()}/questionnaires/",
        f"/staff/referrals/{in_therapy.public_id}/progress/flags/{uuid.uuid4()}/",
        f"/staff/referrals/{uuid.uuid4()}/therapy/start/",
    ]:
        assert client.get(url).status_code in (403, 404), url


def test_other_services_referral_cannot_be_started_in_therapy(client, coordinator, their_referral):
    client.force_login(coordinator)
    assert client.get(reverse("therapy-start", args=[their_referral.public_id])).status_code == 404
