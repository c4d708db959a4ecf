"""Reads for assessment and therapy pages. Every staff-facing read starts from
common.selectors.scope_to_service; therapists reach only the clients they see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from assessment import charts, measures, services, tracking
from assessment.forms import (
    BREAK_KIND_NAMES,
    MODALITY_NAMES,
    RELATIONSHIP_PATTERNS,
    RISK_DOMAINS,
    RISK_LEVELS,
    WEEKDAY_NAMES,
)
from assessment.models import (
    Assessment,
    AssessmentAppointment,
    AssessmentMeasure,
    Goal,
    MeasureResponse,
    ProgressFlag,
    RiskAnswer,
    RiskFlag,
    SectionStatus,
    SessionPlan,
    Therapy,
    TherapySession,
)
from common import roles
from common.models import User
from common.selectors import scope_to_service
from intake.models import Referral

# --- Assessor worklist ----------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistRow:
    referral: Referral
    open_flags: int
    booking: AssessmentAppointment | None
    assessment: Assessment | None

    @property
    def weeks_waiting(self) -> int:
        return (timezone.now() - self.referral.received_at).days // 7


def assessment_worklist(*, user) -> list[WorklistRow]:
    """Referrals waiting for assessment: open risk flags first, then the highest risk, then
    the longest wait."""
    referrals = (
        scope_to_service(Referral.objects.select_related("client", "assessment"), user)
        .filter(status__in=services.WAITING_FOR_ASSESSMENT)
        .annotate(
            open_flags=Count("risk_flags", filter=Q(risk_flags__acknowledged_at__isnull=True)),
            risk_rank=Case(
                When(risk_level=Referral.Risk.HIGH, then=Value(3)),
                When(risk_level=Referral.Risk.MEDIUM, then=Value(2)),
                When(risk_level=Referral.Risk.LOW, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .annotate(
            flagged=Case(
                When(open_flags__gt=0, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        )
        .prefetch_related(
            Prefetch(
                "assessment_appointments",
                queryset=AssessmentAppointment.objects.filter(
                    status=AssessmentAppointment.Status.BOOKED
                ).select_related("site"),
                to_attr="bookings",
            )
        )
        .order_by("-flagged", "-risk_rank", "received_at")
    )
    rows = []
    for referral in referrals:
        try:
            assessment = referral.assessment
        except Assessment.DoesNotExist:
            assessment = None
        rows.append(
            WorklistRow(
                referral=referral,
                open_flags=referral.open_flags,
                booking=referral.bookings[0] if referral.bookings else None,
                assessment=assessment,
            )
        )
    return rows


def risk_flags_open(*, user) -> QuerySet[RiskFlag]:
    return (
        scope_to_service(RiskFlag.objects.select_related("referral__client"), user)
        .filter(acknowledged_at__isnull=True)
        .order_by("raised_at")
    )


def assessor_referral_get(*, user, public_id: UUID) -> Referral:
    """A referral of the user's service (Referral.DoesNotExist otherwise)."""
    return scope_to_service(Referral.objects.select_related("client"), user).get(
        public_id=public_id
    )


def booking_current(*, referral: Referral) -> AssessmentAppointment | None:
    return (
        AssessmentAppointment.objects.filter(
            referral=referral, status=AssessmentAppointment.Status.BOOKED
        )
        .select_related("site")
        .first()
    )


def assessment_get(*, user, public_id: UUID) -> Assessment:
    """An assessment of the user's service (Assessment.DoesNotExist otherwise)."""
    return scope_to_service(
        Assessment.objects.select_related("referral__client", "assessor", "finished_by"), user
    ).get(public_id=public_id)


def self_referral_responses(*, referral: Referral) -> dict[str, MeasureResponse]:
    return services.self_referral_responses(referral)


def gp_share_ok(*, referral: Referral) -> bool:
    return services._gp_share_ok(referral)


# --- Showing an assessment ------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    step: str
    title: str
    state: str  # "" for an answer; otherwise "Not asked yet" or "The client chose not to say"
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class MeasureRow:
    code: str
    name: str
    source: str
    result: str
    risk_items: tuple[int, ...] = ()


TEXT_SECTIONS = [
    (
        "presenting",
        "Presenting difficulties",
        [("own_words", "In their own words"), ("impact", "How it affects them and others")],
    ),
    (
        "relationships",
        "Relationships and patterns",
        [("patterns", "Patterns recognised"), ("detail", "As the client described them")],
    ),
    (
        "history",
        "History and previous help",
        [("background", "Background and history"), ("previous_help", "Previous help")],
    ),
    (
        "circumstances",
        "Current circumstances and support",
        [("living", "Current circumstances"), ("support", "Support")],
    ),
]
_PATTERNS = dict(RELATIONSHIP_PATTERNS)


def _state(value: str) -> str:
    if value in (SectionStatus.DECLINED, SectionStatus.NOT_ASKED):
        return SectionStatus(value).label
    if not value:
        return SectionStatus.NOT_ASKED.label
    return ""


def score_text(total, band: str, withheld: str) -> str:
    if total is None:
        return f"Not scored: {withheld}" if withheld else "Not scored"
    return f"{float(total):g} ({band})" if band else f"{float(total):g}"


def assessment_sections(values: dict, measure_rows: list[MeasureRow]) -> list[Section]:
    """The assessment as pages show it (the check page from the wizard's answers, the
    read-only page from the stored row): only what was shared, and the state of the rest."""
    sections = []
    for step, title, fields in TEXT_SECTIONS:
        state = _state(values.get(f"{step}_status", ""))
        rows = []
        if not state:
            for name, label in fields:
                value = values.get(f"{step}_{name}")
                if isinstance(value, list):
                    value = ", ".join(str(_PATTERNS.get(v, v)) for v in value)
                if value:
                    rows.append(Row(label, value))
        sections.append(Section(step, title, state, rows))

    rows = []
    for name, label, _ in RISK_DOMAINS:
        answer = values.get(f"risk_{name}") or ""
        text = RiskAnswer(answer).label if answer in RiskAnswer.values else "Not asked yet"
        detail = values.get(f"risk_{name}_detail")
        rows.append(Row(label, f"{text}: {detail}" if detail else text))
    level = dict(RISK_LEVELS).get(values.get("risk_level") or "", "Not recorded")
    rows.append(Row("Overall level", str(level)))
    if values.get("risk_plan"):
        rows.append(Row("Plan to keep the client safe", values["risk_plan"]))
    sections.append(Section("risk", "Risk", "", rows))

    sections.append(
        Section(
            "measures",
            "Questionnaires",
            "",
            [
                Row(m.name, f"{m.source}. {m.result}" if m.result else m.source)
                for m in measure_rows
            ],
        )
    )

    state = _state(values.get("formulation_status", ""))
    rows = []
    if not state:
        if values.get("formulation_text"):
            rows.append(Row("Formulation", values["formulation_text"]))
        explained = values.get("formulation_approach_explained")
        if explained:
            rows.append(Row("Approach explained", "Yes" if explained == "yes" else "No"))
        view = values.get("formulation_client_view")
        if view:
            rows.append(Row("How the client saw it", Assessment.ClientView(view).label))
        if values.get("formulation_client_view_words"):
            rows.append(Row("In their words", values["formulation_client_view_words"]))
    sections.append(Section("formulation", "Formulation", state, rows))

    rows = []
    choice = values.get("recommendation_choice")
    if choice:
        rows.append(Row("Recommendation", Assessment.Recommendation(choice).label))
        modality = values.get("recommendation_modality")
        if modality:
            rows.append(Row("Therapy", MODALITY_NAMES.get(modality, modality)))
        if values.get("recommendation_offered_here") and choice != "psychodynamic":
            here = values["recommendation_offered_here"] == "yes"
            rows.append(Row("Offered by this service", "Yes" if here else "No"))
        weekly = values.get("recommendation_sessions_per_week")
        if weekly:
            rows.append(Row("Sessions a week", str(weekly)))
        if values.get("recommendation_signpost_to"):
            rows.append(Row("Signposted or referred to", values["recommendation_signpost_to"]))
        if values.get("recommendation_reason"):
            rows.append(Row("Reason", values["recommendation_reason"]))
    else:
        rows.append(Row("Recommendation", "Not recorded yet"))
    sections.append(Section("recommendation", "Recommendation", "", rows))
    return sections


def assessment_stored_values(assessment: Assessment) -> dict:
    return {name: getattr(assessment, name) for name in services.ANSWER_FIELDS}


def assessment_measure_rows(assessment: Assessment) -> list[MeasureRow]:
    rows = []
    for row in assessment.measures.select_related("response").order_by("id"):
        measure = measures.get_measure(row.measure)
        result = ""
        if row.response is not None:
            result = score_text(row.response.total, row.response.band, row.response.withheld_reason)
        rows.append(MeasureRow(row.measure, measure.name, row.get_source_display(), result))
    return rows


# --- What allocation and the client portal read --------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    """What the assessment recommended, in the allocation engine's terms."""

    referral_id: int
    choice: str
    modality: str
    sessions_per_week: int | None
    recommended_at: object

    @property
    def modality_name(self) -> str:
        return MODALITY_NAMES.get(self.modality, self.modality)


def referral_recommendation(*, referral: Referral) -> Recommendation | None:
    """The finished assessment's recommendation for a referral, or None. For allocation:
    `modality` and `sessions_per_week` are what the matching engine reads."""
    assessment = Assessment.objects.filter(
        referral=referral, status=Assessment.Status.FINISHED
    ).first()
    if assessment is None:
        return None
    return Recommendation(
        referral_id=referral.pk,
        choice=assessment.recommendation_choice,
        modality=assessment.recommendation_modality,
        sessions_per_week=assessment.recommendation_sessions_per_week,
        recommended_at=assessment.finished_at,
    )


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


def therapist_caseload(*, user) -> list[CaseloadRow]:
    """The clients this therapist sees now."""
    therapies = (
        scope_to_service(Therapy.objects.select_related("referral__client"), user)
        .filter(therapist=user, ended_on=None)
        .order_by("started_on")
    )
    return [_caseload_row(therapy) for therapy in therapies]


def service_therapies(*, user) -> list[CaseloadRow]:
    """Everyone in therapy in the service now, for coordinators."""
    therapies = (
        scope_to_service(Therapy.objects.select_related("referral__client", "therapist"), user)
        .filter(ended_on=None)
        .order_by("started_on")
    )
    return [_caseload_row(therapy) for therapy in therapies]


def _caseload_row(therapy: Therapy) -> CaseloadRow:
    referral = therapy.referral
    plan = session_plan_current(referral)
    every = plan.measures_every_sessions if plan else 4
    today = timezone.localdate()
    reviews = [date.fromisoformat(d) for d in (plan.review_dates if plan else [])]
    missed, _ = services.missed_in_a_row(list(TherapySession.objects.filter(referral=referral)))
    return CaseloadRow(
        therapy=therapy,
        plan=plan,
        open_progress_flags=ProgressFlag.objects.filter(
            referral=referral, reviewed_at__isnull=True
        ).count(),
        open_risk_flags=RiskFlag.objects.filter(
            referral=referral, acknowledged_at__isnull=True
        ).count(),
        measures_due=services.attended_since_measures(referral) >= every,
        missed_in_a_row=missed,
        next_review=next((d for d in reviews if d >= today), None),
    )


def waiting_for_therapy(*, user) -> list[tuple[Referral, Recommendation | None]]:
    referrals = (
        scope_to_service(Referral.objects.select_related("client"), user)
        .filter(status__in=[Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED])
        .order_by("received_at")
    )
    return [(r, referral_recommendation(referral=r)) for r in referrals]


def progress_flags_open(*, user, therapist=None) -> QuerySet[ProgressFlag]:
    flags = scope_to_service(ProgressFlag.objects.select_related("referral__client"), user).filter(
        reviewed_at__isnull=True
    )
    if therapist is not None:
        flags = flags.filter(
            referral__therapies__therapist=therapist, referral__therapies__ended_on=None
        ).distinct()
    return flags.order_by("raised_at")


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
    non_attendance: services.NonAttendance
    measures_due: bool


def progress_overview(*, referral: Referral) -> Progress:
    responses = list(
        MeasureResponse.objects.filter(referral=referral).order_by("completed_at", "id")
    )
    tables = []
    for code, measure in measures.MEASURES.items():
        own = [r for r in responses if r.measure == code]
        if not own:
            continue
        y_max, thresholds = CHART_SCALES[code]
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
    evaluations = services.progress_evaluations(referral)
    classified = [e for e in evaluations if e.change is not None]
    attended = TherapySession.objects.filter(
        referral=referral, attendance=TherapySession.Attendance.ATTENDED
    ).count()
    plan = session_plan_current(referral)
    every = plan.measures_every_sessions if plan else 4
    baseline = services.assessment_baseline(referral) or tracking.baseline_of(
        services._time_points(referral)
    )
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
        non_attendance=services.non_attendance_state(referral),
        measures_due=services.attended_since_measures(referral) >= every,
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


def addenda_for(*, assessment: Assessment):
    return assessment.addenda.select_related("author").order_by("created_at", "id")


def assessment_measure_sources() -> list[tuple[str, str]]:
    return list(AssessmentMeasure.Source.choices)
