# ruff: noqa: E501 (the markup compared against is kept as it was written)
"""The pagination component (`{% pagination page %}`, common/templatetags/paging.py) is
written by `str.format`; these tests hold it to the template it replaced, for first, middle,
last and only pages, with other query parameters kept and escaped, and for pages read by
seeking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

import pytest
from django.core.paginator import Paginator
from django.template import Context, Template
from django.test import RequestFactory

from common.paging import SeekNames, SeekPage
from common.templatetags.paging import _pagination_links

# The component as common/_pagination.html wrote it.
_TEMPLATE = Template(
    """{% if items %}
<nav class="nhsuk-pagination nhsuk-pagination--numbered" role="navigation" aria-label="{{ label }}">
  {% if previous_url %}
  <a href="{{ previous_url }}" class="nhsuk-pagination__previous" rel="prev">
    <svg class="nhsuk-icon nhsuk-icon--arrow-left" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16" focusable="false" aria-hidden="true"><path d="M10.7 6.3c.4.4.4 1 0 1.4L7.4 11H19a1 1 0 0 1 0 2H7.4l3.3 3.3c.4.4.4 1 0 1.4a1 1 0 0 1-1.4 0l-5-5A1 1 0 0 1 4 12c0-.3.1-.5.3-.7l5-5a1 1 0 0 1 1.4 0Z"/></svg>
    <span class="nhsuk-pagination__title">Previous<span class="nhsuk-u-visually-hidden"> page</span></span>
  </a>
  {% endif %}
  <ul class="nhsuk-pagination__list">
  {% for item in items %}
    {% if item.ellipsis %}
    <li class="nhsuk-pagination__item nhsuk-pagination__item--ellipsis">&ctdot;</li>
    {% else %}
    <li class="nhsuk-pagination__item{% if item.current %} nhsuk-pagination__item--current{% endif %}">
      <a class="nhsuk-pagination__link" href="{{ item.href }}" aria-label="Page {{ item.number }}"{% if item.current %} aria-current="page"{% endif %}>{{ item.number }}</a>
    </li>
    {% endif %}
  {% endfor %}
  </ul>
  {% if next_url %}
  <a href="{{ next_url }}" class="nhsuk-pagination__next" rel="next">
    <span class="nhsuk-pagination__title">Next<span class="nhsuk-u-visually-hidden"> page</span></span>
    <svg class="nhsuk-icon nhsuk-icon--arrow-right" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16" focusable="false" aria-hidden="true"><path d="m14.7 6.3 5 5c.2.2.3.4.3.7 0 .3-.1.5-.3.7l-5 5a1 1 0 0 1-1.4-1.4l3.3-3.3H5a1 1 0 0 1 0-2h11.6l-3.3-3.3a1 1 0 1 1 1.4-1.4Z"/></svg>
  </a>
  {% endif %}
</nav>
{% endif %}
"""
)
_TAG = Template("{% load paging %}{% pagination page label=label %}")


def _markup(written: str) -> str:
    return re.sub(r">\s+<", "><", written.strip())


def _both(page, query: str = "", label: str = "Pages of referrals"):
    request = RequestFactory().get("/staff/referrals/" + query)
    links = _pagination_links({"request": request}, page, "page", label)
    expected = _TEMPLATE.render(Context(links))
    written = _TAG.render(Context({"request": request, "page": page, "label": label}))
    return _markup(written), _markup(expected)


@pytest.mark.parametrize("pages", [1, 2, 3, 12])
@pytest.mark.parametrize("query", ["", "?status=ended", "?status=ended&page=2&q=a%26b%3Cc"])
def test_the_component_is_the_templates_markup(pages, query):
    paginator = Paginator(list(range(pages * 10)), 10)
    for number in range(1, pages + 1):
        written, expected = _both(paginator.page(number), query)
        assert written == expected, number
        if pages == 1:
            assert written == ""


def test_a_hostile_label_and_query_are_escaped():
    paginator = Paginator(list(range(30)), 10)
    written, expected = _both(paginator.page(2), '?q="><script>', label='<b>"x"</b>')
    assert written == expected
    assert "<script>" not in written and "<b>" not in written


@dataclass
class _Row:
    public_id: UUID


def test_a_page_read_by_seeking_links_its_neighbours_by_their_edges():
    rows = [_Row(UUID(int=n)) for n in range(1, 11)]
    paginator = Paginator(list(range(100)), 10)
    page = SeekPage(rows, 5, paginator, names=SeekNames(after="after", before="before"))
    written, expected = _both(page, "?status=ended&page=5&after=x")
    assert written == expected
    assert f"after={rows[-1].public_id}" in written
    assert f"before={rows[0].public_id}" in written
