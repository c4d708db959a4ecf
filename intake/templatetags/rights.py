"""`{% rights_requests_for referral as requests %}`: a referral's rights requests, for the
office's section of the referral page (read only where that section is shown)."""

from __future__ import annotations

from django import template

from intake import rights

register = template.Library()


@register.simple_tag
def rights_requests_for(referral) -> list:
    return rights.rights_requests_for_referral(referral=referral)
