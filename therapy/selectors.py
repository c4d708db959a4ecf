"""Reads for therapy pages and for allocation and the staff home. Every staff-facing read
starts from common.selectors.scope_to_service; therapists reach only the clients they see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.core.paginator import Page
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

import measures
from assessment.forms import WEEKDAY_NAMES
from assessment.models import Assessment, AssessmentMeasure
from assessment.selectors import FLAG_LIMIT, Recommendation, score_text
from common import access, roles
from common.models import User
from common.paging import page_of, page_with_rows
from common.selectors import counts_by_referral, scope_to_service
from intake.models import MeasureResponse, Referral, RiskFlag
from therapy import charts, tracking
from therapy.forms import BREAK_KIND_NAMES
from therapy.models import (
    Goal,
    NonAttendanceStep,
    ProgressFlag,
    QuestionnaireRequest,
    SessionPlan,
    SessionResponse,
    Therapy,
    TherapySession,
)

# --- The session plan -----------------------------------------------------------------------


def session_plan_current(referral: Referral) -> SessionPlan | None:
    """The plan in force: the highest version. For the client portal as well as staff pages;
    the caller has already decided the person may see this referral."""
    return (
        SessionPlan.objects.filter(referral=referral)
        .select_related("site", "created_by")
        .order_by("-version")
        .first()
    )


def session_plan_history(*, referral: Referral) -> QuerySet[SessionPlan]:
    return (
        SessionPlan.objects.filter(referral=referral)
        .select_related("site", "created_by")
        .order_by("-version")
    )


def plan_description(plan: SessionPlan) -> dict:
    """Plain words for a plan, shared by the plan page and its history."""
    times = [
        f"{WEEKDAY_NAMES[str(t['weekday'])]} at {t['time']}" for t in (plan.regular_times or [])
    ]
    if plan.length == SessionPlan.Length.FIXED:
        length = f"{plan.session_count} sessions"
    else:
        length = "Open-ended, with reviews"
    where = plan.get_mode_display()
    if plan.site_id:
        where = ", ".join(p for p in (plan.site.name, plan.room) if p)
    breaks = [
        {
            **item,
            "starts": date.fromisoformat(item["starts_on"]),
            "ends": date.fromisoformat(item["ends_on"]),
            "kind_name": BREAK_KIND_NAMES.get(item["kind"], item["kind"]),
        }
        for item in plan.breaks
    ]
    return {
        "length": length,
        "frequency": "Once a week"
        if plan.sessions_per_week == 1
        else f"{plan.sessions_per_week} times a week",
        "times": times,
        "where": where,
        "reviews": [date.fromisoformat(d) for d in plan.review_dates],
        "breaks": breaks,
        "measures": ", ".join(measures.get_measure(c).name for c in plan.repeat_measures),
    }


# --- Therapy: who may see which client -------------------------------------------------------


def therapy_current(*, referral: Referral) -> Therapy | None:
    return (
        Therapy.objects.filter(referral=referral, ended_on=None).select_related("therapist").first()
    )


def care_referral_get(*, user, public_id: UUID) -> Referral:
    """A referral the user may see therapy records for: coordinators see their service's,
    therapists only the clients they see or saw. Referral.DoesNotExist otherwise, so another
    therapist's client looks exactly like one that does not exist."""
    referrals = scope_to_service(Referral.objects.select_related("client"), user).filter(
        public_id=public_id
    )
    if user.has_role(roles.COORDINATOR):
        return referrals.get()
    if user.has_role(roles.THERAPIST):
        return referrals.filter(therapies__therapist=user).distinct().get()
    raise Referral.DoesNotExist


def is_current_therapist(*, user, referral: Referral) -> bool:
    return Therapy.objects.filter(referral=referral, ended_on=None, therapist=user).exists()


def therapists_in_service(*, user) -> QuerySet[User]:
    return (
        scope_to_service(User.objects.all(), user)
        .filter(is_active=True, groups__name=roles.THERAPIST)
        .distinct()
        .order_by("last_name", "first_name")
    )


@dataclass(frozen=True)
class CaseloadRow:
    therapy: Therapy
    plan: SessionPlan | None
    open_progress_flags: int
    open_risk_flags: int
    measures_due: bool
    missed_in_a_row: int
    next_review: date | None


def therapist_caseload(*, user, page=1) -> Page:
    """One page of the clients this therapist sees now (rows are CaseloadRow): in therapy,
    not those allocated whose first session is still to come (the staff home lists them)."""
    therapies = (
        scope_to_service(Therapy.objects.select_related("referral__client"), user)
        .filter(therapist=user, ended_on=None, referral__status=Referral.Status.IN_THERAPY)
        .order_by("started_on", "id")
    )
    chosen = page_of(therapies, page=page)
    return page_with_rows(chosen, _caseload_rows(list(chosen)))


def service_therapies(*, user, page=1) -> Page:
    """One page of everyone in therapy in the service now, for coordinators.

    The page's therapies are chosen by id first and then read with their clients and
    therapists: joined before the page is cut, the clients and therapists of everyone in
    therapy (1,500 in a large service) were looked up to show 50."""
    therapies = (
        scope_to_service(Therapy.objects.all(), user)
        .filter(ended_on=None, referral__status=Referral.Status.IN_THERAPY)
        .order_by("started_on", "id")
    )
    chosen = page_of(therapies.values_list("pk", flat=True), page=page)
    shown = (
        Therapy.objects.select_related("referral__client", "therapist")
        .only(
            "referral_id",
            "started_on",
            *(f"referral__{name}" for name in _REFERRAL_SHOWN),
            *_THERAPIST_SHOWN,
        )
        .in_bulk(list(chosen))
    )
    return page_with_rows(chosen, _caseload_rows([shown[pk] for pk in chosen]))


def _caseload_rows(therapies: list[Therapy]) -> list[CaseloadRow]:
    """Rows for one page of therapies in a fixed number of queries, whatever the page holds:
    the plans, the sessions (with whether each had questionnaires) and the open flags of
    all of them at once."""
    ids = [therapy.referral_id for therapy in therapies]
    plans: dict[int, SessionPlan] = {}
    for plan in SessionPlan.objects.filter(referral_id__in=ids).order_by("version"):
        plans[plan.referral_id] = plan  # the highest version wins
    sessions: dict[int, list[TherapySession]] = {}
    with_measures = SessionResponse.objects.filter(session=OuterRef("pk"))
    for session in (
        TherapySession.objects.filter(referral_id__in=ids)
        .only("referral_id", "occurred_on", "attendance")
        .annotate(had_measures=Exists(with_measures))
    ):
        sessions.setdefault(session.referral_id, []).append(session)
    progress = counts_by_referral(ProgressFlag, ids, reviewed_at__isnull=True)
    risk = counts_by_referral(RiskFlag, ids, acknowledged_at__isnull=True)
    online = _online_last_on(ids)
    today = timezone.localdate()
    rows = []
    for therapy in therapies:
        referral_id = therapy.referral_id
        plan = plans.get(referral_id)
        every = plan.measures_every_sessions if plan else 4
        reviews = [date.fromisoformat(d) for d in (plan.review_dates if plan else [])]
        held = sessions.get(referral_id, [])
        missed, _ = missed_in_a_row(held)
        rows.append(
            CaseloadRow(
                therapy=therapy,
                plan=plan,
                open_progress_flags=progress.get(referral_id, 0),
                open_risk_flags=risk.get(referral_id, 0),
                measures_due=_attended_since_measures(held, online.get(referral_id)) >= every,
                missed_in_a_row=missed,
                next_review=next((d for d in reviews if d >= today), None),
            )
        )
    return rows


def _attended_since_measures(sessions: list[TherapySession], online: date | None = None) -> int:
    """attended_since_measures over sessions already read (had_measures set), with the day
    questionnaires were last done online."""
    last = max((s.occurred_on for s in sessions if s.had_measures), default=None)
    if online is not None and (last is None or online > last):
        last = online
    return sum(
        1
        for s in sessions
        if s.attendance == TherapySession.Attendance.ATTENDED
        and (last is None or s.occurred_on > last)
    )


# What the overview's rows show, and all a list reads (`.only()`): a referral's other
# columns, and its assessment's answers, are encrypted and would be decrypted for nothing.
_REFERRAL_SHOWN = (
    "public_id",
    "reference",
    "received_at",
    "client__given_name",
    "client__preferred_name",
    "client__family_name",
)
_ASSESSMENT_SHOWN = (
    "assessment__referral_id",
    "assessment__status",
    "assessment__recommendation_choice",
    "assessment__recommendation_modality",
    "assessment__recommendation_sessions_per_week",
    "assessment__finished_at",
)
_THERAPIST_SHOWN = ("therapist__username", "therapist__first_name", "therapist__last_name")


def waiting_for_therapy(*, user, page=1, allocated: bool = False) -> Page:
    """One page of referrals waiting for therapy to start, oldest first: those waiting for
    a therapist, or (`allocated`) those allocated whose first session is still to come.
    Rows are (referral, its Recommendation or None, its planned Therapy or None)."""
    status = Referral.Status.ALLOCATED if allocated else Referral.Status.AWAITING_ALLOCATION
    referrals = (
        scope_to_service(Referral.objects.select_related("client", "assessment"), user)
        .filter(status=status)
        .order_by("received_at", "id")
        .only(*_REFERRAL_SHOWN, *_ASSESSMENT_SHOWN)
    )
    chosen = page_of(referrals, page=page)
    planned = {}
    if allocated:
        planned = {
            t.referral_id: t
            for t in Therapy.objects.filter(referral_id__in=[r.pk for r in chosen], ended_on=None)
            .select_related("therapist")
            .only("referral_id", "started_on", "first_appointment_at", *_THERAPIST_SHOWN)
        }
    return page_with_rows(chosen, [(r, _recommendation_of(r), planned.get(r.pk)) for r in chosen])


def _recommendation_of(referral: Referral) -> Recommendation | None:
    try:
        assessment = referral.assessment
    except Assessment.DoesNotExist:
        return None
    if assessment.status != Assessment.Status.FINISHED:
        return None
    return Recommendation(
        referral_id=referral.pk,
        choice=assessment.recommendation_choice,
        modality=assessment.recommendation_modality,
        sessions_per_week=assessment.recommendation_sessions_per_week,
        recommended_at=assessment.finished_at,
    )


def progress_flags_open(*, user, therapist=None, limit: int = FLAG_LIMIT) -> QuerySet:
    """The oldest open progress flags (at most `limit`), of the service or of the clients
    one therapist sees now."""
    flags = scope_to_service(ProgressFlag.objects.select_related("referral__client"), user).filter(
        reviewed_at__isnull=True
    )
    if therapist is not None:
        flags = flags.filter(
            referral__therapies__therapist=therapist, referral__therapies__ended_on=None
        ).distinct()
    return flags.order_by("raised_at", "id")[:limit]


@dataclass(frozen=True)
class CaseloadPage:
    rows: Page
    flags: QuerySet


def caseload_page(*, user, page=1) -> CaseloadPage:
    """The therapist's own clients page."""
    return CaseloadPage(
        rows=therapist_caseload(user=user, page=page),
        flags=progress_flags_open(user=user, therapist=user),
    )


@dataclass(frozen=True)
class TherapyOverview:
    allocated: Page
    waiting: Page
    rows: Page
    flags: QuerySet


def therapy_overview(*, user, page=1, waiting_page=1, allocated_page=1) -> TherapyOverview:
    """The coordinator's therapy page: who is allocated and waits for a first session, who
    waits for a therapist, who is in therapy (each list paged on its own), and what is not
    on track."""
    return TherapyOverview(
        allocated=waiting_for_therapy(user=user, page=allocated_page, allocated=True),
        waiting=waiting_for_therapy(user=user, page=waiting_page),
        rows=service_therapies(user=user, page=page),
        flags=progress_flags_open(user=user),
    )


# --- Goals, sessions and progress -----------------------------------------------------------


def goals_for(*, referral: Referral) -> list[Goal]:
    return list(
        Goal.objects.filter(referral=referral).prefetch_related("ratings").order_by("agreed_on")
    )


def sessions_for(*, referral: Referral) -> list[TherapySession]:
    return list(
        TherapySession.objects.filter(referral=referral)
        .annotate(measures_recorded=Count("measure_responses"))
        .order_by("-occurred_on")
    )


def session_get(*, referral: Referral, public_id: UUID) -> TherapySession:
    return TherapySession.objects.get(referral=referral, public_id=public_id)


CHART_SCALES = {
    measures.PHQ9: (27, [(measures.PHQ9_CASENESS, "Caseness 10")]),
    measures.GAD7: (21, [(measures.GAD7_CASENESS, "Caseness 8")]),
    measures.CORE10: (40, [(11, "Clinical cut-off 11")]),
    measures.WSAS: (40, [(10, "Significant impairment 10"), (21, "Moderately severe 21")]),
}
CONTEXT_NAMES = {
    MeasureResponse.Context.SELF_REFERRAL: "Self-referral",
    MeasureResponse.Context.ASSESSMENT: "Assessment",
    MeasureResponse.Context.REVIEW: "During therapy",
    MeasureResponse.Context.PORTAL: "Online, during therapy",
}


@dataclass(frozen=True)
class MeasureTable:
    code: str
    name: str
    title: str
    rows: list[dict]
    chart: str


@dataclass(frozen=True)
class GoalTable:
    goals: list[Goal]
    dates: list[date]
    rows: list[dict]  # {"on": date, "scores": [score or None per goal]}
    chart: str


@dataclass(frozen=True)
class Progress:
    referral: Referral
    therapy: Therapy | None
    plan: SessionPlan | None
    measures: list[MeasureTable]
    goals: GoalTable | None
    evaluations: list[tracking.Evaluation]
    latest: tracking.Evaluation | None
    baseline: tracking.TimePoint | None
    flags: list[ProgressFlag]
    risk_flags: list[RiskFlag]
    attended: int
    finished_treatment: bool
    non_attendance: NonAttendance
    measures_due: bool


# The same lines in the client's words, for their own page in the portal.
CLIENT_THRESHOLDS = {
    measures.PHQ9: [(measures.PHQ9_CASENESS, "Usual cut-off 10")],
    measures.GAD7: [(measures.GAD7_CASENESS, "Usual cut-off 8")],
}


def measure_tables(*, referral: Referral, for_client: bool = False) -> list[MeasureTable]:
    """Each questionnaire's totals over time: a chart and the table it pictures. For the
    progress page and (`for_client`, the lines named in plain words) for the client's own
    page in the portal."""
    responses = list(
        MeasureResponse.objects.filter(referral=referral).order_by("completed_at", "id")
    )
    tables = []
    for code, measure in measures.MEASURES.items():
        own = [r for r in responses if r.measure == code]
        if not own:
            continue
        y_max, thresholds = CHART_SCALES[code]
        if for_client:
            thresholds = CLIENT_THRESHOLDS.get(code, thresholds)
        rows = [
            {
                "on": timezone.localtime(r.completed_at).date(),
                "occasion": CONTEXT_NAMES.get(r.context, r.context),
                "total": None if r.total is None else float(r.total),
                "result": score_text(r.total, r.band, r.withheld_reason),
            }
            for r in own
        ]
        points = tuple((row["on"], row["total"]) for row in rows if row["total"] is not None)
        chart = ""
        if points:
            chart = charts.line_chart(
                chart_id=f"chart-{code}",
                title=f"{measure.name} totals over time",
                description=_chart_description(measure.name, points, y_max),
                series=[charts.Series(measure.name, points)],
                y_max=y_max,
                y_label="Total",
                thresholds=thresholds,
            )
        tables.append(MeasureTable(code, measure.name, measure.title, rows, chart))
    return tables


def progress_overview(*, referral: Referral) -> Progress:
    tables = measure_tables(referral=referral)
    goals = goals_for(referral=referral)
    goal_table = None
    if goals:
        dates = sorted({rating.rated_on for goal in goals for rating in goal.ratings.all()})
        scores = {
            (goal.pk, rating.rated_on): rating.score
            for goal in goals
            for rating in goal.ratings.all()
        }
        rows = [{"on": d, "scores": [scores.get((g.pk, d)) for g in goals]} for d in dates]
        series = [
            charts.Series(
                f"Goal {n}",
                tuple((r.rated_on, r.score) for r in goal.ratings.all()),
            )
            for n, goal in enumerate(goals, start=1)
        ]
        chart = charts.line_chart(
            chart_id="chart-goals",
            title="Goal ratings over time",
            description=f"Ratings from 0 to 10 for {len(goals)} goal"
            f"{'s' if len(goals) > 1 else ''}, higher is closer to the goal. "
            "The table below gives every rating.",
            series=series,
            y_max=10,
            y_label="Rating",
        )
        goal_table = GoalTable(goals, dates, rows, chart)
    evaluations = progress_evaluations(referral)
    classified = [e for e in evaluations if e.change is not None]
    attended = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    ).count()
    plan = session_plan_current(referral)
    every = plan.measures_every_sessions if plan else 4
    baseline = assessment_baseline(referral) or tracking.baseline_of(_time_points(referral))
    return Progress(
        referral=referral,
        therapy=therapy_current(referral=referral),
        plan=plan,
        measures=tables,
        goals=goal_table,
        evaluations=evaluations,
        latest=classified[-1] if classified else None,
        baseline=baseline,
        flags=list(
            ProgressFlag.objects.filter(referral=referral)
            .select_related("reviewed_by")
            .order_by("-raised_at")
        ),
        risk_flags=list(RiskFlag.objects.filter(referral=referral, acknowledged_at__isnull=True)),
        attended=attended,
        finished_treatment=measures.finished_treatment(attended),
        non_attendance=non_attendance_state(referral),
        measures_due=attended_since_measures(referral) >= every,
    )


def _chart_description(name: str, points, y_max) -> str:
    first, last = points[0], points[-1]
    if len(points) == 1:
        return f"One {name} total of {first[1]:g} out of {y_max} on {first[0]:%-d %B %Y}."
    return (
        f"{len(points)} {name} totals out of {y_max}, from {first[1]:g} on "
        f"{first[0]:%-d %B %Y} to {last[1]:g} on {last[0]:%-d %B %Y}. Lower is better. "
        "The table below gives every total."
    )


# --- Sessions, progress and non-attendance: reads the services share ---------------------


def missed_in_a_row(sessions: Sequence[TherapySession]) -> tuple[int, date | None]:
    """How many of the latest sessions the client did not attend, in a row, and the date
    of the first of them. A session the service cancelled neither counts nor breaks the
    run; one the client attended or cancelled themselves (they were in touch) ends it."""
    count, first = 0, None
    for session in sorted(sessions, key=lambda s: s.occurred_on, reverse=True):
        if session.attendance == TherapySession.Attendance.CANCELLED_BY_SERVICE:
            continue
        if session.attendance != TherapySession.Attendance.DID_NOT_ATTEND:
            break
        count += 1
        first = session.occurred_on
    return count, first


def attended_since_measures(referral: Referral) -> int:
    """Attended sessions since questionnaires were last repeated: at a session, or online
    in the client portal (a session on the day they were done online does not count)."""
    last = (
        TherapySession.objects.filter(referral=referral, measure_responses__isnull=False)
        .order_by("-occurred_on")
        .values_list("occurred_on", flat=True)
        .first()
    )
    online = _online_last_on([referral.pk]).get(referral.pk)
    if online is not None and (last is None or online > last):
        last = online
    attended = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    )
    if last is not None:
        attended = attended.filter(occurred_on__gt=last)
    return attended.count()


def _online_last_on(referral_ids: Sequence[int]) -> dict[int, date]:
    """The day each referral's client last completed a questionnaire in the portal."""
    latest = (
        MeasureResponse.objects.filter(
            referral_id__in=list(referral_ids), context=MeasureResponse.Context.PORTAL
        )
        .values("referral_id")
        .annotate(at=Max("completed_at"))
    )
    return {row["referral_id"]: timezone.localtime(row["at"]).date() for row in latest}


def _time_points(referral: Referral) -> list[tracking.TimePoint]:
    by_day: dict[date, dict[str, int]] = {}
    for response in MeasureResponse.objects.filter(
        referral=referral, measure__in=[measures.PHQ9, measures.GAD7], total__isnull=False
    ).order_by("completed_at", "id"):
        day = timezone.localtime(response.completed_at).date()
        by_day.setdefault(day, {})[response.measure] = int(response.total)
    return [
        tracking.TimePoint(on=day, phq9=values.get(measures.PHQ9), gad7=values.get(measures.GAD7))
        for day, values in sorted(by_day.items())
    ]


def assessment_baseline(referral: Referral) -> tracking.TimePoint | None:
    """The assessment's PHQ-9 and GAD-7 (entered or reused), when both were scored."""
    rows = {
        row.measure: row.response
        for row in AssessmentMeasure.objects.filter(
            assessment__referral=referral,
            measure__in=[measures.PHQ9, measures.GAD7],
            response__isnull=False,
            response__total__isnull=False,
        ).select_related("response")
    }
    if len(rows) < 2:
        return None
    day = max(timezone.localtime(r.completed_at).date() for r in rows.values())
    return tracking.TimePoint(
        on=day, phq9=int(rows[measures.PHQ9].total), gad7=int(rows[measures.GAD7].total)
    )


def progress_evaluations(referral: Referral) -> list[tracking.Evaluation]:
    plan = SessionPlan.objects.filter(referral=referral).order_by("-version").first()
    reviews = [date.fromisoformat(d) for d in (plan.review_dates if plan else [])]
    return tracking.evaluate_series(
        _time_points(referral), review_dates=reviews, baseline=assessment_baseline(referral)
    )


MISSED_BEFORE_POLICY = 2


@dataclass(frozen=True)
class NonAttendance:
    missed_in_a_row: int
    run_started_on: date | None
    letter_step: NonAttendanceStep | None

    @property
    def policy_applies(self) -> bool:
        return self.missed_in_a_row >= MISSED_BEFORE_POLICY

    @property
    def letter_due(self) -> bool:
        return self.policy_applies and self.letter_step is None

    @property
    def discharge_possible(self) -> bool:
        return self.policy_applies and self.letter_step is not None


def non_attendance_state(referral: Referral) -> NonAttendance:
    missed, started = missed_in_a_row(list(TherapySession.objects.filter(referral=referral)))
    letter = None
    if started is not None:
        letter = (
            NonAttendanceStep.objects.filter(
                referral=referral,
                step=NonAttendanceStep.Step.LETTER,
                created_at__date__gte=started,
            )
            .order_by("-created_at")
            .first()
        )
    return NonAttendance(missed, started, letter)


def goal_get(*, referral: Referral, public_id: UUID) -> Goal | None:
    return Goal.objects.filter(referral=referral, public_id=public_id).first()


def progress_flag_get(*, referral: Referral, public_id: UUID) -> ProgressFlag | None:
    return ProgressFlag.objects.filter(referral=referral, public_id=public_id).first()


# --- Questionnaires the client completes online (the client portal) -----------------------


@dataclass(frozen=True)
class QuestionnaireDue:
    """A questionnaire the client may complete in the portal now, and why."""

    code: str
    measure: measures.Measure
    by_plan: bool  # the session plan repeats it, and its turn has come
    request: QuestionnaireRequest | None  # someone in their care asked for it


def questionnaire_requests_open(*, referral: Referral) -> list[QuestionnaireRequest]:
    """The questionnaires the client has been asked to complete online and has not yet."""
    return list(
        QuestionnaireRequest.objects.filter(referral=referral, completed_at__isnull=True)
        .select_related("asked_by")
        .order_by("asked_at", "id")[: len(measures.MEASURES)]
    )


def _attended_since_each(referral: Referral, codes: Sequence[str]) -> dict[str, int]:
    """For each questionnaire, attended sessions since it was last repeated during therapy
    (at a session or online; a session on that same day does not count)."""
    last: dict[str, date] = {}
    for row in (
        MeasureResponse.objects.filter(
            referral=referral,
            measure__in=list(codes),
            context__in=[MeasureResponse.Context.REVIEW, MeasureResponse.Context.PORTAL],
        )
        .values("measure")
        .annotate(at=Max("completed_at"))
    ):
        last[row["measure"]] = timezone.localtime(row["at"]).date()
    counts = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    ).aggregate(
        **{
            code: Count("id", filter=Q(occurred_on__gt=last[code])) if code in last else Count("id")
            for code in codes
        }
    )
    return {code: counts[code] for code in codes}


def questionnaires_due(*, referral: Referral) -> list[QuestionnaireDue]:
    """What the client may complete in the portal now (docs/portal.md, "Questionnaires").

    Only while the referral is in therapy. A questionnaire the session plan repeats is due
    from the session before its turn (when the reminder is sent: "before your next
    session") until it is done: when the attended sessions since it was last repeated
    during therapy reach `measures_every_sessions` - 1 (at least one). One asked for
    from the progress page is due until the client completes it. Completing it online
    closes both.
    """
    if referral.status != Referral.Status.IN_THERAPY:
        return []
    plan = session_plan_current(referral)
    requests = {r.measure: r for r in questionnaire_requests_open(referral=referral)}
    planned = list(plan.repeat_measures) if plan else []
    by_plan: set[str] = set()
    if planned:
        since = _attended_since_each(referral, planned)
        # From the session before its turn; never before one session has passed.
        turn = max(plan.measures_every_sessions - 1, 1)
        by_plan = {code for code in planned if since[code] >= turn}
    return [
        QuestionnaireDue(
            code=code,
            measure=measure,
            by_plan=code in by_plan,
            request=requests.get(code),
        )
        for code, measure in measures.MEASURES.items()
        if code in by_plan or code in requests
    ]


def online_response_get(*, referral: Referral, public_id: UUID) -> MeasureResponse | None:
    """A questionnaire this client completed in the portal, or None if it is not one."""
    return MeasureResponse.objects.filter(
        referral=referral, public_id=public_id, context=MeasureResponse.Context.PORTAL
    ).first()


# --- The REST API's reads (api/) ----------------------------------------------------------------


def care_referrals(*, user) -> QuerySet[Referral]:
    """The referrals whose therapy record the user reads: a coordinator the service's, a
    therapist the clients they see or saw (care_referral_get, as a query)."""
    referrals = scope_to_service(Referral.objects.all(), user)
    if not access.holds_staff_roles(user):
        return referrals.none()
    if user.has_role(roles.COORDINATOR):
        return referrals
    if user.has_role(roles.THERAPIST):
        return referrals.filter(
            Exists(Therapy.objects.filter(referral=OuterRef("pk"), therapist=user))
        )
    return referrals.none()


def own_client(*, user):
    """An expression for rows with a `referral`: true where the user is (or was) the client's
    therapist, who alone reads the record's words (common.access "referral.clinical_text")."""
    return Exists(Therapy.objects.filter(referral=OuterRef("referral_id"), therapist=user))


def goals_readable(*, user) -> QuerySet[Goal]:
    return scope_to_service(Goal.objects.all(), user).filter(referral__in=care_referrals(user=user))


def session_plans_readable(*, user) -> QuerySet[SessionPlan]:
    return scope_to_service(SessionPlan.objects.all(), user).filter(
        referral__in=care_referrals(user=user)
    )


def sessions_readable(*, user) -> QuerySet[TherapySession]:
    return scope_to_service(TherapySession.objects.all(), user).filter(
        referral__in=care_referrals(user=user)
    )
