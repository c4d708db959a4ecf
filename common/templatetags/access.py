"""{% if staff_user|may:"office" %}: show a link only to a role that may follow it.
{% with clinical=staff_user|reads_clinical_text:referral %}: show a referral's clinical free
text only to those who read it (common.access.OBJECT_RULES)."""

from django import template

from common import access

register = template.Library()


@register.filter
def may(user, rule: str) -> bool:
    return access.has_any_role(user, access.RULES[rule])


@register.filter
def reads_clinical_text(user, referral) -> bool:
    return access.may_read(user, "clinical_text", referral)


@register.filter
def reads_risk_detail(user, referral) -> bool:
    return access.may_read(user, "risk_detail", referral)
