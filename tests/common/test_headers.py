"""Security headers: every page carries a Content-Security-Policy with no 'unsafe-inline' for
scripts or styles, and every page with client data tells browsers and proxies to keep no copy
(Cache-Control: no-store). The pages come from the URL resolver, so a new page is covered
without an entry here. docs/security.md says what each header is for."""

from __future__ import annotations

import re

import pytest
from django.urls import get_resolver, reverse

from tests import factories
from tests.common import test_roles_by_view as roles_table
from tests.common.test_roles_by_view import LETTERS, PAGES, _walk
from tests.intake.walk import MINIMAL, post_step, step_url

pytestmark = pytest.mark.django_db

# The roles table's records and accounts: one of every record a staff page is about.
world = roles_table.world
accounts = roles_table.accounts

# Pages whose own markup needs inline styles, with a policy relaxed for them alone
# (docs/security.md, "Content-Security-Policy"). Everything else is held to the strict one.
RELAXED_STYLES = ("/admin/", "/api/")
# An email's own HTML, framed by the message pages: inline styles (email needs them), nothing
# else at all, framed only by our pages.
EMAIL_FRAMES = {"staff-message-email", "staff-message-preview-email"}


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy"
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict(response, path: str) -> None:
    policy = directives(response)
    assert policy["default-src"] == ["'self'"], path
    assert policy["object-src"] == ["'none'"], path
    assert policy["frame-ancestors"] == ["'none'"], path
    assert policy["base-uri"] == ["'self'"], path
    assert policy["form-action"] == ["'self'"], path
    assert "'unsafe-inline'" not in policy["script-src"], path
    if not path.startswith(RELAXED_STYLES):
        assert "'unsafe-inline'" not in policy.get("style-src", []), path
    assert "'unsafe-eval'" not in policy["script-src"], path


def assert_no_store(response, path: str) -> None:
    cache_control = response.headers.get("Cache-Control", "")
    assert "no-store" in cache_control, f"{path}: Cache-Control {cache_control!r}"


def routes_without_parameters() -> list[str]:
    paths = []
    for route, _name in _walk(get_resolver().url_patterns):
        if "<" in route or "(" in route or "\\" in route:
            continue  # needs a record (or a step) in its address: covered with data below
        paths.append("/" + route.lstrip("^").rstrip("$"))
    return sorted(set(paths))


@pytest.fixture
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    return service


@pytest.fixture
def superuser(service):
    return factories.UserFactory(username="root", service=service, is_staff=True, is_superuser=True)


@pytest.mark.parametrize("who", ["anonymous", "coordinator", "superuser"])
def test_every_page_without_data_has_a_strict_policy_and_no_store(
    client, referral_service, coordinator, superuser, who
):
    if who != "anonymous":
        client.force_login({"coordinator": coordinator, "superuser": superuser}[who])
    paths = routes_without_parameters()
    assert "/staff/" in paths and "/refer/" in paths and "/admin/" in paths
    html = 0
    for path in paths:
        response = client.get(path)
        assert response.status_code != 500, path
        assert_strict(response, path)
        assert_no_store(response, path)
        html += response.headers.get("Content-Type", "").startswith("text/html")
    assert html > 10


def test_error_pages_have_the_policy(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_strict(response, "/no-such-page/")


def test_the_page_script_carries_the_nonce_the_header_names(client):
    response = client.get(reverse("home"))
    nonces = re.findall(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert len(nonces) == 1
    body = response.text
    scripts = re.findall(r"<script([^>]*)>", body)
    inline = [attrs for attrs in scripts if "src=" not in attrs]
    assert inline == [f' nonce="{nonces[0]}"']
    # A fresh nonce on every response.
    again = client.get(reverse("home")).headers["Content-Security-Policy"]
    assert nonces[0] not in again


def test_no_template_has_an_inline_style_or_handler(client, world, accounts):
    """A sample of pages with data, as a coordinator and a therapist: no style attribute,
    <style> element or on...= handler is left for the policy to block."""
    bad = re.compile(r"<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    for account in ("coordinator", "therapist", "assessor"):
        client.force_login(accounts[account])
        for name, entry in PAGES.items():
            if entry.method != "GET" or entry.expected[account] != 200 or name in EMAIL_FRAMES:
                continue
            url = reverse(name, args=[world[arg] for arg in entry.args])
            response = client.get(url)
            if not response.headers.get("Content-Type", "").startswith("text/html"):
                continue
            assert_strict(response, url)
            found = bad.search(response.text)
            assert not found, f"{url}: {response.text[found.start() : found.start() + 80]}"


def test_every_staff_page_with_data_sends_no_store_and_the_policy(client, world, accounts):
    for name, entry in PAGES.items():
        # The first role the table lets in, so the page itself answers (not a refusal).
        role = next(
            (LETTERS[letter] for letter in "ACTS" if entry.expected[LETTERS[letter]] in (200,)),
            next(LETTERS[letter] for letter in "ACTS"),
        )
        client.force_login(accounts[role])
        url = reverse(name, args=[world[arg] for arg in entry.args])
        response = client.get(url) if entry.method == "GET" else client.post(url, {})
        assert_no_store(response, url)
        if name not in EMAIL_FRAMES:
            assert_strict(response, url)
        # A refusal or a redirect keeps no copy either.
        client.logout()
        refused = client.get(url)
        assert_no_store(refused, url)


def test_every_wizard_step_sends_no_store(client, referral_service):
    for step, data in MINIMAL.items():
        page = client.get(step_url(step))
        assert_no_store(page, step_url(step))
        assert_strict(page, step_url(step))
        posted = post_step(client, step, data)
        assert_no_store(posted, step_url(step))


def test_the_api_sends_no_store(client, service):
    response = client.post(reverse("api-referrals"), {}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert_no_store(response, "/api/v1/referrals/")
    schema = client.get(reverse("api-schema"))
    assert_no_store(schema, "/api/schema/")


def test_an_email_frame_may_style_itself_and_do_nothing_else(client, world, accounts):
    client.force_login(accounts["coordinator"])
    for name in sorted(EMAIL_FRAMES):
        args = (
            [world["notification"]]
            if name == "staff-message-email"
            else [
                world["referral"],
                world["kind"],
            ]
        )
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200
        assert "<style" in response.text or "style=" in response.text
        policy = directives(response)
        assert policy["default-src"] == ["'none'"]
        assert policy["style-src"] == ["'unsafe-inline'"]
        assert "script-src" not in policy
        assert policy["frame-ancestors"] == ["'self'"]
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert_no_store(response, name)
