"""The access matrix, first version: staff see their own service's data and nothing else."""

from __future__ import annotations

import pytest
from django.urls import reverse

from common import roles
from tests import factories
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def our_referral(service):
    return ReferralFactory(client__service=service, reference="TH-BCDF-GHJK")


@pytest.fixture
def their_referral(other_service):
    return ReferralFactory(client__service=other_service, reference="TH-MNPQ-RSTV")


def detail(referral):
    return reverse("staff-referral-detail", args=[referral.public_id])


@pytest.mark.parametrize("persona", ["assessor", "coordinator", "therapist_user", "service_admin"])
def test_every_role_sees_its_own_services_referral(client, request, persona, our_referral):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(detail(our_referral))

    assert response.status_code == 200
    assert our_referral.reference in response.text


def test_staff_of_another_service_get_not_found_for_our_referral(client, other_staff, our_referral):
    client.force_login(other_staff)

    assert client.get(detail(our_referral)).status_code == 404
    listing = client.get(reverse("staff-referral-list"))
    assert our_referral.reference not in listing.text


def test_referral_list_shows_only_own_service(client, assessor, our_referral, their_referral):
    client.force_login(assessor)

    listing = client.get(reverse("staff-referral-list")).text

    assert our_referral.reference in listing
    assert their_referral.reference not in listing


def test_anonymous_visitors_are_sent_to_sign_in(client, our_referral):
    for url in [reverse("staff-home"), reverse("staff-referral-list"), detail(our_referral)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("staff-login"))


def test_unknown_referral_id_is_404_not_500(client, assessor):
    client.force_login(assessor)
    assert client.get("/staff/referrals/not-a-uuid/").status_code == 404
    assert client.get("/staff/referrals/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_invalid_status_filter_is_ignored(client, assessor, our_referral):
    client.force_login(assessor)
    response = client.get(reverse("staff-referral-list"), {"status": "<script>"})
    assert response.status_code == 200
    assert our_referral.reference in response.text


def test_a_users_role_names_are_their_groups_names_read_once(django_assert_num_queries):
    from common.models import User

    both = factories.UserFactory(roles=[roles.COORDINATOR, roles.ASSESSOR])
    nobody = factories.UserFactory()
    fresh = User.objects.get(pk=both.pk)
    with django_assert_num_queries(1):
        assert fresh.role_names == frozenset({roles.COORDINATOR, roles.ASSESSOR})
        assert fresh.has_role(roles.ASSESSOR) and not fresh.has_role(roles.THERAPIST)
    assert fresh.role_names == frozenset(fresh.groups.values_list("name", flat=True))
    assert User.objects.get(pk=nobody.pk).role_names == frozenset()
    with pytest.raises(ValueError):
        User(username="unsaved").role_names  # noqa: B018 - unsaved: the relation refuses
