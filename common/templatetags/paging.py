"""`{% pagination page %}`: the NHS.UK numbered pagination component for a Django Page.

Links keep every other query parameter (filters, search, another list's page), so moving
through one list never loses what the person chose.
"""

from __future__ import annotations

from django import template
from django.core.paginator import Page

register = template.Library()


@register.inclusion_tag("common/_pagination.html", takes_context=True)
def pagination(context, page: Page, param: str = "page", label: str = "Pages") -> dict:
    request = context.get("request")

    def url(number: int) -> str:
        query = request.GET.copy() if request is not None else {}
        if hasattr(query, "setlist"):
            query[param] = str(number)
            return "?" + query.urlencode()
        return f"?{param}={number}"

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
