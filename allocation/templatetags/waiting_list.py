"""The waiting list's table rows and its filters' options, written here rather than by
template loops.

Each `{{ value }}` and `{% if %}` the template engine renders costs a few microseconds, and a
row of the waiting list has some thirty: with 50 rows that was most of the page's time. Here
each row is the same NHS.UK markup filled in by `str.format`, from the values the selector
worked out (`allocation.waiting.WaitingRow`), every value escaped as the template escaped
it. tests/allocation/test_waiting_rows.py pins what each state shows, and that a value is
escaped.
"""

from __future__ import annotations

import html

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


_ROW = """<tr class="nhsuk-table__row">
  <td class="nhsuk-table__cell">{select}</td>
  <td class="nhsuk-table__cell"><a href="{url}">{reference}</a><br>{client_name}</td>
  <td class="nhsuk-table__cell">{weeks}{warning}</td>
  <td class="nhsuk-table__cell">{risk}</td>
  <td class="nhsuk-table__cell">{needs}</td>
  <td class="nhsuk-table__cell">{proposal}</td>
</tr>
"""
_SELECT = (
    '<div class="nhsuk-checkboxes nhsuk-checkboxes--small">'
    '<div class="nhsuk-checkboxes__item">'
    '<input class="nhsuk-checkboxes__input" id="select-{id}" name="proposal" type="checkbox"'
    ' value="{id}">'
    '<label class="nhsuk-label nhsuk-checkboxes__label" for="select-{id}">'
    '<span class="nhsuk-u-visually-hidden">Select the proposal for {reference}</span></label>'
    "</div></div>"
)
_WARNINGS = {
    "18": mark_safe('<br><strong class="nhsuk-tag nhsuk-tag--red">Past 18 weeks</strong>'),
    "6": mark_safe('<br><strong class="nhsuk-tag nhsuk-tag--orange">Past 6 weeks</strong>'),
    "": mark_safe(""),
}
_NO_NEEDS = mark_safe("None recorded")
# The proposal column, for each state of `WaitingRow.state` ("" is not in the proposals).
_ALLOCATED = '<strong class="nhsuk-tag nhsuk-tag--green">Allocated</strong><br>{therapist}{times}'
_RESTRICTED = mark_safe(
    '<strong class="nhsuk-tag nhsuk-tag--grey">Restricted</strong><br>'
    "The client restricted the use of their record"
)
_HELD = '<strong class="nhsuk-tag nhsuk-tag--grey">On hold</strong><br>{note}'
_DECISION = '<strong class="nhsuk-tag nhsuk-tag--grey">{decision}</strong><br>'
_PLACED = (
    '{decision}{therapist}{times}<br><a href="{url}">See why<span class="nhsuk-u-visually-hidden">'
    " {reference} is matched with {therapist}</span></a>"
)
_NO_MATCH = (
    '<strong class="nhsuk-tag nhsuk-tag--yellow">No match yet</strong><br>{note}'
    '<br><a href="{url}">What would help<span class="nhsuk-u-visually-hidden">'
    " for {reference}</span></a>"
)
_NOT_PROPOSED = mark_safe("Not in the current proposals")


@register.simple_tag
def waiting_rows(rows) -> SafeString:
    """The `<tr>` of each row of the waiting list."""
    return SafeString("".join([_row(row) for row in rows]))


# Each value is escaped as the template engine escaped it (`html.escape` of its text), one
# by one as each is placed: the rows are the page's most repeated markup, and a generic
# escape-every-argument step cost twice as much.
_escape = html.escape


def _row(row) -> str:
    reference = _escape(str(row.reference))
    return _ROW.format(
        select=(
            _SELECT.format(id=_escape(str(row.proposal_id)), reference=reference)
            if row.proposal_id is not None
            else ""
        ),
        url=_escape(str(row.url)),
        reference=reference,
        client_name=_escape(str(row.client_name)),
        weeks=_escape(row.weeks_text),
        warning=_WARNINGS[row.warning],
        risk=_escape(str(row.risk)),
        needs=_needs(row.needs),
        proposal=_proposal(row, reference),
    )


def _needs(needs: list[str]) -> str:
    if not needs:
        return _NO_NEEDS
    items = "".join([f"<li>{_escape(need)}</li>" for need in needs])
    return f'<ul class="nhsuk-list">{items}</ul>'


def _proposal(row, reference: str) -> str:
    state = row.state
    if state == "allocated":
        return _ALLOCATED.format(therapist=_escape(str(row.therapist_name)), times=_times(row))
    if state == "restricted":
        return _RESTRICTED
    if state == "held":
        return _HELD.format(note=_escape(str(row.note)))
    if state == "placed":
        therapist = _escape(str(row.therapist_name))
        return _PLACED.format(
            decision=(
                _DECISION.format(decision=_escape(str(row.decision))) if row.decision else ""
            ),
            therapist=therapist,
            times=_times(row),
            url=_escape(str(row.url)),
            reference=reference,
        )
    if state == "no_match":
        return _NO_MATCH.format(
            note=_escape(str(row.note)), url=_escape(str(row.url)), reference=reference
        )
    return _NOT_PROPOSED


def _times(row) -> str:
    return "".join([f"<br>{_escape(time)}" for time in row.times])


@register.simple_tag
def select_options(options) -> SafeString:
    """A select's `<option>`s, from its (value, label, selected) triples
    (`WaitingFilterForm.selects`): some sixty options on the waiting list's filters."""
    return SafeString(
        "".join(
            f'<option value="{html.escape(str(value))}"{" selected" if selected else ""}>'
            f"{html.escape(str(label))}</option>"
            for value, label, selected in options
        )
    )


_SELECT_FIELD = """    <div class="nhsuk-grid-column-one-third">
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="{id}">{label}</label>
        <select class="nhsuk-select" id="{id}" name="{name}">
          {options}
        </select>
      </div>
    </div>
"""


@register.simple_tag
def filter_selects(form) -> SafeString:
    """The filters' labelled selects (`WaitingFilterForm.selects`), in the page's grid: the
    markup the template's loop over them wrote, each value escaped."""
    return SafeString(
        "".join(
            _SELECT_FIELD.format(
                id=html.escape(str(bound.auto_id)),
                label=html.escape(str(bound.label)),
                name=html.escape(str(bound.html_name)),
                options=select_options(options),
            )
            for bound, options in form.selects()
        )
    )
