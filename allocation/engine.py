"""Matching engine: allocate waiting referrals to therapists' free weekly slots.

Pure Python with numpy and OR-tools; no Django and no database. The management command
and the coordinator screens call the four public functions:

- ``parse_problem(data)`` validates a JSON-shaped dict and returns a ``Problem``, or raises
  ``ProblemError`` naming the record at fault;
- ``solve(problem)`` returns a ``Result``: proposals with their reasons, and every referral
  left unplaced with why and what would place it;
- ``result_to_dict(result)`` turns a result into JSON-ready data;
- ``eligible_pairs(problem)`` lists every referral/therapist pair that meets every hard
  constraint, with its score.

``greedy(problem)`` is a baseline (longest wait first, first therapist who fits) for the
benchmark and the tests.

The objective is lexicographic: first the number of referrals placed, then the sum of
their priorities, then the sum of their fit points. It is one integer objective,
``place_scale * placed + scale * priority + fit``, where ``scale`` exceeds the largest
total fit and ``place_scale`` the largest ``scale * priority + fit`` any allocation can
reach. docs/allocation.md states it precisely and says which parts of the search are exact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import itertools
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "Assignment",
    "Problem",
    "ProblemError",
    "Referral",
    "Result",
    "Slot",
    "Therapist",
    "Unplaced",
    "Weights",
    "eligible_pairs",
    "greedy",
    "parse_problem",
    "priority_of",
    "result_to_dict",
    "solve",
]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_LOOKUP = {name.lower(): i for i, name in enumerate(DAY_NAMES)} | {
    name[:3].lower(): i for i, name in enumerate(DAY_NAMES)
}
PARTS = ("morning", "afternoon", "evening")
MODES = ("in_person", "remote", "either")
RISKS = ("low", "medium", "high")
STRENGTHS = ("none", "preferred", "required")
REMOTE = "remote"
NOON = 12 * 60
FIVE_PM = 17 * 60
MINUTES_PER_DAY = 24 * 60
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")

# Hard-constraint families, in the order the explanation funnel narrows the therapists.
FAMILIES = ("modality", "language", "gender", "frequency", "leave", "capacity", "slots")
_CAPACITY = FAMILIES.index("capacity")


class ProblemError(ValueError):
    """The problem is malformed or inconsistent; the message names the record."""


# ---------------------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Weights:
    """Priority and fit points. Priority outranks fit entirely (see ``Problem.scale``)."""

    base: int = 100  # every placement
    per_week: int = 5  # each week waited, up to max_weeks
    max_weeks: int = 104
    breach_6: int = 600  # waiting 6 weeks or more
    breach_18: int = 1200  # waiting 18 weeks or more (on top of breach_6)
    risk_medium: int = 250
    risk_high: int = 500
    fit_gender: int = 4  # preferred therapist gender met
    fit_continuity: int = 3  # the assessor is the therapist
    fit_site: int = 2  # every in-person session at the preferred site
    fit_time: int = 2  # every session in a preferred part of the day
    fit_language: int = 1  # speaks the client's language, so no interpreter is needed

    @property
    def max_fit(self) -> int:
        return (
            self.fit_gender
            + self.fit_continuity
            + self.fit_site
            + self.fit_time
            + self.fit_language
        )

    @property
    def max_priority(self) -> int:
        """The most priority points any one referral can have under these weights."""
        return (
            self.base
            + self.per_week * self.max_weeks
            + self.breach_6
            + self.breach_18
            + max(self.risk_medium, self.risk_high, 0)
        )


@dataclass(frozen=True, slots=True)
class Slot:
    id: str
    day: int  # 0 = Monday
    start: int  # minutes after midnight
    length: int  # minutes
    site: str  # a site name, or "remote"

    @property
    def part(self) -> int:
        return 0 if self.start < NOON else (1 if self.start < FIVE_PM else 2)

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def label(self) -> str:
        return f"{DAY_NAMES[self.day]} {_hhmm(self.start)}"

    @property
    def remote(self) -> bool:
        return self.site == REMOTE


@dataclass(frozen=True, slots=True)
class Therapist:
    id: str
    service: str
    modalities: frozenset[str]
    languages: frozenset[str]
    gender: str | None
    sites: tuple[str, ...]
    remote: bool
    capacity: int  # free places: capacity less current caseload
    frequencies: frozenset[int]
    slots: tuple[Slot, ...]
    leave: tuple[tuple[dt.date, dt.date], ...] = ()

    def on_leave(self, day: dt.date | None) -> tuple[dt.date, dt.date] | None:
        if day is None:
            return None
        for start, end in self.leave:
            if start <= day <= end:
                return (start, end)
        return None


@dataclass(frozen=True, slots=True)
class Referral:
    id: str
    service: str
    modality: str
    language: str
    needs_interpreter: bool
    gender_strength: str  # none / preferred / required
    gender: str | None
    mode: str  # in_person / remote / either
    sites: tuple[str, ...]
    preferred_site: str | None
    availability: frozenset[tuple[int, int]]  # (day, part index)
    preferred_parts: frozenset[int]
    sessions_per_week: int
    planned_start: dt.date | None
    weeks_waiting: int
    risk: str
    assessor: str | None = None

    @property
    def accepts_remote(self) -> bool:
        return self.mode in ("remote", "either")

    def accepts_slot_site(self, site: str) -> bool:
        if site == REMOTE:
            return self.accepts_remote
        return self.mode != "remote" and site in self.sites


@dataclass(frozen=True, slots=True)
class Problem:
    therapists: tuple[Therapist, ...]
    referrals: tuple[Referral, ...]
    today: dt.date | None = None
    weights: Weights = field(default_factory=Weights)
    # Multipliers of the lexicographic objective ``place_scale * placed + scale * priority
    # + fit``. No allocation places more than ``placeable`` referrals, so its fit total is
    # below ``scale`` and its ``scale * priority + fit`` below ``place_scale``: one more
    # placement outweighs any priority and fit, and any priority gain outweighs any fit.
    scale: int = field(init=False)
    place_scale: int = field(init=False)

    def __post_init__(self) -> None:
        placeable = max(min(len(self.referrals), sum(t.capacity for t in self.therapists)), 1)
        scale = self.weights.max_fit * placeable + 1
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "place_scale", scale * (self.weights.max_priority * placeable + 1))

    def value_of(self, priority: int, fit: int) -> int:
        """One placement's share of the objective."""
        return self.place_scale + self.scale * priority + fit


@dataclass(frozen=True, slots=True)
class Assignment:
    referral: str
    therapist: str
    slots: tuple[Slot, ...]
    priority: int
    fit: int
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unplaced:
    referral: str
    priority: int
    reasons: tuple[str, ...]
    suggestions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Result:
    assignments: tuple[Assignment, ...]
    unplaced: tuple[Unplaced, ...]
    objective: dict[str, Any]
    stats: dict[str, Any]


# ---------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------

_THERAPIST_FIELDS = {
    "id",
    "service",
    "modalities",
    "languages",
    "gender",
    "sites",
    "remote",
    "capacity",
    "caseload",
    "frequencies",
    "slots",
    "leave",
    "name",
    "notes",
}
_SLOT_FIELDS = {"id", "day", "start", "length", "site", "notes"}
_LEAVE_FIELDS = {"start", "end"}
# Bounds that keep every count inside the solver's 64-bit integers; far beyond real services.
MAX_CAPACITY = 1_000
MAX_WEEKS_WAITING = 5_200  # a hundred years
_REFERRAL_FIELDS = {
    "id",
    "service",
    "modality",
    "language",
    "needs_interpreter",
    "gender_preference",
    "mode",
    "sites",
    "preferred_site",
    "availability",
    "preferred_parts",
    "sessions_per_week",
    "planned_start",
    "weeks_waiting",
    "referral_date",
    "risk",
    "assessor",
    "notes",
}
_PROBLEM_FIELDS = {"today", "services", "sites", "weights", "therapists", "referrals", "notes"}


@contextlib.contextmanager
def _bulk():
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Creating hundreds of thousands of dicts and tuples otherwise triggers repeated full
    collections that cost more than the work itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _Reader:
    """Reads one record's fields, raising ProblemError prefixed with the record's name."""

    def __init__(self, where: str, row: Any, allowed: set[str]):
        self.where = where
        if not isinstance(row, Mapping):
            self.fail(f"must be an object, not {type(row).__name__}")
        unknown = sorted(set(row) - allowed)
        if unknown:
            self.fail(f"unknown field {unknown[0]!r}")
        self.row = row

    def fail(self, message: str) -> None:
        raise ProblemError(f"{self.where}: {message}")

    def text(self, key: str, *, default: Any = ..., lower: bool = False) -> Any:
        value = self.row.get(key, default)
        if value is ...:
            self.fail(f"missing {key!r}")
        if value is default:
            return value
        if not isinstance(value, str) or not value.strip():  # null only for optional fields
            self.fail(f"{key!r} must be a non-empty string")
        value = value.strip()
        return value.lower() if lower else value

    def integer(self, key: str, *, default: Any = ..., low: int = 0, high: int | None = None):
        value = self.row.get(key, default)
        if value is ...:
            self.fail(f"missing {key!r}")
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{key!r} must be a whole number")
        if value < low:
            self.fail(f"{key} must be {low} or more")
        if high is not None and value > high:
            self.fail(f"{key} must be {high} or less")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.row.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{key!r} must be true or false")
        return value

    def strings(self, key: str, *, lower: bool = False, default: Any = ...) -> list[str]:
        value = self.row.get(key, default)
        if value is ...:
            self.fail(f"missing {key!r}")
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"{key!r} must be a list of non-empty strings")
        return [v.strip().lower() if lower else v.strip() for v in value]

    def date(self, key: str, value: Any = ...) -> dt.date | None:
        if value is ...:
            value = self.row.get(key)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{key!r} must be a date (YYYY-MM-DD), not {value!r}")
        raise AssertionError  # unreachable


def _day(reader: _Reader, value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower() in _DAY_LOOKUP:
        return _DAY_LOOKUP[value.strip().lower()]
    reader.fail(f"{what} has unknown day {value!r} (use 0-6 for Monday-Sunday)")
    raise AssertionError  # unreachable


def _part(reader: _Reader, value: Any, what: str) -> int:
    if isinstance(value, str) and value.strip().lower() in PARTS:
        return PARTS.index(value.strip().lower())
    reader.fail(f"{what} has unknown part of day {value!r} (morning, afternoon or evening)")
    raise AssertionError  # unreachable


def _parse_weights(data: Any) -> Weights:
    if data is None:
        return Weights()
    names = {f.name for f in fields(Weights)}
    reader = _Reader("weights", data, names)
    values = {
        name: reader.integer(name, default=None, high=100 if name.startswith("fit_") else 10_000)
        for name in names
    }
    return Weights(**{k: v for k, v in values.items() if v is not None})


def _parse_slot(owner: _Reader, tid: str, j: int, row: Any, sites: tuple, remote: bool) -> Slot:
    probe = row.get("id") if isinstance(row, Mapping) else None
    label = f"slot {probe!r}" if isinstance(probe, str) else f"slot #{j + 1}"
    reader = _Reader(f"{owner.where} {label}", row, _SLOT_FIELDS)
    sid = reader.text("id")
    day = _day(reader, reader.row.get("day"), "slot")
    start_text = reader.row.get("start")
    match = _TIME_RE.match(start_text) if isinstance(start_text, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        reader.fail(f"start {start_text!r} is not a time of day (HH:MM, 00:00-23:59)")
    start = int(match.group(1)) * 60 + int(match.group(2))
    length = reader.integer("length", default=50, low=1)
    if start + length > MINUTES_PER_DAY:
        reader.fail(f"{_hhmm(start)} for {length} minutes runs past midnight")
    site = reader.text("site")
    if site.lower() == REMOTE:
        if not remote:
            reader.fail("is remote but the therapist does not work remotely")
        site = REMOTE
    elif site not in sites:
        reader.fail(f"site {site!r} is not one of the therapist's sites")
    return Slot(id=sid, day=day, start=start, length=length, site=site)


def _parse_therapist(i: int, row: Any, known: dict[str, set[str] | None]) -> Therapist:
    probe = row.get("id") if isinstance(row, Mapping) else None
    where = f"therapist {probe!r}" if isinstance(probe, str) else f"therapist #{i + 1}"
    reader = _Reader(where, row, _THERAPIST_FIELDS)
    tid = reader.text("id")
    service = reader.text("service")
    _check_known(reader, "service", [service], known["services"])
    modalities = reader.strings("modalities", lower=True)
    if not modalities:
        reader.fail("offers no modality")
    languages = reader.strings("languages", lower=True)
    if not languages:
        reader.fail("speaks no language")
    gender = reader.text("gender", default=None, lower=True)
    sites = tuple(reader.strings("sites", default=[]))
    if any(s.lower() == REMOTE for s in sites):
        reader.fail("'remote' is not a site; set \"remote\": true instead")
    _check_known(reader, "site", sites, known["sites"])
    remote = reader.boolean("remote", False)
    capacity = reader.integer("capacity", high=MAX_CAPACITY)
    caseload = reader.integer("caseload", default=None, high=MAX_CAPACITY)
    free = capacity if caseload is None else max(capacity - caseload, 0)
    frequencies = reader.row.get("frequencies", [1])
    if (
        not isinstance(frequencies, list)
        or not frequencies
        or not all(isinstance(f, int) and not isinstance(f, bool) for f in frequencies)
        or not all(1 <= f <= 5 for f in frequencies)
    ):
        reader.fail("frequencies must list sessions per week between 1 and 5")
    raw_slots = reader.row.get("slots", [])
    if not isinstance(raw_slots, list):
        reader.fail("'slots' must be a list")
    slots = [_parse_slot(reader, tid, j, s, sites, remote) for j, s in enumerate(raw_slots)]
    seen: set[str] = set()
    for slot in slots:
        if slot.id in seen:
            reader.fail(f"duplicate slot id {slot.id!r}")
        seen.add(slot.id)
    by_day = sorted(slots, key=lambda s: (s.day, s.start))
    for a, b in itertools.pairwise(by_day):
        if a.day == b.day and b.start < a.end:
            reader.fail(
                f"slots {a.id!r} and {b.id!r} overlap ({a.label}-{_hhmm(a.end)} and "
                f"{b.label}-{_hhmm(b.end)})"
            )
    raw_leave = reader.row.get("leave", [])
    if not isinstance(raw_leave, list):
        reader.fail("'leave' must be a list of {start, end} periods")
    leave = []
    for period in raw_leave:
        if not isinstance(period, Mapping) or set(period) - {"notes"} != _LEAVE_FIELDS:
            reader.fail("each leave period needs exactly 'start' and 'end'")
        start = reader.date("leave start", period["start"])
        end = reader.date("leave end", period["end"])
        if start is None or end is None:
            reader.fail("each leave period needs a 'start' and an 'end' date (YYYY-MM-DD)")
        if end < start:
            reader.fail(f"leave ends ({end}) before it starts ({start})")
        leave.append((start, end))
    return Therapist(
        id=tid,
        service=service,
        modalities=frozenset(modalities),
        languages=frozenset(languages),
        gender=gender,
        sites=sites,
        remote=remote,
        capacity=free,
        frequencies=frozenset(frequencies),
        slots=tuple(by_day),
        leave=tuple(sorted(leave)),
    )


def _check_known(reader: _Reader, what: str, values: Iterable[str], known: set | None) -> None:
    if known is None:
        return
    for value in values:
        if value not in known:
            reader.fail(f"unknown {what} {value!r}")


def _parse_referral(
    i: int, row: Any, known: dict[str, set[str] | None], today: dt.date | None
) -> Referral:
    probe = row.get("id") if isinstance(row, Mapping) else None
    where = f"referral {probe!r}" if isinstance(probe, str) else f"referral #{i + 1}"
    reader = _Reader(where, row, _REFERRAL_FIELDS)
    rid = reader.text("id")
    service = reader.text("service")
    _check_known(reader, "service", [service], known["services"])
    modality = reader.text("modality", lower=True)
    language = reader.text("language", default="english", lower=True)
    interpreter = reader.boolean("needs_interpreter", False)

    preference = reader.row.get("gender_preference", "none")
    if preference is None or preference == "none":
        strength, gender = "none", None
    elif isinstance(preference, Mapping) and set(preference) <= {"strength", "gender"}:
        strength = str(preference.get("strength", "")).lower()
        gender = preference.get("gender")
        if strength not in STRENGTHS:
            reader.fail(f"gender preference strength {strength!r} is not one of {STRENGTHS}")
        if strength != "none" and (not isinstance(gender, str) or not gender.strip()):
            reader.fail("a gender preference needs a 'gender'")
        gender = gender.strip().lower() if strength != "none" else None
    else:
        reader.fail('gender_preference must be "none" or {"strength", "gender"}')

    mode = reader.text("mode", default="either", lower=True)
    if mode not in MODES:
        reader.fail(f"mode {mode!r} is not one of in_person, remote, either")
    sites = tuple(reader.strings("sites", default=[]))
    _check_known(reader, "site", sites, known["sites"])
    preferred_site = reader.text("preferred_site", default=None)
    if mode == "remote" and (sites or preferred_site):
        reader.fail("mode 'remote' takes no sites")
    if mode == "in_person" and not sites:
        reader.fail("mode 'in_person' needs at least one acceptable site")
    if preferred_site is not None and preferred_site not in sites:
        reader.fail(f"preferred site {preferred_site!r} is not among its acceptable sites")

    raw_availability = reader.row.get("availability", [])
    if not isinstance(raw_availability, list):
        reader.fail("'availability' must be a list of [day, part] pairs")
    availability = set()
    for item in raw_availability:
        if isinstance(item, Mapping) and set(item) == {"day", "part"}:
            day, part = item["day"], item["part"]
        elif isinstance(item, list | tuple) and len(item) == 2:
            day, part = item
        else:
            reader.fail(f"availability entry {item!r} is not a [day, part] pair")
        availability.add((_day(reader, day, "availability"), _part(reader, part, "availability")))
    preferred_parts = frozenset(
        _part(reader, p, "preferred_parts")
        for p in reader.strings("preferred_parts", lower=True, default=[])
    )
    sessions = reader.integer("sessions_per_week", default=1, low=1, high=5)
    planned_start = reader.date("planned_start") or today
    weeks = reader.integer("weeks_waiting", default=None, high=MAX_WEEKS_WAITING)
    referral_date = reader.date("referral_date")
    if weeks is not None and referral_date is not None:
        reader.fail("give weeks_waiting or referral_date, not both")
    if weeks is None:
        if referral_date is None:
            reader.fail("needs weeks_waiting, or referral_date and the problem's 'today'")
        if today is None:
            reader.fail("referral_date needs the problem's 'today'")
        if referral_date > today:
            reader.fail(f"referral_date {referral_date} is after today ({today})")
        weeks = (today - referral_date).days // 7
    risk = reader.text("risk", default="low", lower=True)
    if risk not in RISKS:
        reader.fail(f"risk {risk!r} is not one of low, medium, high")
    assessor = reader.text("assessor", default=None)
    return Referral(
        id=rid,
        service=service,
        modality=modality,
        language=language,
        needs_interpreter=interpreter,
        gender_strength=strength,
        gender=gender,
        mode=mode,
        sites=sites,
        preferred_site=preferred_site,
        availability=frozenset(availability),
        preferred_parts=preferred_parts,
        sessions_per_week=sessions,
        planned_start=planned_start,
        weeks_waiting=weeks,
        risk=risk,
        assessor=assessor,
    )


def parse_problem(data: dict) -> Problem:
    """Validate a JSON-shaped problem and return it; raise ProblemError naming the record."""
    try:
        return _parse_problem(data)
    except RecursionError:
        # A value nested almost as deep as JSON allows, met while describing it in a message.
        raise ProblemError("problem: a value is nested too deeply") from None


@_bulk()
def _parse_problem(data: dict) -> Problem:
    top = _Reader("problem", data, _PROBLEM_FIELDS)
    today = top.date("today")
    known: dict[str, set[str] | None] = {}
    for key in ("services", "sites"):
        known[key] = set(top.strings(key)) if key in data else None
    if known["sites"] and REMOTE in {s.lower() for s in known["sites"]}:
        top.fail("'remote' is reserved and cannot be a site name")
    weights = _parse_weights(data.get("weights"))
    raw_therapists = data.get("therapists", [])
    raw_referrals = data.get("referrals", [])
    if not isinstance(raw_therapists, list):
        top.fail("'therapists' must be a list")
    if not isinstance(raw_referrals, list):
        top.fail("'referrals' must be a list")
    therapists = [_parse_therapist(i, row, known) for i, row in enumerate(raw_therapists)]
    referrals = [_parse_referral(i, row, known, today) for i, row in enumerate(raw_referrals)]
    for kind, records in (("therapist", therapists), ("referral", referrals)):
        seen: set[str] = set()
        for record in records:
            if record.id in seen:
                raise ProblemError(f"{kind} {record.id!r}: duplicate id")
            seen.add(record.id)
    if any(t.leave for t in therapists):
        for referral in referrals:
            if referral.planned_start is None:
                raise ProblemError(
                    f"referral {referral.id!r}: needs planned_start (or the problem's "
                    "'today') to check therapists' leave"
                )
    problem = Problem(
        therapists=tuple(therapists),
        referrals=tuple(referrals),
        today=today,
        weights=weights,
    )
    placeable = max(min(len(referrals), sum(t.capacity for t in therapists)), 1)
    if placeable * problem.value_of(weights.max_priority, weights.max_fit) >= 2**62:
        top.fail("weights too large for a problem of this size (the objective would overflow)")
    return problem


# ---------------------------------------------------------------------------------------
# Scoring (scalar; shared by the solver's vectorised build, greedy and the reasons)
# ---------------------------------------------------------------------------------------


def priority_of(referral: Referral, weights: Weights) -> int:
    weeks = referral.weeks_waiting
    points = weights.base + weights.per_week * min(weeks, weights.max_weeks)
    if weeks >= 6:
        points += weights.breach_6
    if weeks >= 18:
        points += weights.breach_18
    if referral.risk == "medium":
        points += weights.risk_medium
    elif referral.risk == "high":
        points += weights.risk_high
    return points


def _priorities(referrals: Sequence[Referral], weights: Weights) -> np.ndarray:
    """``priority_of`` for many referrals at once."""
    n = len(referrals)
    weeks = np.fromiter((r.weeks_waiting for r in referrals), np.int64, n)
    risk = np.fromiter((RISKS.index(r.risk) for r in referrals), np.int64, n)
    risk_points = np.array([0, weights.risk_medium, weights.risk_high], dtype=np.int64)
    return (
        weights.base
        + weights.per_week * np.minimum(weeks, weights.max_weeks)
        + weights.breach_6 * (weeks >= 6)
        + weights.breach_18 * (weeks >= 18)
        + risk_points[risk]
    )


def _pair_fit(referral: Referral, therapist: Therapist, weights: Weights) -> int:
    points = 0
    if referral.gender_strength == "preferred" and therapist.gender == referral.gender:
        points += weights.fit_gender
    if referral.assessor is not None and referral.assessor == therapist.id:
        points += weights.fit_continuity
    if referral.needs_interpreter and referral.language in therapist.languages:
        points += weights.fit_language
    return points


def fit_of(
    referral: Referral, therapist: Therapist, slots: Sequence[Slot], weights: Weights
) -> int:
    """Fit points of placing ``referral`` with ``therapist`` in ``slots``."""
    points = _pair_fit(referral, therapist, weights)
    if referral.preferred_site is not None and all(
        s.site == referral.preferred_site for s in slots
    ):
        points += weights.fit_site
    if referral.preferred_parts and all(s.part in referral.preferred_parts for s in slots):
        points += weights.fit_time
    return points


# ---------------------------------------------------------------------------------------
# Vectorised eligibility for one service
# ---------------------------------------------------------------------------------------


def _codes(values: Iterable[str]) -> dict[str, int]:
    table: dict[str, int] = {}
    for v in values:
        table.setdefault(v, len(table))
    return table


class _Group:
    """Eligibility matrices for the referrals and therapists of one service.

    Matrices are therapist-major ``(T, R)`` or slot-major ``(S, R)``, with referrals as
    columns ("rows" in the code means referral positions in this group). Slots are ordered
    by therapist, then day, then start, so a therapist's slots are contiguous.
    """

    def __init__(self, problem: Problem, ref_ids: list[int], ther_ids: list[int]):
        weights = problem.weights
        self.problem = problem
        self.ref_ids = np.asarray(ref_ids, dtype=np.int64)
        self.ther_ids = np.asarray(ther_ids, dtype=np.int64)
        refs = [problem.referrals[i] for i in ref_ids]
        thers = [problem.therapists[i] for i in ther_ids]
        self.refs, self.thers = refs, thers
        R, T = len(refs), len(thers)

        chain = itertools.chain
        modality = _codes(chain((r.modality for r in refs), *(t.modalities for t in thers)))
        language = _codes(chain((r.language for r in refs), *(t.languages for t in thers)))
        gender = _codes(
            chain((r.gender for r in refs if r.gender), (t.gender for t in thers if t.gender))
        )
        site = _codes(chain(*(r.sites for r in refs), *(t.sites for t in thers)))
        n_sites = len(site) + 1  # code 0 is "remote"

        t_mod = np.zeros((len(modality), T), dtype=bool)
        t_lang = np.zeros((len(language), T), dtype=bool)
        t_freq = np.zeros((6, T), dtype=bool)
        t_gender = np.full(T, -1, dtype=np.int64)
        t_cap = np.zeros(T, dtype=np.int64)
        for j, t in enumerate(thers):
            t_mod[[modality[m] for m in t.modalities], j] = True
            t_lang[[language[x] for x in t.languages], j] = True
            t_freq[list(t.frequencies), j] = True
            if t.gender is not None:
                t_gender[j] = gender[t.gender]
            t_cap[j] = t.capacity
        self.t_cap = t_cap

        def column(values: Iterable[Any], dtype: Any = np.int64) -> np.ndarray:
            return np.fromiter(values, dtype, R)

        r_mod = column(modality[r.modality] for r in refs)
        r_lang = column(language[r.language] for r in refs)
        r_interp = column((r.needs_interpreter for r in refs), bool)
        r_k = column(r.sessions_per_week for r in refs)
        r_greq = column(gender[r.gender] if r.gender_strength == "required" else -2 for r in refs)
        r_gpref = column(gender[r.gender] if r.gender_strength == "preferred" else -2 for r in refs)
        self.r_k = r_k
        self.priority = _priorities(refs, weights)

        # Slots, ordered by therapist then (day, start): Therapist.slots is already sorted.
        s_t = [j for j, t in enumerate(thers) for _ in t.slots]
        all_slots = [s for t in thers for s in t.slots]
        S = len(all_slots)
        self.s_t = np.asarray(s_t, dtype=np.int64)
        self.s_day = np.fromiter((s.day for s in all_slots), np.int64, S)
        self.s_part = np.fromiter((s.part for s in all_slots), np.int64, S)
        self.s_site = np.fromiter(
            (0 if s.site == REMOTE else site[s.site] + 1 for s in all_slots), np.int64, S
        )
        self.slots = all_slots
        self.t_slot_start = np.searchsorted(self.s_t, np.arange(T + 1))

        def scatter(rows: int, cells: Iterable[tuple[int, int]]) -> np.ndarray:
            matrix = np.zeros((rows, R), dtype=bool)
            flat = [a * R + i for a, i in cells]
            matrix.reshape(-1)[flat] = True
            return matrix

        r_avail = scatter(
            21, ((d * 3 + p, i) for i, r in enumerate(refs) for d, p in r.availability)
        )
        r_site = scatter(
            n_sites,
            itertools.chain(
                ((0, i) for i, r in enumerate(refs) if r.accepts_remote),
                (
                    (site[x] + 1, i)
                    for i, r in enumerate(refs)
                    if r.mode != "remote"
                    for x in r.sites
                ),
            ),
        )
        r_pref_part = scatter(3, ((p, i) for i, r in enumerate(refs) for p in r.preferred_parts))
        r_pref_site = column(
            site[r.preferred_site] + 1 if r.preferred_site is not None else -1 for r in refs
        )
        ther_pos = {t.id: j for j, t in enumerate(thers)}
        r_assessor = column(ther_pos.get(r.assessor, -1) if r.assessor else -1 for r in refs)
        self.r_pref_site = r_pref_site
        self.r_pref_part = r_pref_part

        # Pair-level hard constraints, one (T, R) matrix per family (True = meets).
        on_leave = np.zeros((T, R), dtype=bool)
        leave_rows = [
            (j, a.toordinal(), b.toordinal()) for j, t in enumerate(thers) for a, b in t.leave
        ]
        if leave_rows:
            starts = column(r.planned_start.toordinal() if r.planned_start else 0 for r in refs)
            uniq, inverse = np.unique(starts, return_inverse=True)
            by_date = np.zeros((T, len(uniq)), dtype=bool)
            for j, a, b in leave_rows:
                by_date[j] |= (uniq >= a) & (uniq <= b)
            on_leave = np.take(by_date, inverse, axis=1)

        def spread(by_code: np.ndarray, codes: np.ndarray) -> np.ndarray:
            # (codes, T) -> (T, R), C-ordered like every other matrix here: mixed memory
            # layouts make the elementwise work below several times slower.
            return np.take(np.ascontiguousarray(by_code.T), codes, axis=1)

        speaks = spread(t_lang, r_lang)
        self.meets = {
            "modality": spread(t_mod, r_mod),
            "language": speaks | r_interp[None, :],
            "gender": (t_gender[:, None] == r_greq[None, :]) | (r_greq == -2)[None, :],
            "frequency": spread(t_freq, r_k),
            "leave": ~on_leave,
            "capacity": np.repeat((t_cap > 0)[:, None], R, axis=1),
        }
        pair_ok = self.meets["modality"] & self.meets["language"]
        for family in ("gender", "frequency", "leave"):
            pair_ok &= self.meets[family]
        pair_ok[t_cap <= 0] = False
        # Slot level: at an acceptable place and inside the client's availability.
        usable = r_avail[self.s_day * 3 + self.s_part] & r_site[self.s_site]
        # Distinct days with a usable slot, per therapist (k sessions need k days).
        days = np.zeros((T, R), dtype=np.int16)
        if S:
            key = self.s_t * 7 + self.s_day
            first = np.r_[True, key[1:] != key[:-1]]
            group = np.cumsum(first) - 1  # (therapist, day) group of each slot
            per_day = usable[first]  # a copy; OR in the other slots of the same day
            for s in np.flatnonzero(~first).tolist():
                per_day[group[s]] |= usable[s]
            owner = self.s_t[first]
            # Sum each therapist's day rows: a therapist has at most seven, so add the
            # j-th day row of every therapist that has one, for j = 0..6.
            head = np.r_[True, owner[1:] != owner[:-1]]
            start = np.flatnonzero(head)
            count = np.diff(np.r_[start, len(owner)])
            for j in range(int(count.max())):
                has = count > j
                days[owner[start[has]]] += per_day[start[has] + j]
        self.days = days
        self.meets["slots"] = days >= r_k[None, :]
        self.eligible = pair_ok & self.meets["slots"]
        # Usable slots of eligible therapists: the candidate (referral, slot) pairs.
        self.ok = usable & self.eligible[self.s_t] if S else usable

        self.t_gender, self.t_lang = t_gender, t_lang
        self.r_gpref, self.r_assessor, self.r_interp, self.r_lang = (
            r_gpref,
            r_assessor,
            r_interp,
            r_lang,
        )

    def pair_fit(self, t: Any, r: Any) -> Any:
        """Fit points that depend on the therapist only (arrays of positions, or ints)."""
        weights = self.problem.weights
        return (
            weights.fit_gender * (self.t_gender[t] == self.r_gpref[r])
            + weights.fit_continuity * (self.r_assessor[r] == t)
            + weights.fit_language * (self.r_interp[r] & self.t_lang[self.r_lang[r], t])
        )

    def pair_fit_one(self, t: int, r: int) -> int:
        """``pair_fit`` for one therapist and one referral, without array overhead."""
        weights = self.problem.weights
        points = 0
        if self.t_gender[t] == self.r_gpref[r]:
            points += weights.fit_gender
        if self.r_assessor[r] == t:
            points += weights.fit_continuity
        if self.r_interp[r] and self.t_lang[self.r_lang[r], t]:
            points += weights.fit_language
        return points

    def arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(referral, slot, value) for every candidate pair, ordered by slot.

        For a referral seen k times a week the value is an upper bound on the value of any
        k-slot bundle containing that slot, which makes the flow a relaxation.
        """
        s, r = np.nonzero(self.ok)
        weights = self.problem.weights
        value = (
            self.problem.place_scale
            + self.priority[r] * self.problem.scale
            + self.pair_fit(self.s_t[s], r)
        )
        value += weights.fit_site * (self.s_site[s] == self.r_pref_site[r])
        value += weights.fit_time * self.r_pref_part[self.s_part[s], r]
        return r, s, value

    def greedy_placed(self) -> dict[int, tuple[int, tuple[int, ...]]]:
        """The greedy baseline's placements in this service (computed once)."""
        cached = getattr(self, "_greedy", None)
        if cached is None:
            cached = self._greedy = _greedy_placed(self)
        return cached

    def candidates(self, row: int, t: int) -> list[int]:
        lo, hi = self.t_slot_start[t], self.t_slot_start[t + 1]
        return [int(s) for s in np.flatnonzero(self.ok[lo:hi, row]) + lo]


# ---------------------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------------------

# Arc pricing: the flow is first solved on each slot's best arcs only, then certified
# optimal for all arcs with node potentials (or widened and solved again).
_PRICE_FROM = 60_000  # arcs; below this the whole network is solved at once
_FIRST_ARCS_PER_SLOT = 64
_MAX_ROUNDS = 12
_WARM_ARCS_PER_SLOT = 16
_ADD_PER_SLOT = 16
_RECENTRE_ROUNDS = 2
_RECENTRE_ARCS_PER_SLOT = 16
# Services with more candidate (referral, slot) pairs than this skip the decomposition's
# improvement rounds, to stay within the time target; the upper bound shows the cost.
_IMPROVE_UP_TO = 50_000


def _solve_network(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
) -> np.ndarray:
    """source -> referral (1) -> slot (1) -> therapist (capacity) -> sink: the most flow,
    and of those flows the one of least cost (most value).

    Every arc value carries ``place_scale`` (one placement), which outweighs any
    difference in the rest, so the best allocation is a maximum flow; among maximum flows
    the constant is the same for all, and it is left out of the costs (smaller costs make
    the cost-scaling solver faster). This is the same optimum as a min-cost flow with a
    zero-cost source -> sink bypass and the full values. Node ids are global: referrals,
    then slots, then therapists, then source and sink. Returns the flow on each
    referral->slot arc (0 or 1; the flow polytope is integral).
    """
    from ortools.graph.python import min_cost_flow

    S, T = len(slot_owner), len(capacity)
    source, sink = n_ref + S + T, n_ref + S + T + 1
    n = len(arc_r)
    present = np.unique(arc_r)  # referrals with no arc stay isolated nodes
    m = len(present)
    tails = np.concatenate(
        [np.full(m, source), arc_r, n_ref + np.arange(S), n_ref + S + np.arange(T)]
    )
    heads = np.concatenate([present, n_ref + arc_s, n_ref + S + slot_owner, np.full(T, sink)])
    caps = np.concatenate([np.ones(m + n + S, dtype=np.int64), np.maximum(capacity, 0)])
    costs = np.zeros(len(tails), dtype=np.int64)
    if n:
        costs[m : m + n] = arc_v.min() - arc_v
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[source], supplies[sink] = m, -m
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    return flow.flows(np.arange(m, m + n, dtype=np.int32)) > 0


def _potentials(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    used: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
) -> np.ndarray | None:
    """Shortest-path potentials on the residual network of an optimal flow.

    Every residual arc then has a non-negative reduced cost; an arc left out of the
    network with a negative reduced cost is one that could improve the flow. Returns
    None if Bellman-Ford does not settle within its budget.
    """
    S, T = len(slot_owner), len(capacity)
    source, sink = n_ref + S + T, n_ref + S + T + 1
    placed = np.zeros(n_ref, dtype=bool)
    placed[arc_r[used]] = True
    slot_used = np.zeros(S, dtype=bool)
    slot_used[arc_s[used]] = True
    load = np.bincount(slot_owner[arc_s[used]], minlength=T)
    refs = np.arange(n_ref)  # every referral, including those with no arc in this round
    t_nodes = n_ref + S + np.arange(T)
    s_nodes = n_ref + np.arange(S)
    n_placed = int(placed.sum())
    parts = [
        # source -> referral, or back if placed
        (np.where(placed[refs], refs, source), np.where(placed[refs], source, refs), 0),
        # referral -> slot, or back if used (cost negated)
        (
            np.where(used, n_ref + arc_s, arc_r),
            np.where(used, arc_r, n_ref + arc_s),
            np.where(used, arc_v, -arc_v),
        ),
        # slot -> therapist, or back if used
        (
            np.where(slot_used, t_nodes[slot_owner], s_nodes),
            np.where(slot_used, s_nodes, t_nodes[slot_owner]),
            0,
        ),
        (t_nodes[load < capacity], np.full(int((load < capacity).sum()), sink), 0),
        (np.full(int((load > 0).sum()), sink), t_nodes[load > 0], 0),
    ]
    # The bypass source -> sink carries everyone not placed.
    if n_placed > 0:
        parts.append((np.array([source]), np.array([sink]), 0))
    if n_placed < len(np.unique(arc_r)):
        parts.append((np.array([sink]), np.array([source]), 0))
    tails = np.concatenate([p[0] for p in parts])
    heads = np.concatenate([p[1] for p in parts])
    costs = np.concatenate(
        [np.broadcast_to(np.asarray(p[2], dtype=np.int64), p[0].shape) for p in parts]
    )
    dist = np.zeros(sink + 1, dtype=np.int64)
    for _ in range(2_000):
        relaxed = dist.copy()
        np.minimum.at(relaxed, heads, dist[tails] + costs)
        if np.array_equal(relaxed, dist):
            return dist
        dist = relaxed
    return None


def _first_per_slot(arc_s: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """Mask of each slot's ``k`` arcs with the smallest ``key`` (ties: any of them)."""
    n = len(arc_s)
    if n and np.any(arc_s[1:] < arc_s[:-1]):  # arcs come grouped by slot; sort if not
        order = np.argsort(arc_s, kind="stable")
        chosen = _first_per_slot(arc_s[order], key[order], k)
        mask = np.empty(n, dtype=bool)
        mask[order] = chosen
        return mask
    mask = np.zeros(n, dtype=bool)
    starts = np.flatnonzero(np.r_[True, arc_s[1:] != arc_s[:-1]]) if n else np.zeros(0, int)
    ends = np.r_[starts[1:], n]
    long = (ends - starts) > k
    for a, b in zip(starts[~long].tolist(), ends[~long].tolist(), strict=True):
        mask[a:b] = True
    for a, b in zip(starts[long].tolist(), ends[long].tolist(), strict=True):
        mask[a + np.argpartition(key[a:b], k - 1)[:k]] = True
    return mask


def _flow_assign(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max-value b-matching referral -> slot with per-therapist capacity. Exact.

    Large networks are solved on a subset of arcs first (``start``, or each slot's best
    arcs); node potentials then either certify that no omitted arc can improve the result
    (every reduced cost non-negative: the linear-programming optimality condition) or name
    the arcs to add for another round. Returns the mask of arcs used and the potentials
    (None when the whole network was solved at once).
    """
    n = len(arc_r)
    if n == 0:
        return np.zeros(0, dtype=bool), None
    if n < _PRICE_FROM:
        used = _solve_network(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, _potentials(arc_r, arc_s, arc_v, used, slot_owner, capacity, n_ref)
    if start is not None:
        active = start.copy()
    else:
        active = _first_per_slot(arc_s, -arc_v, _FIRST_ARCS_PER_SLOT)
    if active.sum() > n // 2:  # pricing would save little: solve the whole network
        used = _solve_network(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, _potentials(arc_r, arc_s, arc_v, used, slot_owner, capacity, n_ref)
    for round_ in range(_MAX_ROUNDS):
        idx = np.flatnonzero(active)
        used_sub = _solve_network(arc_r[idx], arc_s[idx], arc_v[idx], slot_owner, capacity, n_ref)
        dist = _potentials(
            arc_r[idx], arc_s[idx], arc_v[idx], used_sub, slot_owner, capacity, n_ref
        )
        if dist is None:
            break
        reduced = -arc_v + dist[arc_r] - dist[n_ref + arc_s]
        improving = ~active & (reduced < 0)
        if not improving.any():
            used = np.zeros(n, dtype=bool)
            used[idx[used_sub]] = True
            return used, dist
        if round_ < _RECENTRE_ROUNDS:
            # Start afresh from the arcs that are cheapest under the new potentials (the
            # improving ones first) and the arcs in use: a small network near the optimum.
            used = np.zeros(n, dtype=bool)
            used[idx[used_sub]] = True
            active = _first_per_slot(arc_s, reduced, _RECENTRE_ARCS_PER_SLOT) | used
            continue
        # Then only add each slot's most improving arcs, never drop any, so that the
        # rounds end; the next round's potentials show whether more are needed.
        candidates = np.flatnonzero(improving)
        chosen = _first_per_slot(arc_s[candidates], reduced[candidates], _ADD_PER_SLOT)
        active[candidates[chosen]] = True
    used = _solve_network(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
    return used, _potentials(arc_r, arc_s, arc_v, used, slot_owner, capacity, n_ref)


def _flow_bounded(
    arc_r: np.ndarray,
    arc_s: np.ndarray,
    arc_v: np.ndarray,
    slot_owner: np.ndarray,
    capacity: np.ndarray,
    n_ref: int,
) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """A flow that is usually optimal, and a valid upper bound, from one priced round.

    For the relaxation, whose flow only guides the repair and whose optimum is only needed
    as a bound: the flow over each slot's best arcs, and from its potentials a feasible
    solution of the dual of the whole network (slot and place prices as they are, each
    referral's price raised to cover its best arc). By weak duality the dual's value is an
    upper bound on the whole network's optimum; it equals the flow's value exactly when no
    omitted arc could improve it. Returns (arcs used, potentials, bound, proven optimal).
    """
    n = len(arc_r)
    if n < _PRICE_FROM:
        used, dist = _flow_assign(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, dist, int(arc_v[used].sum()), True
    idx = np.flatnonzero(_first_per_slot(arc_s, -arc_v, _FIRST_ARCS_PER_SLOT))
    used_sub = _solve_network(arc_r[idx], arc_s[idx], arc_v[idx], slot_owner, capacity, n_ref)
    dist = _potentials(arc_r[idx], arc_s[idx], arc_v[idx], used_sub, slot_owner, capacity, n_ref)
    if dist is None:
        used, dist = _flow_assign(arc_r, arc_s, arc_v, slot_owner, capacity, n_ref)
        return used, dist, int(arc_v[used].sum()), True
    used = np.zeros(n, dtype=bool)
    used[idx[used_sub]] = True
    value = int(arc_v[used].sum())
    slot_price, place_price = _prices(dist, slot_owner, n_ref, len(capacity))
    referral_price = np.zeros(n_ref, dtype=np.int64)
    np.maximum.at(referral_price, arc_r, arc_v - slot_price[arc_s] - place_price[slot_owner[arc_s]])
    bound = int(
        referral_price.sum() + slot_price.sum() + (np.maximum(capacity, 0) * place_price).sum()
    )
    return used, dist, max(bound, value), bound <= value


def _prices(dist: np.ndarray, slot_owner: np.ndarray, n_ref: int, n_ther: int):
    """Dual prices of slots and of therapists' places, read off the potentials.

    With potentials ``dist`` of an optimal flow, ``price[s] = max(0, dist[t] - dist[s])``
    for slot ``s`` of therapist ``t`` and ``place[t] = max(0, dist[sink] - dist[t])`` are
    an optimal solution of the linear program's dual. Taking a slot (or a place) away
    loses at least its price, so prices are an optimistic estimate of eviction costs.
    """
    S = len(slot_owner)
    t_nodes = n_ref + S + np.arange(n_ther)
    sink = n_ref + S + n_ther + 1
    slot_price = np.maximum(dist[t_nodes[slot_owner]] - dist[n_ref + np.arange(S)], 0)
    place_price = np.maximum(dist[sink] - dist[t_nodes], 0)
    return slot_price, place_price


@dataclass
class _Plan:
    """Placements in one group: referral position -> (therapist position, slot positions)."""

    placed: dict[int, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    method: str = "min_cost_flow"
    optimal: bool = True
    upper_bound: int = 0
    solver_seconds: float = 0.0


def _bundle_value(g: _Group, row: int, t: int, cols: Sequence[int]) -> int:
    weights = g.problem.weights
    value = g.problem.value_of(int(g.priority[row]), g.pair_fit_one(t, row))
    pref = g.r_pref_site[row]
    if pref >= 0 and all(g.s_site[s] == pref for s in cols):
        value += weights.fit_site
    wanted = g.r_pref_part[:, row]
    if wanted.any() and all(wanted[g.s_part[s]] for s in cols):
        value += weights.fit_time
    return value


def _plan_value(g: _Group, plan: _Plan) -> int:
    return sum(_bundle_value(g, r, t, cols) for r, (t, cols) in plan.placed.items())


class _Search:
    """Placements of one service under change, for the multi-session local search.

    ``slot_price`` and ``place_price`` are dual prices from the last exact flow (see
    ``_prices``): what the weekly referrals stand to lose when a slot or a place is taken.
    """

    def __init__(
        self,
        g: _Group,
        placed: dict[int, tuple[int, tuple[int, ...]]],
        slot_price: np.ndarray,
        place_price: np.ndarray,
    ):
        self.g = g
        self.slot_price, self.place_price = slot_price, place_price
        self.holder = np.full(len(g.slots), -1, dtype=np.int64)
        self.load = np.zeros(len(g.thers), dtype=np.int64)
        self.placed: dict[int, tuple[int, tuple[int, ...]]] = {}
        self.weekly_at: dict[int, set[int]] = defaultdict(set)  # therapist -> weekly rows
        for row, (t, cols) in placed.items():
            self.put(row, t, cols)

    def put(self, row: int, t: int, cols: Sequence[int]) -> None:
        self.placed[row] = (t, tuple(cols))
        self.holder[list(cols)] = row
        self.load[t] += 1
        if len(cols) == 1:
            self.weekly_at[t].add(row)

    def drop(self, row: int) -> None:
        t, cols = self.placed.pop(row)
        self.holder[list(cols)] = -1
        self.load[t] -= 1
        self.weekly_at[t].discard(row)

    def insert(self, row: int) -> bool:
        """Place a multi-session referral if its value beats the priced cost; True if so.

        It may take slots held by weekly referrals (never by other multi-session ones),
        and a place with a full therapist by moving a weekly referral out. The cost of
        taking a slot or place is its dual price, a lower bound on what the weekly
        referrals lose; the exact re-solve that follows settles the real figure.
        """
        g = self.g
        k = int(g.r_k[row])
        best = None
        for t in np.flatnonzero(g.eligible[:, row]).tolist():
            cands = [
                s for s in g.candidates(row, t) if self.holder[s] < 0 or g.r_k[self.holder[s]] == 1
            ]
            if len({int(g.s_day[s]) for s in cands}) < k:
                continue
            if len(cands) > 12:  # keep the search small: cheapest slots first
                cands = sorted(cands, key=lambda s: self.slot_price[s])[:12]
            # Weekly referrals with this therapist, cheapest slot first: one of them makes
            # way when the therapist is full and the chosen slots free no place.
            here = sorted(
                (int(self.slot_price[self.placed[w][1][0]]), w) for w in self.weekly_at[t]
            )
            place = int(self.place_price[t])
            for combo in itertools.combinations(cands, k):
                if len({int(g.s_day[s]) for s in combo}) < k:
                    continue
                cost = place + sum(int(self.slot_price[s]) for s in combo)
                freed = {int(self.holder[s]) for s in combo if self.holder[s] >= 0}
                extra = None
                if self.load[t] - len(freed) >= g.t_cap[t]:
                    extra = next((w for _, w in here if w not in freed), None)
                    if extra is None:
                        continue
                gain = _bundle_value(g, row, t, combo) - cost
                if gain > 0 and (best is None or gain > best[0]):
                    best = (gain, t, combo, freed | ({extra} if extra is not None else set()))
        if best is None:
            return False
        _, t, combo, evicted = best
        for w in evicted:
            self.drop(w)
        self.put(row, t, combo)
        return True


def _resolve_weekly(
    g: _Group,
    arcs: tuple[np.ndarray, np.ndarray, np.ndarray],
    multi_placed: dict[int, tuple[int, tuple[int, ...]]],
    warm: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[dict[int, tuple[int, tuple[int, ...]]], np.ndarray | None, float]:
    """Exact min-cost flow for the weekly referrals around fixed multi-session placements.

    Returns the placements (multi-session ones included), the flow's potentials and the
    seconds spent in the solver.
    """
    arc_r, arc_s, arc_v = arcs
    blocked = np.zeros(len(g.slots), dtype=bool)
    capacity = g.t_cap.copy()
    for t, cols in multi_placed.values():
        blocked[list(cols)] = True
        capacity[t] -= 1
    keep = (g.r_k[arc_r] == 1) & ~blocked[arc_s]
    start = None
    if warm is not None and warm[0] is not None:
        # Warm start from an earlier solve: each slot's arcs of least reduced cost under
        # its potentials, and the arcs it used. Pricing adds whatever else is needed.
        dist, used_before = warm
        R = len(g.refs)
        reduced = -arc_v[keep] + dist[arc_r[keep]] - dist[R + arc_s[keep]]
        start = _first_per_slot(arc_s[keep], reduced, _WARM_ARCS_PER_SLOT) | used_before[keep]
    t0 = time.perf_counter()
    used, dist = _flow_assign(
        arc_r[keep], arc_s[keep], arc_v[keep], g.s_t, capacity, len(g.refs), start
    )
    seconds = time.perf_counter() - t0
    placed = dict(multi_placed)
    for r, s in zip(arc_r[keep][used].tolist(), arc_s[keep][used].tolist(), strict=True):
        placed[r] = (int(g.s_t[s]), (s,))
    return placed, dist, seconds


def _doubtful(
    g: _Group,
    arcs: tuple[np.ndarray, np.ndarray, np.ndarray],
    weekly_arc: np.ndarray,
    fixed: dict[int, tuple[int, tuple[int, ...]]],
    slot_price: np.ndarray,
    place_price: np.ndarray,
) -> set[int]:
    """Multi-session placements whose slots and place may be worth more to weekly ones.

    With an optimal dual (alpha, slot_price, place_price) of the weekly flow, freeing slot
    s of therapist t gains at most max(0, max over referrals r of v(r, s) - alpha[r] -
    place_price[t]), and freeing a place at most its price: linear-programming duality.
    """
    arc_r, arc_s, arc_v = arcs
    held = np.zeros(len(g.slots), dtype=bool)
    for _, cols in fixed.values():
        held[list(cols)] = True
    in_network = weekly_arc & ~held[arc_s]
    place = place_price[g.s_t[arc_s]]
    alpha = np.zeros(len(g.refs), dtype=np.int64)
    np.maximum.at(alpha, arc_r[in_network], (arc_v - slot_price[arc_s] - place)[in_network])
    candidates = weekly_arc & held[arc_s]
    slot_profit = np.zeros(len(g.slots), dtype=np.int64)
    np.maximum.at(slot_profit, arc_s[candidates], (arc_v - alpha[arc_r] - place)[candidates])
    return {
        row
        for row, (t, cols) in fixed.items()
        if int(place_price[t]) + sum(int(slot_profit[s]) for s in cols)
        > _bundle_value(g, row, t, cols)
    }


def _decompose(g: _Group, passes: int = 3) -> _Plan:
    """Relax, repair, re-solve, improve: see docs/allocation.md, "Method, and what is exact".

    1. Relaxation: a min-cost flow in which a referral seen k times a week needs only one
       slot. Its optimum is an upper bound on the true optimum.
    2. Repair: the multi-session referrals the relaxation placed, highest value first,
       each get k slots on distinct days with the therapist that suits them best, taking
       slots from weekly referrals when their value beats the slots' dual prices.
    3. Re-solve: with those placements fixed, an exact min-cost flow places the weekly
       referrals in the remaining slots and places.
    4. Improve (``passes`` rounds at most): drop the multi-session placements whose slots
       and place may be worth more to weekly referrals (``_doubtful``) and insert the
       multi-session referrals still unplaced, with fresh prices; try both moves, then
       each alone, running step 3 for each and keeping the first whose value went up.
    """
    plan = _Plan(method="flow_decomposition", optimal=False)
    arcs = g.arcs()
    arc_r, arc_s, arc_v = arcs
    R, T = len(g.refs), len(g.thers)
    t0 = time.perf_counter()
    used, dist, plan.upper_bound, relaxation_exact = _flow_bounded(
        arc_r, arc_s, arc_v, g.s_t, g.t_cap, R
    )
    plan.solver_seconds += time.perf_counter() - t0
    warm = (dist, used)
    multi = g.r_k > 1

    def prices(potentials: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if potentials is None:  # no certificate: price everything at full value
            top = int(arc_v.max())
            return np.full(len(g.slots), top), np.zeros(T, dtype=np.int64)
        return _prices(potentials, g.s_t, R, T)

    relaxed = {
        int(r): (int(g.s_t[s]), (int(s),))
        for r, s in zip(arc_r[used].tolist(), arc_s[used].tolist(), strict=True)
    }
    search = _Search(g, {r: p for r, p in relaxed.items() if not multi[r]}, *prices(dist))
    order = sorted(
        (r for r in relaxed if multi[r]), key=lambda r: -_bundle_value(g, r, *relaxed[r])
    )
    for row in order:
        search.insert(row)
    fixed = {r: p for r, p in search.placed.items() if multi[r]}
    if not order and relaxation_exact:
        best, best_dist = dict(relaxed), dist  # no multi-session placement: feasible, optimal
    else:
        best, best_dist, seconds = _resolve_weekly(g, arcs, fixed, warm)
        plan.solver_seconds += seconds
    best_value = _plan_value(g, _Plan(placed=best))
    baseline = g.greedy_placed()
    if best_value < _plan_value(g, _Plan(placed=baseline)):
        # A second start: greedy's multi-session placements, with the weekly referrals
        # placed exactly around them. It is at least as good as greedy's own allocation
        # (whose weekly part is one of the flows the re-solve maximises over), which the
        # repair above, guided by the relaxation, does not guarantee.
        seeded = {r: p for r, p in baseline.items() if multi[r]}
        if seeded != {r: p for r, p in best.items() if multi[r]}:
            candidate, cand_dist, seconds = _resolve_weekly(g, arcs, seeded, warm)
            plan.solver_seconds += seconds
            value = _plan_value(g, _Plan(placed=candidate))
            if value > best_value:
                best, best_dist, best_value = candidate, cand_dist, value
    waiting = sorted(
        (int(r) for r in np.flatnonzero(multi & g.eligible.any(axis=0))),
        key=lambda r: -int(g.priority[r]),
    )
    weekly_arc = ~multi[arc_r]
    for _ in range(passes):
        if best_value == plan.upper_bound:
            break
        slot_price, place_price = prices(best_dist)
        fixed = {r: p for r, p in best.items() if multi[r]}
        doubtful = _doubtful(g, arcs, weekly_arc, fixed, slot_price, place_price)
        trials = []
        for drop in ((doubtful, True), (doubtful, False), (set(), True)):
            removed, insert = drop
            search = _Search(
                g, {r: p for r, p in best.items() if r not in removed}, slot_price, place_price
            )
            if insert:
                for r in waiting:
                    if r not in search.placed and r not in removed:
                        search.insert(r)
            moved = {r: p for r, p in search.placed.items() if multi[r]}
            if moved != fixed and moved not in trials:
                trials.append(moved)
        improved = False
        for moved in trials:
            candidate, cand_dist, seconds = _resolve_weekly(g, arcs, moved, warm)
            plan.solver_seconds += seconds
            value = _plan_value(g, _Plan(placed=candidate))
            if value > best_value:
                best, best_dist, best_value = candidate, cand_dist, value
                improved = True
                break
        if not improved:
            break
    plan.placed = best
    plan.optimal = best_value == plan.upper_bound
    return plan


def _cp_sat(g: _Group, hint: _Plan, time_limit: float) -> _Plan | None:
    """Exact model of one service, for services small enough (see ``exact_limit``).

    One objective, ``place_scale * placed + scale * priority + fit``, lexicographic by the
    choice of the two multipliers (see ``Problem``). Returns None if no solution was found
    within ``time_limit``.
    """
    from ortools.sat.python import cp_model

    weights = g.problem.weights
    model = cp_model.CpModel()
    slot_vars: dict[int, list] = defaultdict(list)
    ther_load: dict[int, list] = defaultdict(list)
    priority_terms, fit_terms, ther_load_all = [], [], []
    # row -> [(therapist, literal "placed with this therapist", {slot: literal})]
    choice: dict[int, list[tuple[int, Any, dict[int, Any]]]] = defaultdict(list)
    for row in np.flatnonzero(g.eligible.any(axis=0)).tolist():
        k = int(g.r_k[row])
        priority = int(g.priority[row])
        pref_site = int(g.r_pref_site[row])
        pref_part = g.r_pref_part[:, row]
        options = []
        for t in np.flatnonzero(g.eligible[:, row]).tolist():
            cols = g.candidates(row, t)
            pair_fit = g.pair_fit_one(t, row)
            y = model.new_bool_var(f"y{row}_{t}")
            xs = {s: model.new_bool_var(f"x{row}_{s}") for s in cols}
            model.add(sum(xs.values()) == k * y)
            by_day: dict[int, list] = defaultdict(list)
            for s, x in xs.items():
                by_day[int(g.s_day[s])].append(x)
                slot_vars[s].append(x)
            for same_day in by_day.values():
                if len(same_day) > 1:
                    model.add(sum(same_day) <= y)
            ther_load[t].append(y)
            ther_load_all.append(y)
            options.append(y)
            priority_terms.append(priority * y)
            if pair_fit:
                fit_terms.append(pair_fit * y)
            bonuses = []
            if pref_site >= 0:
                bonuses.append((weights.fit_site, [g.s_site[s] == pref_site for s in cols]))
            if pref_part.any():
                bonuses.append((weights.fit_time, [bool(pref_part[g.s_part[s]]) for s in cols]))
            if k == 1:  # a bonus is simply the slot's own
                for points, good in bonuses:
                    fit_terms.extend(points * xs[s] for s, ok in zip(cols, good, strict=True) if ok)
                bonuses = []
            for points, good in bonuses:
                if points == 0 or sum(good) < k:
                    continue
                bonus = model.new_bool_var("")
                model.add_implication(bonus, y)
                for s, ok in zip(cols, good, strict=True):
                    if not ok:
                        model.add_implication(bonus, xs[s].Not())
                fit_terms.append(points * bonus)
            choice[row].append((t, y, xs))
        model.add_at_most_one(options)
    for xs in slot_vars.values():
        model.add_at_most_one(xs)
    for t, literals in ther_load.items():
        if len(literals) > g.t_cap[t]:
            model.add(sum(literals) <= int(g.t_cap[t]))
    for row, options in choice.items():
        assigned = hint.placed.get(row)
        for t, y, xs in options:
            on = assigned is not None and assigned[0] == t
            model.add_hint(y, on)
            for s, x in xs.items():
                model.add_hint(x, on and s in assigned[1])

    started = time.perf_counter()
    scale, place_scale = g.problem.scale, g.problem.place_scale
    model.maximize(place_scale * sum(ther_load_all) + scale * sum(priority_terms) + sum(fit_terms))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker: the same input gives the same answer
    solver.parameters.random_seed = 7
    solver.parameters.max_time_in_seconds = time_limit
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    optimal = status == cp_model.OPTIMAL
    bound = math.floor(solver.best_objective_bound)
    plan = _Plan(method="cp_sat", optimal=optimal)
    plan.solver_seconds = time.perf_counter() - started
    for row, options in choice.items():
        for t, y, xs in options:
            cols = tuple(sorted(s for s, x in xs.items() if solver.value(x)))
            if solver.value(y):
                plan.placed[row] = (t, cols)
    plan.upper_bound = _plan_value(g, plan) if optimal else bound
    return plan


def _greedy_placed(g: _Group) -> dict[int, tuple[int, tuple[int, ...]]]:
    """The greedy baseline on one service: longest wait first (input order among equal
    waits); each referral takes the first therapist, in input order, with a free place
    and free fitting slots on enough different days, and their earliest such slots."""
    R = len(g.refs)
    weeks = np.fromiter((r.weeks_waiting for r in g.refs), np.int64, R)
    ok_by_row = np.ascontiguousarray(g.ok.T)  # (R, S): one referral's slots are contiguous
    free = np.ones(len(g.slots), dtype=bool)
    left = g.t_cap.copy()
    open_slot = free & (left[g.s_t] > 0)
    placed: dict[int, tuple[int, tuple[int, ...]]] = {}
    for row in np.argsort(-weeks, kind="stable").tolist():
        cands = np.flatnonzero(ok_by_row[row] & open_slot)
        if not len(cands):
            continue
        k = int(g.r_k[row])
        chosen = None
        if k == 1:
            chosen = (int(g.s_t[cands[0]]), (int(cands[0]),))
        else:
            owners = g.s_t[cands]
            for t in dict.fromkeys(owners.tolist()):
                days: dict[int, int] = {}
                for s in cands[owners == t].tolist():
                    days.setdefault(int(g.s_day[s]), s)
                if len(days) >= k:
                    chosen = (t, tuple(list(days.values())[:k]))
                    break
        if chosen is None:
            continue
        t, cols = chosen
        placed[row] = chosen
        left[t] -= 1
        free[list(cols)] = False
        open_slot[list(cols)] = False
        if left[t] == 0:
            lo, hi = g.t_slot_start[t], g.t_slot_start[t + 1]
            open_slot[lo:hi] = False
        if not open_slot.any():
            break
    return placed


def _solve_group(g: _Group, exact_limit: int, time_limit: float) -> _Plan:
    plan = _solve_exact_or_decompose(g, exact_limit, time_limit)
    if not plan.optimal:
        # Not proven optimal: never return less than the greedy baseline would.
        baseline = _Plan(placed=g.greedy_placed())
        if _plan_value(g, baseline) > _plan_value(g, plan):
            plan.placed = baseline.placed
            plan.method = "greedy"
    return plan


def _solve_exact_or_decompose(g: _Group, exact_limit: int, time_limit: float) -> _Plan:
    multi_rows = (g.r_k > 1) & g.eligible.any(axis=0)
    if not multi_rows.any():
        arc_r, arc_s, arc_v = g.arcs()
        t0 = time.perf_counter()
        used, _ = _flow_assign(arc_r, arc_s, arc_v, g.s_t, g.t_cap, len(g.refs))
        plan = _Plan(solver_seconds=time.perf_counter() - t0)
        plan.upper_bound = int(arc_v[used].sum())
        for r, s in zip(arc_r[used].tolist(), arc_s[used].tolist(), strict=True):
            plan.placed[r] = (int(g.s_t[s]), (s,))
        return plan
    candidates = int(g.ok.sum())
    plan = _decompose(g, passes=3 if candidates <= _IMPROVE_UP_TO else 0)
    if plan.optimal or candidates > exact_limit:
        return plan
    exact = _cp_sat(g, plan, time_limit)
    if exact is None:
        return plan
    exact.solver_seconds += plan.solver_seconds
    exact.upper_bound = min(exact.upper_bound, plan.upper_bound)
    if _plan_value(g, exact) < _plan_value(g, plan):
        plan.upper_bound = exact.upper_bound
        return plan
    return exact


# ---------------------------------------------------------------------------------------
# Reasons and explanations
# ---------------------------------------------------------------------------------------


def _language_name(code: str) -> str:
    return "BSL" if code == "bsl" else code.capitalize()


def _modality_name(code: str) -> str:
    return {
        "psychodynamic": "psychodynamic therapy",
        "dit": "dynamic interpersonal therapy (DIT)",
        "cat": "cognitive analytic therapy (CAT)",
    }.get(code, code)


def _interpreter(referral: Referral) -> str:
    name = _language_name(referral.language)
    article = "an" if name[0] in "AEIOU" else "a"
    return f"{article} {name} interpreter"


@functools.lru_cache(maxsize=4096)
def _times(pairs: frozenset[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    # Cached: many clients share the same few patterns of availability.
    return ", ".join(f"{DAY_NAMES[d][:3]} {PARTS[p]}" for d, p in sorted(pairs))


def _place_phrase(referral: Referral) -> str:
    places = list(referral.sites) if referral.mode != "remote" else []
    if referral.accepts_remote:
        places.append("remote")
    return " or ".join(places) if places else "nowhere"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _priority_phrase(referral: Referral, priority: int) -> str:
    weeks = referral.weeks_waiting
    standard = ""
    if weeks >= 18:
        standard = ", past the 6- and 18-week standards"
    elif weeks >= 6:
        standard = ", past the 6-week standard"
    return f"priority {priority}: waiting {_plural(weeks, 'week')}{standard}, {referral.risk} risk"


def _assignment_reasons(
    referral: Referral, therapist: Therapist, slots: Sequence[Slot], priority: int
) -> list[str]:
    """Every hard constraint and preference the proposal meets, in the data's own words."""
    reasons = [_priority_phrase(referral, priority)]
    reasons.append(f"offers {_modality_name(referral.modality)}")
    lang = _language_name(referral.language)
    speaks = referral.language in therapist.languages
    if referral.needs_interpreter and speaks:
        reasons.append(f"speaks {lang}, so no interpreter is needed")
    elif referral.needs_interpreter:
        reasons.append(f"works with {_interpreter(referral)}")
    else:
        reasons.append(f"speaks {lang}")
    if referral.gender_strength == "required":
        reasons.append(f"gender requirement ({referral.gender}) met")
    elif referral.gender_strength == "preferred":
        met = therapist.gender == referral.gender
        reasons.append(f"gender preference ({referral.gender}) {'met' if met else 'not met'}")
    k = referral.sessions_per_week
    if k == 1:
        reasons.append("offers weekly sessions")
    else:
        reasons.append(f"offers {k} sessions a week, on different days")
    for slot in slots:
        where = "remote" if slot.remote else f"in person at {slot.site}"
        if not slot.remote and slot.site == referral.preferred_site:
            where += ", the preferred site"
        reasons.append(
            f"{slot.label} {PARTS[slot.part]} slot ({slot.length} min, {where}) "
            "matches availability"
        )
    if referral.preferred_site is not None and not all(
        s.site == referral.preferred_site for s in slots
    ):
        reasons.append(f"preferred site ({referral.preferred_site}) not met")
    if referral.preferred_parts:
        wanted = " or ".join(PARTS[p] for p in sorted(referral.preferred_parts))
        met = all(s.part in referral.preferred_parts for s in slots)
        reasons.append(f"preferred time ({wanted}) {'met' if met else 'not met'}")
    reasons.append(f"has a free place ({therapist.capacity} before this allocation)")
    if referral.planned_start is not None:
        reasons.append(f"not on leave on the planned start ({referral.planned_start})")
    if referral.assessor == therapist.id:
        reasons.append("continuity: also assessed the client")
    return reasons


def _failure_phrase(referral: Referral, therapist: Therapist, family: str) -> str:
    if family == "modality":
        return f"does not offer {_modality_name(referral.modality)}"
    if family == "language":
        return f"does not speak {_language_name(referral.language)}"
    if family == "gender":
        return f"is not {referral.gender} (required)"
    if family == "frequency":
        return f"does not offer {referral.sessions_per_week} sessions a week"
    if family == "leave":
        start, end = therapist.on_leave(referral.planned_start)
        return f"on leave {start} to {end}"
    if family == "capacity":
        return "has no free place"
    if not therapist.slots:
        return "has no free slots"
    timely = [s for s in therapist.slots if (s.day, s.part) in referral.availability]
    if not timely:
        offered = ", ".join(s.label for s in therapist.slots[:4])
        return f"no slot in the client's available times (has {offered})"
    if not any(referral.accepts_slot_site(s.site) for s in therapist.slots):
        return f"no slot at {_place_phrase(referral)}"
    if not any(referral.accepts_slot_site(s.site) for s in timely):
        return f"no slot both in the client's times and at {_place_phrase(referral)}"
    return f"fitting slots on fewer than {referral.sessions_per_week} different days"


def _meets_phrase(referral: Referral, therapist: Therapist, family: str) -> str | None:
    if family == "modality":
        return f"offers {_modality_name(referral.modality)}"
    if family == "language" and referral.language in therapist.languages:
        return f"speaks {_language_name(referral.language)}"
    if family == "gender" and referral.gender_strength == "required":
        return f"is {referral.gender}"
    if family == "frequency" and referral.sessions_per_week > 1:
        return f"offers {referral.sessions_per_week} sessions a week"
    if family == "capacity":
        return f"has {_plural(therapist.capacity, 'free place')}"
    if family == "slots":
        return "has slots that fit"
    return None


def _funnel_sentence(referral: Referral, survivors: Sequence[int], service_size: int) -> str:
    """How the service's therapists narrow down, one requirement at a time, to none."""
    k = referral.sessions_per_week

    def words(family: str) -> str:
        if family == "modality":
            return f"offer {_modality_name(referral.modality)}"
        if family == "language":
            if referral.needs_interpreter:
                return "can work with an interpreter"
            return f"speak {_language_name(referral.language)}"
        if family == "gender":
            return f"are {referral.gender}"
        if family == "frequency":
            return "offer weekly sessions" if k == 1 else f"offer {k} sessions a week"
        if family == "leave":
            return f"are not on leave on {referral.planned_start}"
        if family == "capacity":
            return "have a free place"
        return (
            f"have a free slot in the client's times ({_times(referral.availability) or 'none'})"
            f" at {_place_phrase(referral)}" + ("" if k == 1 else f" on {k} different days")
        )

    steps = [f"{_plural(service_size, 'therapist')} in service {referral.service!r}"]
    previous = service_size
    # Every requirement this client has is shown; the others only when they cut.
    shown = {"modality", "slots"}
    if referral.language != "english" and not referral.needs_interpreter:
        shown.add("language")
    if referral.gender_strength == "required":
        shown.add("gender")
    if k > 1:
        shown.add("frequency")
    for family, count in zip(FAMILIES, survivors, strict=True):
        if count < previous or family in shown:
            steps.append(f"{words(family)}: {count}")
        previous = count
    return "no therapist meets every requirement: " + " -> ".join(steps)


def _suggestion(referral: Referral, thers: Sequence[Therapist], family: str, count: int) -> str:
    """What single change would make ``count`` therapists (``thers``: examples) eligible."""
    names = ", ".join(t.id for t in thers)

    def one(singular: str, plural: str) -> str:
        return singular if count == 1 else plural

    who = f"{_plural(count, 'therapist')} ({names}{', ...' if count > len(thers) else ''})"
    if family == "modality":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('does', 'do')} not offer "
            f"{_modality_name(referral.modality)}"
        )
    if family == "language":
        return f"booking {_interpreter(referral)} would make {who} eligible"
    if family == "gender":
        return (
            f"a preference rather than a requirement for a {referral.gender} therapist "
            f"would make {who} eligible"
        )
    if family == "frequency":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('does', 'do')} not offer "
            f"{referral.sessions_per_week} sessions a week"
        )
    if family == "leave":
        ends = [t.on_leave(referral.planned_start) for t in thers]
        back = min(end for _, end in ends if end) + dt.timedelta(days=1)
        return f"a start on or after {back} would make {who} eligible (back from leave)"
    if family == "capacity":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free "
            "place; next in line when one frees up"
        )
    # Slots: say which change of times or places would open them.
    k = referral.sessions_per_week
    if not any(t.slots for t in thers):
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free slots"
        )
    if not referral.availability:
        return f"recording when the client is available would let {who} be considered"
    if len({d for d, _ in referral.availability}) < k:
        return (
            f"availability on at least {k} different days ({k} sessions a week) would let "
            f"{who} be considered"
        )
    missing_times: dict[tuple[int, int], int] = defaultdict(int)
    missing_places: dict[str, int] = defaultdict(int)
    for t in thers:
        for s in t.slots:
            in_time = (s.day, s.part) in referral.availability
            at_place = referral.accepts_slot_site(s.site)
            if at_place and not in_time:
                missing_times[(s.day, s.part)] += 1
            if in_time and not at_place:
                missing_places[s.site] += 1
    hints = []
    if missing_times:
        top = sorted(missing_times, key=lambda x: (-missing_times[x], x))[:3]
        hints.append(f"adding {_times(tuple(top))} to the client's availability")
    if missing_places:
        top_places = sorted(missing_places, key=lambda x: (-missing_places[x], x))[:2]
        hints.append(
            "accepting " + " or ".join("remote sessions" if p == REMOTE else p for p in top_places)
        )
    if hints:
        them = "it" if count == 1 else "some of them"
        change = " or ".join(hints)
        return f"{who} {one('lacks', 'lack')} only a fitting slot: {change} would open {them}"
    return (
        f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free slot in "
        "the client's times at "
        f"{_place_phrase(referral)}" + ("" if k == 1 else f" on {k} different days")
    )


def _explain_unplaced(
    problem: Problem, g: _Group, rows: np.ndarray, plan: _Plan
) -> dict[int, Unplaced]:
    """Why each unplaced referral (group positions ``rows``) waits, and what would place it."""
    out: dict[int, Unplaced] = {}
    if len(rows) == 0:
        return out
    T, U = len(g.thers), len(rows)
    # One byte per (therapist, unplaced referral): bit j set when the therapist fails
    # family j.
    code = np.zeros((T, U), dtype=np.uint8)
    bit = np.empty((T, U), dtype=np.uint8)
    for j, family in enumerate(FAMILIES):
        if family == "capacity":  # the same for every referral
            code[g.t_cap <= 0] |= np.uint8(1 << j)
            continue
        meets = np.take(g.meets[family], rows, axis=1)
        np.logical_not(meets, out=bit.view(bool))
        np.left_shift(bit, j, out=bit)
        np.bitwise_or(code, bit, out=code)
    del bit
    patterns = 1 << len(FAMILIES)
    popcount = np.array([bin(c).count("1") for c in range(patterns)], dtype=np.uint8)
    n_eligible = np.add.reduce(code == 0, axis=0, dtype=np.int32)
    # Therapists one relaxed requirement away (a full caseload does not count).
    one_away = np.array(
        [popcount[c] == 1 and c != 1 << _CAPACITY for c in range(patterns)], dtype=bool
    )
    wider_count = np.add.reduce(one_away[code], axis=0, dtype=np.int32).tolist()
    # The first five eligible therapists of each referral: the pairs in referral order,
    # each pair's rank among its referral's, and the first five ranks kept.
    pair_u, pair_t = np.nonzero(np.ascontiguousarray((code == 0).T))
    starts = np.r_[0, np.cumsum(n_eligible)[:-1]]
    rank = np.arange(len(pair_u)) - starts[pair_u]
    keep = rank < 5
    first = np.full((U, 5), -1, dtype=np.int64)
    first[pair_u[keep], rank[keep]] = pair_t[keep]
    first_rows = first.tolist()
    # The full failure histogram only for referrals that no therapist can take.
    blocked = np.flatnonzero(n_eligible == 0)
    by_referral = np.ascontiguousarray(code[:, blocked].T)  # (B, T)
    B = len(blocked)
    hist = np.bincount(
        (np.arange(B, dtype=np.int64)[:, None] * patterns + by_referral).ravel(),
        minlength=B * patterns,
    ).reshape(B, patterns)
    single_count = hist[:, [1 << j for j in range(len(FAMILIES))]]
    funnel = np.stack(
        [
            hist[:, [c for c in range(patterns) if c & ((2 << j) - 1) == 0]].sum(axis=1)
            for j in range(len(FAMILIES))
        ],
        axis=1,
    )
    position = {int(n): i for i, n in enumerate(blocked)}

    # After allocation: free places and the lowest priority placed, per therapist.
    places_left = g.t_cap.copy()
    lowest = np.full(T, -1, dtype=np.int64)
    for r, (t, _cols) in plan.placed.items():
        places_left[t] -= 1
        p = int(g.priority[r])
        lowest[t] = p if lowest[t] < 0 else min(lowest[t], p)

    single_rows = single_count.tolist()
    funnel_rows = funnel.tolist()
    eligible_counts = n_eligible.tolist()
    ids = [t.id for t in g.thers]
    places_left, lowest = places_left.tolist(), lowest.tolist()
    priorities = g.priority.tolist()
    for n, row in enumerate(rows.tolist()):
        referral = g.refs[row]
        priority = priorities[row]
        reasons: list[str] = []
        suggestions: list[str] = []
        outranked = eligible_counts[n] > 0
        if outranked:
            key = (tuple(first_rows[n]), eligible_counts[n], referral.sessions_per_week > 1)
            floor, higher_text, lower_text, states, next_in_line = _outranked_words(
                key, ids, places_left, lowest
            )
            reasons.append(higher_text if floor >= priority else lower_text)
            reasons.append(f"{states} (this referral {priority})")
            suggestions.append(next_in_line)
            # What places it is a place freeing up; wider requirements only add
            # therapists who may be just as full, so they are counted, not spelt out.
            if wider_count[n]:
                suggestions.append(
                    "relaxing one requirement would make "
                    f"{_plural(wider_count[n], 'more therapist')} eligible"
                )
        else:
            b = position[n]
            pattern = by_referral[b]
            reasons.append(_funnel_sentence(referral, funnel_rows[b], T))
            t = int(popcount[pattern].argmin())
            th = g.thers[t]
            bits = int(pattern[t])
            failed = [f for j, f in enumerate(FAMILIES) if bits >> j & 1]
            met = [
                phrase
                for f in FAMILIES
                if f not in failed and (phrase := _meets_phrase(referral, th, f)) is not None
            ]
            reasons.append(
                f"nearest: {th.id} ("
                + "; ".join(met + [_failure_phrase(referral, th, f) for f in failed])
                + ")"
            )
            # The two single changes that would open up the most therapists.
            counts = single_rows[b]
            ranked = sorted((-count, j) for j, count in enumerate(counts) if count)[:2]
            for minus_count, j in ranked:
                picked = np.flatnonzero(pattern == 1 << j)[:3].tolist()
                suggestions.append(
                    _suggestion(referral, [g.thers[t] for t in picked], FAMILIES[j], -minus_count)
                )
        if not suggestions:
            suggestions.append(
                "no single change makes a therapist eligible; review the requirements with "
                "the client or widen the service's offer"
            )
        out[int(g.ref_ids[row])] = Unplaced(
            referral=referral.id,
            priority=priority,
            reasons=tuple(reasons),
            suggestions=tuple(suggestions),
        )
    return out


def _outranked_words(key: tuple, ids: list[str], places_left: list[int], lowest: list[int]):
    """The wording for referrals that meet every requirement with the same therapists (the
    first five eligible, and how many in all) but are not placed."""
    first, total, multi = key
    eligible = [t for t in first if t >= 0]
    names = ", ".join(ids[t] for t in eligible)
    more = f" and {total - 5} more" if total > 5 else ""
    opening = (
        f"meets every requirement with {_plural(total, 'therapist')} ({names}{more}), but "
        "their places and fitting slots "
    )
    higher = opening + "went to people ranked higher (waiting longer or at higher risk)"
    # Someone placed there ranks lower: the objective counts placements first.
    lower = opening + (
        "are taken, some by people ranked lower: the allocation places as many people as "
        "it can first, then ranks them by wait and risk"
    )
    # The lowest priority placed with any of them (-1 if one has nobody placed).
    floor = min(lowest[t] for t in eligible)
    states = []
    for t in eligible[:3]:
        if places_left[t] <= 0:
            state = "no free place left"
        elif multi:
            state = "too few fitting slots left on different days"
        else:
            state = "the fitting slots are taken"
        if lowest[t] >= 0:
            state += f", lowest priority placed there {lowest[t]}"
        states.append(f"{ids[t]}: {state}")
    next_in_line = (
        "next in line when "
        + " or ".join(ids[t] for t in eligible[:3])
        + " has a free place and a fitting slot"
    )
    return floor, higher, lower, "; ".join(states), next_in_line


def _explain_no_therapists(problem: Problem, ref_ids: Sequence[int]) -> dict[int, Unplaced]:
    out = {}
    for i in ref_ids:
        r = problem.referrals[i]
        out[i] = Unplaced(
            referral=r.id,
            priority=priority_of(r, problem.weights),
            reasons=(f"no therapists in service {r.service!r}",),
            suggestions=("add therapists with free places to this service",),
        )
    return out


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------


def _groups(problem: Problem) -> dict[str, tuple[list[int], list[int]]]:
    """Referral and therapist positions per service: services never share anything."""
    groups: dict[str, tuple[list[int], list[int]]] = {}
    for i, r in enumerate(problem.referrals):
        groups.setdefault(r.service, ([], []))[0].append(i)
    for j, t in enumerate(problem.therapists):
        groups.setdefault(t.service, ([], []))[1].append(j)
    return groups


def _make_assignment(problem: Problem, ri: int, ti: int, slots: Sequence[Slot]) -> Assignment:
    referral, therapist = problem.referrals[ri], problem.therapists[ti]
    priority = priority_of(referral, problem.weights)
    fit = fit_of(referral, therapist, slots, problem.weights)
    ordered = tuple(sorted(slots, key=lambda s: (s.day, s.start)))
    return Assignment(
        referral=referral.id,
        therapist=therapist.id,
        slots=ordered,
        priority=priority,
        fit=fit,
        score=problem.value_of(priority, fit),
        reasons=tuple(_assignment_reasons(referral, therapist, ordered, priority)),
    )


def _objective(problem: Problem, assignments: Sequence[Assignment], **extra: Any) -> dict:
    priority = sum(a.priority for a in assignments)
    fit = sum(a.fit for a in assignments)
    return {
        "placed": len(assignments),
        "priority": priority,
        "fit": fit,
        "scale": problem.scale,
        "place_scale": problem.place_scale,
        "value": problem.place_scale * len(assignments) + priority * problem.scale + fit,
        **extra,
    }


@_bulk()
def solve(problem: Problem, *, exact_limit: int = 1_500, time_limit: float = 3.0) -> Result:
    """Allocate the waiting list: the best proposal under the lexicographic objective.

    Each service is solved on its own. With only weekly referrals it is a min-cost flow,
    solved exactly. With referrals seen several times a week it goes through the flow
    decomposition, which also yields an upper bound; if that bound is not met and the
    service has at most ``exact_limit`` candidate (referral, slot) pairs, CP-SAT solves it
    exactly (up to ``time_limit`` seconds per service, else its best answer is kept).
    ``objective["optimal"]`` says whether the whole result is proven optimal.
    """
    started = time.perf_counter()
    build = solver = explain = 0.0
    assignments: list[tuple[int, Assignment]] = []
    unplaced: dict[int, Unplaced] = {}
    methods: set[str] = set()
    optimal = True
    bound = 0
    pairs = candidates = 0
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids:
            continue
        if not ther_ids:
            t0 = time.perf_counter()
            unplaced.update(_explain_no_therapists(problem, ref_ids))
            explain += time.perf_counter() - t0
            continue
        t0 = time.perf_counter()
        g = _Group(problem, ref_ids, ther_ids)
        pairs += int(g.eligible.sum())
        candidates += int(g.ok.sum())
        build += time.perf_counter() - t0
        t0 = time.perf_counter()
        plan = _solve_group(g, exact_limit, time_limit)
        solver += plan.solver_seconds
        build += time.perf_counter() - t0 - plan.solver_seconds
        methods.add(plan.method)
        optimal = optimal and plan.optimal
        bound += plan.upper_bound
        t0 = time.perf_counter()
        for row, (t, cols) in plan.placed.items():
            ri, ti = int(g.ref_ids[row]), int(g.ther_ids[t])
            slots = [g.slots[s] for s in cols]
            assignments.append((ri, _make_assignment(problem, ri, ti, slots)))
        rows = np.asarray([r for r in range(len(ref_ids)) if r not in plan.placed], dtype=np.int64)
        unplaced.update(_explain_unplaced(problem, g, rows, plan))
        explain += time.perf_counter() - t0
    assignments.sort(key=lambda pair: pair[0])
    ordered = [a for _, a in assignments]
    objective = _objective(
        problem,
        ordered,
        method="+".join(sorted(methods)) or "none",
        optimal=optimal,
        upper_bound=bound,
    )
    # The bound is a sum of placement values, so it splits like the objective itself.
    bound_placed, rest = divmod(bound, problem.place_scale)
    bound_priority = rest // problem.scale
    objective["placed_bound"] = bound_placed
    objective["priority_gap"] = (
        round(max(bound_priority - objective["priority"], 0) / bound_priority, 6)
        if bound_priority > 0
        else 0.0
    )
    stats = {
        "considered": len(problem.referrals),
        "therapists": len(problem.therapists),
        "placed": len(ordered),
        "unplaced": len(unplaced),
        "eligible_pairs": pairs,
        "candidate_slots": candidates,
        "build_seconds": round(build, 4),
        "solve_seconds": round(solver, 4),
        "explain_seconds": round(explain, 4),
        "total_seconds": round(time.perf_counter() - started, 4),
    }
    return Result(
        assignments=tuple(ordered),
        unplaced=tuple(unplaced[i] for i in sorted(unplaced)),
        objective=objective,
        stats=stats,
    )


@_bulk()
def greedy(problem: Problem) -> Result:
    """Baseline: longest wait first; each takes the first therapist (input order) who fits.

    With that therapist it takes the earliest fitting free slots of the week, one a day.
    Unplaced referrals carry no explanation. Used by the benchmark and the tests; ``solve``
    also runs it on any service whose answer is not proven optimal, and keeps the better.
    """
    started = time.perf_counter()
    assignments: list[tuple[int, Assignment]] = []
    unplaced: list[tuple[int, Unplaced]] = []
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids:
            continue
        placed: dict[int, tuple[int, tuple[int, ...]]] = {}
        if ther_ids:
            g = _Group(problem, ref_ids, ther_ids)
            placed = g.greedy_placed()
        for row, ri in enumerate(ref_ids):
            if row in placed:
                t, cols = placed[row]
                slots = [g.slots[s] for s in cols]
                assignments.append((ri, _make_assignment(problem, ri, int(g.ther_ids[t]), slots)))
            else:
                referral = problem.referrals[ri]
                priority = priority_of(referral, problem.weights)
                unplaced.append((ri, Unplaced(referral.id, priority, (), ())))
    assignments.sort(key=lambda pair: pair[0])
    unplaced.sort(key=lambda pair: pair[0])
    ordered = [a for _, a in assignments]
    return Result(
        assignments=tuple(ordered),
        unplaced=tuple(u for _, u in unplaced),
        objective=_objective(problem, ordered, method="greedy", optimal=False),
        stats={
            "considered": len(problem.referrals),
            "placed": len(ordered),
            "total_seconds": round(time.perf_counter() - started, 4),
        },
    )


def _slot_dict(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "day": slot.day,
        "day_name": DAY_NAMES[slot.day],
        "start": _hhmm(slot.start),
        "length": slot.length,
        "part": PARTS[slot.part],
        "site": slot.site,
    }


@_bulk()
def result_to_dict(result: Result) -> dict[str, Any]:
    """JSON-ready form of a result (the ``--output`` file)."""
    return {
        "assignments": [
            {
                "referral": a.referral,
                "therapist": a.therapist,
                "slots": [_slot_dict(s) for s in a.slots],
                "priority": a.priority,
                "fit": a.fit,
                "score": a.score,
                "reasons": list(a.reasons),
            }
            for a in result.assignments
        ],
        "unplaced": [
            {
                "referral": u.referral,
                "priority": u.priority,
                "reasons": list(u.reasons),
                "suggestions": list(u.suggestions),
            }
            for u in result.unplaced
        ],
        "objective": dict(result.objective),
        "stats": dict(result.stats),
    }


def _days_reach(pair: np.ndarray, day: np.ndarray, pairs: np.ndarray, k: np.ndarray):
    """Per pair in ``pairs``: do the (pair, day) rows given cover ``k`` different days?"""
    with_days, days = np.unique(np.unique(pair * 7 + day) // 7, return_counts=True)
    count = np.zeros(len(pairs), dtype=np.int64)
    count[np.searchsorted(pairs, with_days)] = days
    return count >= k


@_bulk()
def eligible_pairs(problem: Problem) -> list[dict[str, Any]]:
    """Every referral/therapist pair that meets every hard constraint (the ``--scores`` file).

    ``slots`` lists the therapist's slots that fit the referral; ``fit`` is the best fit
    those slots allow; ``score`` is ``place_scale + scale * priority + fit``. Sorted by score, best
    first, then by referral and therapist id.
    """
    weights = problem.weights
    columns: list[tuple[np.ndarray, ...]] = []
    slot_lists: list[list[str]] = []
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids or not ther_ids:
            continue
        g = _Group(problem, ref_ids, ther_ids)
        R = len(g.refs)
        slot_col, row = np.nonzero(g.ok)
        pair = g.s_t[slot_col] * R + row
        order = np.argsort(pair, kind="stable")
        slot_col, row, pair = slot_col[order], row[order], pair[order]
        pairs, first = np.unique(pair, return_index=True)
        p_t, p_row = pairs // R, pairs % R
        k, day = g.r_k[p_row], g.s_day[slot_col]
        # Best fit: the pair's own points, plus the site and time bonuses when fitting
        # slots meeting them lie on k different days (both together, or the larger one).
        site_ok = g.s_site[slot_col] == g.r_pref_site[row]
        time_ok = g.r_pref_part.any(axis=0)[row] & g.r_pref_part[g.s_part[slot_col], row]
        site = _days_reach(pair[site_ok], day[site_ok], pairs, k)
        timely = _days_reach(pair[time_ok], day[time_ok], pairs, k)
        both_ok = site_ok & time_ok
        both = _days_reach(pair[both_ok], day[both_ok], pairs, k)
        bonus = np.maximum(
            both * (weights.fit_site + weights.fit_time),
            np.maximum(site * weights.fit_site, timely * weights.fit_time),
        )
        fit = g.pair_fit(p_t, p_row) + bonus
        names = [g.slots[s].id for s in slot_col.tolist()]
        bounds = np.r_[first, len(pair)].tolist()
        slot_lists.extend(names[bounds[n] : bounds[n + 1]] for n in range(len(pairs)))
        columns.append((g.ref_ids[p_row], g.ther_ids[p_t], g.priority[p_row], fit))
    if not columns:
        return []
    ref, ther, priority, fit = (np.concatenate(c) for c in zip(*columns, strict=True))
    score = problem.place_scale + priority * problem.scale + fit
    rank_of = {
        kind: np.argsort(np.argsort([x.id for x in records], kind="stable"), kind="stable")
        for kind, records in (("r", problem.referrals), ("t", problem.therapists))
    }
    order = np.lexsort((rank_of["t"][ther], rank_of["r"][ref], -score)).tolist()
    ids_r = [r.id for r in problem.referrals]
    ids_t = [t.id for t in problem.therapists]
    ref, ther, priority, fit, score = (x.tolist() for x in (ref, ther, priority, fit, score))
    return [
        {
            "referral": ids_r[ref[n]],
            "therapist": ids_t[ther[n]],
            "slots": slot_lists[n],
            "priority": priority[n],
            "fit": fit[n],
            "score": score[n],
        }
        for n in order
    ]
