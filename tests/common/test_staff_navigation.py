# ruff: noqa: E501 (the markup compared against is kept as it was written)
"""The staff menu (`{% staff_navigation %}`) is rendered once for each set of roles and kept;
these tests hold it to the markup base.html wrote inline before, for every set of roles, and
show that nothing of one user is kept for another and that a change of role shows at once."""

from __future__ import annotations

import itertools
import re

import pytest
from django.contrib.auth.models import Group
from django.template import Context, Template
from django.urls import reverse

from common import roles
from common.templatetags import access as access_tags
from tests import factories

pytestmark = pytest.mark.django_db

# The menu as base.html wrote it inline, asking the user's roles on every page.
_INLINE = Template(
    """{% load access %}<nav class="nhsuk-header__navigation" aria-label="Menu">
      <div class="nhsuk-header__navigation-container nhsuk-width-container">
        <ul class="nhsuk-header__navigation-list">
          <li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'staff-home' %}">Home</a></li>
          {% if staff_user|may:"any_staff" %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'staff-referral-list' %}">Referrals</a></li>{% endif %}
          {% if "Assessor" in staff_user.role_names %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'assessment-worklist' %}">Assessments</a></li>{% endif %}
          {% if "Therapist" in staff_user.role_names %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'therapy-caseload' %}">Your clients</a></li>{% endif %}
          {% if "Coordinator" in staff_user.role_names %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'allocation-waiting-list' %}">Allocation</a></li>{% endif %}
          {% if "Coordinator" in staff_user.role_names %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'therapy-overview' %}">Therapy</a></li>{% endif %}
          {% if staff_user|may:"any_staff" %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'staff-messages' %}">Messages</a></li>{% endif %}
          {% if staff_user|may:"office" %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'reporting-report' %}">Reports</a></li>{% endif %}
          {% if "Service admin" in staff_user.role_names %}<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{% url 'audit-events' %}">Audit trail</a></li>{% endif %}
        </ul>
      </div>
    </nav>"""
)
_TAG = Template("{% load access %}{% staff_navigation staff_user %}")


def _markup(written: str) -> str:
    written = re.sub(r"\{%.*?%\}|<!--.*?-->", "", written, flags=re.S)
    return re.sub(r">\s+<", "><", written.strip())


def _menu(user) -> str:
    return _TAG.render(Context({"staff_user": user}))


ROLE_SETS = [
    combination
    for size in range(len(roles.STAFF) + 1)
    for combination in itertools.combinations(roles.STAFF, size)
]


@pytest.fixture(autouse=True)
def fresh_menus():
    access_tags._NAVIGATION.clear()
    yield
    access_tags._NAVIGATION.clear()


@pytest.mark.parametrize("held", ROLE_SETS, ids=lambda held: "+".join(held) or "none")
def test_the_menu_is_the_inline_markup_for_every_set_of_roles(service, held):
    user = factories.UserFactory(service=service, roles=list(held))
    kept = _menu(user)
    assert _markup(kept) == _markup(_INLINE.render(Context({"staff_user": user})))
    # Shown again from what was kept, for the next page.
    again = factories.UserFactory(service=service, roles=list(held))
    assert _menu(again) is kept or _menu(again) == kept


def test_nothing_of_one_user_is_kept_for_another(service):
    first = factories.UserFactory(
        service=service, roles=[roles.COORDINATOR], first_name="Ffion", last_name="Pryce"
    )
    second = factories.UserFactory(
        service=service, roles=[roles.COORDINATOR], first_name="Tomasz", last_name="Nowak"
    )
    menu = _menu(first)
    assert _menu(second) == menu
    for word in ("Ffion", "Pryce", "Tomasz", "Nowak", first.username, second.username):
        assert word not in menu
    assert len(access_tags._NAVIGATION) == 1


def test_a_change_of_role_shows_on_the_next_page(client, service):
    member = factories.UserFactory(service=service, roles=[roles.COORDINATOR])
    client.force_login(member)
    page = client.get(reverse("staff-referral-list")).content.decode()
    assert reverse("allocation-waiting-list") in page
    assert reverse("assessment-worklist") not in page
    member.groups.set([Group.objects.get(name=roles.ASSESSOR)])
    page = client.get(reverse("staff-referral-list")).content.decode()
    assert reverse("allocation-waiting-list") not in page
    assert reverse("assessment-worklist") in page
