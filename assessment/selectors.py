"""Reads for assessment pages, and what allocation reads of an assessment. Every
staff-facing read starts from common.selectors.scope_to_service."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.core.paginator import Page
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

import measures
from assessment import services
from assessment.forms import (
    MODALITY_NAMES,
    RELATIONSHIP_PATTERNS,
    RISK_DOMAINS,
    RISK_LEVELS,
)
from assessment.models import (
    Assessment,
    AssessmentAppointment,
    AssessmentMeasure,
    Mode,
    RiskAnswer,
    SectionStatus,
)
from common import access, roles
from common.models import Site
from common.paging import page_of, page_with_rows
from common.selectors import counts_by_referral, scope_to_service
from intake.models import MeasureResponse, Preferences, Referral, RiskFlag

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


def assessment_worklist(*, user, page=1) -> Page:
    """One page of the referrals waiting for assessment (rows are WorklistRow): open risk
    flags first, then the highest risk, then the longest wait.

    The order is worked out on the referrals alone and only the page's rows are then read
    with their client, assessment and booking: sorting every waiting referral joined to
    its client and assessment costs ten times as much."""
    open_flags = RiskFlag.objects.filter(referral=OuterRef("pk"), acknowledged_at__isnull=True)
    ordered = (
        scope_to_service(Referral.objects.all(), user)
        .filter(status__in=services.WAITING_FOR_ASSESSMENT)
        .annotate(
            flagged=Exists(open_flags),
            risk_rank=Case(
                When(risk_level=Referral.Risk.HIGH, then=Value(3)),
                When(risk_level=Referral.Risk.MEDIUM, then=Value(2)),
                When(risk_level=Referral.Risk.LOW, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .order_by("-flagged", "-risk_rank", "received_at", "id")
        .values_list("pk", flat=True)
    )
    chosen = page_of(ordered, page=page)
    ids = list(chosen)
    referrals = (
        Referral.objects.select_related("client", "assessment")
        .prefetch_related(
            Prefetch(
                "assessment_appointments",
                queryset=AssessmentAppointment.objects.filter(
                    status=AssessmentAppointment.Status.BOOKED
                ).select_related("site"),
                to_attr="bookings",
            )
        )
        .in_bulk(ids)
    )
    counts = counts_by_referral(RiskFlag, ids, acknowledged_at__isnull=True)
    rows = []
    for pk in ids:
        referral = referrals[pk]
        try:
            assessment = referral.assessment
        except Assessment.DoesNotExist:
            assessment = None
        rows.append(
            WorklistRow(
                referral=referral,
                open_flags=counts.get(pk, 0),
                booking=referral.bookings[0] if referral.bookings else None,
                assessment=assessment,
            )
        )
    return page_with_rows(chosen, rows)


# The open flags shown above a list: the oldest first, this many at most (the page says
# how many there are in all).
FLAG_LIMIT = 50


@dataclass(frozen=True)
class Worklist:
    rows: Page
    open_flags: list
    open_flag_count: int


def worklist_page(*, user, page=1) -> Worklist:
    """The assessor's worklist page: open risk flags, and a page of referrals waiting."""
    flags = risk_flags_open(user=user)
    return Worklist(
        rows=assessment_worklist(user=user, page=page),
        open_flags=list(flags[:FLAG_LIMIT]),
        open_flag_count=flags.count(),
    )


def assessments_finished(*, user, page=1) -> Page:
    """One page of the finished assessments this assessor carried out or finished, the most recently
    finished first, each with its referral, client and who finished it (once a referral has
    left assessment, an assessor keeps reading only their own: docs/security.md)."""
    return page_of(
        scope_to_service(
            Assessment.objects.select_related("referral__client", "assessor", "finished_by"),
            user,
        )
        .filter(status=Assessment.Status.FINISHED)
        .filter(Q(assessor=user) | Q(finished_by=user))
        .order_by("-finished_at", "-id"),
        page=page,
    )


def risk_flags_open(*, user) -> QuerySet[RiskFlag]:
    return (
        scope_to_service(RiskFlag.objects.select_related("referral__client"), user)
        .filter(acknowledged_at__isnull=True)
        .order_by("raised_at")
    )


def assessor_referral_get(*, user, public_id: UUID) -> Referral:
    """A referral of the user's service (Referral.DoesNotExist otherwise), for booking and
    starting an assessment: those pages show none of its record, and say so when it is no
    longer waiting for one (what an assessor opens is common.access's rule)."""
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


@dataclass(frozen=True)
class BookingPage:
    sites: list[Site]
    current: AssessmentAppointment | None
    initial: dict


def booking_page(*, user, referral: Referral) -> BookingPage:
    """Booking an assessment: the service's sites, the booking in place (if any), and the
    form's starting answers."""
    return BookingPage(
        sites=list(user.service.sites.all()),
        current=booking_current(referral=referral),
        initial=booking_initial(referral=referral),
    )


def booking_initial(*, referral: Referral) -> dict:
    """The booking form's starting answers, from how the client said they would like to be
    seen: by video if they asked for remote, in person at their chosen site otherwise."""
    initial = {"duration": "60"}
    preferences = Preferences.objects.filter(referral=referral).select_related("site").first()
    if preferences and preferences.mode == Preferences.Mode.REMOTE:
        initial["mode"] = Mode.VIDEO
    elif preferences and preferences.mode == Preferences.Mode.IN_PERSON:
        initial["mode"] = Mode.IN_PERSON
        if preferences.site_id:
            initial["site"] = str(preferences.site.public_id)
    return initial


def finished_assessment(*, referral: Referral) -> Assessment | None:
    return Assessment.objects.filter(referral=referral, status=Assessment.Status.FINISHED).first()


def assessment_get(*, user, public_id: UUID) -> Assessment:
    """An assessment of the user's service (Assessment.DoesNotExist otherwise)."""
    return scope_to_service(
        Assessment.objects.select_related("referral__client", "assessor", "finished_by"), user
    ).get(public_id=public_id)


def self_referral_responses(*, referral: Referral) -> dict[str, MeasureResponse]:
    return services.self_referral_responses(referral)


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


@dataclass(frozen=True)
class AssessmentPage:
    sections: list[Section]
    addenda: list[tuple]  # (addendum, its section's name)
    is_assessor: bool
    may_add: bool
    # False: the outcome only (risk level, scores, recommendation), for the office.
    clinical_text: bool = True
    letters_gp_summary: str = ""


def assessment_page(*, user, assessment: Assessment) -> AssessmentPage:
    """A finished assessment as the page shows it (a draft shows no sections), with its
    addenda, and whether this user may add one. Someone who may not read the clinical record
    (a coordinator: common.access) gets its outcome only."""
    is_assessor = user.has_role(roles.ASSESSOR)
    clinical_text = access.referral_sight(user, assessment.referral).clinical_text
    sections = []
    if assessment.is_locked:
        sections = assessment_sections(
            assessment_stored_values(assessment), assessment_measure_rows(assessment)
        )
        if not clinical_text:
            sections = _outcome_only(sections)
    names = dict(services.ADDENDUM_SECTIONS)
    return AssessmentPage(
        sections=sections,
        addenda=[
            (addendum, names.get(addendum.section, ""))
            for addendum in addenda_for(assessment=assessment)
        ]
        if clinical_text
        else [],
        is_assessor=is_assessor,
        may_add=assessment.is_locked and is_assessor and clinical_text,
        clinical_text=clinical_text,
        letters_gp_summary=assessment.letters_gp_summary if clinical_text else "",
    )


# What allocation needs of an assessment, without its free text: the overall risk level,
# the questionnaires' scores and the recommendation (not its reasons).
OUTCOME_ROWS = {"risk": {"Overall level"}, "recommendation": None, "measures": None}
OUTCOME_LEFT_OUT = {"Reason"}


def _outcome_only(sections: list[Section]) -> list[Section]:
    kept = []
    for section in sections:
        if section.step not in OUTCOME_ROWS:
            continue
        wanted = OUTCOME_ROWS[section.step]
        rows = [
            row
            for row in section.rows
            if (wanted is None or row.label in wanted) and row.label not in OUTCOME_LEFT_OUT
        ]
        kept.append(Section(section.step, section.title, section.state, rows))
    return kept


# --- What allocation and therapy read ----------------------------------------------------


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


def addenda_for(*, assessment: Assessment):
    return assessment.addenda.select_related("author").order_by("created_at", "id")


def assessment_measure_sources() -> list[tuple[str, str]]:
    return list(AssessmentMeasure.Source.choices)


def therapist_sees(*, user, referral: Referral) -> bool:
    """Whether this therapist sees or saw the client, so may read their assessment. Read
    through the referral's `therapies` (therapy's link) by name: assessment imports no
    therapy module."""
    return Referral.objects.filter(pk=referral.pk, therapies__therapist=user).exists()


def assessments_readable(*, user) -> QuerySet[Assessment]:
    """Finished assessments the user reads: an assessor those of the referrals they open, a
    coordinator the service's (their outcome), a therapist their own clients' (docs/security.md
    "Who sees what"). Through the referral's `therapies` by name: assessment imports no
    therapy module."""
    finished = scope_to_service(Assessment.objects.all(), user).filter(
        status=Assessment.Status.FINISHED
    )
    if access.has_any_role(user, (roles.COORDINATOR,)):
        return finished
    reach = Q(pk__in=[])
    if access.has_any_role(user, (roles.ASSESSOR,)):
        opened = access.referrals_opened_by(user, scope_to_service(Referral.objects.all(), user))
        reach |= Q(referral__in=opened)
    if access.has_any_role(user, (roles.THERAPIST,)):
        reach |= Q(
            Exists(Referral.objects.filter(pk=OuterRef("referral_id"), therapies__therapist=user))
        )
    return finished.filter(reach)
