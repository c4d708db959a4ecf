"""The coordinator's therapy overview's table rows, written here rather than by template
loops: `{% allocated_rows allocated %}`, `{% waiting_rows waiting %}` and
`{% therapy_rows rows %}`.

Each `{{ value }}`, `{% url %}` and `{% if %}` the template engine renders costs a few
microseconds, and the page has three tables of up to 50 rows: that was most of its rendering
time. Here a table's link is reversed once for all its rows (`common.rows.url_for_each`)
and each row is the same NHS.UK markup filled in by `str.format` from the rows the
selectors built (`therapy.selectors.waiting_for_therapy` and `service_therapies`), every
value escaped as the template escaped it and every date written as its `date` filter wrote
it. tests/therapy/test_overview_rows.py holds the markup to the template's and shows that a
value is escaped.
"""

from __future__ import annotations

from html import escape

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime

from common.rows import url_for_each

register = template.Library()

_CELL = '      <td class="nhsuk-table__cell">'

_ALLOCATED = f"""    <tr class="nhsuk-table__row">
{_CELL}<a href="{{url}}">{{client_name}}</a><br><span class="nhsuk-body-s">{{reference}}</span></td>
{_CELL}{{received}}</td>
{_CELL}{{therapist}}</td>
{_CELL}{{first}}</td>
    </tr>
"""

_WAITING = f"""    <tr class="nhsuk-table__row">
{_CELL}{{reference}}<br>{{client_name}}</td>
{_CELL}{{received}}</td>
{_CELL}{{recommended}}</td>
{_CELL}<a href="{{url}}">Allocate a therapist<span class="nhsuk-u-visually-hidden"> for \
{{reference}}</span></a></td>
    </tr>
"""

_IN_THERAPY = f"""    <tr class="nhsuk-table__row">
{_CELL}<a href="{{url}}">{{client_name}}</a><br><span class="nhsuk-body-s">{{reference}}</span></td>
{_CELL}{{therapist}}</td>
{_CELL}{{since}}</td>
{_CELL}
        {{tags}}
      </td>
    </tr>
"""

_RISK = '<strong class="nhsuk-tag nhsuk-tag--red">Risk flag</strong> '
_NOT_ON_TRACK = '<strong class="nhsuk-tag nhsuk-tag--orange">Not on track</strong> '
_MISSED = '<strong class="nhsuk-tag nhsuk-tag--yellow">{missed} missed in a row</strong>'


def _date(value, format_string: str) -> str:
    """`{{ value|date:format_string }}`: a date-time in the current time zone, "" for none."""
    if not value:
        return ""
    return escape(date_filter(template_localtime(value), format_string))


def _staff_name(user) -> str:
    """`{{ user.get_full_name|default:user.username }}`."""
    return escape(user.get_full_name() or user.username)


def _client_cells(url, referral) -> dict[str, str]:
    """The cells every table fills from the referral: its link, client and reference."""
    return {
        "url": escape(url(referral.public_id)),
        "client_name": escape(referral.client.display_name),
        "reference": escape(referral.reference),
    }


@register.simple_tag
def allocated_rows(rows) -> SafeString:
    """The `<tr>`s of the referrals allocated and waiting for a first session, from rows of
    (referral, recommendation, planned therapy or None)."""
    url = url_for_each("therapy-client")
    written = []
    for referral, _recommendation, therapy in rows:
        if therapy is None:
            therapist = first = "Not recorded"
        else:
            therapist = _staff_name(therapy.therapist)
            if therapy.first_appointment_at:
                first = _date(therapy.first_appointment_at, "j M Y, H:i")
            else:
                first = _date(therapy.started_on, "j M Y")
        written.append(
            _ALLOCATED.format(
                **_client_cells(url, referral),
                received=_date(referral.received_at, "j M Y"),
                therapist=therapist,
                first=first,
            )
        )
    return SafeString("".join(written))


@register.simple_tag
def waiting_rows(rows) -> SafeString:
    """The `<tr>`s of the referrals waiting for a therapist, from rows of (referral,
    recommendation or None, None)."""
    url = url_for_each("allocation-referral")
    written = []
    for referral, recommendation, _therapy in rows:
        if recommendation:
            recommended = escape(str(recommendation.modality_name))
            if recommendation.sessions_per_week:
                recommended += f", {escape(str(recommendation.sessions_per_week))} a week"
        else:
            recommended = "Not assessed here"
        written.append(
            _WAITING.format(
                **_client_cells(url, referral),
                received=_date(referral.received_at, "j M Y"),
                recommended=recommended,
            )
        )
    return SafeString("".join(written))


@register.simple_tag
def therapy_rows(rows) -> SafeString:
    """The `<tr>`s of the clients in therapy now, from CaseloadRows."""
    url = url_for_each("therapy-client")
    written = []
    for row in rows:
        therapy = row.therapy
        tags = ""
        if row.open_risk_flags:
            tags += _RISK
        if row.open_progress_flags:
            tags += _NOT_ON_TRACK
        if row.missed_in_a_row >= 2:
            tags += _MISSED.format(missed=row.missed_in_a_row)
        written.append(
            _IN_THERAPY.format(
                **_client_cells(url, therapy.referral),
                therapist=_staff_name(therapy.therapist),
                since=_date(therapy.started_on, "j M Y"),
                tags=tags,
            )
        )
    return SafeString("".join(written))
