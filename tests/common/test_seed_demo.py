from __future__ import annotations

import pytest
from django.core.management import call_command

from allocation.models import Therapist, WeeklySlot
from common import roles
from common.models import User
from intake.models import Referral

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
