"""Letters and messages name the service as the staff pages do: the demo's letters and
its staff pages' header say the same name."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from common.models import Service, User
from notifications import kinds, selectors
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db


def test_every_demo_message_names_the_service_as_the_staff_pages_do(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="coordinator"))
    home = client.get(reverse("staff-home")).content.decode()
    header = unescape(re.search(r'nhsuk-header__service-name">([^<]+)<', home)[1]).strip()
    service = Service.objects.get(slug="demo")
    assert service.name == header
    referral = make_referral(service, agreed=("email", "sms", "letter", "gp"))
    for kind in kinds.KINDS:
        shown = selectors.notification_preview(referral=referral, kind=kind).rendered
        assert header in shown.text, kind
        assert header in unescape(shown.html), kind
        assert "Psychotherapy Service (demo)" not in shown.text + shown.html + shown.sms
