"""Partner API tokens: hashed at rest, revocable, expiring, and every use recorded.

Partners keep sending `Authorization: Token <key>`; what changed is what the service keeps
(a SHA-256 of the key, never the key) and what it can do about a token (revoke it, let
it expire, see when and from where it was last used).
"""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from intake.api_tokens import ApiToken, ApiTokenUse, api_token_issue, api_token_revoke
from tests.intake.test_api import BODY, URL

pytestmark = pytest.mark.django_db


def _client(key: str, address: str = "192.0.2.10") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_issued_token_sends_a_referral_and_only_its_hash_is_kept(partner):
    issued = api_token_issue(user=partner, name="Practice system")

    response = _client(issued.key).post(URL, BODY, format="json")

    assert response.status_code == 201, response.content
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key.startswith(token.prefix) and len(token.prefix) < len(issued.key) / 3
    stored = [str(value) for value in ApiToken.objects.values_list().get()]
    assert issued.key not in stored
    assert len(issued.key) >= 40


def test_a_token_expires_after_the_configured_days_by_default(partner, settings):
    settings.API_TOKEN_DAYS = 30
    before = timezone.now()
    token = api_token_issue(user=partner, name="Practice system").token
    assert before + timedelta(days=30) <= token.expires_at <= timezone.now() + timedelta(days=30)


def _refused(response):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"] == "Token"
    return response.json()


def test_unknown_expired_revoked_and_deactivated_tokens_get_the_same_401(partner, service):
    from tests.factories import UserFactory

    expired = api_token_issue(user=partner, name="old")
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now())
    revoked = api_token_issue(user=partner, name="lost laptop")
    api_token_revoke(token=revoked.token)
    leaver = UserFactory(service=service, roles=["partner_referrer"], is_active=False)
    inactive = api_token_issue(user=leaver, name="closed account")

    answers = [
        _refused(_client(key).post(URL, BODY, format="json"))
        for key in ("thr_not-a-real-key-at-all", expired.key, revoked.key, inactive.key)
    ]
    # Malformed headers are refused the same way.
    for header in ("Token", "Token one two", "Token caf\u00e9"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        answers.append(_refused(client.post(URL, BODY, format="json")))

    assert len({str(a) for a in answers}) == 1, answers
    assert "token" in answers[0]["detail"].lower()


def test_no_header_at_all_is_a_401_asking_for_credentials():
    body = _refused(APIClient().post(URL, BODY, format="json"))
    assert "credentials" in body["detail"].lower()


def test_each_use_is_recorded_with_time_and_address(partner):
    issued = api_token_issue(user=partner, name="Practice system")
    client = _client(issued.key, address="192.0.2.77")

    client.post(URL, BODY, format="json")
    client.post(URL, {}, format="json")

    token = ApiToken.objects.get()
    assert token.last_used_address == "192.0.2.77"
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)
    uses = list(ApiTokenUse.objects.filter(token=token).values("address", "method", "path"))
    assert uses == [{"address": "192.0.2.77", "method": "POST", "path": URL}] * 2


def test_a_refused_token_records_no_use(partner):
    issued = api_token_issue(user=partner, name="lost laptop")
    api_token_revoke(token=issued.token)
    _client(issued.key).post(URL, BODY, format="json")
    assert not ApiTokenUse.objects.exists()
    assert ApiToken.objects.get().last_used_at is None


def test_the_command_issues_once_lists_without_the_key_and_revokes(partner, capsys):
    call_command("api_token", "issue", partner.username, "--name", "Practice system")
    issued = capsys.readouterr().out
    key = next(line for line in issued.splitlines() if line.startswith("thr_"))
    token = ApiToken.objects.get()
    assert token.name == "Practice system"
    assert _client(key).post(URL, BODY, format="json").status_code == 201

    call_command("api_token", "list")
    listed = capsys.readouterr().out
    assert token.prefix in listed and partner.username in listed and key not in listed

    call_command("api_token", "revoke", token.prefix)
    assert "revoked" in capsys.readouterr().out.lower()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _client(key).post(URL, BODY, format="json").status_code == 401


def test_the_command_refuses_an_unknown_user_or_prefix_clearly(partner):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "issue", "nobody-by-this-name", "--name", "x")
    with pytest.raises(CommandError, match="No token"):
        call_command("api_token", "revoke", "thr_nothing")


def test_keys_from_the_old_token_table_are_hashed_in_and_the_clear_table_dropped(partner):
    legacy = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token "
            "(key varchar(40) PRIMARY KEY, created timestamp with time zone, user_id bigint)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [legacy, timezone.now(), partner.pk]
        )
    migration = importlib.import_module("intake.migrations.0013_api_tokens")

    migration.hash_legacy_tokens(connection)

    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(legacy.encode()).hexdigest()
    assert token.expires_at > timezone.now() + timedelta(days=30)
    assert _client(legacy).post(URL, BODY, format="json").status_code == 201


def test_the_schema_names_the_token_scheme(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    schemes = schema["components"]["securitySchemes"]
    assert any(
        s.get("in") == "header" and s.get("name") == "Authorization" for s in schemes.values()
    )
