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


def test_the_signed_in_user_comes_with_their_role_names(django_assert_num_queries):
    """The auth backend loads the request's user through the default manager, which on
    PostgreSQL reads the user's role names in the same query: checking a role on a staff
    page asks the database nothing more."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Group
    from django.db import connection

    both = factories.UserFactory(roles=[roles.COORDINATOR, roles.ASSESSOR])
    nobody = factories.UserFactory()
    # Elsewhere (SQLite) the names are read by a query of their own.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        loaded = ModelBackend().get_user(both.pk)
        assert loaded.role_names == frozenset({roles.COORDINATOR, roles.ASSESSOR})
    if connection.vendor != "postgresql":
        return  # elsewhere the names are read by a query of their own, as the test above
    with django_assert_num_queries(1):
        assert ModelBackend().get_user(nobody.pk).role_names == frozenset()
    # A change of role is in the next request's user.
    both.groups.remove(Group.objects.get(name=roles.COORDINATOR))
    with django_assert_num_queries(1):
        assert ModelBackend().get_user(both.pk).role_names == frozenset({roles.ASSESSOR})
    # Users read through `User.objects` come as Django gives them.
    from common.models import User

    assert "role_array" not in User.objects.get(pk=both.pk).__dict__


def test_a_staff_page_reads_no_roles_of_its_own(client, assessor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(assessor)
    client.get(reverse("staff-referral-list"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("staff-referral-list")).status_code == 200
    on_their_own = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().startswith('SELECT g."name"')
    ]
    expected = 0 if connection.vendor == "postgresql" else 1
    assert len(on_their_own) == expected
