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
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
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
    RUN_IN_FORCE_ID_SQL,
    RUNS_SQL,
    WAIT_BREACH_WEEKS,
    WAIT_WARNING_WEEKS,
    WEEKDAY_CODES,
    allocation_current,
    first_appointment_for,
    hold_open,
    language_code,
    language_name,
    run_current,
    run_in_force_params,
    runs_current_and_latest,
    runs_params,
    runs_read,
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
    """One row of the waiting list, as it is shown: plain values read with `.values()`
    (no model instances), worked out once here rather than by the template's tags and
    filters, which were most of the page's time with 50 rows."""

    reference: str
    url: str
    client_name: str
    risk: str
    weeks: int
    needs: list[str]
    # The proposal column: "allocated", "restricted", "held", "placed", "no_match" or "".
    state: str = ""
    therapist_name: str = ""
    times: list[str] = field(default_factory=list)  # regular times, or the slots proposed
    decision: str = ""  # a placed proposal's decision when it is no longer open
    note: str = ""  # the hold's reason, or why there is no match yet, shortened
    # The proposal the coordinator may accept from the list (its public id), if any: placed,
    # still open, the referral waiting, not held and not restricted.
    proposal_id: UUID | None = None

    @property
    def weeks_text(self) -> str:
        return f"{self.weeks} week{'' if self.weeks == 1 else 's'}"

    @property
    def warning(self) -> str:
        if self.weeks >= WAIT_BREACH_WEEKS:
            return "18"
        if self.weeks >= WAIT_WARNING_WEEKS:
            return "6"
        return ""

    @property
    def can_accept(self) -> bool:
        return self.proposal_id is not None


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


def weeks_waiting(received_at: dt.datetime, today: dt.date, zone=None) -> int:
    """Whole weeks from the day received to `today`, in the current time zone (or `zone`,
    the current one read once for a list's rows)."""
    zone = zone or timezone.get_current_timezone()
    return max((today - received_at.astimezone(zone).date()).days // 7, 0)


def waiting_languages(*, user) -> list[tuple[str, str]]:
    """Languages asked for on the waiting list (therapy or interpreter), for the filter."""
    return _languages_and_count(user=user)[0]


# Each pair of languages asked for (therapy, interpreter) on the waiting list, with how many
# referrals ask for it. Written as SQL, as the rows are (`_ROWS_SQL`): read on every request.
_LANGUAGES_SQL = """
SELECT p.language, p.interpreter_language, count(*)
FROM intake_referral r LEFT JOIN intake_preferences p ON p.referral_id = r.id
WHERE r.service_id = %s AND r.status IN (%s, %s)
GROUP BY 1, 2
"""


def _languages_and_count(*, user) -> tuple[list[tuple[str, str]], int]:
    """The filter's languages, and how many are on the waiting list unfiltered, in one
    query: each pair of languages asked for with how many referrals ask for it (a referral
    has at most one preferences row, so the counts add up to the list's length)."""
    if not getattr(user, "is_authenticated", False) or not user.service_id:
        return [], 0  # as `scope_to_service`: nothing without a service
    with connection.cursor() as cursor:
        cursor.execute(_LANGUAGES_SQL, _languages_params(user))
        return _languages_of(cursor.fetchall())


def _languages_params(user) -> list:
    return [user.service_id, Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED]


def _languages_of(pairs) -> tuple[list[tuple[str, str]], int]:
    """The languages (code, name) and the total, from the rows of `_LANGUAGES_SQL`."""
    codes: set[str] = set()
    total = 0
    for language, interpreter, count in pairs:
        total += count
        for value in (language, interpreter):
            code = language_code(value or "")
            if code:
                codes.add(code)
    return [(code, language_name(code)) for code in sorted(codes)], total


# Sent first with the statements below, outside a transaction: they are then one read-only
# transaction at REPEATABLE READ, reading as of one moment, ended with the last of them (the
# statements of one string run as one transaction). Inside a transaction already open
# (ATOMIC_REQUESTS, tests) it could not be set, and the statements are sent as they are.
_ONE_SNAPSHOT_SQL = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def _list_read(*, user, page_ids: tuple = ()):
    """`_languages_and_count` and `runs_current_and_latest`, and with `page_ids` (the SQL and
    parameters of a page of `_UnfilteredIds`) that page's rows (`_rows_read`, the proposals
    of the run in force read by the rows' own statement, by the rule `RUNS_SQL` reads it
    by; else None). On PostgreSQL in one round trip, the statements sent together (each a
    round trip of its own cost about as much as PostgreSQL took to answer it).

    Inside a transaction each statement reads as of its own start (READ COMMITTED): in the
    rare case of a referral added, or a run finished, between two of them, the total, the
    runs and the rows of that one request may not agree; the next request shows them as
    they are."""
    if (
        connection.vendor != "postgresql"
        or not getattr(user, "is_authenticated", False)
        or not user.service_id
    ):
        return (*_languages_and_count(user=user), *runs_current_and_latest(user=user), None)
    statements = [_LANGUAGES_SQL, RUNS_SQL]
    params = [*_languages_params(user), *runs_params(service_id=user.service_id)]
    if page_ids:
        ids_sql, ids_params = page_ids
        statements.append(_rows_sql(ids_sql, run=RUN_IN_FORCE_ID_SQL))
        params += [
            Allocation.Status.ACTIVE,
            *run_in_force_params(service_id=user.service_id),
            *ids_params,
        ]
    one_snapshot = connection.get_autocommit() and not connection.in_atomic_block
    if one_snapshot:
        statements.insert(0, _ONE_SNAPSHOT_SQL)
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements), params)
        if one_snapshot:
            cursor.nextset()
        languages, total = _languages_of(cursor.fetchall())
        cursor.nextset()
        run, latest = runs_read(cursor)
        rows = None
        if page_ids:
            cursor.nextset()
            rows = _rows_of(cursor)
    return languages, total, run, latest, rows


def waiting_list_count(*, user, filters: WaitingFilters) -> int:
    """How many rows the waiting list shows with these filters (the staff home's counts
    open the list they count, so they read the same query)."""
    run = run_current(service_id=user.service_id) if user.service_id else None
    return _waiting_filtered(user=user, filters=filters, run=run).count()


def _waiting_filtered(*, user, filters: WaitingFilters, run):
    now = timezone.now()
    referrals = scope_to_service(Referral.objects.all(), user).filter(
        status__in=(Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED)
    )
    # What only filters and sorts the list, not read for each row: each added only when a
    # filter or the sort asks for it (an expression costs its building, used or not).
    if filters.status in ("waiting", "proposed", "no_match", "held"):
        open_hold = Hold.objects.filter(referral=OuterRef("pk"), released_at__isnull=True)
        referrals = referrals.alias(
            # A restriction the client asked for holds them too (intake.rights).
            on_hold=ExpressionWrapper(
                Q(Exists(open_hold)) | Q(restricted_at__isnull=False), output_field=BooleanField()
            )
        )
    if filters.status in ("proposed", "no_match"):
        in_run = Proposal.objects.filter(referral=OuterRef("pk"), run=run)
        referrals = referrals.alias(proposed=Exists(in_run.filter(therapist__isnull=False)))
    if filters.sort == "risk":
        referrals = referrals.alias(risk_rank=RISK_ORDER)
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


# What the needs of a referral are worked out from: its preferences, and the coordinators'
# allocation needs (`_preference_needs`, `_exclusion_needs`).
_PREFERENCE_FIELDS = (
    "language",
    "interpreter_needed",
    "interpreter_language",
    "therapist_gender",
    "therapist_gender_strength",
    "mode",
    "site_id",
    "availability",
    "time_windows",
    "preferred_windows",
)
_NEEDS_FIELDS = (
    "id",
    "gender_excluded",
    "competence",
    "specialism",
    "earliest_start",
    "therapy_weeks",
    "bsl",
    "spoken_language",
    "continuity",
    "complex_case",
    "step_free",
    "max_travel_minutes",
)

# What a row of the waiting list reads of a referral and its client, as plain values, then
# of its assessment, preferences (one JSON object, `_PREFERENCE_FIELDS` and the site's name),
# allocation needs (one JSON object, `_NEEDS_FIELDS`), open hold, allocation, exclusions and
# proposal in force, one subquery each, worked out by the database for the page's rows
# only. Only these columns: every other (the client's words and contact details among them)
# would be read, and decrypted or parsed, for nothing. At most one row of each: hold,
# allocation and proposal have "one per referral" unique constraints.
#
# Written as SQL rather than built with the ORM each time: building and compiling this
# query's forty columns and subqueries cost more than the database took to answer it, and
# most of the page's time; subqueries rather than joins leave PostgreSQL less to plan (the
# therapists' names too: a join there was planned as a hash of the whole team for each
# row). Only the page's referral ids come from the ORM (the filters and the sort,
# `_waiting_filtered`), or for the usual view from `_UNFILTERED_IDS_SQL`; this reads those
# rows, in that order. `{run}` is the run whose proposals it reads: a parameter, or for the
# usual view the run in force read in this statement (`RUN_IN_FORCE_ID_SQL`).
# tests/allocation/test_waiting_rows.py pins what the rows show.
_ROWS_SQL = """
SELECT
    r.id, r.public_id, r.reference, r.received_at, r.status, r.risk_level, r.restricted_at,
    c.given_name AS client__given_name,
    c.preferred_name AS client__preferred_name,
    c.family_name AS client__family_name,
    (
        SELECT a.recommendation_sessions_per_week FROM assessment_assessment a
        WHERE a.referral_id = r.id
    ) AS assessment__recommendation_sessions_per_week,
    (
        SELECT jsonb_build_object(
            {preferences},
            'site_name', (SELECT site.name FROM common_site site WHERE site.id = p.site_id)
        )
        FROM intake_preferences p WHERE p.referral_id = r.id
    ) AS preferences,
    (
        SELECT jsonb_build_object({needs}) FROM allocation_allocationneeds n
        WHERE n.referral_id = r.id
    ) AS needs,
    (
        SELECT h.reason FROM allocation_hold h
        WHERE h.referral_id = r.id AND h.released_at IS NULL
        ORDER BY h.created_at DESC LIMIT 1
    ) AS hold_reason,
    (
        SELECT jsonb_build_object(
            'name', (
                SELECT t.display_name FROM allocation_therapist t WHERE t.id = al.therapist_id
            ),
            'times', al.regular_times
        )
        FROM allocation_allocation al
        WHERE al.referral_id = r.id AND al.status = %s
        LIMIT 1
    ) AS allocation,
    (SELECT count(*) FROM allocation_therapistexclusion e WHERE e.referral_id = r.id) AS excluded,
    (
        SELECT jsonb_build_object(
            'public_id', pr.public_id, 'therapist_id', pr.therapist_id,
            'therapist_name', (
                SELECT t.display_name FROM allocation_therapist t WHERE t.id = pr.therapist_id
            ),
            'slots', pr.slots, 'reasons', pr.reasons, 'decision', pr.decision
        )
        FROM allocation_proposal pr
        WHERE pr.run_id = {run} AND pr.referral_id = r.id
        LIMIT 1
    ) AS proposal
FROM unnest(ARRAY({page})) WITH ORDINALITY AS page (id, n)
JOIN intake_referral r ON r.id = page.id
JOIN intake_client c ON c.id = r.client_id
ORDER BY page.n
"""
_ROWS_SQL = _ROWS_SQL.replace(
    "{preferences}", ", ".join(f"'{name}', p.{name}" for name in _PREFERENCE_FIELDS)
).replace("{needs}", ", ".join(f"'{name}', n.{name}" for name in _NEEDS_FIELDS))
# Columns read as JSON text (jsonb), parsed here.
_JSON_COLUMNS = ("preferences", "needs", "allocation", "proposal")
_RISKS = dict(Referral.Risk.choices)
_DECISIONS = dict(Proposal.Decision.choices)


# The ids of a page of the unfiltered list in its usual order (the longest wait first), as
# `_waiting_filtered` and the ordering would read them with no filter: the page's usual view,
# read without building and compiling that queryset on each request.
_UNFILTERED_IDS_SQL = (
    "SELECT id FROM intake_referral WHERE service_id = %s AND status IN (%s, %s) "
    "ORDER BY received_at, id LIMIT %s OFFSET %s"
)


@dataclass(frozen=True)
class _UnfilteredIds:
    """What `Paginator` slices for the unfiltered list: a page of it is the SQL of its ids
    and their parameters, for `_list_read` (the usual view) or `_rows_read`."""

    service_id: int

    def __getitem__(self, page: slice) -> tuple:
        if page.stop <= page.start:
            return ()  # an empty list's one page: nothing to read
        statuses = [Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED]
        return _UNFILTERED_IDS_SQL, [
            self.service_id,
            *statuses,
            page.stop - page.start,
            page.start,
        ]


def _rows_read(page_ids, *, run) -> list[dict]:
    """The rows `_ROWS_SQL` reads for a page of referral ids (a sliced `.values("id")`
    queryset, or the SQL and parameters of `_UnfilteredIds`), in its order, as dicts named
    like `.values()`'s."""
    if isinstance(page_ids, tuple):
        if not page_ids:
            return []
        ids_sql, ids_params = page_ids
    else:
        try:
            ids_sql, ids_params = page_ids.query.sql_with_params()
        except EmptyResultSet:  # no service, or an empty page
            return []
    with connection.cursor() as cursor:
        cursor.execute(
            _rows_sql(ids_sql, run="%s"),
            [Allocation.Status.ACTIVE, run.pk if run is not None else None, *ids_params],
        )
        return _rows_of(cursor)


def _rows_sql(ids_sql: str, *, run: str) -> str:
    """`_ROWS_SQL` for the page of ids `ids_sql` reads, with the proposals of the run `run`
    (a parameter, or `RUN_IN_FORCE_ID_SQL`)."""
    return _ROWS_SQL.replace("{run}", run).replace("{page}", ids_sql)


def _rows_of(cursor) -> list[dict]:
    """The rows of `_ROWS_SQL` from a cursor that has just run it, as dicts named like
    `.values()`'s, its JSON read."""
    names = [column[0] for column in cursor.description]  # DB-API: the name first
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        for name in _JSON_COLUMNS:
            if row[name] is not None:
                row[name] = json.loads(row[name])
        needs = row["needs"]
        if needs is not None and needs["earliest_start"] is not None:
            needs["earliest_start"] = dt.date.fromisoformat(needs["earliest_start"])
    return rows


def _rows_read_orm(page_ids, *, run) -> list[dict]:
    """`_rows_read` by the ORM, for a database other than PostgreSQL (the embedded SQLite
    mode), whose SQL `_ROWS_SQL` is not: the same rows, in a few more queries.
    tests/allocation/test_waiting_rows.py checks that the two agree."""
    ids = [row["id"] for row in page_ids]
    found = Referral.objects.filter(pk__in=ids).select_related(
        "client", "preferences__site", "allocation_needs", "assessment"
    )
    referrals = {referral.pk: referral for referral in found}
    holds = dict(
        Hold.objects.filter(referral_id__in=ids, released_at=None).values_list("referral", "reason")
    )
    allocations = {
        a.referral_id: {"name": a.therapist.display_name, "times": a.regular_times}
        for a in Allocation.objects.filter(
            referral_id__in=ids, status=Allocation.Status.ACTIVE
        ).select_related("therapist")
    }
    excluded = Counter(
        TherapistExclusion.objects.filter(referral_id__in=ids).values_list("referral", flat=True)
    )
    proposals = {
        p.referral_id: {
            "public_id": str(p.public_id),
            "therapist_id": p.therapist_id,
            "therapist_name": p.therapist.display_name if p.therapist_id else None,
            "slots": p.slots,
            "reasons": p.reasons,
            "decision": p.decision,
        }
        for p in Proposal.objects.filter(run=run, referral_id__in=ids).select_related("therapist")
    }
    rows = []
    for pk in ids:
        r = referrals[pk]
        preferences = getattr(r, "preferences", None)
        needs = getattr(r, "allocation_needs", None)
        assessment = getattr(r, "assessment", None)
        rows.append(
            {
                **{name: getattr(r, name) for name in _REFERRAL_COLUMNS},
                "client__given_name": r.client.given_name,
                "client__preferred_name": r.client.preferred_name,
                "client__family_name": r.client.family_name,
                "assessment__recommendation_sessions_per_week": (
                    assessment.recommendation_sessions_per_week if assessment else None
                ),
                "preferences": (
                    {name: getattr(preferences, name) for name in _PREFERENCE_FIELDS}
                    | {"site_name": preferences.site.name if preferences.site_id else None}
                    if preferences is not None
                    else None
                ),
                "needs": (
                    {name: getattr(needs, name) for name in _NEEDS_FIELDS}
                    if needs is not None
                    else None
                ),
                "hold_reason": holds.get(pk),
                "allocation": allocations.get(pk),
                "excluded": excluded[pk],
                "proposal": proposals.get(pk),
            }
        )
    return rows


_REFERRAL_COLUMNS = (
    "id",
    "public_id",
    "reference",
    "received_at",
    "status",
    "risk_level",
    "restricted_at",
)


def waiting_list(
    *, user, filters: WaitingFilters, page: int = 1, per_page: int = 50
) -> WaitingList:
    today = timezone.localdate()
    chosen = asked = None  # the usual view's rows, read before the total, and their page
    if (
        filters == WaitingFilters()
        and connection.vendor == "postgresql"
        and getattr(user, "is_authenticated", False)
        and user.service_id
    ):
        # The usual view: its page of ids by its own SQL, no queryset built, and the page
        # asked for read with the languages and the runs, in one round trip.
        referrals, ids = None, _UnfilteredIds(user.service_id)
        asked = _page_asked(page)
        bottom = (asked - 1) * per_page
        languages, everyone, run, latest, chosen = _list_read(
            user=user, page_ids=ids[bottom : bottom + per_page]
        )
    else:
        languages, everyone, run, latest, _ = _list_read(user=user)
        if filters.language and filters.language not in dict(languages):
            filters = replace(filters, language="")  # not asked for: the list is not filtered
        if filters == WaitingFilters() and connection.vendor == "postgresql" and user.service_id:
            referrals, ids = None, _UnfilteredIds(user.service_id)
        else:
            referrals = _waiting_filtered(user=user, filters=filters, run=run)
            if filters.sort == "priority":
                # The engine's priority points, from the proposal set in force.
                priority = Proposal.objects.filter(referral=OuterRef("pk"), run=run).values(
                    "priority"
                )
                referrals = referrals.alias(
                    engine_priority=Coalesce(Subquery(priority[:1]), Value(0))
                )
            order = {
                "risk": ("-risk_rank", "received_at"),
                "newest": ("-received_at",),
                "priority": ("-engine_priority", "received_at"),
            }.get(filters.sort, ("received_at",))
            ids = referrals.order_by(*order, "id").values("id")
    paginator = Paginator(ids, per_page)
    # Unfiltered, the list is as long as the languages' query counted; filtered, it is
    # counted without what the rows show (joins a count does not need).
    filtered = any((filters.status, filters.wait, filters.risk, filters.language, filters.needs))
    paginator.count = referrals.count() if filtered else everyone  # usual: not filtered
    page_obj = paginator.get_page(page)
    if chosen is None or page_obj.number != asked:
        # Filtered; or past the last page, whose rows are known once the total is.
        read = _rows_read if connection.vendor == "postgresql" else _rows_read_orm
        chosen = read(page_obj.object_list, run=run)
    link = url_for_each("allocation-referral")
    zone = timezone.get_current_timezone()
    rows = []
    for r in chosen:
        row = WaitingRow(
            reference=r["reference"],
            url=link(r["public_id"]),
            client_name=(
                f"{r['client__preferred_name'] or r['client__given_name']} "
                f"{r['client__family_name']}"
            ),
            risk=_RISKS.get(r["risk_level"], r["risk_level"]),
            weeks=weeks_waiting(r["received_at"], today, zone),
            needs=_row_needs(r, excluded=r["excluded"] or 0),
        )
        proposal, hold, allocation = r.get("proposal"), r["hold_reason"], r["allocation"]
        if (
            proposal is not None
            and proposal["therapist_id"] is not None
            and proposal["decision"] == Proposal.Decision.OPEN
            and hold is None
            and r["restricted_at"] is None
            and r["status"] == Referral.Status.AWAITING_ALLOCATION
        ):
            row.proposal_id = UUID(proposal["public_id"])
        if allocation is not None:
            row.state = "allocated"
            row.therapist_name = allocation["name"]
            row.times = [slot_text(time) for time in allocation["times"]]
        elif r["restricted_at"]:
            row.state = "restricted"
        elif hold is not None:
            row.state = "held"
            row.note = truncatechars(hold, 80)
        elif proposal is not None and proposal["therapist_id"] is not None:
            row.state = "placed"
            if proposal["decision"] != Proposal.Decision.OPEN:
                row.decision = _DECISIONS.get(proposal["decision"], proposal["decision"])
            row.therapist_name = proposal["therapist_name"]
            row.times = [slot_text(slot) for slot in proposal["slots"]]
        elif proposal is not None:
            row.state = "no_match"
            reasons = proposal["reasons"]
            row.note = truncatechars(reasons[0] if reasons else "", 120)
        rows.append(row)
    page_obj.object_list = rows
    return WaitingList(
        page=page_obj,
        rows=rows,
        total=paginator.count,
        run=run,
        latest=latest,
        languages=languages,
        filters=filters,
    )


def _page_asked(page) -> int:
    """The page `Paginator.get_page` gives for `page` when that page exists: the usual view
    reads it before the total is known (and again, the page given, when it does not)."""
    try:
        return max(int(page), 1)
    except (TypeError, ValueError):
        return 1


def _row_needs(r: dict, *, excluded: int) -> list[str]:
    """`referral_needs` for a row read by `_ROWS_SQL`, its preferences and allocation needs
    each one JSON object (or None)."""
    sessions = r["assessment__recommendation_sessions_per_week"]
    return _preference_needs(
        r["preferences"], multi=sessions is not None and sessions > 1
    ) + _exclusion_needs(r["needs"], excluded=excluded)


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
    preferences = getattr(referral, "preferences", None)
    values = None
    if preferences is not None:
        values = {name: getattr(preferences, name) for name in _PREFERENCE_FIELDS}
        values["site_name"] = preferences.site.name if preferences.site_id else None
    row = AllocationNeeds.objects.filter(referral=referral).first()
    needs = {name: getattr(row, name) for name in _NEEDS_FIELDS} if row else None
    return _preference_needs(values, multi=getattr(referral, "multi", False)) + _exclusion_needs(
        needs, excluded=TherapistExclusion.objects.filter(referral=referral).count()
    )


def _preference_needs(preferences: dict | None, *, multi: bool) -> list[str]:
    """The client's wishes in phrases, from their preferences' values (`_PREFERENCE_FIELDS`
    and the site's name), or None without preferences."""
    needs = []
    if multi:
        needs.append("More than once a week")
    if preferences is None:
        return needs
    language = language_code(preferences["language"])
    interpreter = language_code(preferences["interpreter_language"])
    if preferences["interpreter_needed"]:
        needs.append(f"{language_name(interpreter or language or 'english')} interpreter")
    elif language and language != "english":
        needs.append(f"Therapy in {language_name(language)}")
    gender, strength = preferences["therapist_gender"], preferences["therapist_gender_strength"]
    if gender and strength:
        gender = GENDER_WORDS.get(gender, gender)
        if strength == "requirement":
            needs.append(f"Therapist must be {gender}")
        else:
            needs.append(f"Prefers a therapist who is {gender}")
    site = preferences["site_name"] if preferences["site_id"] else None
    if preferences["mode"] == "in_person":
        needs.append("In person" + (f" ({site})" if site is not None else ""))
    elif preferences["mode"] == "remote":
        needs.append("Remote only")
    elif site is not None:
        needs.append(f"Prefers {site}")
    exact = _windows_text(preferences["time_windows"])
    if exact:
        needs.append(f"Only {exact}")
    elif not preferences["availability"]:
        needs.append("No times given")
    liked = _windows_text(preferences["preferred_windows"])
    if liked:
        needs.append(f"Would rather have {liked}")
    return needs


def _windows_text(rows) -> str:
    """Recorded exact windows in words: "Tuesday 17:30-20:00, Thursday 18:00-21:00"."""
    if not rows:
        return ""  # none recorded, as most rows of a list: as `windows_of` reads them
    try:
        return ", ".join(window_words(w) for w in sorted(windows_of(rows)))
    except ValueError:
        return "times that cannot be read: set them again"


GENDER_WORDS = {"female": "a woman", "male": "a man", "non_binary": "a non-binary person"}


def _exclusion_needs(needs: dict | None, *, excluded: int) -> list[str]:
    """The coordinators' allocation needs in phrases, from their values (`_NEEDS_FIELDS`,
    None without a needs row), and how many therapists are excluded by name."""
    needs = needs or {}
    out = []
    if needs.get("complex_case"):
        out.append("A complex case")
    if needs.get("step_free"):
        out.append("Needs step-free access")
    travel = needs.get("max_travel_minutes")
    if travel:
        out.append(f"Travels at most {travel} minutes")
    if needs.get("continuity") == "required":
        out.append("Only the assessor (continuity required)")
    if needs.get("bsl"):
        out.append(f"Needs BSL as well as {needs.get('spoken_language') or 'English'}")
    earliest, weeks = needs.get("earliest_start"), needs.get("therapy_weeks")
    if earliest:
        out.append(f"Cannot start before {earliest:%-d %B %Y}")
    if weeks:
        out.append(f"A course of {weeks} week{'' if weeks == 1 else 's'}")
    competence, specialism = needs.get("competence"), needs.get("specialism")
    if competence == "qualified":
        out.append("Needs a qualified therapist")
    elif competence == "independent":
        out.append("Needs a qualified therapist not under supervision")
    if specialism:
        out.append(f"Needs the {specialism} specialism")
    genders = needs.get("gender_excluded") or []
    if genders:
        out.append("Therapist must not be " + " or ".join(GENDER_WORDS.get(g, g) for g in genders))
    if excluded:
        out.append(f"{excluded} therapist{'' if excluded == 1 else 's'} excluded")
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
