"""`{% pagination page %}`: the NHS.UK numbered pagination component for a Django Page.

Links keep every other query parameter (filters, search, another list's page), so moving
through one list never loses what the person chose. A page read by seeking adds, to the
links to its neighbours, where each starts (common.paging.SeekPage).
"""

from __future__ import annotations

from html import escape

from django import template
from django.core.paginator import Page
from django.utils.safestring import SafeString

register = template.Library()

# The NHS.UK numbered pagination component's markup, written by `str.format` rather than a
# template: a list page draws it on every request (tests/common/test_paging.py holds it to
# the template it replaced).
_NAV = (
    '<nav class="nhsuk-pagination nhsuk-pagination--numbered" role="navigation" '
    'aria-label="{label}">\n{previous}  <ul class="nhsuk-pagination__list">\n{items}  </ul>\n'
    "{next}</nav>\n"
)
_PREVIOUS = (
    '  <a href="{href}" class="nhsuk-pagination__previous" rel="prev">\n'
    '    <svg class="nhsuk-icon nhsuk-icon--arrow-left" xmlns="http://www.w3.org/2000/svg" '
    'viewBox="0 0 24 24" width="16" height="16" focusable="false" aria-hidden="true">'
    '<path d="M10.7 6.3c.4.4.4 1 0 1.4L7.4 11H19a1 1 0 0 1 0 2H7.4l3.3 3.3c.4.4.4 1 0 1.4a1 '
    '1 0 0 1-1.4 0l-5-5A1 1 0 0 1 4 12c0-.3.1-.5.3-.7l5-5a1 1 0 0 1 1.4 0Z"/></svg>\n'
    '    <span class="nhsuk-pagination__title">Previous<span class="nhsuk-u-visually-hidden">'
    " page</span></span>\n  </a>\n"
)
_NEXT = (
    '  <a href="{href}" class="nhsuk-pagination__next" rel="next">\n'
    '    <span class="nhsuk-pagination__title">Next<span class="nhsuk-u-visually-hidden">'
    " page</span></span>\n"
    '    <svg class="nhsuk-icon nhsuk-icon--arrow-right" xmlns="http://www.w3.org/2000/svg" '
    'viewBox="0 0 24 24" width="16" height="16" focusable="false" aria-hidden="true">'
    '<path d="m14.7 6.3 5 5c.2.2.3.4.3.7 0 .3-.1.5-.3.7l-5 5a1 1 0 0 1-1.4-1.4l3.3-3.3H5a1 '
    '1 0 0 1 0-2h11.6l-3.3-3.3a1 1 0 1 1 1.4-1.4Z"/></svg>\n  </a>\n'
)
_ELLIPSIS = '    <li class="nhsuk-pagination__item nhsuk-pagination__item--ellipsis">&ctdot;</li>\n'
_ITEM = (
    '    <li class="nhsuk-pagination__item{current_class}">\n'
    '      <a class="nhsuk-pagination__link" href="{href}" aria-label="Page {number}"'
    "{current_aria}>{number}</a>\n    </li>\n"
)


@register.simple_tag(takes_context=True)
def pagination(context, page: Page, param: str = "page", label: str = "Pages") -> SafeString:
    """The pagination component for `page`, or nothing when there is one page."""
    found = _pagination_links(context, page, param, label)
    if not found["items"]:
        return SafeString("")
    items = "".join(
        _ELLIPSIS
        if item.get("ellipsis")
        else _ITEM.format(
            current_class=" nhsuk-pagination__item--current" if item["current"] else "",
            href=escape(item["href"]),
            number=item["number"],
            current_aria=' aria-current="page"' if item["current"] else "",
        )
        for item in found["items"]
    )
    return SafeString(
        _NAV.format(
            label=escape(str(found["label"])),
            previous=_PREVIOUS.format(href=escape(found["previous_url"]))
            if found["previous_url"]
            else "",
            items=items,
            next=_NEXT.format(href=escape(found["next_url"])) if found["next_url"] else "",
        )
    )


def _pagination_links(context, page: Page, param: str, label: str) -> dict:
    request = context.get("request")

    # A page read by seeking (common.paging.SeekPage) tells each neighbour's link where
    # that page starts; a link to any other page carries its number alone.
    seek_names = getattr(page, "seek_names", None)

    def url(number: int) -> str:
        extra = page.link_params(number) if seek_names is not None else {}
        query = request.GET.copy() if request is not None else {}
        if hasattr(query, "setlist"):
            if seek_names is not None:
                query.pop(seek_names.after, None)
                query.pop(seek_names.before, None)
            query[param] = str(number)
            query.update(extra)
            return "?" + query.urlencode()
        return f"?{param}={number}" + "".join(f"&{k}={v}" for k, v in extra.items())

    paginator = page.paginator
    items = []
    if paginator.num_pages > 1:
        for number in paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1):
            if number == paginator.ELLIPSIS:
                items.append({"ellipsis": True})
            else:
                items.append(
                    {"number": number, "href": url(number), "current": number == page.number}
                )
    return {
        "items": items,
        "label": label,
        "previous_url": url(page.previous_page_number()) if page.has_previous() else "",
        "next_url": url(page.next_page_number()) if page.has_next() else "",
    }
