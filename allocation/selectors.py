"""Reads for allocation: therapists, their caseloads and profiles (the team's list a page at
a time), proposal runs and proposals; all scoped to the user's service. The waiting list
and one referral on it are `allocation/waiting.py`; the coordinator's choice of therapist
is `allocation/choosing.py`; the engine's problem read from the database is
`allocation/engine_input.py`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from django.core.paginator import Page
from django.db import connection
from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.sql import Query
from django.utils import timezone

from allocation.engine import DAY_NAMES
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
from common import access, roles
from common.paging import page_of, page_with_rows
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
SIGN_INS_SHOWN = 500


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


def sign_ins_to_link(*, user, therapist: Therapist | None = None) -> list:
    """Active therapists' sign-ins of the user's service that a profile may be linked to:
    those not linked to another profile, by name (at most `SIGN_INS_SHOWN`)."""
    from django.db.models import Q

    from common.models import User

    free = Q(therapist_profile__isnull=True)
    if therapist is not None and therapist.user_id:
        free |= Q(pk=therapist.user_id)
    return list(
        scope_to_service(User.objects.all(), user)
        .filter(free, is_active=True, groups__name=roles.THERAPIST)
        .distinct()
        .order_by("last_name", "first_name", "id")[:SIGN_INS_SHOWN]
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
        scope_to_service(Therapist.objects.select_related("user"), user)
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


def session_counts(*, service_id: int) -> dict[int, int]:
    """Weekly sessions each therapist's current caseload uses: its allocations' slots (a
    client seen twice a week holds two)."""
    return dict(
        AllocationSlot.objects.filter(allocation__in=allocations_holding(service_id=service_id))
        .values("allocation__therapist_id")
        .annotate(n=Count("id"))
        .values_list("allocation__therapist_id", "n")
    )


def caseload_and_session_counts(*, service_id: int) -> dict[int, tuple[int, int]]:
    """Per therapist, in one grouped query: (clients, weekly sessions in use) of the current
    caseload (a client seen twice a week holds two sessions)."""
    rows = (
        allocations_holding(service_id=service_id)
        .values("therapist_id")
        .annotate(clients=Count("id", distinct=True), sessions=Count("bookings", distinct=True))
        .values_list("therapist_id", "clients", "sessions")
    )
    return {pk: (clients, sessions) for pk, clients, sessions in rows}


def caseload_mix_counts(*, service_id: int) -> dict[int, tuple[int, int, int]]:
    """Per therapist, in one grouped query: (weekly sessions in use, high-risk clients,
    complex clients) of the current caseload, which count against the weekly sessions and
    the caps. High-risk: the referral's risk level is high."""
    rows = (
        allocations_holding(service_id=service_id)
        .values("therapist_id")
        .annotate(
            sessions=Count("bookings", distinct=True),
            high=Count("id", distinct=True, filter=Q(referral__risk_level="high")),
            complex_=Count(
                "id", distinct=True, filter=Q(referral__allocation_needs__complex_case=True)
            ),
        )
        .values_list("therapist_id", "sessions", "high", "complex_")
    )
    return {pk: (sessions, high, complex_) for pk, sessions, high, complex_ in rows}


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
    free_slots: list[WeeklySlot]  # on the team's list page: the first few only
    booked_slots: list[WeeklySlot]
    leave_now: LeavePeriod | None
    leave_next: LeavePeriod | None
    free_slot_count: int = 0
    # Weekly sessions the caseload uses (a client seen twice a week uses two); the free
    # places above are the free weekly sessions.
    sessions: int = 0
    # High-risk and complex clients in the caseload (filled on the therapist's own page).
    high_risk_clients: int = 0
    complex_clients: int = 0

    @property
    def more_free_slots(self) -> int:
        return self.free_slot_count - len(self.free_slots)

    @property
    def over_capacity(self) -> bool:
        return self.sessions > self.therapist.capacity

    @property
    def load_percent(self) -> int:
        capacity = self.therapist.capacity
        return 100 if capacity == 0 else min(100, round(100 * self.sessions / capacity))


# How many free slots each row of the team's list names; its profile shows them all.
FREE_SLOTS_LISTED = 3


@dataclass(frozen=True)
class CaseloadTotals:
    capacity: int
    caseload: int
    free_places: int
    free_slots: int


@dataclass(frozen=True)
class CaseloadPage:
    page: Page  # of CaseloadRow
    totals: CaseloadTotals


def _booked(*, service_id: int) -> QuerySet[AllocationSlot]:
    """The service's slots that a holding allocation books (as `booked_slot_ids`, unread)."""
    return AllocationSlot.objects.filter(allocation__in=allocations_holding(service_id=service_id))


def _team_counts(*, service_id: int) -> dict[int, tuple[int, int, int]]:
    """Each therapist of the service: (capacity, caseload, free slots), in three grouped
    queries (a row per therapist) whatever the number of slots or clients."""
    team = (
        Therapist.objects.filter(service_id=service_id)
        .annotate(slot_count=Count("slots"))
        .order_by()
        .values_list("id", "capacity", "slot_count")
    )
    booked = dict(
        _booked(service_id=service_id)
        .values("slot__therapist_id")
        .annotate(n=Count("slot_id", distinct=True))
        .order_by()
        .values_list("slot__therapist_id", "n")
    )
    load = session_counts(service_id=service_id)  # weekly sessions in use
    return {
        pk: (capacity, load.get(pk, 0), slot_count - booked.get(pk, 0))
        for pk, capacity, slot_count in team
    }


def therapist_caseload_page(*, user, page=1) -> CaseloadPage:
    """One page of the team (by name): each therapist's load against capacity, a count of
    free slots with the first few of them, and leave; with totals for the whole team. A
    fixed number of queries: the page and its count, its first free slots and leave, and
    the team's grouped counts."""
    if not user.service_id:
        return CaseloadPage(page=page_of([]), totals=CaseloadTotals(0, 0, 0, 0))
    today = timezone.localdate()
    first_free = (
        WeeklySlot.objects.exclude(pk__in=_booked(service_id=user.service_id).values("slot_id"))
        .select_related("site")
        .order_by("weekday", "start")[:FREE_SLOTS_LISTED]
    )
    chosen = page_of(
        scope_to_service(Therapist.objects.all(), user)
        .only("public_id", "display_name", "capacity")
        .order_by("display_name", "id")
        .prefetch_related(
            Prefetch("slots", queryset=first_free, to_attr="first_free"),
            Prefetch(
                "leave", queryset=LeavePeriod.objects.filter(ends_on__gte=today), to_attr="ahead"
            ),
        ),
        page=page,
    )
    counts = _team_counts(service_id=user.service_id)
    clients = caseload_counts(service_id=user.service_id)
    rows = []
    for t in chosen:
        _, sessions, free = counts.get(t.pk, (t.capacity, 0, 0))
        rows.append(
            CaseloadRow(
                therapist=t,
                caseload=clients.get(t.pk, 0),
                sessions=sessions,
                free_places=max(t.capacity - sessions, 0),
                free_slots=t.first_free,
                booked_slots=[],
                leave_now=next((p for p in t.ahead if p.starts_on <= today), None),
                leave_next=next((p for p in t.ahead if p.starts_on > today), None),
                free_slot_count=free,
            )
        )
    totals = CaseloadTotals(
        capacity=sum(c for c, _, _ in counts.values()),
        caseload=sum(n for _, n, _ in counts.values()),
        free_places=sum(max(c - n, 0) for c, n, _ in counts.values()),
        free_slots=sum(f for _, _, f in counts.values()),
    )
    return CaseloadPage(page=page_with_rows(chosen, rows), totals=totals)


def therapist_caseloads(*, user) -> list[CaseloadRow]:
    """Every therapist of the user's service: load against capacity, free slots, leave."""
    if not user.service_id:
        return []
    counts = caseload_counts(service_id=user.service_id)
    sessions = session_counts(service_id=user.service_id)
    booked = booked_slot_ids(service_id=user.service_id)
    today = timezone.localdate()
    therapists = scope_to_service(Therapist.objects.all(), user).prefetch_related(
        "slots__site", "leave", "sites"
    )
    return [
        _caseload_row(t, counts.get(t.pk, 0), booked, today, sessions.get(t.pk, 0))
        for t in therapists
    ]


def therapist_caseload(*, therapist: Therapist) -> CaseloadRow:
    counts = caseload_counts(service_id=therapist.service_id)
    sessions = session_counts(service_id=therapist.service_id)
    booked = booked_slot_ids(service_id=therapist.service_id)
    row = _caseload_row(
        therapist,
        counts.get(therapist.pk, 0),
        booked,
        timezone.localdate(),
        sessions.get(therapist.pk, 0),
    )
    _, high_risk, complex_ = caseload_mix_counts(service_id=therapist.service_id).get(
        therapist.pk, (0, 0, 0)
    )
    return replace(row, high_risk_clients=high_risk, complex_clients=complex_)


def _caseload_row(
    therapist: Therapist, caseload: int, booked: set[int], today, sessions: int = 0
) -> CaseloadRow:
    slots = list(therapist.slots.all())
    leave = [p for p in therapist.leave.all() if p.ends_on >= today]
    free_slots = [s for s in slots if s.pk not in booked]
    return CaseloadRow(
        therapist=therapist,
        caseload=caseload,
        sessions=sessions,
        free_places=max(therapist.capacity - sessions, 0),
        free_slots=free_slots,
        free_slot_count=len(free_slots),
        booked_slots=[s for s in slots if s.pk in booked],
        leave_now=next((p for p in leave if p.starts_on <= today), None),
        leave_next=next((p for p in leave if p.starts_on > today), None),
    )


def slot_get(*, therapist: Therapist, public_id: UUID) -> WeeklySlot | None:
    return therapist.slots.filter(public_id=public_id).first()


def leave_get(*, therapist: Therapist, public_id: UUID) -> LeavePeriod | None:
    return therapist.leave.filter(public_id=public_id).first()


def therapist_visible(*, user, public_id: UUID) -> Therapist | None:
    """The therapist if this user may see their profile: coordinators and service admins
    see the team, a therapist only their own. None otherwise, as for one that is missing."""
    try:
        therapist = therapist_get(user=user, public_id=public_id)
    except Therapist.DoesNotExist:
        return None
    team_view = user.has_role(roles.COORDINATOR) or user.has_role(roles.SERVICE_ADMIN)
    if not team_view and therapist.user_id != user.pk:
        return None
    return therapist


@dataclass(frozen=True)
class TherapistProfile:
    therapist: Therapist
    row: CaseloadRow
    clients: list[Allocation]
    leave: list[LeavePeriod]  # now and to come


def therapist_profile(*, user, public_id: UUID) -> TherapistProfile | None:
    """A therapist's profile page: every slot, free or booked, their clients (at most their
    capacity) and leave not yet over."""
    therapist = therapist_visible(user=user, public_id=public_id)
    if therapist is None:
        return None
    today = timezone.localdate()
    return TherapistProfile(
        therapist=therapist,
        row=therapist_caseload(therapist=therapist),
        clients=list(therapist_clients(therapist=therapist)),
        leave=[p for p in therapist.leave.all() if p.ends_on >= today],
    )


def therapist_clients(*, therapist: Therapist) -> QuerySet[Allocation]:
    return (
        allocations_holding(service_id=therapist.service_id)
        .filter(therapist=therapist)
        .select_related("referral__client")
        .order_by("allocated_at")
    )


def first_appointment_for(
    *, therapist: Therapist, slots: Sequence[WeeklySlot], today: dt.date | None = None
) -> dt.datetime:
    """The first session: the earliest of the slots' days at least NOTICE_DAYS ahead (so
    the letter arrives first) that is not during the therapist's leave."""
    today = today or timezone.localdate()
    earliest = today + dt.timedelta(days=NOTICE_DAYS)
    leave = list(therapist.leave.filter(ends_on__gte=earliest))
    best = None
    for slot in slots:
        day = earliest + dt.timedelta(days=(slot.weekday - earliest.weekday()) % 7)
        for _ in range(60):  # a year of weeks: leave never lasts that long in practice
            if not any(p.starts_on <= day <= p.ends_on for p in leave):
                break
            day += dt.timedelta(days=7)
        moment = (day, slot.start)
        if best is None or moment < best:
            best = moment
    return timezone.make_aware(dt.datetime.combine(*best))


# --- Proposal runs and proposals --------------------------------------------------------------


def run_get(*, user, public_id: UUID) -> ProposalRun:
    return scope_to_service(ProposalRun.objects.all(), user).get(public_id=public_id)


def run_latest(*, user) -> ProposalRun | None:
    """The newest run of the user's service, whatever its state."""
    return scope_to_service(ProposalRun.objects.all(), user).order_by("-created_at", "-id").first()


# The rule for the run in force (`run_current`): a service's newest finished run. Written
# once, for `RUNS_SQL` and for the waiting list's rows, which read the run's id inside their
# own statement (`RUN_IN_FORCE_ID_SQL`): the rows' proposals are then those of the run the
# page names.
_RUN_IN_FORCE = """FROM allocation_proposalrun
    WHERE service_id = %s AND status = %s
    ORDER BY finished_at DESC, id DESC LIMIT 1"""
RUN_IN_FORCE_ID_SQL = f"(SELECT id {_RUN_IN_FORCE})"

# The run in force and the newest run of a service, each its own first row of one UNION
# ALL. Written as SQL: the waiting list reads it on every request, and building the two
# querysets cost more than PostgreSQL took to answer them.
RUNS_SQL = f"""
SELECT * FROM (
    SELECT *, 0 AS which {_RUN_IN_FORCE}
) AS in_force
UNION ALL
SELECT * FROM (
    SELECT *, 1 AS which FROM allocation_proposalrun
    WHERE service_id = %s
    ORDER BY created_at DESC, id DESC LIMIT 1
) AS newest
"""


def runs_current_and_latest(*, user) -> tuple[ProposalRun | None, ProposalRun | None]:
    """`run_current` and `run_latest` for the user's service, read in one query."""
    if not user.service_id:
        return None, run_latest(user=user)
    with connection.cursor() as cursor:
        cursor.execute(RUNS_SQL, runs_params(service_id=user.service_id))
        return runs_read(cursor)


def runs_params(*, service_id: int) -> list:
    """The parameters of `RUNS_SQL` for a service (the waiting list sends the SQL together
    with its own, in one round trip)."""
    return [*run_in_force_params(service_id=service_id), service_id]


def run_in_force_params(*, service_id: int) -> list:
    """The parameters of `RUN_IN_FORCE_ID_SQL` for a service."""
    return [service_id, ProposalRun.Status.DONE]


def runs_read(cursor) -> tuple[ProposalRun | None, ProposalRun | None]:
    """The run in force and the newest run from a cursor that has just run `RUNS_SQL`, as
    instances built as `Manager.raw` builds them (each column converted by its field)."""
    names = [column[0] for column in cursor.description]  # DB-API: the name first
    rows = cursor.fetchall()
    if not rows:
        return None, None
    by_column = {field.column: field for field in ProposalRun._meta.concrete_fields}
    fields = [by_column.get(name) for name in names]
    table = ProposalRun._meta.db_table
    compiler = connection.ops.compiler("SQLCompiler")(Query(ProposalRun), connection, None)
    converters = compiler.get_converters([f.get_col(table) if f else None for f in fields])
    if converters:
        rows = compiler.apply_converters(rows, converters)
    # In the model's order of fields, as `from_db` takes them.
    model_names = [field.attname for field in ProposalRun._meta.concrete_fields]
    model_positions = [names.index(field.column) for field in ProposalRun._meta.concrete_fields]
    which = names.index("which")
    found = {}
    for values in rows:
        found[values[which]] = ProposalRun.from_db(
            connection.alias, model_names, [values[i] for i in model_positions]
        )
    return found.get(0), found.get(1)


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


# --- The REST API's reads (api/) ----------------------------------------------------------------


def _team_view(user) -> bool:
    return access.has_any_role(user, (roles.COORDINATOR, roles.SERVICE_ADMIN))


def therapists_visible(*, user) -> QuerySet[Therapist]:
    """Profiles the user sees: coordinators and service admins the team, a therapist their own
    (therapist_visible, as a query)."""
    therapists = scope_to_service(Therapist.objects.all(), user)
    if _team_view(user):
        return therapists
    if access.has_any_role(user, (roles.THERAPIST,)):
        return therapists.filter(user=user)
    return therapists.none()


def slots_visible(*, user) -> QuerySet[WeeklySlot]:
    return WeeklySlot.objects.filter(therapist__in=therapists_visible(user=user))


def proposals_readable(*, user) -> QuerySet[Proposal]:
    """Proposals of the service's runs: coordinators' work."""
    if not access.has_any_role(user, (roles.COORDINATOR,)):
        return Proposal.objects.none()
    return scope_to_service(Proposal.objects.all(), user)


def allocations_readable(*, user) -> QuerySet[Allocation]:
    if not access.has_any_role(user, (roles.COORDINATOR,)):
        return Allocation.objects.none()
    return scope_to_service(Allocation.objects.all(), user)
