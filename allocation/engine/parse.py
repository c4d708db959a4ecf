"""Parsing and validation: ``parse_problem`` turns JSON-shaped data into a ``Problem``.

Every field of every record is checked here, and the first fault raises ``ProblemError``
with a message naming the record ("therapist 't-4' slot 's-2': ..."). The field sets
(``_THERAPIST_FIELDS`` and friends) and the bounds that keep the objective inside 64-bit
integers (``MAX_CAPACITY``, ``MAX_WEEKS_WAITING``) live here too.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from allocation.engine.problem import (
    CAP_KINDS,
    COMPETENCES,
    CONTINUITY,
    DAY_NAMES,
    EXCLUSION_REASONS,
    GRADES,
    MAX_COURSE_WEEKS,
    MAX_TRAVEL_MINUTES,
    MINUTES_PER_DAY,
    MODES,
    PART_WINDOWS,
    PARTS,
    REMOTE,
    RISKS,
    STRENGTHS,
    Problem,
    ProblemError,
    Referral,
    Slot,
    Therapist,
    Weights,
    Window,
    _bulk,
    _hhmm,
    _joined,
    window_words,
)

_DAY_LOOKUP = {name.lower(): i for i, name in enumerate(DAY_NAMES)} | {
    name[:3].lower(): i for i, name in enumerate(DAY_NAMES)
}

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")

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
    "grade",
    "supervised",
    "specialisms",
    "sessions",
    "max_high_risk",
    "high_risk_caseload",
    "max_complex",
    "complex_caseload",
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
    "risk_words",
    "assessor",
    "exclude_therapists",
    "gender_exclusion",
    "competence",
    "specialism",
    "earliest_start",
    "therapy_weeks",
    "bsl",
    "continuity",
    "step_free",
    "travel_minutes",
    "max_travel_minutes",
    "complex",
    "windows",
    "preferred_windows",
    "notes",
}
_WINDOW_FIELDS = {"day", "start", "end", "notes"}
_EXCLUSION_FIELDS = {"therapist", "reason", "notes"}
_PROBLEM_FIELDS = {
    "today",
    "services",
    "sites",
    "interpreter_languages",
    "step_free_sites",
    "weights",
    "therapists",
    "referrals",
    "notes",
}


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


_WINDOW_RE = re.compile(
    r"^\s*([A-Za-z]+)\s+(?:(morning|afternoon|evening)|(\d{1,2}:\d{2})\s*(?:-|\u2013|to)\s*"
    r"(\d{1,2}:\d{2}))\s*$",
    re.IGNORECASE,
)
WINDOW_EXAMPLE = "Tuesday 17:30-20:00"


class WindowError(ValueError):
    """A window that cannot be read; ``kind`` is "format", "day", "outside" or "order", so a
    form can word it for the person who typed it."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def _clock(text: str) -> int | None:
    """Minutes after midnight of "HH:MM" (24:00 allowed, for a window's end), or None when
    the text is not a time; more than 24:00 gives a value past the day for the caller."""
    match = _TIME_RE.match(text.strip())
    if not match or int(match.group(2)) > 59:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def window_from(day: Any, start: Any, end: Any) -> Window:
    """One exact window from its day and "HH:MM" times; ValueError says what is wrong."""
    words = f"{day} {start}-{end}"
    if isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
        d = day
    elif isinstance(day, str) and day.strip().lower() in _DAY_LOOKUP:
        d = _DAY_LOOKUP[day.strip().lower()]
    else:
        raise WindowError(f"window {words!r} has unknown day {day!r} (Monday to Sunday)", "day")
    a = _clock(start) if isinstance(start, str) else None
    b = _clock(end) if isinstance(end, str) else None
    if a is None or b is None:
        raise WindowError(
            f"window {words!r} is not a day and times like {WINDOW_EXAMPLE!r} (HH:MM, 24-hour)",
            "format",
        )
    if a >= MINUTES_PER_DAY or b > MINUTES_PER_DAY:
        raise WindowError(f"window {words!r} is outside the day (00:00 to 24:00)", "outside")
    if b <= a:
        raise WindowError(f"window {words!r} ends before it starts", "order")
    return (d, a, b)


def window_parse(text: Any) -> Window:
    """One window from its words: "Tuesday 17:30-20:00" (or with an en dash), or a part
    of the day as its fixed window ("Tuesday evening"). ValueError says what is wrong."""
    match = _WINDOW_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise WindowError(
            f"window {text!r} is not a day and times like {WINDOW_EXAMPLE!r} (HH:MM, 24-hour)",
            "format",
        )
    day, part, start, end = match.groups()
    if part is not None:
        if day.strip().lower() not in _DAY_LOOKUP:
            raise WindowError(f"window {text!r} has unknown day {day!r} (Monday to Sunday)", "day")
        return (_DAY_LOOKUP[day.lower()], *PART_WINDOWS[PARTS.index(part.lower())])
    return window_from(day, start, end)


def windows_overlap(windows: Iterable[Window]) -> str | None:
    """The first two windows that overlap, in words, or None (touching is not overlapping)."""
    ordered = sorted(windows)
    for a, b in itertools.pairwise(ordered):
        if a[0] == b[0] and b[1] < a[2]:
            return f"windows {window_words(a)} and {window_words(b)} overlap"
    return None


@functools.lru_cache(maxsize=4096)
def _joined_parts(parts: frozenset[Window]) -> tuple[Window, ...]:
    # Cached: clients share the same few patterns of parts of the day.
    return _joined(parts)


def _windows(reader: _Reader, key: str, parts: Iterable[Window]) -> tuple[Window, ...]:
    """A referral's exact windows (``key``) together with the windows of its parts of the
    day, checked for overlaps and joined where they touch."""
    raw = reader.row.get(key, [])
    if not raw and isinstance(raw, list):  # parts of the day only: they never overlap
        return _joined_parts(frozenset(parts))
    if not isinstance(raw, list):
        reader.fail(f"{key!r} must be a list of windows like {WINDOW_EXAMPLE!r}")
    given: list[Window] = []
    for item in raw:
        try:
            if isinstance(item, Mapping):
                unknown = sorted(set(item) - _WINDOW_FIELDS)
                if unknown:
                    raise ValueError(f"unknown field {unknown[0]!r} in a window")
                if set(item) - {"notes"} != {"day", "start", "end"}:
                    raise ValueError('each window needs "day", "start" and "end"')
                given.append(window_from(item["day"], item["start"], item["end"]))
            else:
                given.append(window_parse(item))
        except ValueError as error:
            reader.fail(f"{key}: {error}")
    overlap = windows_overlap([*parts, *given])
    if overlap:
        reader.fail(f"{key}: {overlap}")
    return _joined([*parts, *given])


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
    free = _free_sessions(reader)
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
    grade = reader.text("grade", default="qualified", lower=True)
    if grade not in GRADES:
        reader.fail(f"grade {grade!r} is not one of qualified, trainee")
    supervised = reader.boolean("supervised", grade == "trainee")
    if grade == "trainee" and not supervised:
        reader.fail("a trainee works under supervision: 'supervised' cannot be false")
    specialisms = frozenset(reader.strings("specialisms", lower=True, default=[]))
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
        grade=grade,
        supervised=supervised,
        specialisms=specialisms,
        **_caps(reader),
    )


def _free_sessions(reader: _Reader) -> int:
    """Free weekly sessions: ``sessions``, or the older ``capacity`` (less ``caseload``),
    read the same way (docs/allocation.md, "Therapist")."""
    row = reader.row
    if "sessions" in row:
        if "capacity" in row:
            reader.fail("give 'sessions' or the older 'capacity', not both")
        if "caseload" in row:
            reader.fail(
                "'caseload' goes with 'capacity'; 'sessions' is already the free weekly sessions"
            )
        return reader.integer("sessions", high=MAX_CAPACITY)
    if "capacity" not in row:
        reader.fail("missing 'sessions' (free weekly sessions)")
    capacity = reader.integer("capacity", high=MAX_CAPACITY)
    caseload = reader.integer("caseload", default=None, high=MAX_CAPACITY)
    return capacity if caseload is None else max(capacity - caseload, 0)


def _caps(reader: _Reader) -> dict[str, Any]:
    """The caseload-mix caps: ``max_high_risk`` and ``max_complex`` (absent or null: no
    cap), each with the number of such clients already in the caseload."""
    out: dict[str, Any] = {}
    for kind in CAP_KINDS:
        cap = reader.integer(f"max_{kind}", default=None, high=MAX_CAPACITY)
        held = reader.integer(f"{kind}_caseload", default=None, high=MAX_CAPACITY)
        if held is not None and cap is None:
            reader.fail(f"'{kind}_caseload' needs 'max_{kind}' (the cap it counts against)")
        out[f"max_{kind}"] = cap
        out[f"{kind}_caseload"] = held or 0
    return out


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
    bsl = reader.boolean("bsl", False)
    if bsl and language == "bsl":
        reader.fail("'bsl' is true: 'language' is the spoken language the client also uses")
    bookable = known["interpreters"].get(service) if known["interpreters"] is not None else None

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
    gender_excluded = frozenset(reader.strings("gender_exclusion", lower=True, default=[]))
    if gender is not None and gender in gender_excluded:
        reader.fail(f"gender {strength} {gender!r} is also in gender_exclusion")
    exclusions = _parse_exclusions(reader)
    competence = reader.text("competence", default="any", lower=True)
    if competence not in COMPETENCES:
        reader.fail(f"competence {competence!r} is not one of {', '.join(COMPETENCES)}")
    specialism = reader.text("specialism", default=None, lower=True)

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
    step_free = reader.boolean("step_free", False)
    limit = reader.integer("max_travel_minutes", default=None, low=1, high=MAX_TRAVEL_MINUTES)
    travel = reader.row.get("travel_minutes", {})
    if not isinstance(travel, Mapping) or not all(
        isinstance(m, int) and not isinstance(m, bool) and 0 <= m <= MAX_TRAVEL_MINUTES
        for m in travel.values()
    ):
        reader.fail(
            f"'travel_minutes' must map sites to whole minutes from 0 to {MAX_TRAVEL_MINUTES}"
        )
    for site in travel:
        if site not in sites:
            reader.fail(f"travel_minutes names {site!r}, which is not among its sites")
    if travel and limit is None:
        reader.fail("'travel_minutes' needs 'max_travel_minutes'")
    ruled_out = []
    for site in sites:
        if step_free and site not in known["step_free"]:
            ruled_out.append((site, "not step-free"))
        elif limit is not None and travel.get(site, 0) > limit:
            ruled_out.append((site, f"{travel[site]} minutes away, over the {limit}-minute limit"))
    reachable = tuple(s for s in sites if s not in dict(ruled_out))

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
    windows = _windows(reader, "windows", [(d, *PART_WINDOWS[p]) for d, p in availability])
    preferred_windows = _windows(
        reader,
        "preferred_windows",
        [(d, *PART_WINDOWS[p]) for p in preferred_parts for d in range(len(DAY_NAMES))],
    )
    sessions = reader.integer("sessions_per_week", default=1, low=1, high=5)
    planned_start = reader.date("planned_start") or today
    earliest_start = reader.date("earliest_start")
    if earliest_start is not None and (planned_start is None or earliest_start > planned_start):
        planned_start = earliest_start  # never before the client can start
    course_weeks = reader.row.get("therapy_weeks")
    if course_weeks == "open_ended":
        course_weeks = None
    elif isinstance(course_weeks, str | bool):
        reader.fail("'therapy_weeks' must be a whole number of weeks or \"open_ended\"")
    elif course_weeks is not None:
        course_weeks = reader.integer("therapy_weeks", low=1, high=MAX_COURSE_WEEKS)
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
    risk_words = reader.text("risk_words", default=None)
    assessor = reader.text("assessor", default=None)
    continuity = reader.text("continuity", default="preferred", lower=True)
    if continuity not in CONTINUITY:
        reader.fail(f"continuity {continuity!r} is not one of {', '.join(CONTINUITY)}")
    if continuity == "required" and assessor is None:
        reader.fail("continuity 'required' needs the 'assessor'")
    complex_case = reader.boolean("complex", False)
    return Referral(
        id=rid,
        service=service,
        modality=modality,
        language=language,
        needs_interpreter=interpreter,
        gender_strength=strength,
        gender=gender,
        mode=mode,
        sites=reachable,
        preferred_site=preferred_site,
        availability=frozenset(availability),
        preferred_parts=preferred_parts,
        sessions_per_week=sessions,
        planned_start=planned_start,
        weeks_waiting=weeks,
        risk=risk,
        assessor=assessor,
        risk_words=risk_words,
        exclusions=exclusions,
        gender_excluded=gender_excluded,
        competence=competence,
        specialism=specialism,
        earliest_start=earliest_start,
        course_weeks=course_weeks,
        bsl=bsl,
        continuity=continuity,
        sites_ruled_out=tuple(ruled_out),
        step_free=step_free,
        max_travel_minutes=limit,
        step_free_sites=known["step_free"] if step_free else None,
        interpreter_bookable=bookable is None or language in bookable,
        bsl_bookable=bookable is None or "bsl" in bookable,
        complex=complex_case,
        windows=windows,
        preferred_windows=preferred_windows,
    )


def _parse_exclusions(reader: _Reader) -> tuple[tuple[str, str], ...]:
    """``exclude_therapists``: [{"therapist": id, "reason": code, "notes"?}, ...]."""
    raw = reader.row.get("exclude_therapists", [])
    if not isinstance(raw, list):
        reader.fail('\'exclude_therapists\' must be a list of {"therapist", "reason"}')
    out: dict[str, str] = {}
    codes = ", ".join(EXCLUSION_REASONS)
    for n, item in enumerate(raw):
        entry = _Reader(f"{reader.where} exclusion #{n + 1}", item, _EXCLUSION_FIELDS)
        tid = entry.text("therapist")
        reason = entry.text("reason", lower=True)
        if reason not in EXCLUSION_REASONS:
            entry.fail(f"reason {reason!r} is not one of {codes}")
        if tid in out:
            entry.fail(f"therapist {tid!r} is excluded twice")
        out[tid] = reason
    return tuple(out.items())


def _parse_interpreters(
    top: _Reader, raw: Any, known: dict[str, set[str] | None]
) -> dict[str, set[str]] | None:
    """``interpreter_languages``: {service: [language, ...]}, the languages each service can
    book an interpreter for. A service left out (or no setting at all) can book any."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        top.fail("'interpreter_languages' must be an object of service: [languages]")
    out = {}
    for service, languages in raw.items():
        _check_known(top, "service in interpreter_languages", [service], known["services"])
        if not isinstance(languages, list) or not all(
            isinstance(x, str) and x.strip() for x in languages
        ):
            top.fail(f"interpreter_languages of {service!r} must be a list of non-empty strings")
        out[service] = {x.strip().lower() for x in languages}
    return out


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
    known["step_free"] = frozenset(top.strings("step_free_sites", default=[]))
    _check_known(top, "step-free site", known["step_free"], known["sites"])
    known["interpreters"] = _parse_interpreters(top, data.get("interpreter_languages"), known)
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
    therapist_ids = {t.id for t in therapists}
    for referral in referrals:
        for tid, _ in referral.exclusions:
            if tid not in therapist_ids:
                # A misspelt id must not leave a conflict of interest unguarded.
                raise ProblemError(
                    f"referral {referral.id!r}: excluded therapist {tid!r} is not a therapist "
                    "in the problem"
                )
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
