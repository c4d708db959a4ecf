"""Who may use the staff pages, and who sees what on them: the one place the rules are stated.

Two levels, both in docs/security.md ("Who sees what"):

- Pages. Nobody signed in is sent to sign in. An integration account is refused every
  page, whatever else it holds: the partner API's (holding the partner role) sends referrals
  through the API with its token and never reads them; a named integration account with a
  staff role (User.is_integration) uses the API as that role, with its token, and nothing
  else. Everyone else needs one of
  the roles the page names (`role_required` and the named sets below). A session signed in
  with the password but not yet past the two-factor code step is sent to that step
  (common/two_factor.py).
- Records (need to know within the service). `OBJECT_RULES` (django-rules predicates) say,
  for one referral, who opens it at all and who reads its clinical free text or the detail
  of its risk flags. Selectors ask `referral_sight` and leave out what the answer forbids,
  so a template cannot show it by mistake; a referral the user may not open answers 404,
  like another service's or one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import rules
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q
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


INTEGRATION_USER_REFUSED = (
    "This is an integration account for the API. It cannot be used to sign in to staff "
    "pages: its system uses the API with its token."
)


def is_integration_account(user) -> bool:
    """The partner API's account (the partner role): sends referrals, reads nothing."""
    return bool(getattr(user, "is_authenticated", False) and user.has_role(roles.PARTNER_REFERRER))


def is_integration_user(user) -> bool:
    """Any account a system uses through the API: the partner's, or a named integration
    account acting with a staff role. Neither ever signs in to the staff pages."""
    return bool(getattr(user, "is_authenticated", False)) and (
        bool(getattr(user, "is_integration", False)) or is_integration_account(user)
    )


def integration_refusal(user) -> str:
    """Why an integration account's sign-in or page is refused, in its own kind's words."""
    return INTEGRATION_REFUSED if is_integration_account(user) else INTEGRATION_USER_REFUSED


def may_use_staff_pages(user) -> bool:
    """Signed in, and not an integration account (a member with no role yet may sign in and
    is told to ask for one; every other page needs a role)."""
    return bool(getattr(user, "is_authenticated", False)) and not is_integration_user(user)


def holds_staff_roles(user) -> bool:
    """Signed in, and the staff roles held count: everyone but the partner's account. A
    named integration account acts with its role through the API (pages refuse it first)."""
    return bool(getattr(user, "is_authenticated", False)) and not is_integration_account(user)


def has_any_role(user, names: tuple[str, ...]) -> bool:
    return holds_staff_roles(user) and any(user.has_role(name) for name in names)


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
                raise PermissionDenied(integration_refusal(user))
            if not is_verified(user):
                return redirect_to_login(request.get_full_path(), reverse("staff-two-factor"))
            if names and not has_any_role(user, names):
                raise PermissionDenied("This page is not for your role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required()


# --- Need to know within the service: rules about one referral --------------------------------
# Predicates take (user, referral). Common imports no app, so they read the referral through
# its fields and the relation names the apps give it (`assessment`, `therapies`).

# Referral statuses while an assessment is to be booked or done (intake.Referral.Status).
IN_ASSESSMENT = ("submitted", "assessment_booked")


@rules.predicate
def is_assessor(user) -> bool:
    return has_any_role(user, (roles.ASSESSOR,))


@rules.predicate
def is_therapist(user) -> bool:
    return has_any_role(user, (roles.THERAPIST,))


@rules.predicate
def is_office(user) -> bool:
    return has_any_role(user, OFFICE)


@rules.predicate
def of_users_service(user, referral) -> bool:
    return referral is not None and bool(user.service_id) and referral.service_id == user.service_id


@rules.predicate
def awaits_assessment(user, referral) -> bool:
    return referral.status in IN_ASSESSMENT


def _assessed_by(user) -> Q:
    """Referrals whose assessment the user carried out or finished, as the referral carries
    them (intake.Referral.assessed_by and assessment_finished_by, kept from the assessment
    by assessment.models): no assessment is read."""
    return Q(assessed_by=user) | Q(assessment_finished_by=user)


@rules.predicate
def assessed_by_user(user, referral) -> bool:
    """The user carried out the referral's assessment, or finished it (read afresh: the
    referral in hand may predate its assessment)."""
    return type(referral).objects.filter(Q(pk=referral.pk) & _assessed_by(user)).exists()


@rules.predicate
def has_open_risk_flag(user, referral) -> bool:
    return referral.risk_flags.filter(acknowledged_at=None).exists()


@rules.predicate
def therapist_of_client(user, referral) -> bool:
    """The client's therapist, now or before (they keep reading what they wrote)."""
    return type(referral).objects.filter(pk=referral.pk, therapies__therapist=user).exists()


@rules.predicate
def is_coordinator(user) -> bool:
    return has_any_role(user, (roles.COORDINATOR,))


@rules.predicate
def current_therapist_of_client(user, referral) -> bool:
    """The client's therapist now (a therapy with them not ended)."""
    return (
        type(referral)
        .objects.filter(pk=referral.pk, therapies__therapist=user, therapies__ended_on=None)
        .exists()
    )


# An assessor's referrals: those to assess, those they assessed, and any with an open risk
# flag (whichever clinician is on duty acts on it).
assessors_referral = is_assessor & (awaits_assessment | assessed_by_user | has_open_risk_flag)

OBJECT_RULES = rules.RuleSet()
# Opens the referral's page and its messages.
OBJECT_RULES.add_rule(
    "referral.open", of_users_service & (is_office | is_therapist | assessors_referral)
)
# Reads the clinical record's free text: the client's words on the referral, questionnaire
# answers item by item, the assessment's sections, goals and progress notes.
OBJECT_RULES.add_rule(
    "referral.clinical_text",
    of_users_service & (assessors_referral | (is_therapist & therapist_of_client)),
)
# Reads what raised a risk flag and what was done: every clinician of the service, since any
# of them may have to act on it. Everyone who opens the referral sees that a flag is open.
OBJECT_RULES.add_rule("referral.risk_detail", of_users_service & (is_assessor | is_therapist))
# Records the therapy's sessions and rates its goals: the client's current therapist (the
# sessions and goals pages, and the API's writes to them).
OBJECT_RULES.add_rule(
    "referral.record_therapy", of_users_service & is_therapist & current_therapist_of_client
)
# Decides the referral's allocation (accepts a proposal, or holds the referral instead):
# the service's coordinators (the waiting list, and the API's proposal decisions).
OBJECT_RULES.add_rule("referral.allocate", of_users_service & is_coordinator)


def referrals_opened_by(user, referrals):
    """The referrals (already of the user's service) this user opens: "referral.open" as a
    query, for lists and look-ups."""
    from django.db.models import Exists, OuterRef

    if has_any_role(user, (*OFFICE, roles.THERAPIST)):
        return referrals
    if not has_any_role(user, (roles.ASSESSOR,)):
        return referrals.none()
    risk_flag = referrals.model._meta.get_field("risk_flags").related_model
    open_flag = risk_flag.objects.filter(referral=OuterRef("pk"), acknowledged_at=None)
    return referrals.filter(Q(status__in=IN_ASSESSMENT) | _assessed_by(user) | Exists(open_flag))


def referrals_opened_count(user, referrals) -> int:
    """How many of `referrals` (already of the user's service, perhaps filtered further)
    this user opens: `referrals_opened_by(user, referrals).count()`, exactly, in one query
    that the referral's indexes answer alone.

    An assessor's reach is counted as parts that cannot overlap, so no referral is counted
    twice and none has to be looked up in the others:

    - those to assess: an index range of the service's referrals by status;
    - the rest of those they carried out the assessment of: the range of the service's
      referrals by who assessed them (`referral_service_assessed`), by status;
    - the rest of those they finished, carried out by someone else (or nobody): the range of
      the service's referrals by who finished them (`referral_service_finished`), in three
      parts by who carried it out, before them, after them and nobody, so that those
      counted above (most of the range: an assessor usually finishes their own) are not
      read again;
    - the rest with an open risk flag that they neither carried out nor finished (the few
      open flags).

    Each part is counted where it is read and the counts are added in the one statement.

    Who assessed is carried on the referral (intake.Referral.assessed_by and
    assessment_finished_by), so no assessment is read."""
    from django.core.exceptions import EmptyResultSet
    from django.db import connections
    from django.db.models import Exists, OuterRef

    if has_any_role(user, (*OFFICE, roles.THERAPIST)):
        return referrals.count()
    if not has_any_role(user, (roles.ASSESSOR,)):
        return 0
    risk_flag = referrals.model._meta.get_field("risk_flags").related_model
    open_flag = Exists(risk_flag.objects.filter(referral=OuterRef("pk"), acknowledged_at=None))
    ids = referrals.order_by().values("pk")
    rest = ids.exclude(status__in=IN_ASSESSMENT)
    finished_not_carried_out = rest.filter(assessment_finished_by=user)
    parts = [
        ids.filter(status__in=IN_ASSESSMENT),
        rest.filter(assessed_by=user),
        finished_not_carried_out.filter(assessed_by__lt=user.pk),
        finished_not_carried_out.filter(assessed_by__gt=user.pk),
        finished_not_carried_out.filter(assessed_by=None),
        rest.filter(open_flag).exclude(_assessed_by(user)),
    ]
    # Each part counted where it is read and the counts added, in one statement: a UNION
    # of the parts would carry every referral id (tens of thousands) up to one count.
    counts, params = [], []
    for part in parts:
        try:
            sql, part_params = part.query.get_compiler(using=referrals.db).as_sql()
        except EmptyResultSet:  # a part that can hold nothing (`referrals` was none())
            continue
        counts.append(f"(SELECT COUNT(*) FROM ({sql}) part)")
        params.extend(part_params)
    if not counts:
        return 0
    with connections[referrals.db].cursor() as cursor:
        cursor.execute("SELECT " + " + ".join(counts), params)
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Sight:
    """What one user reads of one referral's record."""

    clinical_text: bool
    risk_detail: bool


NO_SIGHT = Sight(clinical_text=False, risk_detail=False)


def may_open_referral(user, referral) -> bool:
    return holds_staff_roles(user) and OBJECT_RULES.test_rule("referral.open", user, referral)


def may_read(user, what: str, referral) -> bool:
    """what: "clinical_text" or "risk_detail", for one referral."""
    return holds_staff_roles(user) and OBJECT_RULES.test_rule(f"referral.{what}", user, referral)


def may_change(user, what: str, referral) -> bool:
    """what: "record_therapy" or "allocate", for one referral."""
    return holds_staff_roles(user) and OBJECT_RULES.test_rule(f"referral.{what}", user, referral)


def referral_sight(user, referral) -> Sight:
    if not holds_staff_roles(user):
        return NO_SIGHT
    return Sight(
        clinical_text=OBJECT_RULES.test_rule("referral.clinical_text", user, referral),
        risk_detail=OBJECT_RULES.test_rule("referral.risk_detail", user, referral),
    )
