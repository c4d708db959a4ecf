"""{% if staff_user|may:"office" %}: show a link only to a role that may follow it."""

from django import template

from common import access

register = template.Library()


@register.filter
def may(user, rule: str) -> bool:
    return access.has_any_role(user, access.RULES[rule])
