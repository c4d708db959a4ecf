"""Named integration accounts from the token page: a service admin adds one acting with a role
of their service (a coordinator-role reporting system, say), issues and revokes its token
there (the key shown once, only its hash kept), every step on the audit trail, and the
account never signs in to the staff pages. `manage.py api_token` records its issues and
revokes too."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from common import roles
from intake.api_tokens import ApiToken, api_token_issue
from tests import factories

pytestmark = pytest.mark.django_db

ADD = "api-integration-add"


def _api(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def _add(client, username="reporting-system", role=roles.COORDINATOR):
    return client.post(reverse(ADD), {"username": username, "role": role})


def test_a_service_admin_adds_a_coordinator_role_integration_and_its_token_reads_as_one(
    client, service, service_admin, other_service
):
    ours = factories.ReferralFactory(client__service=service)
    factories.ReferralFactory(client__service=other_service)
    client.force_login(service_admin)

    added = _add(client)

    account = get_user_model().objects.get(username="reporting-system")
    assert added.status_code == 302
    assert added["Location"] == reverse("api-token-issue", args=[account.public_id])
    assert account.is_integration and account.service == service
    assert account.role_names == {roles.COORDINATOR} and not account.has_usable_password()
    listed = client.get(reverse("api-token-list")).text
    assert "reporting-system" in listed and "Acts as: Coordinator" in listed

    issued = client.post(
        reverse("api-token-issue", args=[account.public_id]), {"name": "Monthly reporting"}
    )
    key = issued.context["key"]
    token = ApiToken.objects.get(user=account)
    assert key in issued.text and token.key_hash != key and key not in str(token.__dict__)

    read = _api(key).get(reverse("api-referrals"))
    assert read.status_code == 200
    assert [row["id"] for row in read.json()["results"]] == [str(ours.public_id)]


def test_adding_issuing_and_revoking_are_each_on_the_audit_trail(client, service, service_admin):
    client.force_login(service_admin)
    _add(client)
    account = get_user_model().objects.get(username="reporting-system")
    client.post(reverse("api-token-issue", args=[account.public_id]), {"name": "Reporting"})
    token = ApiToken.objects.get(user=account)
    revoke_url = reverse("api-token-revoke", args=[token.pk])
    client.post(revoke_url)
    client.post(revoke_url)  # again: already revoked, nothing more to record

    events = {
        e.action: e
        for e in AuditEvent.objects.filter(
            action__in=["integration_add", "api_token_issue", "api_token_revoke"]
        )
    }
    assert set(events) == {"integration_add", "api_token_issue", "api_token_revoke"}
    assert AuditEvent.objects.filter(action="api_token_revoke").count() == 1
    for event in events.values():
        assert event.user == service_admin and event.service_id == service.pk
        assert (event.object_type, event.object_id) == ("user", str(account.public_id))
    assert events["integration_add"].detail == {"role": roles.COORDINATOR}
    assert events["api_token_issue"].detail == {"token": token.prefix, "via": "page"}
    assert events["api_token_revoke"].detail == {"token": token.prefix, "via": "page"}
    assert _api_refused(token)


def _api_refused(token) -> bool:
    token.refresh_from_db()
    return token.revoked_at is not None


def test_a_partner_account_token_issued_from_the_page_is_audited_too(
    client, service_admin, partner
):
    client.force_login(service_admin)
    client.post(reverse("api-token-issue", args=[partner.public_id]), {"name": "Practice"})

    event = AuditEvent.objects.get(action="api_token_issue")
    assert event.object_id == str(partner.public_id) and event.user == service_admin


def test_an_integration_account_never_signs_in_to_the_staff_pages(client, service):
    account = factories.UserFactory(
        username="reporting-system", service=service, roles=[roles.COORDINATOR]
    )
    account.is_integration = True
    account.set_password("correct horse battery staple")  # even if someone gave it one
    account.save()

    refused = client.post(
        reverse("staff-login"),
        {"username": "reporting-system", "password": "correct horse battery staple"},
    )
    assert refused.status_code == 200 and "integration account for the API" in refused.text
    assert "_auth_user_id" not in client.session

    # A session made some other way is refused every page, whatever role it holds.
    client.force_login(account)
    page = client.get(reverse("allocation-waiting-list"))
    assert page.status_code == 403
    assert client.get(reverse("staff-two-factor")).status_code == 403


@pytest.mark.parametrize("account", ["assessor", "coordinator", "therapist_user", "partner"])
def test_only_a_service_admin_adds_integration_accounts(client, request, account):
    client.force_login(request.getfixturevalue(account))

    assert client.get(reverse(ADD)).status_code == 403
    assert _add(client).status_code == 403
    assert not get_user_model().objects.filter(username="reporting-system").exists()


def test_another_services_admin_adds_accounts_to_their_own_service_only(
    client, other_service, other_staff
):
    client.force_login(other_staff)

    _add(client)

    assert get_user_model().objects.get(username="reporting-system").service == other_service


def test_another_services_admin_cannot_issue_or_revoke_for_ours(client, service, other_service):
    ours = factories.UserFactory(username="ours", service=service, roles=[roles.COORDINATOR])
    ours.is_integration = True
    ours.save()
    token = api_token_issue(user=ours, name="Reporting").token
    theirs = factories.UserFactory(service=other_service, roles=[roles.SERVICE_ADMIN])
    client.force_login(theirs)

    issue = client.post(reverse("api-token-issue", args=[ours.public_id]), {"name": "Mine now"})
    revoke = client.post(reverse("api-token-revoke", args=[token.pk]))

    assert issue.status_code == 404 and revoke.status_code == 404
    assert ApiToken.objects.filter(user=ours).count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_persons_account_gets_no_token_from_the_page(client, service_admin, coordinator):
    client.force_login(service_admin)

    response = client.post(reverse("api-token-issue", args=[coordinator.public_id]), {"name": "X"})

    assert response.status_code == 404 and not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("username", "role", "field", "message"),
    [
        ("", roles.COORDINATOR, "username", "Enter a username for the system"),
        ("re porting", roles.COORDINATOR, "username", "only letters"),
        ("ab", roles.COORDINATOR, "username", "at least 3 characters"),
        ("reporting-system", "", "role", "Select the role the system acts with"),
        # A clinician's role would read the clinical record: not offered on the page.
        ("reporting-system", roles.THERAPIST, "role", "Select the role the system acts with"),
        ("reporting-system", "Superuser", "role", "Select the role the system acts with"),
    ],
)
def test_a_form_with_mistakes_says_what_to_change_and_keeps_what_was_typed(
    client, service_admin, username, role, field, message
):
    client.force_login(service_admin)

    response = _add(client, username=username, role=role)

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    if username:
        assert f'value="{username}"' in response.text
    assert not get_user_model().objects.filter(is_integration=True).exists()


def test_a_username_already_taken_anywhere_is_refused_clearly(client, service_admin, other_service):
    factories.UserFactory(username="Reporting-System", service=other_service)
    client.force_login(service_admin)

    response = _add(client)

    assert response.status_code == 400 and "already taken" in response.text
    assert not get_user_model().objects.filter(is_integration=True).exists()
    assert not AuditEvent.objects.filter(action="integration_add").exists()


def test_manage_py_issue_and_revoke_are_on_the_audit_trail(service, capsys):
    account = factories.UserFactory(
        username="case-system", service=service, roles=[roles.COORDINATOR]
    )

    call_command("api_token", "issue", "case-system", "--name", "Case management")
    token = ApiToken.objects.get(user=account)
    call_command("api_token", "revoke", token.prefix)

    issued = AuditEvent.objects.get(action="api_token_issue")
    revoked = AuditEvent.objects.get(action="api_token_revoke")
    for event in (issued, revoked):
        assert event.user is None and event.service_id == service.pk
        assert event.object_id == str(account.public_id)
        assert event.detail == {"token": token.prefix, "via": "manage.py"}
