"""`{% pagination page %}`: the NHS.UK numbered pagination component for a Django Page.

Links keep every other query parameter (filters, search, another list's page), so moving
through one list never loses what the person chose. A page read by seeking adds, to the
links to its neighbours, where each starts (common.paging.SeekPage).
"""

from __future__ import annotations

from django import template
from django.core.paginator import Page

register = template.Library()


@register.inclusion_tag("common/_pagination.html", takes_context=True)
def pagination(context, page: Page, param: str = "page", label: str = "Pages") -> dict:
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
