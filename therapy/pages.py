"""Reads for therapy's pages about one client: each page calls one selector here, which
returns one frozen dataclass holding everything the page shows, read in a fixed number of
queries whatever the client's record holds. The caller has already decided the user may
see the referral (views' `_care_referral`). The reads they are built from live in
`selectors.py`, which other apps and the client portal use too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from assessment.models import Assessment
from assessment.selectors import (
    Recommendation,
    finished_assessment,
    referral_recommendation,
)
from common import access, roles
from common.models import Site, User
from intake.models import Referral
from intake.selectors import gp_share_ok
from therapy import selectors, services
from therapy.models import Goal, SessionPlan, Therapy, TherapySession

# --- The client's therapy page ----------------------------------------------------------------


@dataclass(frozen=True)
class ClientPage:
    progress: selectors.Progress
    assessment: Assessment | None
    plan: SessionPlan | None
    plan_text: dict | None
    is_therapist: bool
    is_coordinator: bool
    recommendation: Recommendation | None
    goals: list[Goal]
    sessions: list[TherapySession]


def client_page(*, user, referral: Referral) -> ClientPage:
    """A client's therapy at a glance: progress, the plan, goals and the latest sessions."""
    progress = selectors.progress_overview(referral=referral)
    plan = progress.plan
    return ClientPage(
        progress=progress,
        assessment=finished_assessment(referral=referral),
        plan=plan,
        plan_text=selectors.plan_description(plan) if plan else None,
        is_therapist=selectors.is_current_therapist(user=user, referral=referral),
        is_coordinator=user.has_role(roles.COORDINATOR),
        recommendation=referral_recommendation(referral=referral),
        goals=selectors.goals_for(referral=referral),
        sessions=selectors.sessions_for(referral=referral)[:10],
    )


@dataclass(frozen=True)
class TherapyStartPage:
    therapists: list[User]
    current: Therapy | None
    recommendation: Recommendation | None


def therapy_start_page(*, user, referral: Referral) -> TherapyStartPage:
    """Recording that therapy started: the service's therapists to choose from, who sees
    the client now (if anyone), and what the assessment recommended."""
    return TherapyStartPage(
        therapists=list(selectors.therapists_in_service(user=user)),
        current=selectors.therapy_current(referral=referral),
        recommendation=referral_recommendation(referral=referral),
    )


# --- The session plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanPage:
    plan: SessionPlan | None
    plan_text: dict | None
    history: list[tuple[SessionPlan, dict]]
    may_change: bool


def plan_page(*, user, referral: Referral) -> PlanPage:
    """The plan in force, in plain words, with every earlier version."""
    history = [
        (p, selectors.plan_description(p))
        for p in selectors.session_plan_history(referral=referral)
    ]
    return PlanPage(
        plan=history[0][0] if history else None,
        plan_text=history[0][1] if history else None,
        history=history,
        may_change=selectors.is_current_therapist(user=user, referral=referral)
        or user.has_role(roles.COORDINATOR),
    )


@dataclass(frozen=True)
class PlanEditPage:
    current: SessionPlan | None
    sites: list[Site]
    initial: dict


def plan_edit_page(*, user, referral: Referral) -> PlanEditPage:
    """Agreeing a new version of the plan: the one in force, the service's sites, and the
    form's starting answers (the plan in force, or the assessment's recommendation)."""
    current = selectors.session_plan_current(referral)
    return PlanEditPage(
        current=current,
        sites=list(user.service.sites.all()),
        initial=_plan_initial(referral, current),
    )


def _plan_initial(referral: Referral, plan: SessionPlan | None) -> dict:
    if plan is None:
        recommendation = referral_recommendation(referral=referral)
        weekly = recommendation.sessions_per_week if recommendation else None
        return {
            "sessions_per_week": str(weekly or 1),
            "measures_every_sessions": 4,
            "repeat_measures": ["phq9", "gad7", "core10"],
        }
    initial = {
        "length": plan.length,
        "session_count": plan.session_count,
        "sessions_per_week": str(plan.sessions_per_week),
        "mode": plan.mode,
        "site": str(plan.site.public_id) if plan.site_id else "",
        "room": plan.room,
        "starts_on": plan.starts_on,
        "ends_on": plan.ends_on,
        "ending_plan": plan.ending_plan,
        "couch_discussed": plan.couch_discussed,
        "measures_every_sessions": plan.measures_every_sessions,
        "repeat_measures": plan.repeat_measures,
    }
    for row, item in enumerate(plan.regular_times, start=1):
        initial[f"day_{row}"] = str(item["weekday"])
        initial[f"time_{row}"] = item["time"]
    for row, review in enumerate(plan.review_dates[:3], start=1):
        initial[f"review_{row}"] = date.fromisoformat(review)
    return initial


@dataclass(frozen=True)
class BreakAddPage:
    plan: SessionPlan | None


def break_add_page(*, referral: Referral) -> BreakAddPage:
    """Adding a break: the plan it goes into (None until a plan is agreed)."""
    return BreakAddPage(plan=selectors.session_plan_current(referral))


# --- Goals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalsPage:
    goals: list[Goal]
    active: list[Goal]
    may_change: bool
    room_for_more: bool
    max_goals: int


def goals_page(*, user, referral: Referral) -> GoalsPage:
    """Every goal with its ratings, the active ones, and whether this user may change them."""
    goals = selectors.goals_for(referral=referral)
    active = [g for g in goals if g.status == Goal.Status.ACTIVE]
    return GoalsPage(
        goals=goals,
        active=active,
        # The client's current therapist: the rule the API's ratings ask too (common.access).
        may_change=access.may_change(user, "record_therapy", referral),
        room_for_more=len(active) < services.MAX_ACTIVE_GOALS,
        max_goals=services.MAX_ACTIVE_GOALS,
    )


# --- Sessions and repeated questionnaires ---------------------------------------------------


@dataclass(frozen=True)
class SessionsPage:
    sessions: list[TherapySession]
    may_record: bool
    non_attendance: selectors.NonAttendance


def sessions_page(*, user, referral: Referral) -> SessionsPage:
    """Every session, newest first, and where the client stands on non-attendance."""
    return SessionsPage(
        sessions=selectors.sessions_for(referral=referral),
        # The client's current therapist: the rule the API's sessions ask too (common.access).
        may_record=access.may_change(user, "record_therapy", referral),
        non_attendance=selectors.non_attendance_state(referral),
    )


@dataclass(frozen=True)
class SessionMeasuresPage:
    session: TherapySession
    codes: list[str]


def session_measures_page(*, referral: Referral, session_id: UUID) -> SessionMeasuresPage:
    """Recording a session's questionnaires: the session (TherapySession.DoesNotExist if it
    is not this client's) and the questionnaires the plan repeats."""
    session = selectors.session_get(referral=referral, public_id=session_id)
    plan = selectors.session_plan_current(referral)
    codes = plan.repeat_measures if plan and plan.repeat_measures else ["phq9", "gad7"]
    return SessionMeasuresPage(session=session, codes=codes)


# --- Progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressPage:
    progress: selectors.Progress
    may_review: bool
    requests_open: list  # questionnaires the client is asked to complete online
    may_ask: bool


def progress_page(*, user, referral: Referral) -> ProgressPage:
    return ProgressPage(
        progress=selectors.progress_overview(referral=referral),
        may_review=selectors.is_current_therapist(user=user, referral=referral),
        requests_open=selectors.questionnaire_requests_open(referral=referral),
        may_ask=referral.status == Referral.Status.IN_THERAPY,
    )


# --- Non-attendance and endings -------------------------------------------------------------


@dataclass(frozen=True)
class NonAttendancePage:
    state: selectors.NonAttendance
    may_act: bool
    in_therapy: bool
    gp_ok: bool


def non_attendance_page(*, user, referral: Referral) -> NonAttendancePage:
    """Where the client stands on non-attendance, whether this user may act on it, and
    whether their consent lets the discharge letter go to their GP too."""
    return NonAttendancePage(
        state=selectors.non_attendance_state(referral),
        may_act=selectors.is_current_therapist(user=user, referral=referral)
        or user.has_role(roles.COORDINATOR),
        in_therapy=selectors.therapy_current(referral=referral) is not None,
        gp_ok=gp_share_ok(referral=referral),
    )


@dataclass(frozen=True)
class TherapyEndPage:
    ending_plan: str
    gp_ok: bool


def therapy_end_page(*, referral: Referral) -> TherapyEndPage:
    """Ending therapy: the ending the plan foresaw, and whether the client's consent lets a
    summary go to their GP."""
    plan = selectors.session_plan_current(referral)
    return TherapyEndPage(
        ending_plan=plan.ending_plan if plan else "",
        gp_ok=gp_share_ok(referral=referral),
    )
