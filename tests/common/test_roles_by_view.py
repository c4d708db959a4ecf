"""Roles by view: every staff page and API endpoint, for every kind of account, answers what
docs/security.md says ("Who sees what"). The pages and endpoints come from the URL resolver,
so a new one without an entry here fails.

Accounts: nobody signed in; each staff role of the service (the therapist is the client's
own therapist; "other_therapist" is a therapist of the same service who is not); a member
of the service with no role; the service's partner (integration) account, which uses the
API with its token; staff of another service holding every staff role; and a member of
the service holding every staff role whose session has the password but not the
two-factor code ("unverified": sent to the code step from every page, never shown one).
Real objects are made so each page with an id in its address finds one, and their free
text carries marker words: each answer of 200 is searched for the markers its account
must not see.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import unescape

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from allocation import services as allocation_services
from allocation.models import Allocation, Proposal, ProposalRun, TherapistExclusion
from assessment import services as assessment_services
from common import roles
from intake import api_tokens, rights
from intake.api_tokens import api_token_issue
from intake.models import MeasureResponse, Referral, RiskFlag
from notifications import printing, sending
from notifications.outbox import notification_queue
from portal import services as portal_services
from portal.models import PortalSession, SignInLink
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting
from tests.notifications.people import make_referral
from tests.support.two_factor import sign_in_unverified
from therapy import goals as therapy_goals
from therapy import services as therapy_services
from therapy.models import ProgressFlag, QuestionnaireRequest, TherapySession

pytestmark = pytest.mark.django_db

LOGIN = "login"  # a redirect to the sign-in page
CODE = "code"  # a redirect to the two-factor code step of signing in
ACCOUNTS = [
    "anonymous",
    "assessor",
    "coordinator",
    "therapist",
    "other_therapist",
    "service_admin",
    "no_role",
    "partner",
    "other_service",
    "unverified",
    # The world's client, signed in to the client portal (its own cookie and session, no
    # Django user): every staff page sends them to the staff sign-in, and the API treats them
    # as nobody.
    "client",
]
LETTERS = {"A": "assessor", "C": "coordinator", "T": "therapist", "S": "service_admin"}
# Signing in (its code and setup steps too) and out are for everyone; the sign-in form itself
# refuses integration accounts (tests/common/test_auth.py, tests/common/test_two_factor.py).
PUBLIC = {"staff-login", "staff-logout", "staff-two-factor", "staff-two-factor-setup"}


# --- What each account must never read ---------------------------------------------------
# Marker words planted in the world's free text (see `world`), grouped as docs/security.md's
# "Who sees what" groups the data.
MARKERS = {
    "difficulties": "Marker-difficulties-in-their-words",
    "hopes": "Marker-hopes-for-therapy",
    "previous_help": "Marker-help-before",
    "assessment_text": "Marker-assessment-presenting",
    "assessment_risk": "Marker-assessment-risk-to-self",
    "risk_plan": "Marker-assessment-risk-plan",
    "formulation": "Marker-assessment-formulation",
    "goal": "Marker-therapy-goal",
    "progress_detail": "Marker-progress-flag-detail",
    "risk_detail": "Marker-risk-flag-detail",
    "client_name": "Markerclientname",
}
# The clinical record in free text: the client's own words on the referral, the assessment's
# sections, the therapy record's goals and progress notes.
CLINICAL_TEXT = frozenset(
    {
        "difficulties",
        "hopes",
        "previous_help",
        "assessment_text",
        "assessment_risk",
        "risk_plan",
        "formulation",
        "goal",
        "progress_detail",
    }
)
RISK_DETAIL = frozenset({"risk_detail"})  # what raised a risk flag; every clinician reads it
EVERYTHING = frozenset(MARKERS)
MUST_NOT_SHOW: dict[str, frozenset[str]] = {
    "anonymous": EVERYTHING,
    # In the portal the client reads their own words and agreed goals, never what staff
    # wrote about them, in their downloaded copy neither: that comes through staff, after
    # a clinician's opinion (docs/portal.md, "What the copy leaves out").
    "client": CLINICAL_TEXT - {"difficulties", "hopes", "previous_help", "goal"} | RISK_DETAIL,
    # The assessor assessed the world's client, so keeps reading the referral and the
    # assessment; the therapy record is not theirs.
    "assessor": frozenset({"goal", "progress_detail"}),
    "coordinator": CLINICAL_TEXT | RISK_DETAIL,
    "therapist": frozenset(),
    "other_therapist": CLINICAL_TEXT,
    "service_admin": CLINICAL_TEXT | RISK_DETAIL,
    "no_role": EVERYTHING,
    "partner": EVERYTHING,
    "other_service": EVERYTHING,
}


@dataclass(frozen=True)
class Page:
    method: str
    args: tuple[str, ...]  # names of objects in the world, in URL order
    expected: dict[str, object]
    # Markers this page must not show to an account, besides MUST_NOT_SHOW.
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)


def page(
    method, args, who, ok=200, *, other=404, no_role=403, own=False, hidden=None, **overrides
) -> Page:
    """who: the roles that may use the page ("ACTS"); they get `ok`. Other roles of the
    service and its partner account get 403; nobody signed in is sent to sign in; staff of
    another service get `other` (404 where the page is about one of our records).
    own: the page is about the therapist's own client (or own profile), so another therapist
    of the service gets 404, as for a record that does not exist; otherwise they get what
    the therapist gets."""
    allowed = {LETTERS[letter] for letter in who}
    expected = {
        account: ok if account in allowed else 403
        for account in ("assessor", "coordinator", "therapist", "service_admin")
    }
    expected["other_therapist"] = 404 if own and "therapist" in allowed else expected["therapist"]
    expected |= {"anonymous": LOGIN, "partner": 403, "no_role": no_role, "other_service": other}
    expected |= {"unverified": CODE, "client": LOGIN}
    expected |= overrides
    hidden = {account: frozenset(names) for account, names in (hidden or {}).items()}
    return Page(method, tuple(args.split()) if args else (), expected, hidden)


ALL_STAFF = "ACTS"
NO_NAMES = {account: {"client_name"} for account in ("coordinator", "service_admin")}
CARE = "CT"

PAGES: dict[str, Page] = {
    # common
    "staff-home": page("GET", "", ALL_STAFF, other=200, no_role=200),
    # a service admin resets another member's two-factor sign-in
    "staff-two-factor-reset": page("GET", "member", "S"),
    # intake: every member of staff reads referrals; clinicians acknowledge risk
    "staff-referral-list": page("GET", "", ALL_STAFF, other=200),
    "staff-referral-detail": page("GET", "referral", ALL_STAFF),
    "staff-risk-acknowledge": page("POST", "referral risk_flag", "AT", 400),
    # rights requests: office work (coordinators and service admins); an empty form is a 400
    "rights-tasks": page("GET", "", "CS", other=200),
    "rights-request-new": page("GET", "referral", "CS"),
    "rights-request-detail": page("GET", "rights_request", "CS"),
    "rights-request-extend": page("POST", "rights_request", "CS", 400),
    "rights-request-complete": page("POST", "rights_request", "CS", 400),
    "rights-restriction-lift": page("POST", "rights_request", "CS", 400),
    # partner API tokens: service admins
    "api-token-list": page("GET", "", "S", other=200),
    # ... and add a named integration account (another service's admin adds to their own)
    "api-integration-add": page("GET", "", "S", other=200),
    "api-token-issue": page("GET", "integration", "S"),
    "api-token-revoke": page("POST", "api_token", "S", 302),
    # assessment: assessors assess
    "assessment-worklist": page("GET", "", "A", other=200),
    "assessment-finished": page("GET", "", "A", other=200),
    "assessment-book": page("GET", "new_referral", "A"),
    "assessment-start": page("POST", "new_referral", "A", 302),
    "assessment-step": page("GET", "draft_assessment step", "A"),
    "assessment-detail": page("GET", "assessment", "ACT", own=True),
    # therapy: the client's therapist, and coordinators (reading; some changes)
    "therapy-caseload": page(
        "GET", "", "T", other=200, hidden={"other_therapist": {"client_name"}}
    ),
    "therapy-overview": page("GET", "", "C", other=200),
    "therapy-start": page("GET", "referral", "C"),
    "therapy-client": page("GET", "referral", CARE, own=True),
    "therapy-end": page("GET", "referral", "T", own=True),
    "session-plan": page("GET", "referral", CARE, own=True),
    "session-plan-edit": page("GET", "referral", CARE, own=True),
    "session-plan-break-add": page("GET", "referral", CARE, own=True),
    # An empty reason is refused on the plan page, keeping what was typed.
    "session-plan-break-remove": page("POST", "referral break", CARE, 400, own=True),
    "goals": page("GET", "referral", CARE, own=True),
    "goal-close": page("GET", "referral goal", "T", own=True),
    "sessions": page("GET", "referral", CARE, own=True),
    "session-measures": page("GET", "referral session", "T", own=True),
    "progress": page("GET", "referral", CARE, own=True),
    "progress-flag-review": page("GET", "referral progress_flag", "T", own=True),
    # Whoever may see the progress page may ask the client to complete a questionnaire
    # online; nothing chosen is refused on the progress page.
    "progress-questionnaire-ask": page("POST", "referral", CARE, 400, own=True),
    # ... and cancel a request not done yet (the world's therapist asked for the PHQ-9).
    "progress-questionnaire-cancel": page(
        "POST", "referral questionnaire_request", CARE, 302, own=True
    ),
    "non-attendance": page("GET", "referral", CARE, own=True),
    # messages: every member of staff; printing letters is office work
    "staff-referral-messages": page("GET", "referral", ALL_STAFF),
    "staff-message-preview": page("GET", "referral kind", ALL_STAFF),
    "staff-message-preview-pdf": page("GET", "referral kind", ALL_STAFF),
    "staff-message-preview-email": page("GET", "referral kind", ALL_STAFF),
    "staff-messages": page("GET", "", ALL_STAFF, other=200),
    "staff-message-detail": page("GET", "notification", ALL_STAFF),
    "staff-message-letter": page("GET", "letter", ALL_STAFF),
    "staff-message-email": page("GET", "notification", ALL_STAFF),
    "staff-message-resend": page("POST", "notification", ALL_STAFF, 400),
    "staff-message-cancel": page("POST", "notification", ALL_STAFF, 400),
    "staff-message-follow-up": page("POST", "notification", ALL_STAFF, 400),
    "staff-print-batches": page("GET", "", "CS", other=200),
    "staff-print-batch-download": page("GET", "print_batch", "CS"),
    # allocation: coordinators allocate
    "allocation-waiting-list": page("GET", "", "C", other=200),
    "allocation-run-start": page("POST", "", "C", 302, other=302),
    "allocation-run": page("GET", "run", "C"),
    "allocation-run-status": page("GET", "run", "C"),
    "allocation-referral": page("GET", "waiting", "C"),
    "allocation-referral-choose": page("GET", "waiting", "C"),
    "allocation-proposal-accept": page("POST", "proposal", "C", 400),
    "allocation-bulk-accept": page("POST", "", "C", 302, other=302),
    "allocation-referral-hold": page("POST", "waiting", "C", 400),
    "allocation-hold-release": page("POST", "waiting", "C", 302),
    # the coordinators' exclusions of a referral: therapists named, a therapist gender
    "allocation-referral-exclude": page("POST", "waiting", "C", 400),
    "allocation-exclusion-remove": page("POST", "waiting exclusion", "C", 302),
    "allocation-referral-gender": page("POST", "waiting", "C", 302),
    "allocation-referral-competence": page("POST", "waiting", "C", 400),
    "allocation-referral-course": page("POST", "waiting", "C", 400),
    "allocation-referral-times": page("POST", "waiting", "C", 302),
    "allocation-referral-languages": page("POST", "waiting", "C", 400),
    "allocation-referral-continuity": page("POST", "waiting", "C", 400),
    "allocation-referral-complexity": page("POST", "waiting", "C", 400),
    "allocation-referral-access": page("POST", "waiting", "C", 400),
    "allocation-sites": page("GET", "", "C", other=200),
    # the service's own setting: staff of another service see theirs
    "allocation-interpreters": page("GET", "", "C", other=200),
    # therapists' profiles: coordinators and admins see all, a therapist their own; admins
    # and the therapist keep them up to date
    "allocation-caseloads": page("GET", "", "CS", other=200),
    "allocation-therapist-add": page("GET", "", "S", other=200),
    "allocation-therapist": page("GET", "profile", "CST", own=True),
    "allocation-therapist-edit": page("GET", "profile", "ST", coordinator=403, own=True),
    "allocation-slot-add": page("GET", "profile", "ST", coordinator=403, own=True),
    "allocation-slot-remove": page("POST", "profile slot", "ST", 302, coordinator=403, own=True),
    "allocation-leave-add": page("GET", "profile", "ST", coordinator=403, own=True),
    "allocation-leave-remove": page("POST", "profile leave", "ST", 302, coordinator=403, own=True),
    # the audit trail: service admins read their own service's (another service's admin
    # sees only theirs)
    "audit-events": page("GET", "", "S", other=200),
    "audit-events-csv": page("GET", "", "S", other=200),
    # reporting: coordinators and service admins, each of their own service's figures (the
    # pages and the data-set return name no client)
    "reporting-report": page("GET", "", "CS", other=200, hidden=NO_NAMES),
    "reporting-dataset-csv": page("GET", "", "CS", other=200, hidden=NO_NAMES),
    **{
        f"reporting-{chart}-csv": page("GET", "", "CS", other=200, hidden=NO_NAMES)
        for chart in (
            "referrals",
            "waiting-times",
            "caseness",
            "outcomes",
            "attendance",
            "caseload",
            "risk-flags",
        )
    },
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def staff_url_names() -> set[str]:
    return {
        name
        for route, name in _walk(get_resolver().url_patterns)
        if route.lstrip("^").startswith("staff/")
    }


def test_every_staff_page_has_an_entry():
    assert staff_url_names() - PUBLIC == set(PAGES)


@pytest.fixture
def world(service, assessor, coordinator, therapist_user, service_admin, other_staff):
    """One of each record a staff page is about, all in the first service."""
    site = factories.SiteFactory(service=service)
    referral = make_referral(service, agreed=("email", "letter"), preferred="email")
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
    # The referral's words, as written and encrypted (a queryset update would skip that).
    referral.presenting_problem = MARKERS["difficulties"]
    referral.hopes = MARKERS["hopes"]
    referral.previous_help = MARKERS["previous_help"]
    referral.save(update_fields=["presenting_problem", "hopes", "previous_help"])
    referral.client.family_name = MARKERS["client_name"]
    referral.client.save(update_fields=["family_name"])
    therapy = factories.TherapyFactory(
        referral=referral, therapist=therapist_user, started_by=coordinator
    )
    factories.SessionPlanFactory(
        referral=referral,
        created_by=therapist_user,
        starts_on=timezone.localdate() - dt.timedelta(weeks=12),
    )
    plan = therapy_services.session_plan_break_add(
        referral=referral,
        user=therapist_user,
        starts_on=timezone.localdate() + dt.timedelta(days=7),
        ends_on=timezone.localdate() + dt.timedelta(days=14),
        kind=next(iter(_break_kinds())),
    )
    goal = therapy_goals.goal_add(
        referral=referral,
        user=therapist_user,
        description=MARKERS["goal"],
        score=3,
        rated_on=timezone.localdate(),
    )
    session = TherapySession.objects.create(
        service=service,
        referral=referral,
        therapy=therapy,
        occurred_on=timezone.localdate() - dt.timedelta(days=1),
        attendance=TherapySession.Attendance.ATTENDED,
        recorded_by=therapist_user,
    )
    progress_flag = ProgressFlag.objects.create(
        service=service,
        referral=referral,
        reason=ProgressFlag.Reason.choices[0][0],
        detail=MARKERS["progress_detail"],
        raised_at=timezone.now(),
    )
    risk_flag = RiskFlag.objects.create(
        service=service,
        referral=referral,
        source=RiskFlag.Source.choices[0][0],
        detail=MARKERS["risk_detail"],
        raised_at=timezone.now(),
    )
    assessment = factories.FinishedAssessmentFactory(
        referral=referral,
        assessor=assessor,
        finished_by=assessor,
        presenting_status="answered",
        presenting_own_words=MARKERS["assessment_text"],
        risk_to_self="present",
        risk_to_self_detail=MARKERS["assessment_risk"],
        risk_level="medium",
        risk_plan=MARKERS["risk_plan"],
        formulation_status="answered",
        formulation_text=MARKERS["formulation"],
    )

    new_referral = factories.ReferralFactory(
        client__service=service, status=Referral.Status.SUBMITTED
    )
    draft = assessment_services.assessment_start(referral=new_referral, user=assessor)

    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)
    letter_only = make_referral(service, agreed=("letter",))
    letter = notification_queue(kind="acknowledgement", referral=letter_only)
    sending.notification_deliver(public_id=letter.public_id)
    print_batch = printing.print_batch_create(user=coordinator)

    profile = make_therapist(service, [site], [(1, "10:00", site)], user=therapist_user)
    leave = factories.LeavePeriodFactory(therapist=profile)
    waiting = make_waiting(service)
    exclusion = TherapistExclusion.objects.create(
        service=service,
        referral=waiting,
        therapist=profile,
        reason=TherapistExclusion.Reason.RELATIVE,
        recorded_by=coordinator,
    )
    # The allocation pages are about this one: its words must not reach them either.
    waiting.presenting_problem = MARKERS["difficulties"]
    waiting.save(update_fields=["presenting_problem"])
    waiting.assessment.formulation_status = "answered"
    waiting.assessment.formulation_text = MARKERS["formulation"]
    waiting.assessment.risk_plan = MARKERS["risk_plan"]
    waiting.assessment.save(update_fields=["formulation_status", "formulation_text", "risk_plan"])
    run = allocation_services.proposal_run_request(service_id=service.pk, trigger="manual")
    allocation_services.proposal_run_execute(run_id=run.public_id)
    run = ProposalRun.objects.get(pk=run.pk)
    proposal = Proposal.objects.filter(run=run).first()
    assert proposal is not None, "the world needs a proposal to accept"

    questionnaire = MeasureResponse.objects.create(
        referral=referral,
        measure="phq9",
        context=MeasureResponse.Context.SELF_REFERRAL,
        answers=[0] * 9,
        total=0,
        band="minimal",
        completed_at=timezone.now(),
    )
    allocation = Allocation.objects.create(
        service=service,
        referral=referral,
        therapist=profile,
        status=Allocation.Status.ENDED,
        source=Allocation.Source.RECORDED,
        first_appointment_at=timezone.now() - dt.timedelta(weeks=11),
        allocated_by=coordinator,
        allocated_at=timezone.now() - dt.timedelta(weeks=13),
        ended_at=timezone.now() - dt.timedelta(weeks=1),
    )

    rights_request = rights.rights_request_open(
        referral=referral,
        kind="correction",
        details="My address is wrong",
        source="phone",
        recorded_by=coordinator,
    )
    integration = factories.UserFactory(
        username="practice-system", service=service, roles=[roles.PARTNER_REFERRER]
    )
    api_token = api_token_issue(user=integration, name="Practice system").token
    portal_response = MeasureResponse.objects.create(
        referral=referral,
        measure="phq9",
        context=MeasureResponse.Context.PORTAL,
        answers=[0] * 9,
        total=0,
        completed_at=timezone.now(),
    )
    questionnaire_request = QuestionnaireRequest.objects.create(
        service=service,
        referral=referral,
        measure="phq9",
        asked_by=therapist_user,
        asked_at=timezone.now(),
    )
    portal_key = "portal-key-of-the-worlds-client"
    PortalSession.objects.create(
        referral=referral,
        channel="email",
        key_hash=portal_services._hash(portal_key),
        last_seen_at=timezone.now(),
    )

    now = timezone.now()
    for token, used_at, expires_at in (
        ("a-used-sign-in-link", now, now + dt.timedelta(minutes=20)),
        ("an-expired-sign-in-link", None, now - dt.timedelta(minutes=1)),
    ):
        SignInLink.objects.create(
            referral=referral,
            channel="email",
            token_hash=portal_services._hash(token),
            issued_at=now - dt.timedelta(minutes=31),
            expires_at=expires_at,
            used_at=used_at,
        )

    return {
        "reference": referral.reference,
        "used_token": "a-used-sign-in-link",
        "expired_token": "an-expired-sign-in-link",
        "referral": referral.public_id,
        "client": referral.client.public_id,
        "questionnaire": questionnaire.public_id,
        "allocation": allocation.public_id,
        "session_plan": plan.public_id,
        "risk_flag": risk_flag.public_id,
        "new_referral": new_referral.public_id,
        "draft_assessment": draft.public_id,
        "step": "presenting",
        "assessment": assessment.public_id,
        "break": plan.breaks[0]["id"],
        "goal": goal.public_id,
        "session": session.public_id,
        "progress_flag": progress_flag.public_id,
        "kind": "acknowledgement",
        "notification": notification.public_id,
        "letter": letter.public_id,
        "print_batch": print_batch.public_id,
        "run": run.public_id,
        "waiting": waiting.public_id,
        "exclusion": exclusion.public_id,
        "proposal": proposal.public_id,
        "profile": profile.public_id,
        "slot": profile.slots.get().public_id,
        "leave": leave.public_id,
        "member": assessor.public_id,
        "rights_request": rights_request.public_id,
        "integration": integration.public_id,
        "api_token": api_token.pk,
        "portal_key": portal_key,
        "topic": "contact_email",
        "measure": "phq9",
        "portal_response": portal_response.public_id,
        "questionnaire_request": questionnaire_request.public_id,
    }


def _break_kinds():
    from therapy.forms import BREAK_KIND_NAMES

    return BREAK_KIND_NAMES


@pytest.fixture
def accounts(service, assessor, coordinator, therapist_user, service_admin, other_staff):
    return {
        "anonymous": None,
        "assessor": assessor,
        "coordinator": coordinator,
        "therapist": therapist_user,
        "other_therapist": factories.UserFactory(
            username="frankie", service=service, roles=[roles.THERAPIST]
        ),
        "service_admin": service_admin,
        "no_role": factories.UserFactory(username="nora", service=service),
        "partner": factories.UserFactory(
            username="mill-lane", service=service, roles=[roles.PARTNER_REFERRER]
        ),
        "other_service": other_staff,
        "unverified": factories.UserFactory(
            username="uma", service=service, roles=list(roles.STAFF)
        ),
        "client": None,  # signed in to the portal by `sign_in_as`
    }


def sign_in_as(client, account, user, world) -> None:
    if account == "unverified":
        sign_in_unverified(client, user)
    elif account == "client":
        client.cookies[portal_services.COOKIE_NAME] = world["portal_key"]
    elif user is not None:
        client.force_login(user)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_each_account_gets_the_answer_the_table_gives_on_every_staff_page(
    client, world, accounts, account
):
    sign_in_as(client, account, accounts[account], world)
    wrong = []
    # Reads first, then changes, so a change cannot hide a page another entry reads.
    for name, entry in sorted(PAGES.items(), key=lambda item: item[1].method != "GET"):
        url = reverse(name, args=[world[arg] for arg in entry.args])
        response = client.get(url) if entry.method == "GET" else client.post(url, {})
        expected = entry.expected[account]
        if expected in (LOGIN, CODE):
            step = reverse("staff-login") if expected == LOGIN else reverse("staff-two-factor")
            ok = response.status_code == 302 and response["Location"].startswith(f"{step}?")
        else:
            ok = response.status_code == expected
        if not ok:
            wrong.append(
                f"{name} ({entry.method}): answered {response.status_code}, table says {expected}"
            )
        elif response.status_code == 200:
            wrong.extend(
                f"{name}: shows {marker}"
                for marker in shown_markers(
                    response, MUST_NOT_SHOW[account] | entry.hidden.get(account, frozenset())
                )
            )
    assert not wrong, "\n".join(wrong)


def shown_markers(response, names) -> list[str]:
    text = (
        b"".join(response).decode()
        if response.streaming
        else response.content.decode(errors="replace")
    )
    return sorted(name for name in names if MARKERS[name] in text)


# --- The client portal ----------------------------------------------------------------------
# Every address under /portal/, found from the resolver. Only the client's own portal session
# opens a page; a staff sign-in (of any role, any service) is not one, so everyone else is
# sent to the portal's start page. Bad links and tampered addresses: below; another
# client's ids: tests/portal/test_pages.py.
PORTAL_START = "portal start"
PORTAL_PUBLIC = {"portal-start", "portal-link-sent", "portal-sign-in"}


def portal_page(method, args="", client_gets=200) -> Page:
    expected = {account: PORTAL_START for account in ACCOUNTS} | {"client": client_gets}
    return Page(method, tuple(args.split()) if args else (), expected, {})


PORTAL: dict[str, Page] = {
    "portal-home": portal_page("GET"),
    "portal-letters": portal_page("GET"),
    "portal-letter-pdf": portal_page("GET", "notification"),
    "portal-choices": portal_page("GET"),
    "portal-contact": portal_page("GET"),
    "portal-choice-change": portal_page("GET", "topic"),
    "portal-withdraw": portal_page("GET"),
    "portal-withdrawn": portal_page("GET"),
    # Questionnaires (portal/questionnaire_views.py): the world's client has none due, so
    # a questionnaire's page says so; the answers page is one of their own.
    "portal-questionnaires": portal_page("GET"),
    "portal-questionnaire": portal_page("GET", "measure"),
    "portal-questionnaire-saved": portal_page("GET", "portal_response"),
    "portal-progress": portal_page("GET"),
    # Signing out ends the session and goes back to the start page, for the client too.
    "portal-sign-out": portal_page("POST", client_gets=PORTAL_START),
    # Your data: the page, the copy (the JSON is checked for the markers like a page: it
    # holds none of what staff wrote) and asking for a correction.
    "portal-my-data": portal_page("GET"),
    "portal-my-data-json": portal_page("GET"),
    "portal-my-data-pdf": portal_page("GET"),
    "portal-correction": portal_page("GET"),
    "portal-whole-record": portal_page("GET"),
}


def portal_url_names() -> set[str]:
    return {
        name
        for route, name in _walk(get_resolver().url_patterns)
        if route.lstrip("^").startswith("portal/")
    }


def test_every_portal_page_has_an_entry():
    assert portal_url_names() - PORTAL_PUBLIC == set(PORTAL)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_each_account_gets_the_answer_the_table_gives_on_every_portal_page(
    client, world, accounts, account
):
    sign_in_as(client, account, accounts[account], world)
    wrong = []
    for name, entry in sorted(PORTAL.items(), key=lambda item: item[1].method != "GET"):
        url = reverse(name, args=[world[arg] for arg in entry.args])
        response = client.get(url) if entry.method == "GET" else client.post(url, {})
        expected = entry.expected[account]
        if expected == PORTAL_START:
            ok = response.status_code == 302 and response["Location"].startswith(
                reverse("portal-start")
            )
        else:
            ok = response.status_code == expected
        if not ok:
            wrong.append(
                f"{name} ({entry.method}): answered {response.status_code}, table says {expected}"
            )
        elif response.status_code == 200 and not response.get("Content-Type", "").endswith("pdf"):
            wrong.extend(
                f"{name}: shows {m}" for m in shown_markers(response, MUST_NOT_SHOW[account])
            )
    assert not wrong, "\n".join(wrong)


# --- The portal's doors, and addresses tampered with ------------------------------------------
# Bad or expired links, a wrong date of birth and tampered addresses get a clear page, never a
# 500, whoever asks: the link pages for everyone, the made-up ids for the client signed in
# (everyone else is sent to the start page before any id is looked at).
def _portal_doors(world) -> list[tuple[str, str, dict | None, int, str]]:
    """(method, path, form, status, words the page must say)."""
    wrong_dob = {
        "reference": world["reference"],
        "date_of_birth_day": "1",
        "date_of_birth_month": "1",
        "date_of_birth_year": "1950",
        "channel": "email",
    }
    sign_in = "/portal/sign-in/{}/"
    return [
        ("GET", reverse("portal-start"), None, 200, "reference"),
        ("GET", reverse("portal-link-sent"), None, 200, "Check your messages"),
        # A wrong date of birth: the same answer as a match.
        ("POST", reverse("portal-start"), wrong_dob, 302, ""),
        ("GET", sign_in.format("made-up-token"), None, 404, "cannot be used"),
        ("POST", sign_in.format("made-up-token"), None, 404, "cannot be used"),
        ("GET", sign_in.format("..%2F..%2Fstaff"), None, 404, "cannot be used"),
        ("POST", sign_in.format(world["used_token"]), None, 410, "already been used"),
        ("GET", sign_in.format(world["expired_token"]), None, 410, "has expired"),
        ("POST", sign_in.format(world["expired_token"]), None, 410, "has expired"),
    ]


TAMPERED = [
    "/portal/letters/00000000-0000-0000-0000-000000000000/pdf/",
    "/portal/letters/not-a-uuid/pdf/",
    "/portal/choices/no-such-choice/",
    "/portal/questionnaires/no-such-questionnaire/",
    "/portal/questionnaires/saved/00000000-0000-0000-0000-000000000000/",
    "/portal/no-such-page/",
]


def resolve_or_none(path):
    try:
        return resolve(path)
    except Resolver404:
        return None


@pytest.mark.parametrize("account", ACCOUNTS)
def test_bad_links_and_tampered_portal_addresses_get_a_clear_page_never_a_500(
    client, world, accounts, account
):
    sign_in_as(client, account, accounts[account], world)
    wrong = []
    for method, path, form, status, words in _portal_doors(world):
        response = client.get(path) if method == "GET" else client.post(path, form or {})
        if response.status_code != status or words not in response.text:
            wrong.append(f"{method} {path}: answered {response.status_code}, expected {status}")
    for path in TAMPERED:
        response = client.get(path)
        unknown = resolve_or_none(path) is None  # no such address: a 404 for everyone
        expected = 404 if account == "client" or unknown else 302
        if response.status_code != expected:
            wrong.append(f"GET {path}: answered {response.status_code}, expected {expected}")
        elif expected == 404 and "<h1" not in response.text:
            wrong.append(f"GET {path}: a 404 with no page")
    assert not wrong, "\n".join(wrong)


# --- The API ---------------------------------------------------------------------------------
# Every address under /api/, found from the resolver like the staff pages. The partner account
# calls with its token; everyone else with a session (or nothing). The partner account sends
# referrals in and reads none out (403 on every read); staff read through the API what they
# read on the staff pages (docs/api.md), a clinician reads one referral's record as FHIR, and
# each answer of 200 is searched for the markers their account must not see, as on the pages.
@dataclass(frozen=True)
class Endpoint:
    method: str
    expected: dict[str, int]
    args: tuple[str, ...] = ()  # names of objects in the world, in URL order


def endpoint(
    method, *, partner, anonymous, staff, other_service=None, args="", **overrides
) -> Endpoint:
    expected = {account: staff for account in ACCOUNTS}
    expected |= {
        "anonymous": anonymous,
        # A portal session is no sign-in here, nor is a staff session short of the code step.
        "client": anonymous,
        "unverified": anonymous,
        "partner": partner,
        "other_service": staff if other_service is None else other_service,
    }
    expected |= overrides
    return Endpoint(method, expected, tuple(args.split()))


def resource(who: str, arg: str, *, own=False, **overrides) -> tuple[Endpoint, Endpoint]:
    """A REST resource's list and one record (`arg` in the world). who: the roles that read it
    (200), others of the service 403, the partner account 403, nobody signed in 401; another
    service's staff get an empty list and 404 for the record. own: a therapist reads only
    their own clients' (or own profile), so another therapist gets 404 for the record."""
    allowed = {LETTERS[letter] for letter in who}
    entries = []
    for args, other in (("", 200), (arg, 404)):
        expected = {account: 401 for account in ("anonymous", "client", "unverified")}
        expected |= {"partner": 403, "no_role": 403, "other_service": other}
        expected |= {
            account: 200 if account in allowed else 403
            for account in ("assessor", "coordinator", "therapist", "service_admin")
        }
        expected["other_therapist"] = (
            404 if args and own and "therapist" in allowed else expected["therapist"]
        )
        expected |= overrides
        entries.append(Endpoint("GET", expected, tuple(args.split())))
    return entries[0], entries[1]


def _resources(**tables) -> dict[str, Endpoint | tuple[Endpoint, ...]]:
    entries = {}
    for name, (listing, record) in tables.items():
        entries[f"api-{name}-list"] = listing
        entries[f"api-{name}-detail"] = record
    return entries


REFERRALS_LIST, REFERRAL_RECORD = resource(ALL_STAFF, "referral")

API: dict[str, Endpoint | tuple[Endpoint, ...]] = {
    # /referrals/: a partner sends one (an empty one is refused with a 400 naming what is
    # missing; a staff session is no integration account, 403; nobody gets a 401); staff list
    # the referrals they open.
    "api-referrals": (
        endpoint("POST", partner=400, anonymous=401, staff=403),
        REFERRALS_LIST,
    ),
    "api-referral-detail": REFERRAL_RECORD,
    **_resources(
        client=resource(ALL_STAFF, "client"),
        # The assessor assessed the world's client; a service admin reads no assessment.
        assessment=resource("ACT", "assessment", own=True),
        **{"questionnaire-response": resource(ALL_STAFF, "questionnaire")},
        **{"risk-flag": resource(ALL_STAFF, "risk_flag")},
        goal=resource(CARE, "goal", own=True),
        **{"session-plan": resource(CARE, "session_plan", own=True)},
        session=resource(CARE, "session", own=True),
        therapist=resource("CST", "profile", own=True),
        slot=resource("CST", "slot", own=True),
        proposal=resource("C", "proposal"),
        allocation=resource("C", "allocation"),
        notification=resource(ALL_STAFF, "notification"),
    ),
    # Clinicians acknowledge a risk flag; an empty body is refused with a 400 naming what to
    # give (another service's staff: 404, as for any record of ours).
    "api-risk-flag-acknowledge": Endpoint(
        "POST",
        {account: 401 for account in ("anonymous", "client", "unverified")}
        | {account: 403 for account in ("coordinator", "service_admin", "no_role", "partner")}
        | {"assessor": 400, "therapist": 400, "other_therapist": 400, "other_service": 404},
        ("risk_flag",),
    ),
    # The client's current therapist records a session and rates a goal (an empty body is a
    # 400 naming each field); other roles 403; another therapist, and another service's staff,
    # 404 as for a record not there.
    "api-referral-session-record": endpoint(
        "POST",
        partner=403,
        anonymous=401,
        staff=403,
        other_service=404,
        args="referral",
        therapist=400,
        other_therapist=404,
    ),
    "api-goal-rating-add": endpoint(
        "POST",
        partner=403,
        anonymous=401,
        staff=403,
        other_service=404,
        args="goal",
        therapist=400,
        other_therapist=404,
    ),
    # Coordinators decide proposals. The world's proposal cannot be accepted as it stands (its
    # staff page shows the refusal on the form: 400 there), so the API's answer is a 409 saying
    # why; declining needs a reason (400). Other roles 403; another service's coordinators 404.
    "api-proposal-accept": endpoint(
        "POST",
        partner=403,
        anonymous=401,
        staff=403,
        other_service=404,
        args="proposal",
        coordinator=409,
    ),
    "api-proposal-hold": endpoint(
        "POST",
        partner=403,
        anonymous=401,
        staff=403,
        other_service=404,
        args="proposal",
        coordinator=400,
    ),
    # The same for a referral sent as a FHIR Bundle: an empty body is no Bundle (400).
    "api-fhir-servicerequest-create": endpoint("POST", partner=400, anonymous=401, staff=403),
    # A referral's record as FHIR: for the client's clinicians (the assessor who assessed
    # them, and their therapist; the assessor's leaves out the therapy record). Other roles
    # 403; another therapist, and another service's staff, 404 as for a record not there.
    "api-fhir-referral-export": endpoint(
        "GET",
        partner=403,
        anonymous=401,
        staff=403,
        other_service=404,
        args="referral",
        assessor=200,
        therapist=200,
        other_therapist=404,
    ),
    # The schema and its docs are public only where API_DOCS_PUBLIC is on (off in
    # production, and here): a 404 for everyone.
    "api-schema": endpoint("GET", partner=404, anonymous=404, staff=404),
    "api-docs": endpoint("GET", partner=404, anonymous=404, staff=404),
}


def api_url_names() -> set[str]:
    return {
        name
        for route, name in _walk(get_resolver().url_patterns)
        if route.lstrip("^").startswith("api/")
    }


def test_every_api_endpoint_has_an_entry():
    assert api_url_names() == set(API)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_each_account_gets_the_answer_the_table_gives_on_every_api_endpoint(
    client, world, accounts, account, settings
):
    settings.API_DOCS_PUBLIC = False
    user = accounts[account]
    headers = {}
    if account == "partner":
        headers["HTTP_AUTHORIZATION"] = (
            f"Token {api_tokens.api_token_issue(user=user, name='Access test').key}"
        )
    else:
        sign_in_as(client, account, user, world)
    wrong = []
    for name, entries in sorted(API.items()):
        for entry in entries if isinstance(entries, tuple) else (entries,):
            url = reverse(name, args=[world[arg] for arg in entry.args])
            if entry.method == "GET":
                response = client.get(url, **headers)
            else:
                response = client.post(
                    url,
                    {},
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY="access",
                    **headers,
                )
            if response.status_code != entry.expected[account]:
                wrong.append(
                    f"{name} ({entry.method}): answered {response.status_code}, "
                    f"table says {entry.expected[account]}"
                )
            elif response.status_code in (200, 201):
                wrong.extend(
                    f"{name}: shows {m}" for m in shown_markers(response, MUST_NOT_SHOW[account])
                )
            elif response["Content-Type"] == "application/json":
                body = response.json()
                if set(body) != {"status", "code", "detail", "errors"}:
                    wrong.append(f"{name}: an error not in the Error shape: {body}")
    assert not wrong, "\n".join(wrong)


def test_a_partner_session_cannot_close_a_risk_flag(client, service, accounts):
    """The reported case: the demo partner closed an open risk flag from the staff pages."""
    referral = factories.ReferralFactory(client__service=service)
    flag = RiskFlag.objects.create(
        service=service,
        referral=referral,
        source=RiskFlag.Source.choices[0][0],
        detail="PHQ-9 item 9 answered 3",
        raised_at=timezone.now(),
    )
    client.force_login(accounts["partner"])

    response = client.post(
        reverse("staff-risk-acknowledge", args=[referral.public_id, flag.public_id]),
        {"action_taken": "Closed by the partner account"},
    )

    assert response.status_code == 403
    flag.refresh_from_db()
    assert flag.acknowledged_at is None and flag.acknowledged_by is None


# Links, and the actions of forms: asking for a form's action by GET reaches the role
# check (it comes before the method check), so a form the role may not send answers 403.
TARGET = re.compile(r'(?:href|action)="(/staff/[^"#?]*)')


@pytest.mark.parametrize(
    "account",
    ["assessor", "coordinator", "therapist", "other_therapist", "service_admin", "no_role"],
)
def test_pages_show_only_links_the_account_may_follow(client, world, accounts, account):
    """Follow every staff link and form from the home page (each kind of page a few times):
    none is refused. A link a role may not follow is a dead end it should never be shown."""
    client.force_login(accounts[account])
    seen: set[str] = set()
    per_kind: dict[str, int] = {}
    queue = [(reverse("staff-home"), None)]
    refused = []
    while queue:
        url, shown_on = queue.pop(0)
        if url in seen or url == reverse("staff-logout"):
            continue
        kind = resolve(url).url_name
        if per_kind.get(kind, 0) >= 3:
            continue
        seen.add(url)
        per_kind[kind] = per_kind.get(kind, 0) + 1
        response = client.get(url)
        if response.status_code == 403:
            refused.append(f"{kind}, shown on {shown_on}")
            continue
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            queue.extend((unescape(target), kind) for target in TARGET.findall(response.text))
    assert not refused, refused
