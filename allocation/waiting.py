"""The coordinator's waiting list, and one referral on it.

`waiting_list` reads one page of the referrals waiting for a therapist or just allocated,
filtered and sorted as asked, then what each row shows for the whole page at once (the
proposal in force, an open hold, the allocation). `referral_allocation` reads the page for
one referral: its needs and availability, the assessment's recommendation, its proposal with
the first appointment it would give, a hold, an allocation. Reads only, scoped to the
user's service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.template.defaultfilters import truncatechars
from django.utils import timezone

from allocation.engine import DAY_NAMES, PARTS
from allocation.engine.problem import window_words
from allocation.engine_input import windows_of
from allocation.models import (
    Allocation,
    AllocationNeeds,
    Hold,
    Proposal,
    ProposalRun,
    TherapistExclusion,
    WeeklySlot,
)
from allocation.selectors import (
    BSL_NAMES,
    WAIT_BREACH_WEEKS,
    WAIT_WARNING_WEEKS,
    WEEKDAY_CODES,
    allocation_current,
    first_appointment_for,
    hold_open,
    language_code,
    language_name,
    run_current,
    run_latest,
)
from allocation.templatetags.allocation_format import slot_text
from common.rows import url_for_each
from common.selectors import scope_to_service
from intake.models import Referral

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
    ("bsl", "British Sign Language (alone, or as well as a spoken language)"),
    ("multi", "More than one session a week"),
    ("gender", "Therapist gender is a requirement"),
    ("exclusions", "Therapists excluded (named, or a gender)"),
    ("competence", "Needs a qualified therapist or a specialism"),
    ("course", "Starts later, or a fixed length of therapy"),
    ("continuity", "Continuity with the assessor required"),
    ("complex", "A complex case (counts against therapists' caps)"),
    ("access", "Needs step-free access, or a travel limit"),
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
    # What the row shows, worked out once here rather than by the template's tags and
    # filters (`present`), which were most of the page's time with 50 rows.
    url: str = ""
    client_name: str = ""
    risk: str = ""
    weeks_text: str = ""
    # The proposal column: "allocated", "restricted", "held", "placed", "no_match" or "".
    state: str = ""
    therapist_name: str = ""
    times: list[str] = field(default_factory=list)  # regular times, or the slots proposed
    decision: str = ""  # a placed proposal's decision when it is no longer open
    note: str = ""  # the hold's reason, or why there is no match yet, shortened

    def present(self, *, url: str) -> WaitingRow:
        referral, proposal = self.referral, self.proposal
        self.url = url
        self.client_name = referral.client.display_name
        self.risk = referral.get_risk_level_display()
        self.weeks_text = f"{self.weeks} week{'' if self.weeks == 1 else 's'}"
        if self.allocation is not None:
            self.state = "allocated"
            self.therapist_name = self.allocation.therapist.display_name
            self.times = [slot_text(time) for time in self.allocation.regular_times]
        elif referral.restricted_at:
            self.state = "restricted"
        elif self.hold is not None:
            self.state = "held"
            self.note = truncatechars(self.hold.reason, 80)
        elif proposal is not None and proposal.placed:
            self.state = "placed"
            if proposal.decision != "open":
                self.decision = proposal.get_decision_display()
            self.therapist_name = proposal.therapist.display_name
            self.times = [slot_text(slot) for slot in proposal.slots]
        elif proposal is not None:
            self.state = "no_match"
            self.note = truncatechars(proposal.reasons[0] if proposal.reasons else "", 120)
        return self

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
            and self.referral.restricted_at is None
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
    filters: WaitingFilters = WaitingFilters()
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


def waiting_list_count(*, user, filters: WaitingFilters) -> int:
    """How many rows the waiting list shows with these filters (the staff home's counts
    open the list they count, so they read the same query)."""
    run = run_current(service_id=user.service_id) if user.service_id else None
    return _waiting_filtered(user=user, filters=filters, run=run).count()


def _waiting_filtered(*, user, filters: WaitingFilters, run):
    now = timezone.now()
    open_hold = Hold.objects.filter(referral=OuterRef("pk"), released_at__isnull=True)
    in_run = Proposal.objects.filter(referral=OuterRef("pk"), run=run)
    referrals = (
        scope_to_service(Referral.objects.all(), user)
        .filter(status__in=(Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED))
        # What only filters and sorts the list: not read for each row.
        .alias(
            # A restriction the client asked for holds them too (intake.rights).
            on_hold=ExpressionWrapper(
                Q(Exists(open_hold)) | Q(restricted_at__isnull=False), output_field=BooleanField()
            ),
            proposed=Exists(in_run.filter(therapist__isnull=False)),
            no_match=Exists(in_run.filter(therapist__isnull=True)),
            risk_rank=RISK_ORDER,
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
    return referrals


def _with_row_details(referrals):
    """What each row of the waiting list shows beyond the referral (its client, its
    preferences, its needs): read for the page's rows, never for counting them."""
    return referrals.select_related("client", "preferences", "preferences__site").annotate(
        multi=ExpressionWrapper(
            Q(assessment__recommendation_sessions_per_week__gt=1),
            output_field=BooleanField(),
        ),
        excluded_count=Coalesce(
            Subquery(
                TherapistExclusion.objects.filter(referral=OuterRef("pk"))
                .order_by()
                .values("referral")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
            Value(0),
        ),
        genders_excluded=F("allocation_needs__gender_excluded"),
        competence_needed=F("allocation_needs__competence"),
        specialism_needed=F("allocation_needs__specialism"),
        course_earliest=F("allocation_needs__earliest_start"),
        course_weeks=F("allocation_needs__therapy_weeks"),
        bsl_as_well=F("allocation_needs__bsl"),
        continuity_needed=F("allocation_needs__continuity"),
        complex_needed=F("allocation_needs__complex_case"),
        access_step_free=F("allocation_needs__step_free"),
        access_travel=F("allocation_needs__max_travel_minutes"),
        bsl_spoken=F("allocation_needs__spoken_language"),
    )


# What a row of the waiting list reads of a referral, its client and preferences: every
# other column (the client's words and contact details among them) would be read, and
# decrypted or parsed, for nothing.
_ROW_FIELDS = (
    "public_id",
    "reference",
    "received_at",
    "status",
    "risk_level",
    "restricted_at",
    "client__given_name",
    "client__preferred_name",
    "client__family_name",
    "preferences__language",
    "preferences__interpreter_needed",
    "preferences__interpreter_language",
    "preferences__therapist_gender",
    "preferences__therapist_gender_strength",
    "preferences__mode",
    "preferences__availability",
    "preferences__time_windows",
    "preferences__preferred_windows",
    "preferences__site__name",
)


def waiting_list(
    *, user, filters: WaitingFilters, page: int = 1, per_page: int = 50
) -> WaitingList:
    languages = waiting_languages(user=user)
    if filters.language and filters.language not in dict(languages):
        filters = replace(filters, language="")  # not asked for: the list is not filtered
    run = run_current(service_id=user.service_id) if user.service_id else None
    today = timezone.localdate()
    referrals = _waiting_filtered(user=user, filters=filters, run=run)
    if filters.sort == "priority":
        # The engine's priority points, from the proposal set in force.
        priority = Proposal.objects.filter(referral=OuterRef("pk"), run=run).values("priority")
        referrals = referrals.alias(engine_priority=Coalesce(Subquery(priority[:1]), Value(0)))
    order = {
        "risk": ("-risk_rank", "received_at"),
        "newest": ("-received_at",),
        "priority": ("-engine_priority", "received_at"),
    }.get(filters.sort, ("received_at",))
    paginator = Paginator(
        _with_row_details(referrals).order_by(*order, "id").only(*_ROW_FIELDS), per_page
    )
    # Counted without what the rows show (joins and subqueries a count does not need).
    paginator.count = referrals.count()
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
        for a in Allocation.objects.filter(referral_id__in=ids, status=Allocation.Status.ACTIVE)
        .select_related("therapist")
        .only("referral_id", "regular_times", "therapist__display_name")
    }
    link = url_for_each("allocation-referral")
    rows = [
        WaitingRow(
            referral=r,
            weeks=weeks_waiting(r.received_at, today),
            needs=referral_needs(r),
            proposal=proposals.get(r.pk),
            hold=holds.get(r.pk),
            allocation=allocations.get(r.pk),
        ).present(url=link(r.public_id))
        for r in chosen
    ]
    latest = run_latest(user=user)
    return WaitingList(
        page=page_obj,
        rows=rows,
        total=paginator.count,
        run=run,
        latest=latest,
        languages=languages,
        filters=filters,
    )


def _needs_q(need: str) -> Q:
    if need == "interpreter":
        return Q(preferences__interpreter_needed=True)
    if need == "bsl":
        bsl = Q()
        for name in BSL_NAMES:
            bsl |= Q(preferences__language__iexact=name)
            bsl |= Q(preferences__interpreter_language__iexact=name)
        return bsl | Q(allocation_needs__bsl=True)
    if need == "multi":
        return Q(assessment__recommendation_sessions_per_week__gt=1)
    if need == "gender":
        return Q(preferences__therapist_gender_strength="requirement") | ~Q(
            allocation_needs__gender_excluded=[]
        ) & Q(allocation_needs__isnull=False)
    if need == "competence":
        return Q(allocation_needs__competence__in=["qualified", "independent"]) | (
            Q(allocation_needs__isnull=False) & ~Q(allocation_needs__specialism="")
        )
    if need == "access":
        return Q(allocation_needs__step_free=True) | Q(
            allocation_needs__max_travel_minutes__isnull=False
        )
    if need == "continuity":
        return Q(allocation_needs__continuity="required")
    if need == "complex":
        return Q(allocation_needs__complex_case=True)
    if need == "course":
        return Q(allocation_needs__earliest_start__isnull=False) | Q(
            allocation_needs__therapy_weeks__isnull=False
        )
    if need == "exclusions":
        return Q(Exists(TherapistExclusion.objects.filter(referral=OuterRef("pk")))) | (
            Q(allocation_needs__isnull=False) & ~Q(allocation_needs__gender_excluded=[])
        )
    if need in ("in_person", "remote"):
        return Q(preferences__mode=need)
    return Q()


def referral_needs(referral: Referral) -> list[str]:
    """Short phrases for what constrains a referral's allocation, for lists and pages: the
    client's preferences, then the coordinators' exclusions."""
    return _preference_needs(referral) + _exclusion_needs(referral)


def _preference_needs(referral: Referral) -> list[str]:
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
    exact = _windows_text(preferences.time_windows)
    if exact:
        needs.append(f"Only {exact}")
    elif not preferences.availability:
        needs.append("No times given")
    liked = _windows_text(preferences.preferred_windows)
    if liked:
        needs.append(f"Would rather have {liked}")
    return needs


def _windows_text(rows) -> str:
    """Recorded exact windows in words: "Tuesday 17:30-20:00, Thursday 18:00-21:00"."""
    try:
        return ", ".join(window_words(w) for w in sorted(windows_of(rows)))
    except ValueError:
        return "times that cannot be read: set them again"


GENDER_WORDS = {"female": "a woman", "male": "a man", "non_binary": "a non-binary person"}


def _exclusion_needs(referral: Referral) -> list[str]:
    """The coordinators' exclusions, from the waiting list's annotations (or read here,
    for one referral's page)."""
    if hasattr(referral, "excluded_count"):
        count, genders = referral.excluded_count, referral.genders_excluded or []
    else:
        count = TherapistExclusion.objects.filter(referral=referral).count()
        needs_row = AllocationNeeds.objects.filter(referral=referral).first()
        genders = needs_row.gender_excluded if needs_row else []
    out = []
    competence = getattr(referral, "competence_needed", None)
    specialism = getattr(referral, "specialism_needed", None)
    earliest = getattr(referral, "course_earliest", None)
    weeks = getattr(referral, "course_weeks", None)
    bsl = getattr(referral, "bsl_as_well", None)
    continuity = getattr(referral, "continuity_needed", None)
    step_free = getattr(referral, "access_step_free", None)
    travel = getattr(referral, "access_travel", None)
    spoken = getattr(referral, "bsl_spoken", None)
    complex_case = getattr(referral, "complex_needed", None)
    if not hasattr(referral, "competence_needed"):
        row = AllocationNeeds.objects.filter(referral=referral).first()
        competence, specialism = (row.competence, row.specialism) if row else (None, None)
        earliest, weeks = (row.earliest_start, row.therapy_weeks) if row else (None, None)
        bsl, spoken = (row.bsl, row.spoken_language) if row else (False, "")
        continuity = row.continuity if row else None
        step_free, travel = (row.step_free, row.max_travel_minutes) if row else (False, None)
        complex_case = row.complex_case if row else False
    if complex_case:
        out.append("A complex case")
    if step_free:
        out.append("Needs step-free access")
    if travel:
        out.append(f"Travels at most {travel} minutes")
    if continuity == "required":
        out.append("Only the assessor (continuity required)")
    if bsl:
        out.append(f"Needs BSL as well as {spoken or 'English'}")
    if earliest:
        out.append(f"Cannot start before {earliest:%-d %B %Y}")
    if weeks:
        out.append(f"A course of {weeks} week{'' if weeks == 1 else 's'}")
    if competence == "qualified":
        out.append("Needs a qualified therapist")
    elif competence == "independent":
        out.append("Needs a qualified therapist not under supervision")
    if specialism:
        out.append(f"Needs the {specialism} specialism")
    if genders:
        out.append("Therapist must not be " + " or ".join(GENDER_WORDS.get(g, g) for g in genders))
    if count:
        out.append(f"{count} therapist{'' if count == 1 else 's'} excluded")
    return out


def availability_text(values: list[str], windows=()) -> str:
    """The client's times in words: the exact windows recorded, or the parts of the day
    they gave."""
    if windows:
        return _windows_text(windows)
    if not values:
        return "No times given: any weekday time is assumed"
    words = []
    for value in values:
        day, _, part = value.partition("_")
        if day in WEEKDAY_CODES and part in PARTS:
            words.append(f"{DAY_NAMES[WEEKDAY_CODES.index(day)]} {part}")
    return ", ".join(words)


def referral_get(*, user, public_id: UUID) -> Referral | None:
    """A referral of the user's service, with what the allocation pages show of it."""
    return (
        scope_to_service(Referral.objects.all(), user)
        .select_related("client", "preferences", "preferences__site")
        .filter(public_id=public_id)
        .first()
    )


@dataclass(frozen=True)
class ReferralAllocation:
    referral: Referral
    weeks: int
    needs: list[str]
    availability: str
    recommendation: object  # assessment's Recommendation, or None
    run: ProposalRun | None
    proposal: Proposal | None
    first_appointment: dt.datetime | None  # the proposal's, if it placed the referral
    hold: Hold | None
    allocation: Allocation | None
    preferred_times: str = ""

    @property
    def waiting(self) -> bool:
        return self.referral.status == Referral.Status.AWAITING_ALLOCATION


def referral_allocation(*, user, referral: Referral) -> ReferralAllocation:
    """Everything the coordinator's page for one referral shows: its needs, the proposal in
    force for it (with the first appointment it would give), a hold, an allocation."""
    from assessment.selectors import referral_recommendation

    run = run_current(service_id=user.service_id)
    proposal = (
        Proposal.objects.filter(run=run, referral=referral).select_related("therapist").first()
        if run is not None
        else None
    )
    first = None
    if proposal is not None and proposal.placed and proposal.therapist is not None:
        slots = list(WeeklySlot.objects.filter(public_id__in=[s["slot"] for s in proposal.slots]))
        if slots:
            first = first_appointment_for(therapist=proposal.therapist, slots=slots)
    preferences = getattr(referral, "preferences", None)
    return ReferralAllocation(
        referral=referral,
        weeks=weeks_waiting(referral.received_at, timezone.localdate()),
        needs=referral_needs(referral),
        availability=availability_text(
            preferences.availability if preferences else [],
            preferences.time_windows if preferences else [],
        ),
        recommendation=referral_recommendation(referral=referral),
        run=run,
        proposal=proposal,
        first_appointment=first,
        hold=hold_open(referral=referral),
        allocation=allocation_current(referral=referral),
        preferred_times=_windows_text(preferences.preferred_windows) if preferences else "",
    )
