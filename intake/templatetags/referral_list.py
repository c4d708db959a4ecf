"""The staff referral list's table rows and status options, written here rather than by a
template loop: `{% referral_rows page %}` and `{% status_options statuses chosen %}`.

A row is five cells, each a `{{ value }}` the template engine would look up and escape at a
few microseconds apiece, most of the page's rendering time with 50 rows. Here each row is
the same NHS.UK markup filled in by `str.format` from the values the selector worked out
(`intake.selectors.ReferralListRow`), every value escaped as the template escaped it
(`html.escape`). tests/intake/test_referral_list_rows.py holds the markup to the template's
and shows that a value is escaped.
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString

register = template.Library()

_ROW = """    <tr class="nhsuk-table__row">
      <td class="nhsuk-table__cell"><a href="{url}">{reference}</a></td>
      <td class="nhsuk-table__cell">{client_name}</td>
      <td class="nhsuk-table__cell">{received}</td>
      <td class="nhsuk-table__cell">{status}</td>
      <td class="nhsuk-table__cell">{risk}</td>
    </tr>
"""


@register.simple_tag
def referral_rows(rows) -> SafeString:
    """The `<tr>`s of the referral list, from its ReferralListRow page."""
    return SafeString(
        "".join(
            _ROW.format(
                url=escape(row.url),
                reference=escape(row.reference),
                client_name=escape(row.client_name),
                received=escape(row.received),
                status=escape(str(row.status)),
                risk=escape(str(row.risk)),
            )
            for row in rows
        )
    )


@register.simple_tag
def status_options(statuses, chosen) -> SafeString:
    """The filter's `<option>`s after "All referrals": one a status, the chosen one selected."""
    return SafeString(
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if value == chosen else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in statuses
        )
    )
