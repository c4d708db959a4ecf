"""The therapy overview's table rows, written by template tags
(therapy/templatetags/therapy_overview.py), are the markup the template loops wrote."""

from __future__ import annotations

import datetime as dt
import re
from uuid import uuid4

from django.template import Context, Template

from assessment.selectors import Recommendation
from common.models import User
from intake.models import Client, Referral
from therapy.models import Therapy
from therapy.selectors import CaseloadRow

# The loops the overview's template had, before its rows moved into the tags.
_ALLOCATED_LOOP = Template(
    """{% for referral, recommendation, therapy in allocated %}
    <tr class="nhsuk-table__row">
      <td class="nhsuk-table__cell"><a href="{% url 'therapy-client' referral.public_id %}">{{ referral.client.display_name }}</a><br><span class="nhsuk-body-s">{{ referral.reference }}</span></td>
      <td class="nhsuk-table__cell">{{ referral.received_at|date:"j M Y" }}</td>
      <td class="nhsuk-table__cell">{% if therapy %}{{ therapy.therapist.get_full_name|default:therapy.therapist.username }}{% else %}Not recorded{% endif %}</td>
      <td class="nhsuk-table__cell">{% if therapy.first_appointment_at %}{{ therapy.first_appointment_at|date:"j M Y, H:i" }}{% elif therapy %}{{ therapy.started_on|date:"j M Y" }}{% else %}Not recorded{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501
)
_WAITING_LOOP = Template(
    """{% for referral, recommendation, therapy in waiting %}
    <tr class="nhsuk-table__row">
      <td class="nhsuk-table__cell">{{ referral.reference }}<br>{{ referral.client.display_name }}</td>
      <td class="nhsuk-table__cell">{{ referral.received_at|date:"j M Y" }}</td>
      <td class="nhsuk-table__cell">{% if recommendation %}{{ recommendation.modality_name }}{% if recommendation.sessions_per_week %}, {{ recommendation.sessions_per_week }} a week{% endif %}{% else %}Not assessed here{% endif %}</td>
      <td class="nhsuk-table__cell"><a href="{% url 'allocation-referral' referral.public_id %}">Allocate a therapist<span class="nhsuk-u-visually-hidden"> for {{ referral.reference }}</span></a></td>
    </tr>
  {% endfor %}"""  # noqa: E501
)
_THERAPY_LOOP = Template(
    """{% for row in rows %}{% with referral=row.therapy.referral %}
    <tr class="nhsuk-table__row">
      <td class="nhsuk-table__cell"><a href="{% url 'therapy-client' referral.public_id %}">{{ referral.client.display_name }}</a><br><span class="nhsuk-body-s">{{ referral.reference }}</span></td>
      <td class="nhsuk-table__cell">{{ row.therapy.therapist.get_full_name|default:row.therapy.therapist.username }}</td>
      <td class="nhsuk-table__cell">{{ row.therapy.started_on|date:"j M Y" }}</td>
      <td class="nhsuk-table__cell">
        {% if row.open_risk_flags %}<strong class="nhsuk-tag nhsuk-tag--red">Risk flag</strong> {% endif %}
        {% if row.open_progress_flags %}<strong class="nhsuk-tag nhsuk-tag--orange">Not on track</strong> {% endif %}
        {% if row.missed_in_a_row >= 2 %}<strong class="nhsuk-tag nhsuk-tag--yellow">{{ row.missed_in_a_row }} missed in a row</strong>{% endif %}
      </td>
    </tr>
  {% endwith %}{% endfor %}"""  # noqa: E501
)
_TAGS = Template(
    "{% load therapy_overview %}{% allocated_rows allocated %}|{% waiting_rows waiting %}|"
    "{% therapy_rows rows %}"
)


def _markup(written: str) -> str:
    """The markup without the white space between its tags."""
    return re.sub(r">\s+<", "><", written.strip())


def _loops(context: dict) -> str:
    return "|".join(
        _markup(loop.render(Context(context)))
        for loop in (_ALLOCATED_LOOP, _WAITING_LOOP, _THERAPY_LOOP)
    )


def _tags(context: dict) -> str:
    return "|".join(_markup(part) for part in _TAGS.render(Context(context)).split("|"))


def _referral(given="Robin", family="Ashdown", preferred="", reference="TH-7K2P-9Q"):
    client = Client(given_name=given, family_name=family, preferred_name=preferred)
    # Late in the evening in UTC: the date shown is the day in the service's time zone.
    received = dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.UTC)
    return Referral(client=client, reference=reference, received_at=received, public_id=uuid4())


def _therapy(referral, *, first=None, first_name="Frankie", last_name="Moss", username="fm"):
    therapist = User(first_name=first_name, last_name=last_name, username=username)
    return Therapy(
        referral=referral,
        therapist=therapist,
        started_on=dt.date(2025, 7, 14),
        first_appointment_at=first,
    )


def _recommendation(sessions_per_week=1, modality="psychodynamic"):
    return Recommendation(
        referral_id=1,
        choice="therapy",
        modality=modality,
        sessions_per_week=sessions_per_week,
        recommended_at=None,
    )


def _row(therapy, *, risk=0, progress=0, missed=0):
    return CaseloadRow(
        therapy=therapy,
        plan=None,
        open_progress_flags=progress,
        open_risk_flags=risk,
        measures_due=False,
        missed_in_a_row=missed,
        next_review=None,
    )


def test_the_rows_are_the_template_loops_markup():
    odd = _referral(given="Sam", family="O'Neill & Jo", preferred="Sammy", reference="TH-AB&C-1")
    context = {
        "allocated": [
            (_referral(), None, None),
            (odd, None, _therapy(odd)),
            (
                _referral(),
                None,
                _therapy(_referral(), first=dt.datetime(2025, 7, 1, 23, 15, tzinfo=dt.UTC)),
            ),
            (_referral(), None, _therapy(_referral(), first_name="", last_name="")),
        ],
        "waiting": [
            (_referral(), None, None),
            (odd, _recommendation(), None),
            (_referral(), _recommendation(sessions_per_week=None, modality="other<x>"), None),
            (_referral(), _recommendation(sessions_per_week=3), None),
        ],
        "rows": [
            _row(_therapy(_referral())),
            _row(_therapy(odd), risk=2, progress=1, missed=3),
            _row(_therapy(_referral(), first_name="", last_name=""), progress=1),
            _row(_therapy(_referral()), risk=1, missed=1),
            _row(_therapy(_referral()), missed=2),
        ],
    }
    assert _tags(context) == _loops(context)


def test_every_value_is_escaped():
    hostile = '<script>alert("x")</script>'
    referral = _referral(given=hostile, family="", reference=hostile)
    therapy = _therapy(referral, first_name=hostile, last_name="")
    context = {
        "allocated": [(referral, None, therapy)],
        "waiting": [(referral, _recommendation(modality=hostile), None)],
        "rows": [_row(therapy)],
    }
    written = _TAGS.render(Context(context))
    assert "<script>" not in written
    assert written.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 10
    assert _tags(context) == _loops(context)


def test_no_rows_write_nothing():
    assert _TAGS.render(Context({"allocated": [], "waiting": [], "rows": []})) == "||"
