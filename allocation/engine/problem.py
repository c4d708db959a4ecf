"""The engine's data: a problem, its records, a result, and the constants they share.

Frozen dataclasses (``Problem``, ``Therapist``, ``Referral``, ``Slot``, ``Weights``, and
``Result`` with its ``Assignment`` and ``Unplaced`` rows), ``ProblemError``, the day and
part-of-day names, and two helpers every other module uses (``_hhmm``, ``_bulk``).
Nothing here reads input or computes an allocation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from dataclasses import dataclass, field
from typing import Any

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PARTS = ("morning", "afternoon", "evening")
MODES = ("in_person", "remote", "either")
RISKS = ("low", "medium", "high")
STRENGTHS = ("none", "preferred", "required")
GRADES = ("qualified", "trainee")
# What a referral may require of its therapist's competence, least first: anyone; a
# qualified therapist (not a trainee); a qualified therapist not under supervision.
COMPETENCES = ("any", "qualified", "independent")
# Continuity with the assessor: no wish; a wish (a fit bonus); a requirement (only the
# assessor, if they are a therapist of the service with a free place).
CONTINUITY = ("none", "preferred", "required")
# Why a named therapist is excluded for a referral, and how the reasons word it.
EXCLUSION_REASONS = {
    "conflict_of_interest": "conflict of interest",
    "previous_complaint": "previous complaint",
    "relative": "a relative or someone the client knows",
    "other": "excluded by the coordinator",
}
REMOTE = "remote"
# The caseload-mix caps a therapist may have, and how the reasons name each kind of client.
CAP_KINDS = ("high_risk", "complex")
CAP_NOUNS = {"high_risk": "high-risk", "complex": "complex"}
# An open-ended course is checked against the therapist's leave and breaks over its first
# weeks only: the horizon a coordinator plans for (docs/allocation.md, "Time").
OPEN_ENDED_WEEKS = 12
MAX_COURSE_WEEKS = 520
MAX_TRAVEL_MINUTES = 600
NOON = 12 * 60
FIVE_PM = 17 * 60
MINUTES_PER_DAY = 24 * 60
# A part of the day is shorthand for its fixed window (docs/allocation.md, "Time"): a slot
# fits a window when it lies wholly inside it, and windows that touch join up, so a client
# free all afternoon and evening can take a 16:30 session.
PART_WINDOWS = ((0, NOON), (NOON, FIVE_PM), (FIVE_PM, MINUTES_PER_DAY))


class ProblemError(ValueError):
    """The problem is malformed or inconsistent; the message names the record."""


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


# A time window: (day, start, end), minutes after midnight, end after start, at most 24:00.
Window = tuple[int, int, int]


def _joined(windows) -> tuple[Window, ...]:
    """Windows sorted by day and start, with those that touch or overlap joined into one."""
    out: list[list[int]] = []
    for day, start, end in sorted(windows):
        if out and out[-1][0] == day and start <= out[-1][2]:
            out[-1][2] = max(out[-1][2], end)
        else:
            out.append([day, start, end])
    return tuple((d, a, b) for d, a, b in out)


def _inside(windows: tuple[Window, ...], day: int, start: int, end: int) -> bool:
    """The time day start..end lies wholly inside one of the (joined) ``windows``."""
    return any(d == day and a <= start and end <= b for d, a, b in windows)


def _by_day(windows: tuple[Window, ...]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Windows as seven tuples of (start, end), Monday first: one client's times looked up
    by a slot's day, which the explanations do for every slot of every therapist."""
    days: list[list[tuple[int, int]]] = [[] for _ in DAY_NAMES]
    for day, start, end in windows:
        days[day].append((start, end))
    return tuple(tuple(d) for d in days)


def _part_names(start: int, end: int) -> list[str]:
    """The parts of the day a window is exactly made of (["afternoon", "evening"]), or []."""
    bounds = [a for a, _ in PART_WINDOWS] + [MINUTES_PER_DAY]
    if start not in bounds or end not in bounds:
        return []
    return [PARTS[p] for p in range(bounds.index(start), bounds.index(end))]


def window_words(window: Window, *, short: bool = False) -> str:
    """A window in words: "Tuesday 17:30-20:00", or "Tuesday evening" for a part's window."""
    day, start, end = window
    name = DAY_NAMES[day][:3] if short else DAY_NAMES[day]
    parts = _part_names(start, end)
    if parts:
        return f"{name} {' and '.join(parts)}"
    return f"{name} {_hhmm(start)}\u2013{_hhmm(end)}"


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
    capacity: int  # free weekly sessions: the session capacity less sessions booked
    frequencies: frozenset[int]
    slots: tuple[Slot, ...]
    leave: tuple[tuple[dt.date, dt.date], ...] = ()
    grade: str = "qualified"  # or "trainee"
    supervised: bool = False  # works under supervision (a trainee always does)
    specialisms: frozenset[str] = frozenset()
    # Caseload mix: the most high-risk and complex clients the therapist carries at once
    # (None: no cap), and how many of each their current caseload already holds.
    max_high_risk: int | None = None
    high_risk_caseload: int = 0
    max_complex: int | None = None
    complex_caseload: int = 0

    def cap_room(self, kind: str) -> int | None:
        """Free places under the cap on ``kind`` ("high_risk" or "complex"), None if none."""
        cap = self.max_high_risk if kind == "high_risk" else self.max_complex
        if cap is None:
            return None
        held = self.high_risk_caseload if kind == "high_risk" else self.complex_caseload
        return max(cap - held, 0)

    def cap_words(self, kind: str) -> str:
        """The cap in words: "at most 2 high-risk clients, 2 in the caseload"."""
        cap = self.max_high_risk if kind == "high_risk" else self.max_complex
        held = self.high_risk_caseload if kind == "high_risk" else self.complex_caseload
        noun = CAP_NOUNS[kind]
        return f"at most {cap} {noun} client{'s' if cap != 1 else ''}, {held} in the caseload"

    @property
    def level(self) -> int:
        """0: a trainee; 1: qualified, under supervision; 2: qualified, independent."""
        if self.grade == "trainee":
            return 0
        return 1 if self.supervised else 2

    @property
    def competence_words(self) -> str:
        words = "a trainee, under supervision" if self.grade == "trainee" else "qualified"
        if self.grade != "trainee" and self.supervised:
            words += ", under supervision"
        if self.specialisms:
            words += "; specialisms " + ", ".join(sorted(self.specialisms))
        return words

    def away_during(
        self, first: dt.date | None, last: dt.date | None
    ) -> tuple[dt.date, dt.date] | None:
        """The first leave or break overlapping the days first..last (inclusive), if any."""
        if first is None or last is None:
            return None
        for start, end in self.leave:
            if start <= last and end >= first:
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
    # How the service's own pages word this referral's risk, for the reasons; the engine's
    # three ranks otherwise.
    risk_words: str | None = None
    # Therapists this client must never be placed with: (therapist id, reason code).
    exclusions: tuple[tuple[str, str], ...] = ()
    # Therapist genders this client must not be placed with ("not a man"): a requirement,
    # which may stand together with a gender preference.
    gender_excluded: frozenset[str] = frozenset()
    # The competence the therapist needs (COMPETENCES), and a specialism they must have.
    competence: str = "any"
    specialism: str | None = None
    # Time: the client's earliest start (``planned_start`` is never before it), and the
    # course length in weeks (None: open-ended, checked over ``OPEN_ENDED_WEEKS``).
    earliest_start: dt.date | None = None
    course_weeks: int | None = None
    # Languages: the client needs BSL as well as ``language`` (which they also use); and
    # whether the service can book an interpreter for ``language`` and for BSL (set from
    # the problem's ``interpreter_languages``; True when the service lists none).
    bsl: bool = False
    continuity: str = "preferred"
    # Access and travel: the sites the client asked for but cannot use, each with why
    # ("not step-free", "55 minutes away, over the 45-minute limit"). ``sites`` holds only
    # the sites left, so every site check reads them.
    sites_ruled_out: tuple[tuple[str, str], ...] = ()
    step_free: bool = False
    max_travel_minutes: int | None = None
    # The problem's step-free sites, for a client who needs step-free access (else None).
    step_free_sites: frozenset[str] | None = None

    def could_use_site(self, site: str) -> bool:
        """A site the client could accept without breaking an access need or travel limit
        (what a suggestion may offer)."""
        if site in dict(self.sites_ruled_out):
            return False
        return not self.step_free or site in (self.step_free_sites or ())

    interpreter_bookable: bool = True
    bsl_bookable: bool = True
    # Caseload mix: a complex case (see docs/allocation.md, "Caseload mix"); a high-risk
    # one is a referral whose ``risk`` is high.
    complex: bool = False

    @property
    def high_risk(self) -> bool:
        return self.risk == "high"

    def is_kind(self, kind: str) -> bool:
        """The referral counts against a therapist's cap on ``kind`` (CAP_KINDS)."""
        return self.high_risk if kind == "high_risk" else self.complex

    # Time: the client's available windows (parts of the day as their fixed windows, and
    # exact windows), joined where they touch; a slot fits only when it lies wholly inside
    # one. ``preferred_windows`` likewise, for the fit bonus (every session inside one).
    windows: tuple[Window, ...] = ()
    preferred_windows: tuple[Window, ...] = ()
    windows_by_day: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows_by_day", _by_day(self.windows))

    def fits_time(self, slot: Slot) -> bool:
        start, end = slot.start, slot.start + slot.length
        return any(a <= start and end <= b for a, b in self.windows_by_day[slot.day])

    def prefers_time(self, slot: Slot) -> bool:
        return _inside(self.preferred_windows, slot.day, slot.start, slot.end)

    @property
    def preferred_words(self) -> str:
        """The preferred times in words: parts of the day when they are whole parts on every
        day ("evening"), else each window."""
        return _preferred_words(self.preferred_windows)

    @property
    def interpreter_ok(self) -> bool:
        """An interpreter for ``language`` will be booked, so any therapist will do."""
        return self.needs_interpreter and self.interpreter_bookable

    def needs_no_interpreter_with(self, therapist: Therapist) -> bool:
        """The client needs an interpreter or BSL, and with this therapist needs none (the
        fit point for language)."""
        return (
            (self.needs_interpreter or self.bsl)
            and (not self.needs_interpreter or self.language in therapist.languages)
            and (not self.bsl or "bsl" in therapist.languages)
        )

    def language_allows(self, therapist: Therapist) -> bool:
        spoken = self.interpreter_ok or self.language in therapist.languages
        return spoken and (not self.bsl or self.bsl_bookable or "bsl" in therapist.languages)

    @property
    def course_end(self) -> dt.date | None:
        """The last day of the planned course (or of the horizon of an open-ended one)."""
        if self.planned_start is None:
            return None
        weeks = self.course_weeks or OPEN_ENDED_WEEKS
        return self.planned_start + dt.timedelta(days=7 * weeks - 1)

    @property
    def course_words(self) -> str:
        """The planned course in words, e.g. "2025-03-05 to 2025-05-27, 12 weeks"."""
        span = f"{self.planned_start} to {self.course_end}"
        if self.course_weeks is None:
            return f"{span}, the first {OPEN_ENDED_WEEKS} weeks of an open-ended course"
        return f"{span}, {self.course_weeks} week{'s' if self.course_weeks != 1 else ''}"

    @property
    def competence_rule(self) -> str | None:
        """The competence requirement in words, or None if there is none."""
        words = {
            "qualified": ["a qualified therapist"],
            "independent": ["a qualified therapist not under supervision"],
        }.get(self.competence, [])
        if self.specialism:
            words.append(f"specialism: {self.specialism}")
        return "; ".join(words) or None

    def competence_allows(self, therapist: Therapist) -> bool:
        return therapist.level >= COMPETENCES.index(self.competence) and (
            self.specialism is None or self.specialism in therapist.specialisms
        )

    @property
    def excluded_ids(self) -> frozenset[str]:
        return frozenset(tid for tid, _ in self.exclusions)

    @property
    def gender_rule(self) -> str | None:
        """The gender requirement in words ("female", "not male"), or None if none."""
        words = [self.gender] if self.gender_strength == "required" and self.gender else []
        words += [f"not {g}" for g in sorted(self.gender_excluded)]
        return ", ".join(words) or None

    def gender_allows(self, gender: str | None) -> bool:
        """The gender requirement holds for a therapist of this gender (None: not recorded,
        which meets no requirement)."""
        if self.gender_strength == "required" and gender != self.gender:
            return False
        return not self.gender_excluded or (
            gender is not None and gender not in self.gender_excluded
        )

    @property
    def accepts_remote(self) -> bool:
        return self.mode in ("remote", "either")

    @property
    def access_words(self) -> str | None:
        """The sites ruled out by access or travel, in words, or None."""
        if not self.sites_ruled_out:
            return None
        return "; ".join(f"{site}: {why}" for site, why in self.sites_ruled_out)

    def accepts_slot_site(self, site: str) -> bool:
        if site == REMOTE:
            return self.accepts_remote
        return self.mode != "remote" and site in self.sites


def _preferred_words(windows: tuple[Window, ...]) -> str:
    by_time: dict[tuple[int, int], set[int]] = {}
    for day, start, end in windows:
        by_time.setdefault((start, end), set()).add(day)
    if all(_part_names(*t) and days == set(range(7)) for t, days in by_time.items()):
        return " or ".join(p for t in sorted(by_time) for p in _part_names(*t))
    return ", ".join(window_words(w) for w in windows)


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
