"""`{% record_notices %}`: the notices apps registered (common.pages), at the top of a staff
page; for instance the banner on every page about a referral under restriction."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from common import pages

register = template.Library()


@register.simple_tag(takes_context=True)
def record_notices(context) -> str:
    # Each notice is rendered by its app from its own template, so it is escaped there.
    return mark_safe(pages.record_notices(context))
