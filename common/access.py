"""Who may use the staff pages: one decorator and its predicates, used by every staff view.

Nobody signed in is sent to sign in. An integration account (the partner API's, holding
the partner role) is refused every page, whatever else it holds: it sends referrals through
the API with its token and never reads them. A session signed in with the password but not
yet past the two-factor code step is sent to that step (common/two_factor.py). Everyone
else needs one of the roles the page names (docs/security.md has the table); records of
another service still answer 404 in the view, like records that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from common import roles
from common.two_factor import is_verified

INTEGRATION_REFUSED = (
    "This is an integration account for the partner API. It cannot be used to sign in to "
    "staff pages: send referrals with its API token."
)

# Named sets of roles, so a view and the template that links to it say the same thing.
ANY_STAFF = roles.STAFF
CLINICIANS = (roles.ASSESSOR, roles.THERAPIST)
CARE_TEAM = (roles.COORDINATOR, roles.THERAPIST)
ASSESSMENT_READERS = (roles.ASSESSOR, roles.COORDINATOR, roles.THERAPIST)
# Assessors book and carry out assessments; with coordinators they read any of the service's
# (a therapist reads only their own clients', so a link for everyone stops at these two).
ASSESSORS = (roles.ASSESSOR,)
ANY_ASSESSMENT_READERS = (roles.ASSESSOR, roles.COORDINATOR)
OFFICE = (roles.COORDINATOR, roles.SERVICE_ADMIN)
THERAPIST_PROFILES = (roles.COORDINATOR, roles.SERVICE_ADMIN, roles.THERAPIST)


# The same sets by name, for templates: {% if staff_user|may:"office" %} (common/templatetags).
RULES: dict[str, tuple[str, ...]] = {
    "any_staff": ANY_STAFF,
    "clinicians": CLINICIANS,
    "care_team": CARE_TEAM,
    "assessment_readers": ASSESSMENT_READERS,
    "assessors": ASSESSORS,
    "any_assessment_readers": ANY_ASSESSMENT_READERS,
    "office": OFFICE,
    "therapist_profiles": THERAPIST_PROFILES,
}


def is_integration_account(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_role(roles.PARTNER_REFERRER))


def may_use_staff_pages(user) -> bool:
    """Signed in, and not an integration account (a member with no role yet may sign in and
    is told to ask for one; every other page needs a role)."""
    return bool(getattr(user, "is_authenticated", False)) and not is_integration_account(user)


def has_any_role(user, names: tuple[str, ...]) -> bool:
    return may_use_staff_pages(user) and any(user.has_role(name) for name in names)


def role_required(*names: str) -> Callable:
    """The view needs a signed-in member of staff holding one of these roles; with no names,
    any member of staff who may use the staff pages."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not may_use_staff_pages(user):
                raise PermissionDenied(INTEGRATION_REFUSED)
            if not is_verified(user):
                return redirect_to_login(request.get_full_path(), reverse("staff-two-factor"))
            if names and not has_any_role(user, names):
                raise PermissionDenied("This page is not for your role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required()
