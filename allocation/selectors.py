"""Reads for allocation: therapists and their caseloads, the waiting list, proposal runs and
proposals (all scoped to the user's service), and the engine's problem built from the
database for a service (read by the proposal task, which acts for no user)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from allocation.engine import DAY_NAMES, PARTS
from allocation.models import (
    Allocation,
    AllocationSlot,
    Hold,
    LeavePeriod,
    Proposal,
    ProposalRun,
    Therapist,
    WeeklySlot,
)
from common.models import Service
from common.selectors import scope_to_service
from intake.models import Referral

# Referrals whose allocation still holds a place and slot(s): allocated, or in therapy.
HOLDING_STATUSES = (Referral.Status.ALLOCATED, Referral.Status.IN_THERAPY)
# The allocation letter needs time to arrive: the first session is at least this far ahead.
NOTICE_DAYS = 7
WAIT_WARNING_WEEKS = 6
WAIT_BREACH_WEEKS = 18
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BSL_NAMES = {"bsl", "british sign language"}


def language_code(value: str) -> str:
    """A language as the engine compares it: lower case, British Sign Language as 'bsl'."""
    value = " ".join((value or "").split()).lower()
    return "bsl" if value in BSL_NAMES else value


def language_name(code: str) -> str:
    return "BSL" if code == "bsl" else code.capitalize()


def slot_label(weekday: int, start: dt.time | str) -> str:
    text = start if isinstance(start, str) else f"{start:%H:%M}"
    return f"{DAY_NAMES[weekday]} {text}"


# --- Therapists and caseloads -----------------------------------------------------------------


def therapist_list(*, user) -> QuerySet[Therapist]:
    return scope_to_service(Therapist.objects.all(), user).annotate(slot_count=Count("slots"))


def therapist_for_user(*, user) -> Therapist | None:
    return (
        scope_to_service(Therapist.objects.all(), user)
        .filter(user=user)
        .prefetch_related("slots__site")
        .first()
    )


def allocations_starting(*, user, limit: int = 50) -> list[Allocation]:
    """Clients allocated to this therapist whose therapy has not started yet (their first
    appointment is coming), soonest first, at most `limit`: the therapist knows who is
    coming before the start of therapy is recorded."""
    return list(
        scope_to_service(Allocation.objects.select_related("referral__client"), user)
        .filter(
            therapist__user=user,
            status=Allocation.Status.ACTIVE,
            referral__status=Referral.Status.ALLOCATED,
        )
        .order_by("first_appointment_at", "id")[:limit]
    )


def therapist_get(*, user, public_id: UUID) -> Therapist:
    """The therapist, or Therapist.DoesNotExist when not of the user's service."""
    return (
        scope_to_service(Therapist.objects.all(), user)
        .prefetch_related("sites", "slots__site", "leave")
        .get(public_id=public_id)
    )


def allocations_holding(*, service_id: int) -> QuerySet[Allocation]:
    """Allocations that take a place and slot(s) now: active, and the referral still
    allocated or in therapy (an ended or withdrawn referral frees them by itself)."""
    return Allocation.objects.filter(
        service_id=service_id,
        status=Allocation.Status.ACTIVE,
        # The referral's service too, so the referral side is read by its service and
        # status index rather than scanned whole.
        referral__service_id=service_id,
        referral__status__in=HOLDING_STATUSES,
    )


def caseload_counts(*, service_id: int) -> dict[int, int]:
    return dict(
        allocations_holding(service_id=service_id)
        .values("therapist_id")
        .annotate(n=Count("id"))
        .values_list("therapist_id", "n")
    )


def booked_slot_ids(*, service_id: int) -> set[int]:
    return set(
        AllocationSlot.objects.filter(
            allocation__in=allocations_holding(service_id=service_id)
        ).values_list("slot_id", flat=True)
    )


@dataclass(frozen=True)
class CaseloadRow:
    therapist: Therapist
    caseload: int
    free_places: int
    free_slots: list[WeeklySlot]
    booked_slots: list[WeeklySlot]
    leave_now: LeavePeriod | None
    leave_next: LeavePeriod | None

    @property
    def over_capacity(self) -> bool:
        return self.caseload > self.therapist.capacity

    @property
    def load_percent(self) -> int:
        capacity = self.therapist.capacity
        return 100 if capacity == 0 else min(100, round(100 * self.caseload / capacity))


def therapist_caseloads(*, user) -> list[CaseloadRow]:
    """Every therapist of the user's service: load against capacity, free slots, leave."""
    if not user.service_id:
        return []
    counts = caseload_counts(service_id=user.service_id)
    booked = booked_slot_ids(service_id=user.service_id)
    today = timezone.localdate()
    therapists = scope_to_service(Therapist.objects.all(), user).prefetch_related(
        "slots__site", "leave", "sites"
    )
    return [_caseload_row(t, counts.get(t.pk, 0), booked, today) for t in therapists]


def therapist_caseload(*, therapist: Therapist) -> CaseloadRow:
    counts = caseload_counts(service_id=therapist.service_id)
    booked = booked_slot_ids(service_id=therapist.service_id)
    return _caseload_row(therapist, counts.get(therapist.pk, 0), booked, timezone.localdate())


def _caseload_row(therapist: Therapist, caseload: int, booked: set[int], today) -> CaseloadRow:
    slots = list(therapist.slots.all())
    leave = [p for p in therapist.leave.all() if p.ends_on >= today]
    return CaseloadRow(
        therapist=therapist,
        caseload=caseload,
        free_places=max(therapist.capacity - caseload, 0),
        free_slots=[s for s in slots if s.pk not in booked],
        booked_slots=[s for s in slots if s.pk in booked],
        leave_now=next((p for p in leave if p.starts_on <= today), None),
        leave_next=next((p for p in leave if p.starts_on > today), None),
    )


def therapist_clients(*, therapist: Therapist) -> QuerySet[Allocation]:
    return (
        allocations_holding(service_id=therapist.service_id)
        .filter(therapist=therapist)
        .select_related("referral__client")
        .order_by("allocated_at")
    )


# --- Proposal runs and proposals --------------------------------------------------------------


def run_get(*, user, public_id: UUID) -> ProposalRun:
    return scope_to_service(ProposalRun.objects.all(), user).get(public_id=public_id)


def run_latest(*, user) -> ProposalRun | None:
    """The newest run of the user's service, whatever its state."""
    return scope_to_service(ProposalRun.objects.all(), user).order_by("-created_at", "-id").first()


def run_current(*, service_id: int) -> ProposalRun | None:
    """The proposal set in force: the newest finished run."""
    return (
        ProposalRun.objects.filter(service_id=service_id, status=ProposalRun.Status.DONE)
        .order_by("-finished_at", "-id")
        .first()
    )


def proposal_get(*, user, public_id: UUID) -> Proposal:
    return (
        scope_to_service(Proposal.objects.all(), user)
        .select_related("run", "therapist", "referral__client", "referral__preferences")
        .get(public_id=public_id)
    )


def proposals_open(*, user, public_ids: list[UUID]) -> list[Proposal]:
    return list(
        scope_to_service(Proposal.objects.all(), user)
        .filter(public_id__in=public_ids, decision=Proposal.Decision.OPEN, therapist__isnull=False)
        .select_related("referral", "therapist")
    )


def sessions_per_week_for(*, referral: Referral) -> int:
    """Sessions a week the assessment recommends (1 when it says nothing)."""
    from assessment.selectors import referral_recommendation

    recommendation = referral_recommendation(referral=referral)
    return (recommendation.sessions_per_week if recommendation else None) or 1


def hold_open(*, referral: Referral) -> Hold | None:
    return Hold.objects.filter(referral=referral, released_at__isnull=True).first()


def allocation_current(*, referral: Referral) -> Allocation | None:
    return (
        Allocation.objects.filter(referral=referral, status=Allocation.Status.ACTIVE)
        .select_related("therapist")
        .first()
    )


@dataclass(frozen=True)
class OverrideOption:
    therapist: Therapist
    free_places: int
    slots: list[WeeklySlot]


def override_options(*, user) -> list[OverrideOption]:
    """Therapists of the service with a free place, and their free slots."""
    return [
        OverrideOption(row.therapist, row.free_places, row.free_slots)
        for row in therapist_caseloads(user=user)
        if row.free_places > 0 and row.free_slots
    ]


# --- The waiting list -------------------------------------------------------------------------

STATUS_FILTERS = [
    ("", "Everyone waiting or just allocated"),
    ("waiting", "Waiting for a therapist"),
    ("proposed", "Waiting, with a proposal"),
    ("no_match", "Waiting, no match yet"),
    ("held", "On hold"),
    ("allocated", "Allocated"),
]
WAIT_FILTERS = [
    ("", "Any time"),
    ("under_6", "Under 6 weeks"),
    ("6", "6 weeks or more"),
    ("18", "18 weeks or more"),
]
RISK_FILTERS = [("", "Any risk"), *((r.value, r.label) for r in Referral.Risk)]
NEEDS_FILTERS = [
    ("", "Any needs"),
    ("interpreter", "Needs an interpreter"),
    ("bsl", "British Sign Language"),
    ("multi", "More than one session a week"),
    ("gender", "Therapist gender is a requirement"),
    ("in_person", "In person only"),
    ("remote", "Remote only"),
]
SORTS = [
    ("wait", "Longest wait first"),
    ("risk", "Highest risk first"),
    ("priority", "Highest priority first (from the proposals)"),
    ("newest", "Newest first"),
]
RISK_ORDER = Case(
    When(risk_level=Referral.Risk.HIGH, then=Value(3)),
    When(risk_level=Referral.Risk.MEDIUM, then=Value(2)),
    When(risk_level=Referral.Risk.LOW, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class WaitingFilters:
    status: str = ""
    wait: str = ""
    risk: str = ""
    language: str = ""
    needs: str = ""
    sort: str = "wait"


@dataclass
class WaitingRow:
    referral: Referral
    weeks: int
    needs: list[str]
    proposal: Proposal | None = None
    hold: Hold | None = None
    allocation: Allocation | None = None

    @property
    def warning(self) -> str:
        if self.weeks >= WAIT_BREACH_WEEKS:
            return "18"
        if self.weeks >= WAIT_WARNING_WEEKS:
            return "6"
        return ""

    @property
    def can_accept(self) -> bool:
        return (
            self.proposal is not None
            and self.proposal.placed
            and self.proposal.decision == Proposal.Decision.OPEN
            and self.hold is None
            and self.referral.status == Referral.Status.AWAITING_ALLOCATION
        )


@dataclass
class WaitingList:
    page: Page
    rows: list[WaitingRow]
    total: int
    run: ProposalRun | None
    latest: ProposalRun | None
    languages: list[tuple[str, str]]
    counts: dict[str, int] = field(default_factory=dict)


def weeks_waiting(received_at: dt.datetime, today: dt.date) -> int:
    return max((today - timezone.localtime(received_at).date()).days // 7, 0)


def waiting_languages(*, user) -> list[tuple[str, str]]:
    """Languages asked for on the waiting list (therapy or interpreter), for the filter."""
    codes: set[str] = set()
    rows = scope_to_service(Referral.objects.all(), user).filter(
        status__in=(Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED)
    )
    for language, interpreter in (
        rows.order_by()
        .values_list("preferences__language", "preferences__interpreter_language")
        .distinct()
    ):
        for value in (language, interpreter):
            code = language_code(value or "")
            if code:
                codes.add(code)
    return [(code, language_name(code)) for code in sorted(codes)]


def waiting_list(
    *, user, filters: WaitingFilters, page: int = 1, per_page: int = 50
) -> WaitingList:
    service_id = user.service_id
    run = run_current(service_id=service_id) if service_id else None
    now = timezone.now()
    today = timezone.localdate()
    open_hold = Hold.objects.filter(referral=OuterRef("pk"), released_at__isnull=True)
    in_run = Proposal.objects.filter(referral=OuterRef("pk"), run=run)
    referrals = (
        scope_to_service(Referral.objects.all(), user)
        .filter(status__in=(Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED))
        .select_related("client", "preferences", "preferences__site")
        .annotate(
            on_hold=Exists(open_hold),
            proposed=Exists(in_run.filter(therapist__isnull=False)),
            no_match=Exists(in_run.filter(therapist__isnull=True)),
            risk_rank=RISK_ORDER,
            multi=ExpressionWrapper(
                Q(assessment__recommendation_sessions_per_week__gt=1),
                output_field=BooleanField(),
            ),
        )
    )
    waiting = Q(status=Referral.Status.AWAITING_ALLOCATION)
    status_q = {
        "waiting": waiting & Q(on_hold=False),
        "proposed": waiting & Q(on_hold=False, proposed=True),
        "no_match": waiting & Q(on_hold=False, proposed=False),
        "held": waiting & Q(on_hold=True),
        "allocated": Q(status=Referral.Status.ALLOCATED),
    }.get(filters.status)
    if status_q is not None:
        referrals = referrals.filter(status_q)
    if filters.wait == "under_6":
        referrals = referrals.filter(received_at__gt=now - dt.timedelta(weeks=6))
    elif filters.wait in ("6", "18"):
        referrals = referrals.filter(received_at__lte=now - dt.timedelta(weeks=int(filters.wait)))
    if filters.risk:
        referrals = referrals.filter(risk_level=filters.risk)
    if filters.language:
        names = BSL_NAMES if filters.language == "bsl" else {filters.language}
        language_q = Q()
        for name in names:
            language_q |= Q(preferences__language__iexact=name)
            language_q |= Q(preferences__interpreter_language__iexact=name)
        referrals = referrals.filter(language_q)
    if filters.needs:
        referrals = referrals.filter(_needs_q(filters.needs))
    if filters.sort == "priority":
        # The engine's priority points, from the proposal set in force.
        priority = Proposal.objects.filter(referral=OuterRef("pk"), run=run).values("priority")
        referrals = referrals.annotate(engine_priority=Coalesce(Subquery(priority[:1]), Value(0)))
    order = {
        "risk": ("-risk_rank", "received_at"),
        "newest": ("-received_at",),
        "priority": ("-engine_priority", "received_at"),
    }.get(filters.sort, ("received_at",))
    referrals = referrals.order_by(*order, "id")
    paginator = Paginator(referrals, per_page)
    page_obj = paginator.get_page(page)
    chosen = list(page_obj.object_list)
    ids = [r.pk for r in chosen]
    proposals = {}
    if run is not None:
        proposals = {
            p.referral_id: p
            for p in Proposal.objects.filter(run=run, referral_id__in=ids).select_related(
                "therapist"
            )
        }
    holds = {h.referral_id: h for h in Hold.objects.filter(referral_id__in=ids, released_at=None)}
    allocations = {
        a.referral_id: a
        for a in Allocation.objects.filter(
            referral_id__in=ids, status=Allocation.Status.ACTIVE
        ).select_related("therapist")
    }
    rows = [
        WaitingRow(
            referral=r,
            weeks=weeks_waiting(r.received_at, today),
            needs=referral_needs(r),
            proposal=proposals.get(r.pk),
            hold=holds.get(r.pk),
            allocation=allocations.get(r.pk),
        )
        for r in chosen
    ]
    latest = run_latest(user=user)
    return WaitingList(
        page=page_obj,
        rows=rows,
        total=paginator.count,
        run=run,
        latest=latest,
        languages=waiting_languages(user=user),
    )


def _needs_q(need: str) -> Q:
    if need == "interpreter":
        return Q(preferences__interpreter_needed=True)
    if need == "bsl":
        bsl = Q()
        for name in BSL_NAMES:
            bsl |= Q(preferences__language__iexact=name)
            bsl |= Q(preferences__interpreter_language__iexact=name)
        return bsl
    if need == "multi":
        return Q(assessment__recommendation_sessions_per_week__gt=1)
    if need == "gender":
        return Q(preferences__therapist_gender_strength="requirement")
    if need in ("in_person", "remote"):
        return Q(preferences__mode=need)
    return Q()


def referral_needs(referral: Referral) -> list[str]:
    """Short phrases for what constrains a referral's allocation, for lists and pages."""
    preferences = getattr(referral, "preferences", None)
    needs = []
    if getattr(referral, "multi", False):
        needs.append("More than once a week")
    if preferences is None:
        return needs
    language = language_code(preferences.language)
    interpreter = language_code(preferences.interpreter_language)
    if preferences.interpreter_needed:
        needs.append(f"{language_name(interpreter or language or 'english')} interpreter")
    elif language and language != "english":
        needs.append(f"Therapy in {language_name(language)}")
    if preferences.therapist_gender and preferences.therapist_gender_strength:
        strength = (
            "must be" if preferences.therapist_gender_strength == "requirement" else "prefers"
        )
        gender = {"female": "a woman", "male": "a man", "non_binary": "a non-binary person"}.get(
            preferences.therapist_gender, preferences.therapist_gender
        )
        if strength == "must be":
            needs.append(f"Therapist must be {gender}")
        else:
            needs.append(f"Prefers a therapist who is {gender}")
    if preferences.mode == "in_person":
        needs.append("In person" + (f" ({preferences.site.name})" if preferences.site_id else ""))
    elif preferences.mode == "remote":
        needs.append("Remote only")
    elif preferences.site_id:
        needs.append(f"Prefers {preferences.site.name}")
    if not preferences.availability:
        needs.append("No times given")
    return needs


def availability_text(values: list[str]) -> str:
    if not values:
        return "No times given: any weekday time is assumed"
    words = []
    for value in values:
        day, _, part = value.partition("_")
        if day in WEEKDAY_CODES and part in PARTS:
            words.append(f"{DAY_NAMES[WEEKDAY_CODES.index(day)]} {part}")
    return ", ".join(words)


# --- The engine's problem, from the database ---------------------------------------------------


@dataclass
class ProblemInput:
    """The JSON-shaped problem for ``engine.parse_problem`` and the ways back to rows."""

    data: dict
    referrals: dict[str, int]  # engine id (reference) -> Referral pk
    therapists: dict[str, int]  # engine id (unique name) -> Therapist pk
    slots: dict[str, WeeklySlot]  # engine id (public id) -> slot
    labels: dict[str, str]  # slot id -> its day and time, for messages
    left_out: dict[int, str] = field(default_factory=dict)  # Referral pk -> why


def allocation_problem(*, service: Service, today: dt.date | None = None) -> ProblemInput:
    """Build the engine's problem for one service from its rows.

    Referrals: those waiting for a therapist and not on hold; their needs come from the
    client's preferences and the assessment's recommendation (modality, sessions a week),
    risk from the referral's risk level raised to high by any unacknowledged risk flag,
    and the wait from when the referral was received. Therapists: every profile of the
    service, with the slots no allocation holds, the caseload from allocations, and leave
    that has not ended.
    """
    from assessment.models import Assessment
    from intake.models import RiskFlag

    today = today or timezone.localdate()
    planned_start = today + dt.timedelta(days=NOTICE_DAYS)
    site_names = list(service.sites.order_by("name").values_list("name", flat=True))
    counts = caseload_counts(service_id=service.pk)
    booked = booked_slot_ids(service_id=service.pk)

    therapists = list(
        Therapist.objects.filter(service=service)
        .prefetch_related("sites", "slots__site", "leave")
        .order_by("display_name", "id")
    )
    names: dict[int, str] = {}
    used: set[str] = set()
    for therapist in therapists:
        base = " ".join(therapist.display_name.split()) or "Therapist"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base} ({n})"
        used.add(name)
        names[therapist.pk] = name
    by_user = {t.user_id: names[t.pk] for t in therapists if t.user_id}

    out = ProblemInput(data={}, referrals={}, therapists={}, slots={}, labels={})
    therapist_rows = []
    for therapist in therapists:
        name = names[therapist.pk]
        out.therapists[name] = therapist.pk
        slots = []
        for slot in therapist.slots.all():
            if slot.pk in booked:
                continue
            sid = str(slot.public_id)
            out.slots[sid] = slot
            out.labels[sid] = slot_label(slot.weekday, slot.start)
            slots.append(
                {
                    "id": sid,
                    "day": slot.weekday,
                    "start": f"{slot.start:%H:%M}",
                    "length": slot.length_minutes,
                    "site": slot.site.name if slot.site_id else "remote",
                }
            )
        row = {
            "id": name,
            "name": therapist.display_name,
            "service": service.slug,
            "modalities": [str(m).strip().lower() for m in therapist.modalities or []],
            "languages": [language_code(str(x)) for x in therapist.languages or []],
            "sites": [site.name for site in therapist.sites.all()],
            "remote": therapist.offers_remote,
            "capacity": therapist.capacity,
            "caseload": counts.get(therapist.pk, 0),
            "frequencies": list(therapist.frequencies or [1]),
            "slots": slots,
            "leave": [
                {"start": p.starts_on.isoformat(), "end": p.ends_on.isoformat()}
                for p in therapist.leave.all()
                if p.ends_on >= today
            ],
        }
        if therapist.gender != Therapist.Gender.NOT_STATED:
            row["gender"] = therapist.gender
        therapist_rows.append(row)

    open_flag = RiskFlag.objects.filter(referral=OuterRef("pk"), acknowledged_at__isnull=True)
    open_hold = Hold.objects.filter(referral=OuterRef("pk"), released_at__isnull=True)
    finished = Q(assessment__status=Assessment.Status.FINISHED)
    # Plain values, not model instances: a large waiting list builds several times faster.
    rows = (
        Referral.objects.filter(service=service, status=Referral.Status.AWAITING_ALLOCATION)
        .annotate(
            open_flag=Exists(open_flag),
            on_hold=Exists(open_hold),
            modality=Case(When(finished, then="assessment__recommendation_modality")),
            sessions=Case(When(finished, then="assessment__recommendation_sessions_per_week")),
            assessor=Case(When(finished, then="assessment__assessor_id")),
        )
        .filter(on_hold=False)
        .order_by("received_at", "id")
        .values(
            "pk",
            "reference",
            "risk_level",
            "received_at",
            "open_flag",
            "modality",
            "sessions",
            "assessor",
            "preferences__pk",
            "preferences__language",
            "preferences__interpreter_needed",
            "preferences__interpreter_language",
            "preferences__therapist_gender",
            "preferences__therapist_gender_strength",
            "preferences__mode",
            "preferences__site__name",
            "preferences__availability",
        )
    )
    zone = timezone.get_current_timezone()
    referral_rows = []
    for values in rows:
        row = _referral_row(values, service, site_names, planned_start, today, zone)
        if isinstance(row, str):
            out.left_out[values["pk"]] = row
            continue
        if values["assessor"] in by_user:
            row["assessor"] = by_user[values["assessor"]]
        out.referrals[values["reference"]] = values["pk"]
        referral_rows.append(row)

    out.data = {
        "today": today.isoformat(),
        "services": [service.slug],
        "sites": site_names,
        "therapists": therapist_rows,
        "referrals": referral_rows,
    }
    return out


GENDER_STRENGTHS = {"preference": "preferred", "requirement": "required"}
ALL_WEEKDAY_TIMES = [[day, part] for day in range(5) for part in PARTS]


def _referral_row(values: dict, service, site_names, planned_start, today, zone):
    """The engine's record of one referral (from ``allocation_problem``'s values), or a
    sentence saying why it cannot be one."""
    modality = (values["modality"] or "psychodynamic").strip().lower()
    risk = {"medium": "medium", "high": "high"}.get(values["risk_level"], "low")
    if values["open_flag"]:
        risk = "high"  # an unacknowledged risk flag: the most urgent case until it is seen
    received = min(values["received_at"].astimezone(zone).date(), today)
    row: dict = {
        "id": values["reference"],
        "service": service.slug,
        "modality": modality,
        "sessions_per_week": values["sessions"] or 1,
        "planned_start": planned_start.isoformat(),
        "referral_date": received.isoformat(),
        "risk": risk,
        "mode": "either",
        "sites": list(site_names),
        "availability": ALL_WEEKDAY_TIMES,
    }
    if values["preferences__pk"] is None:
        return row
    language = language_code(values["preferences__language"])
    if values["preferences__interpreter_needed"]:
        interpreter = language_code(values["preferences__interpreter_language"])
        row["language"] = interpreter or language or "english"
        row["needs_interpreter"] = True
    elif language:
        row["language"] = language
    strength = GENDER_STRENGTHS.get(values["preferences__therapist_gender_strength"])
    gender = values["preferences__therapist_gender"]
    if strength and gender:
        row["gender_preference"] = {"strength": strength, "gender": gender}
    mode = values["preferences__mode"] or "either"
    row["mode"] = mode
    site = values["preferences__site__name"]
    if mode == "remote":
        row["sites"] = []
    elif not site_names:
        if mode == "in_person":
            return "would like sessions in person, but the service has no sites recorded"
        row["mode"] = "remote"
        row["sites"] = []
    elif site and site in site_names:
        row["preferred_site"] = site
    availability = []
    for value in values["preferences__availability"] or []:
        day, _, part = str(value).partition("_")
        if day in WEEKDAY_CODES and part in PARTS:
            availability.append([WEEKDAY_CODES.index(day), part])
    if availability:
        row["availability"] = availability
    return row
