"""The staff referral list's rows and status options, written by a template tag
(intake/templatetags/referral_list.py), are the markup the template loop wrote."""

from __future__ import annotations

import re
from uuid import uuid4

from django.template import Context, Template

from intake.models import Referral
from intake.selectors import ReferralListRow

# The loop the referral list's template had, before its rows moved into the tag.
_LOOP = Template(
    """{% for row in referrals %}
    <tr class="nhsuk-table__row">
      <td class="nhsuk-table__cell"><a href="{{ row.url }}">{{ row.reference }}</a></td>
      <td class="nhsuk-table__cell">{{ row.client_name }}</td>
      <td class="nhsuk-table__cell">{{ row.received }}</td>
      <td class="nhsuk-table__cell">{{ row.status }}</td>
      <td class="nhsuk-table__cell">{{ row.risk }}</td>
    </tr>
{% endfor %}"""
)
_OPTIONS = Template(
    """{% for value, label in statuses %}<option value="{{ value }}"{% if value == status %}"""
    """ selected{% endif %}>{{ label }}</option>{% endfor %}"""
)
_TAG = Template("{% load referral_list %}{% referral_rows referrals %}")
_TAG_OPTIONS = Template("{% load referral_list %}{% status_options statuses status %}")


def _markup(written: str) -> str:
    """The markup without the white space between its tags (the loop left a blank line)."""
    return re.sub(r">\s+<", "><", written.strip())


def _row(**changes) -> ReferralListRow:
    public_id = uuid4()
    values = {
        "public_id": public_id,
        "url": f"/staff/referrals/{public_id}/",
        "reference": "TH-7K2P-9Q",
        "client_name": "Robin Ashdown",
        "received": "5 March 2025",
        "status": "Awaiting assessment",
        "risk": "Low",
    }
    return ReferralListRow(**(values | changes))


def test_the_rows_are_the_template_loops_markup():
    rows = [
        _row(),
        _row(client_name="Sam O'Neill & Jo", reference="TH-AB&C-1"),
        _row(status="Ended", risk="High", received="29 February 2024"),
    ]
    assert _markup(_TAG.render(Context({"referrals": rows}))) == (
        _markup(_LOOP.render(Context({"referrals": rows})))
    )


def test_every_value_is_escaped():
    hostile = '<script>alert("x")</script>'
    rows = [_row(client_name=hostile, reference=hostile, status=hostile, risk=hostile)]
    written = _TAG.render(Context({"referrals": rows}))
    assert "<script>" not in written
    assert written.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 4


def test_no_rows_write_nothing():
    assert _TAG.render(Context({"referrals": []})) == ""


def test_the_status_options_are_the_template_loops_with_the_chosen_one_selected():
    for chosen in (None, Referral.Status.ENDED, Referral.Status.SUBMITTED):
        context = {"statuses": Referral.Status.choices, "status": chosen}
        written = _TAG_OPTIONS.render(Context(context))
        assert written == _OPTIONS.render(Context(context))
        assert written.count(" selected") == (0 if chosen is None else 1)
