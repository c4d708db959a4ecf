from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils.html import escape

from allocation.models import Therapist, WeeklySlot
from common import roles
from common.models import User
from intake.models import PrivacyNotice, Referral
from tests.intake.walk import MINIMAL, step_url, walk

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_passwords_once(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (
        User.objects.count(),
        Therapist.objects.count(),
        Referral.objects.count(),
        WeeklySlot.objects.count(),
    )

    call_command("seed_demo")
    second = capsys.readouterr().out

    assert "shown this once" in first
    assert "shown this once" not in second
    assert (
        User.objects.count(),
        Therapist.objects.count(),
        Referral.objects.count(),
        WeeklySlot.objects.count(),
    ) == counts


def test_seed_demo_gives_a_realistic_service():
    call_command("seed_demo")

    for role in roles.ALL:
        assert User.objects.filter(groups__name=role).exists(), role
    therapists = Therapist.objects.all()
    assert therapists.count() >= 20
    assert {t.gender for t in therapists} >= {"female", "male"}
    assert any(len(t.languages) > 1 for t in therapists)
    assert all(t.slots.exists() for t in therapists)
    assert any(t.sites.exists() for t in therapists)
    assert Referral.objects.values("status").distinct().count() >= 4


def test_the_demo_partner_has_an_api_token_and_no_password(capsys):
    from intake.api_tokens import ApiToken

    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo", reset_passwords=True)
    reset = capsys.readouterr().out

    partner = User.objects.get(groups__name=roles.PARTNER_REFERRER)
    assert not partner.has_usable_password()
    assert ApiToken.objects.filter(user=partner).count() == 1
    assert "Partner API token" in first
    assert "Partner API token" not in reset  # shown once; only its hash is kept
    for printed in (first, reset):
        sign_ins = printed.split("Demo staff sign-ins", 1)[-1].split("Sign in at", 1)[0]
        assert partner.username not in sign_ins


def test_a_demo_partner_made_with_a_password_loses_it_on_the_next_seed():
    call_command("seed_demo")
    partner = User.objects.get(groups__name=roles.PARTNER_REFERRER)
    partner.set_password("an old demo password")
    partner.save()

    call_command("seed_demo")

    partner.refresh_from_db()
    assert not partner.has_usable_password()


def test_the_demo_privacy_notice_reads_as_whole_paragraphs_on_the_consent_page(client, settings):
    """The consent page keeps the notice's line breaks, so a paragraph must be one line."""
    call_command("seed_demo")
    settings.SELF_REFERRAL_SERVICE = "demo"
    walk(client, MINIMAL, stop_before="consent")
    page = client.get(step_url("consent")).content.decode()
    notice = PrivacyNotice.objects.get()
    paragraphs = notice.text.split("\n\n")
    assert len(paragraphs) == 4
    for paragraph in paragraphs:
        assert "\n" not in paragraph
        assert f"<p>{escape(paragraph)}</p>" in page


@pytest.mark.django_db(transaction=True)
def test_the_printed_hint_for_new_passwords_works_as_printed(capsys, settings, monkeypatch):
    import os
    import subprocess

    from django.db import connection

    from tests.support.services import ROOT

    settings.DEBUG = True  # a development run, as `make run` starts it
    monkeypatch.delenv("SECRET_KEY", raising=False)
    call_command("seed_demo")
    capsys.readouterr()
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "shown this once" not in second
    command = second.split("For new ones, run:\n", 1)[1].strip()
    assert command.startswith("DEBUG=1 .venv/bin/python manage.py seed_demo --reset-passwords")

    db = connection.settings_dict
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "Demo staff sign-ins (shown this once)" in done.stdout
    assert "already exist" not in done.stdout


def test_new_passwords_are_not_followed_by_the_hint_to_get_new_passwords(capsys):
    call_command("seed_demo")
    capsys.readouterr()
    call_command("seed_demo", reset_passwords=True)
    reset = capsys.readouterr().out
    assert "shown this once" in reset
    assert "already exist" not in reset


def test_the_demo_therapist_signs_in_as_the_profile_of_the_same_name_and_sees_its_clients():
    from allocation.models import Allocation
    from therapy.models import Therapy

    call_command("seed_demo")
    therapist_user = User.objects.get(username="therapist")
    profile = Therapist.objects.get(user=therapist_user)
    assert profile.display_name == therapist_user.get_full_name() == "Rowan Ellis"
    # The demo's clients in therapy with the demo therapist are allocated to their profile.
    for therapy in Therapy.objects.filter(therapist=therapist_user, ended_on=None):
        allocation = Allocation.objects.get(referral=therapy.referral, status="active")
        assert allocation.therapist == profile


def test_every_demo_therapist_profile_has_a_colleague_sign_in_so_a_proposal_can_be_accepted(
    capsys,
):
    call_command("seed_demo")
    out = capsys.readouterr().out
    profiles = Therapist.objects.all()
    assert profiles.exists()
    assert not profiles.filter(user__isnull=True).exists()
    colleagues = User.objects.filter(therapist_profile__isnull=False).exclude(username="therapist")
    for user in colleagues:
        # Colleagues are there to hold their profile's clients: nobody signs in as them in
        # the demo, and their names are not printed with the demo sign-ins.
        assert not user.has_usable_password()
        assert user.has_role(roles.THERAPIST)
        assert user.username not in out
    call_command("seed_demo")
    assert User.objects.filter(therapist_profile__isnull=False).count() == profiles.count()


def test_no_two_demo_clients_share_a_name():
    from intake.models import Client

    call_command("seed_demo")
    names = [(c.given_name, c.family_name) for c in Client.objects.all()]
    assert len(names) > 20
    assert len(set(names)) == len(names)


def _printed_sign_in(printed: str, username: str) -> tuple[str, str, str]:
    import re

    password = re.search(rf"^  {username} +(\S+) ", printed, re.M).group(1)
    key, uri = re.search(
        rf"^  {username} +([A-Z2-7 ]+)\n +(otpauth://\S+)$", printed, re.M
    ).groups()
    return password, key.replace(" ", ""), uri


def test_each_demo_member_can_sign_in_with_the_printed_password_and_setup_key(client, capsys):
    """Two-factor sign-in is on in the demo: the printed key, added to an authenticator app,
    gives the code the sign-in asks for."""
    from base64 import b32decode

    from django.urls import reverse
    from django_otp.oath import totp

    call_command("seed_demo")
    printed = capsys.readouterr().out
    assert "Two-factor setup keys (shown this once)" in printed
    password, key, uri = _printed_sign_in(printed, "coordinator")
    assert uri.startswith("otpauth://totp/Threshold%3Acoordinator?secret=")
    assert f"secret={key}" in uri
    partner = User.objects.get(groups__name=roles.PARTNER_REFERRER)
    assert f"  {partner.username} " not in printed.split("Two-factor setup keys", 1)[1]

    step = client.post(reverse("staff-login"), {"username": "coordinator", "password": password})
    code = f"{totp(b32decode(key)):06d}"
    done = client.post(step["Location"], {"code": code}, follow=True)

    assert done.redirect_chain[-1][0] == reverse("staff-home")
    assert "What needs your attention" in done.text


def test_new_passwords_come_with_new_setup_keys(capsys):
    call_command("seed_demo")
    first = _printed_sign_in(capsys.readouterr().out, "assessor")
    call_command("seed_demo", reset_passwords=True)
    reset = _printed_sign_in(capsys.readouterr().out, "assessor")
    assert reset[1] != first[1]


def test_the_demo_names_a_client_who_can_try_the_portal(client, capsys, settings):
    """The printed reference and date of birth, typed into /portal/, send a sign-in link: the
    demo's clients agreed to email, so the portal can be tried as a client would."""
    import re
    from datetime import datetime

    from django.urls import reverse

    from portal.models import SignInLink

    call_command("seed_demo")
    printed = capsys.readouterr().out
    found = re.search(r"reference (TH-\w{4}-\w{4}), date of birth (\d{1,2} \w+ \d{4})", printed)
    assert found, printed
    reference, born = found.group(1), datetime.strptime(found.group(2), "%d %B %Y").date()
    referral = Referral.objects.get(reference=reference)
    assert referral.client.date_of_birth == born
    assert referral.status == Referral.Status.IN_THERAPY

    response = client.post(
        reverse("portal-start"),
        {
            "reference": reference,
            "date_of_birth_day": str(born.day),
            "date_of_birth_month": str(born.month),
            "date_of_birth_year": str(born.year),
            "channel": "email",
        },
    )
    assert response.status_code == 302
    assert SignInLink.objects.filter(referral=referral, channel="email").exists()
    # Seeding again names the same client and adds no second consent record.
    call_command("seed_demo")
    assert reference in capsys.readouterr().out
    assert referral.client.consents.filter(topic="contact_email").count() == 1
