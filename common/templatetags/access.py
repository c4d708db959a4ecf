"""{% if staff_user|may:"office" %}: show a link only to a role that may follow it.
{% staff_navigation staff_user %}: the staff menu for the user's roles.
{% with clinical=staff_user|reads_clinical_text:referral %}: show a referral's clinical free
text only to those who read it (common.access.OBJECT_RULES)."""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe

from common import access

register = template.Library()

# The menu's markup for each set of roles (and URL prefix) seen by this process: a few.
_NAVIGATION: dict[tuple[frozenset[str], str], SafeString] = {}
# The page rules the menu asks about, beside the role names themselves.
_NAVIGATION_RULES = ("any_staff", "office")


@register.simple_tag
def staff_navigation(user) -> SafeString:
    """The staff menu (`common/includes/staff_navigation.html`). What it shows depends on
    the user's roles alone, so it is rendered once for each set of roles and kept: its nine
    links are not reversed again on every page. It is given the roles and the rules they
    meet, never the user, so nothing of one person can be kept and shown to another."""
    key = (user.role_names, get_script_prefix())
    menu = None if settings.DEBUG else _NAVIGATION.get(key)  # while developing, as edited
    if menu is None:
        menu = mark_safe(
            render_to_string(
                "common/includes/staff_navigation.html",
                {
                    "roles": key[0],
                    "may": {
                        rule: access.has_any_role(user, access.RULES[rule])
                        for rule in _NAVIGATION_RULES
                    },
                },
            )
        )
        _NAVIGATION[key] = menu
    return menu


@register.filter
def may(user, rule: str) -> bool:
    return access.has_any_role(user, access.RULES[rule])


@register.filter
def reads_clinical_text(user, referral) -> bool:
    return access.may_read(user, "clinical_text", referral)


@register.filter
def reads_risk_detail(user, referral) -> bool:
    return access.may_read(user, "risk_detail", referral)
