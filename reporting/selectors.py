"""Reads for the service's reporting page (docs/reporting.md): each measure is counted and
grouped by PostgreSQL, one or two queries whatever the number of referrals, and turned into a
section (key figures, an SVG chart, its table) by the pure `reporting.charts`. The
measures that need a value per referral before they count (first treatments, outcomes) are
SQL in `reporting.sql`; once a service's per-referral facts are built (`reporting.facts`),
the waiting times, caseness and outcomes count those instead, as at the build.

Everything is of one service, the user's own, and of the chosen date range, in the
service's local dates (TIME_ZONE). Caseload against capacity is as it stands today.

Each section, once worked out, is kept in the cache for REPORTING_CACHE_SECONDS under its
service, range and slug, with the time it was worked out (the page says "Figures as at").
The cache is only a shortcut: when its server cannot be reached or times out, the figures
are worked out (and the failure logged); any other error from it is a bug and is raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

import measures
from allocation.models import Therapist
from allocation.selectors import caseload_and_session_counts
from assessment.models import Assessment
from common.cache import UNREACHABLE as CACHE_UNREACHABLE
from intake.models import Referral, RiskFlag
from reporting import charts, facts, sql
from therapy.models import TherapySession

# A service has tens of therapists; the chart and table show at most this many.
logger = logging.getLogger("threshold.reporting")

# Part of every cache key: raise it when a Section's shape changes, so no older one is read.
CACHE_VERSION = 1
THERAPISTS_SHOWN = 200
LONG_TABLE_ROWS = 15
ATTENDED = TherapySession.Attendance.ATTENDED
SOURCE_NAMES = dict(Referral.Source.choices)
ATTENDANCE_ORDER = [value for value, _ in TherapySession.Attendance.choices]
ATTENDANCE_NAMES = dict(TherapySession.Attendance.choices)


@dataclass(frozen=True)
class Period:
    """A range of whole local days, both ends included."""

    first: date
    last: date

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.first, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        """The moment after the last day (exclusive)."""
        return timezone.make_aware(
            dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min)
        )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def describe(self) -> str:
        return f"{self.first.day} {self.first:%B %Y} to {self.last.day} {self.last:%B %Y}"


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple]  # raw values: text, numbers, dates, None (shown as a dash)


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    chart: str  # SVG markup, every text escaped by reporting.charts
    table: Table
    summary: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def long(self) -> bool:
        """A table of more rows than a screen shows is folded under its chart."""
        return len(self.table.rows) > LONG_TABLE_ROWS

    @property
    def csv_name(self) -> str:
        """The URL name of this section's table as CSV."""
        return f"reporting-{self.slug}-csv"


@dataclass(frozen=True)
class Report:
    period: Period
    sections: list[Section]
    # When the oldest of its sections' figures were worked out (some may come from the cache).
    as_at: dt.datetime | None = None

    @property
    def as_at_today(self) -> bool:
        """Figures as at today (the page gives the time) or an earlier day (and the date)."""
        return self.as_at is None or timezone.localdate(self.as_at) == timezone.localdate()


# --- Helpers ------------------------------------------------------------------------------------


def _band_case(span, bands: tuple[charts.Band, ...]) -> Case:
    """SQL CASE giving the index of the band a span falls in (charts.band_index in SQL)."""
    whens = [
        When(**{f"{span}__lte": band.upto}, then=Value(index))
        for index, band in enumerate(bands)
        if band.upto is not None
    ]
    return Case(*whens, default=Value(len(bands) - 1), output_field=IntegerField())


def _days_between(later, earlier) -> ExpressionWrapper:
    """Local date minus local date, as an interval of whole days."""
    return ExpressionWrapper(later - earlier, output_field=DurationField())


def _scored(code: str) -> FilteredRelation:
    """The assessment's row for one questionnaire (a join, not a subquery per assessment);
    its response's caseness is empty when it was not scored."""
    return FilteredRelation("measures", condition=Q(measures__measure=code))


class Reads:
    """The reads two sections share, made once for the page: whether the service's facts
    have been built (reporting.facts), and the range's finished assessments, which serve
    both the waits to assessment and caseness at assessment.

    Once a service's facts are built, the waiting-times, caseness and outcomes sections
    count them (figures as at the build); until then they are worked out from the tables."""

    def __init__(self) -> None:
        self._assessed: list[tuple] | None = None
        self._built_at: dict[int, dt.datetime | None] = {}

    def facts_built_at(self, *, service_id: int) -> dt.datetime | None:
        if service_id not in self._built_at:
            self._built_at[service_id] = facts.built_at(service_id=service_id)
        return self._built_at[service_id]

    def first_treatment_waits(self, *, service_id: int, period: Period) -> list[tuple]:
        source = facts if self.facts_built_at(service_id=service_id) else sql
        return source.first_treatment_waits(
            service_id=service_id, first=period.first, last=period.last
        )

    def finished_treatment_totals(self, *, service_id: int, period: Period) -> list[tuple]:
        source = facts if self.facts_built_at(service_id=service_id) else sql
        return source.finished_treatment_totals(
            service_id=service_id, first=period.first, last=period.last
        )

    def assessed(self, *, service_id: int, period: Period) -> list[tuple]:
        """[(wait band, PHQ-9 caseness, GAD-7 caseness, assessments)] for the assessments
        finished in the range: the wait from referral to assessment, and each
        questionnaire's caseness as the assessment used it (None where not scored)."""
        if self._assessed is None and self.facts_built_at(service_id=service_id):
            self._assessed = facts.assessed(
                service_id=service_id, first=period.first, last=period.last
            )
        if self._assessed is None:
            self._assessed = list(
                Assessment.objects.filter(
                    service_id=service_id,
                    status=Assessment.Status.FINISHED,
                    finished_at__gte=period.start,
                    finished_at__lt=period.end,
                )
                .annotate(
                    wait=_days_between(TruncDate("finished_at"), TruncDate("referral__received_at"))
                )
                .annotate(band=_band_case("wait", charts.WAIT_BANDS))
                .annotate(phq9=_scored(measures.PHQ9), gad7=_scored(measures.GAD7))
                .order_by()
                .values_list("band", "phq9__response__caseness", "gad7__response__caseness")
                .annotate(n=Count("id"))
            )
        return self._assessed


# --- Referrals per week, by source ------------------------------------------------------------


def referrals_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    counted = (
        Referral.objects.filter(
            service_id=service_id, received_at__gte=period.start, received_at__lt=period.end
        )
        .annotate(week=TruncWeek("received_at"))
        .order_by()
        .values_list("week", "source")
        .annotate(n=Count("id"))
    )
    by_week: dict[date, dict[str, int]] = {}
    for week, source, n in counted:
        day = timezone.localtime(week).date() if isinstance(week, dt.datetime) else week
        by_week.setdefault(day, {})[source] = n
    weeks = charts.week_starts(period.first, period.last)
    sources = list(SOURCE_NAMES)
    rows = [
        (
            week,
            *(by_week.get(week, {}).get(s, 0) for s in sources),
            sum(by_week.get(week, {}).values()),
        )
        for week in weeks
    ]
    totals = {s: sum(by_week.get(w, {}).get(s, 0) for w in weeks) for s in sources}
    total = sum(totals.values())
    busiest = max((row[-1] for row in rows), default=0)
    series = [
        charts.Series(SOURCE_NAMES[s], tuple((row[0], row[1 + i]) for row in rows))
        for i, s in enumerate(sources)
    ]
    chart = charts.line_chart(
        chart_id="chart-referrals",
        title="Referrals received each week, by source",
        description=(
            f"{total} referrals in {len(weeks)} weeks: "
            + ", ".join(f"{totals[s]} {SOURCE_NAMES[s].lower()}" for s in sources)
            + f". The busiest week had {busiest}. The table below gives every week."
        ),
        series=series,
        y_max=charts.nice_max(max((max(row[1:-1]) for row in rows), default=0)),
        y_label="Referrals",
        width=760,  # room for a year's dates under the axis
    )
    return Section(
        slug="referrals",
        title="Referrals received each week",
        chart=chart,
        table=Table(
            caption="Referrals received each week (weeks start on Monday), by source",
            headers=("Week starting", *(SOURCE_NAMES[s] for s in sources), "All sources"),
            rows=rows,
        ),
        summary=[
            f"{total} referral{'s' if total != 1 else ''} received, "
            f"{charts.percent_text(totals[Referral.Source.SELF], total)} of them self-referrals."
        ],
    )


# --- Waiting times ------------------------------------------------------------------------------


def waits_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    reads = reads or Reads()
    assessed = [(band, n) for band, _, _, n in reads.assessed(service_id=service_id, period=period)]
    treated = reads.first_treatment_waits(service_id=service_id, period=period)
    to_assessment = charts.band_counts(assessed, charts.WAIT_BANDS)
    to_treatment = charts.band_counts(treated, charts.WAIT_BANDS)
    n_assessed, n_treated = sum(to_assessment), sum(to_treatment)
    six, eighteen = charts.WITHIN_6_WEEKS, charts.WITHIN_18_WEEKS

    def shares(counts: list[int]) -> tuple[float | None, float | None]:
        whole = sum(counts)
        return charts.percent(sum(counts[:six]), whole), charts.percent(
            sum(counts[:eighteen]), whole
        )

    a6_text = charts.percent_text(sum(to_assessment[:six]), n_assessed)
    a18_text = charts.percent_text(sum(to_assessment[:eighteen]), n_assessed)
    t6_text = charts.percent_text(sum(to_treatment[:six]), n_treated)
    t18_text = charts.percent_text(sum(to_treatment[:eighteen]), n_treated)
    a6, a18 = shares(to_assessment)
    t6, t18 = shares(to_treatment)
    labels = [band.label for band in charts.WAIT_BANDS]
    rows = [
        (label, a, charts.percent(a, n_assessed), t, charts.percent(t, n_treated))
        for label, a, t in zip(labels, to_assessment, to_treatment, strict=True)
    ]
    rows.append(("Within 6 weeks", sum(to_assessment[:six]), a6, sum(to_treatment[:six]), t6))
    rows.append(
        ("Within 18 weeks", sum(to_assessment[:eighteen]), a18, sum(to_treatment[:eighteen]), t18)
    )
    chart = charts.bar_chart(
        chart_id="chart-waits",
        title="Waiting times from referral",
        description=(
            f"{n_assessed} first assessments and {n_treated} first treatment sessions, by how "
            f"long after referral they came. Treatment started within 6 weeks for "
            f"{charts.percent_text(sum(to_treatment[:six]), n_treated)} and within 18 weeks "
            f"for {charts.percent_text(sum(to_treatment[:eighteen]), n_treated)}. "
            "The table below gives every count."
        ),
        categories=labels,
        series=[("To first assessment", to_assessment), ("To first treatment", to_treatment)],
        value_max=charts.nice_max(max(to_assessment + to_treatment, default=0)),
        value_label="Referrals",
    )
    standard = (
        f"The standards: {charts.STANDARD_6_WEEKS}% start treatment within 6 weeks of "
        f"referral and {charts.STANDARD_18_WEEKS}% within 18 weeks."
    )
    return Section(
        slug="waiting-times",
        title="Waiting times",
        chart=chart,
        table=Table(
            caption="Waits from referral to first assessment and to first treatment",
            headers=(
                "Wait",
                "First assessments",
                "First assessments (%)",
                "First treatments",
                "First treatments (%)",
            ),
            rows=rows,
        ),
        summary=[
            f"Treatment started within 6 weeks for {t6_text} and within 18 weeks for "
            f"{t18_text} of the {n_treated} who started in the range.",
            f"Assessment within 6 weeks for {a6_text} and within 18 weeks for {a18_text} "
            f"of the {n_assessed} assessed in the range.",
            standard,
        ],
        note="A wait counts in the range when the first assessment or first attended "
        "treatment session is in it; waits are in whole days, 6 weeks being 42 days.",
    )


# --- Caseness at assessment ---------------------------------------------------------------------


def caseness_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    reads = reads or Reads()
    counted = [
        (phq9, gad7, n) for _, phq9, gad7, n in reads.assessed(service_id=service_id, period=period)
    ]
    result = charts.caseness_counts(counted)
    everyone = result.known + result.unknown
    categories = [
        "A case",
        "Not a case",
        "Not known",
    ]
    counts = [result.case, result.not_case, result.unknown]
    rows = [
        (
            "A case (PHQ-9 10 or more, or GAD-7 8 or more)",
            result.case,
            charts.percent(result.case, everyone),
        ),
        (
            "Not a case (both scored, both below)",
            result.not_case,
            charts.percent(result.not_case, everyone),
        ),
        (
            "Not known (a questionnaire not scored)",
            result.unknown,
            charts.percent(result.unknown, everyone),
        ),
    ]
    chart = charts.bar_chart(
        chart_id="chart-caseness",
        title="Caseness at assessment",
        description=(
            f"Of {everyone} assessments finished, {result.case} were a case, "
            f"{result.not_case} were not and {result.unknown} could not be judged."
        ),
        categories=categories,
        series=[("Assessments", counts)],
        value_max=charts.nice_max(max(counts)),
        value_label="Assessments",
    )
    return Section(
        slug="caseness",
        title="Caseness at assessment",
        chart=chart,
        table=Table(
            caption="Assessments finished in the range, by caseness",
            headers=("Caseness", "Assessments", "Assessments (%)"),
            rows=rows,
        ),
        summary=[
            f"{charts.percent_text(result.case, result.known)} of the {result.known} "
            "assessments with both questionnaires scored were a case."
        ],
    )


# --- Outcomes of finished treatments ----------------------------------------------------------


def outcomes_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    reads = reads or Reads()
    counted = reads.finished_treatment_totals(service_id=service_id, period=period)
    result = charts.outcomes_of(
        ((tuple(int(v) for v in totals) if paired else None), n) for paired, *totals, n in counted
    )
    categories = [
        "Recovery",
        "Reliable improvement",
        "Reliable recovery",
        "Reliable deterioration",
    ]
    rates = [
        result.recovery_rate,
        result.reliable_improvement_rate,
        result.reliable_recovery_rate,
        result.reliable_deterioration_rate,
    ]
    rows = [
        ("Recovery", result.recovery, result.case_at_start, result.recovery_rate),
        (
            "Reliable improvement",
            result.reliable_improvement,
            result.paired,
            result.reliable_improvement_rate,
        ),
        (
            "Reliable recovery",
            result.reliable_recovery,
            result.case_at_start,
            result.reliable_recovery_rate,
        ),
        (
            "Reliable deterioration",
            result.reliable_deterioration,
            result.paired,
            result.reliable_deterioration_rate,
        ),
    ]
    chart = charts.bar_chart(
        chart_id="chart-outcomes",
        title="Outcomes of finished treatments",
        description=(
            f"{result.finished} treatments finished, {result.paired} with paired scores. "
            + "; ".join(
                f"{name} {'not known' if rate is None else f'{rate:g}%'}"
                for name, rate in zip(categories, rates, strict=True)
            )
            + "."
        ),
        categories=categories,
        series=[("Rate", rates)],
        value_max=100,
        value_label="Per cent",
        unit="%",
    )
    return Section(
        slug="outcomes",
        title="Outcomes of finished treatments",
        chart=chart,
        table=Table(
            caption="Outcomes of treatments finished in the range",
            headers=("Outcome", "Referrals", "Out of", "Rate (%)"),
            rows=rows,
        ),
        summary=[
            f"{result.finished} finished treatment{'s' if result.finished != 1 else ''} "
            f"(two or more attended sessions); {result.paired} with paired PHQ-9 and GAD-7 "
            f"scores, {result.case_at_start} of them a case at the start.",
            *(
                [f"{result.unpaired} without paired scores are left out of the rates."]
                if result.unpaired
                else []
            ),
        ],
        note="Recovery and reliable recovery are out of those who were a case at the start; "
        "reliable improvement and deterioration out of every finished treatment with paired "
        "scores. First and last scores are each questionnaire's first and last scored total.",
    )


# --- Non-attendance -----------------------------------------------------------------------------


def attendance_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    counted = (
        TherapySession.objects.filter(
            service_id=service_id, occurred_on__gte=period.first, occurred_on__lte=period.last
        )
        .annotate(month=TruncMonth("occurred_on"))
        .order_by()
        .values_list("month", "attendance")
        .annotate(n=Count("id"))
    )
    by_month: dict[date, dict[str, int]] = {}
    for month, attendance, n in counted:
        by_month.setdefault(month, {})[attendance] = n
    months = charts.month_starts(period.first, period.last)
    dna, client_cancel = (
        TherapySession.Attendance.DID_NOT_ATTEND,
        TherapySession.Attendance.CANCELLED_BY_CLIENT,
    )
    rows = []
    for month in months:
        counts = by_month.get(month, {})
        booked = sum(counts.values())
        rows.append(
            (
                month,
                *(counts.get(kind, 0) for kind in ATTENDANCE_ORDER),
                charts.percent(counts.get(dna, 0), booked),
                charts.percent(counts.get(client_cancel, 0), booked),
            )
        )
    totals = {
        kind: sum(by_month.get(m, {}).get(kind, 0) for m in months) for kind in ATTENDANCE_ORDER
    }
    booked = sum(totals.values())
    series = [
        charts.Series(
            "Did not attend (%)", tuple((row[0], row[-2]) for row in rows if row[-2] is not None)
        ),
        charts.Series(
            "Cancelled by the client (%)",
            tuple((row[0], row[-1]) for row in rows if row[-1] is not None),
        ),
    ]
    top = max((v for s in series for _, v in s.points), default=0)
    chart = charts.line_chart(
        chart_id="chart-attendance",
        title="Non-attendance each month",
        description=(
            f"{booked} therapy appointments: {charts.percent_text(totals[dna], booked)} not "
            f"attended and {charts.percent_text(totals[client_cancel], booked)} cancelled by "
            "the client. The table below gives every month."
        ),
        series=series,
        y_max=charts.nice_max(top) if top <= 100 else 100,
        y_label="Per cent of appointments",
    )
    return Section(
        slug="attendance",
        title="Non-attendance",
        chart=chart,
        table=Table(
            caption="Therapy appointments each month, by attendance",
            headers=(
                "Month",
                *(ATTENDANCE_NAMES[kind] for kind in ATTENDANCE_ORDER),
                "Did not attend (%)",
                "Cancelled by the client (%)",
            ),
            rows=rows,
        ),
        summary=[
            f"{charts.percent_text(totals[dna], booked)} of {booked} therapy appointments "
            f"were not attended; {charts.percent_text(totals[client_cancel], booked)} were "
            "cancelled by the client."
        ],
    )


# --- Caseload against capacity ----------------------------------------------------------------


def caseload_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    """Each therapist's caseload today in weekly sessions against their capacity, which is
    counted in weekly sessions (a client seen twice a week uses two), as on the caseloads
    page and in allocation."""
    team = list(
        Therapist.objects.filter(service_id=service_id)
        .order_by("display_name", "id")
        .values_list("id", "display_name", "capacity")[:THERAPISTS_SHOWN]
    )
    counts = caseload_and_session_counts(service_id=service_id)
    clients = {pk: n for pk, (n, _) in counts.items()}
    used = {pk: n for pk, (_, n) in counts.items()}
    rows = [
        (
            name,
            clients.get(pk, 0),
            used.get(pk, 0),
            capacity,
            charts.percent(used.get(pk, 0), capacity),
        )
        for pk, name, capacity in team
    ]
    over = [row for row in rows if row[2] > row[3]]
    carried = sum(r[1] for r in rows)
    sessions, capacity = sum(r[2] for r in rows), sum(r[3] for r in rows)
    chart = charts.bar_chart(
        chart_id="chart-caseload",
        title="Weekly sessions used against capacity, by therapist",
        description=(
            f"{len(rows)} therapists use {sessions} weekly sessions against a capacity of "
            f"{capacity}; {len(over)} over capacity. The table below gives each therapist."
        ),
        categories=[row[0] for row in rows],
        series=[("Weekly sessions used", [r[2] for r in rows]), ("Capacity", [r[3] for r in rows])],
        value_max=charts.nice_max(max((max(r[2], r[3]) for r in rows), default=0)),
        value_label="Weekly sessions",
    )
    return Section(
        slug="caseload",
        title="Caseload against capacity",
        chart=chart,
        table=Table(
            caption="Each therapist's caseload today against their capacity in weekly sessions",
            headers=(
                "Therapist",
                "Clients",
                "Weekly sessions used",
                "Capacity (weekly sessions)",
                "Load (%)",
            ),
            rows=rows,
        ),
        summary=[
            f"{carried} clients carried, using {sessions} weekly sessions against a capacity "
            f"of {capacity} ({charts.percent_text(sessions, capacity)}); "
            f"{len(over)} therapist{' is' if len(over) == 1 else 's are'} over capacity."
        ],
        note=(
            "As it stands today, whatever the range: clients allocated or in therapy, and "
            "the weekly slots their allocations hold (a client seen twice a week uses two)."
        ),
    )


# --- Risk flags ---------------------------------------------------------------------------------


def risk_section(*, service_id: int, period: Period, reads: Reads | None = None) -> Section:
    counted = (
        RiskFlag.objects.filter(
            service_id=service_id, raised_at__gte=period.start, raised_at__lt=period.end
        )
        .annotate(
            delay=ExpressionWrapper(
                F("acknowledged_at") - F("raised_at"), output_field=DurationField()
            )
        )
        .annotate(
            band=Case(
                When(acknowledged_at__isnull=True, then=Value(charts.STILL_OPEN)),
                default=_band_case("delay", charts.ACK_BANDS),
                output_field=IntegerField(),
            )
        )
        .order_by()
        .values_list("band")
        .annotate(n=Count("id"))
    )
    counted = list(counted)
    still_open = sum(n for band, n in counted if band == charts.STILL_OPEN)
    counts = charts.band_counts(counted, charts.ACK_BANDS)
    acknowledged = sum(counts)
    raised = acknowledged + still_open
    labels = [band.label for band in charts.ACK_BANDS]
    rows = [(label, n, charts.percent(n, raised)) for label, n in zip(labels, counts, strict=True)]
    rows.append(("Not acknowledged yet", still_open, charts.percent(still_open, raised)))
    within_day = sum(counts[:3])
    chart = charts.bar_chart(
        chart_id="chart-risk",
        title="Time from a risk flag being raised to its acknowledgement",
        description=(
            f"{raised} risk flags raised: {acknowledged} acknowledged, "
            f"{charts.percent_text(within_day, raised)} within 24 hours; "
            f"{still_open} not acknowledged yet."
        ),
        categories=[*labels, "Not acknowledged yet"],
        series=[("Risk flags", [*counts, still_open])],
        value_max=charts.nice_max(max([*counts, still_open])),
        value_label="Risk flags",
    )
    return Section(
        slug="risk-flags",
        title="Risk flags and time to acknowledgement",
        chart=chart,
        table=Table(
            caption="Risk flags raised in the range, by time to acknowledgement",
            headers=("Time to acknowledgement", "Risk flags", "Risk flags (%)"),
            rows=rows,
        ),
        summary=[
            f"{raised} risk flag{'s' if raised != 1 else ''} raised; "
            f"{charts.percent_text(within_day, raised)} acknowledged within 24 hours; "
            f"{still_open} not acknowledged yet."
        ],
    )


# --- The page -----------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[..., Section]] = {
    "referrals": referrals_section,
    "waiting-times": waits_section,
    "caseness": caseness_section,
    "outcomes": outcomes_section,
    "attendance": attendance_section,
    "caseload": caseload_section,
    "risk-flags": risk_section,
}


# The sections counted from the service's facts once they are built (reporting.facts).
FACTS_SECTIONS = frozenset({"waiting-times", "caseness", "outcomes"})


def _cache_key(
    *, service_id: int, period: Period, slug: str, facts_at: dt.datetime | None = None
) -> str:
    """Per service, range and section; a section counted from facts, per build too (a new
    build is read at once, not after the cached figures of the one before expire)."""
    built = f":facts{facts_at.timestamp():.6f}" if facts_at else ""
    return (
        f"reporting:v{CACHE_VERSION}:{service_id}:"
        f"{period.first.isoformat()}:{period.last.isoformat()}:{slug}{built}"
    )


def _built(
    *, service_id: int, period: Period, slug: str, reads: Reads | None = None
) -> tuple[dt.datetime, Section]:
    """One section and when its figures are as at: from the cache when it holds one for
    this service, range and section, else worked out now and kept for
    REPORTING_CACHE_SECONDS. A section counted from the service's facts is as at their
    build, whenever it was worked out."""
    reads = reads or Reads()
    seconds = settings.REPORTING_CACHE_SECONDS
    facts_at = reads.facts_built_at(service_id=service_id) if slug in FACTS_SECTIONS else None
    key = _cache_key(service_id=service_id, period=period, slug=slug, facts_at=facts_at)
    if seconds:
        try:
            kept = cache.get(key)
        except CACHE_UNREACHABLE as error:  # a shortcut: its outage never fails the page
            logger.warning("reporting: cache read failed (%s)", type(error).__name__)
            kept = None
        if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], Section):
            return kept
    section = SECTIONS[slug](service_id=service_id, period=period, reads=reads)
    worked_out = facts_at or timezone.now()
    if seconds:
        try:
            cache.set(key, (worked_out, section), timeout=seconds)
        except CACHE_UNREACHABLE as error:
            logger.warning("reporting: cache write failed (%s)", type(error).__name__)
    return worked_out, section


def service_report(*, user, period: Period) -> Report:
    """Every section for the user's own service (nothing for a user with no service)."""
    if not user.service_id:
        return Report(period=period, sections=[])
    reads = Reads()
    built = [
        _built(service_id=user.service_id, period=period, slug=slug, reads=reads)
        for slug in SECTIONS
    ]
    return Report(
        period=period,
        sections=[section for _, section in built],
        as_at=min(worked_out for worked_out, _ in built),
    )


def report_section(*, user, period: Period, slug: str) -> Section | None:
    if slug not in SECTIONS or not user.service_id:
        return None
    return _built(service_id=user.service_id, period=period, slug=slug)[1]
