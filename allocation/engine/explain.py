"""Explanations in people's words: why a proposal fits, why a referral waits.

``_assignment_reasons`` lists every constraint and preference a proposal meets.
``_explain_unplaced`` says, for each referral left unplaced, either who took the places it
could have had, or how the service's therapists narrow down to none (the funnel over
``FAMILIES``), with the single changes that would open the most therapists.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from allocation.engine.group import (
    FAMILIES,
    _distinct_days,
    _Group,
    _Loads,
    _Plan,
    _slot_classes,
)
from allocation.engine.problem import (
    CAP_KINDS,
    CAP_NOUNS,
    COMPETENCES,
    EXCLUSION_REASONS,
    PART_WINDOWS,
    PARTS,
    REMOTE,
    Problem,
    Referral,
    Slot,
    Therapist,
    Unplaced,
    Window,
    _by_day,
    _hhmm,
    _joined,
    _part_names,
    window_words,
)
from allocation.engine.scoring import priority_of

_CAPACITY = FAMILIES.index("capacity")
_LEAVE = FAMILIES.index("leave")
_SLOTS = FAMILIES.index("slots")
# Families failed, per failure code.
_POPCOUNT = np.array([bin(c).count("1") for c in range(1 << len(FAMILIES))], dtype=np.uint8)
_NONE = int(np.iinfo(np.int64).max)  # "nobody placed there", for the lowest priority


def _language_name(code: str) -> str:
    return "BSL" if code == "bsl" else code.capitalize()


def _modality_name(code: str) -> str:
    return {
        "psychodynamic": "psychodynamic therapy",
        "dit": "dynamic interpersonal therapy (DIT)",
        "cat": "cognitive analytic therapy (CAT)",
    }.get(code, code)


def _exclusion_words(referral: Referral, tid: str) -> str:
    reason = dict(referral.exclusions).get(tid)
    return EXCLUSION_REASONS.get(reason, "excluded by the coordinator")


def _exclusions_phrase(referral: Referral) -> str:
    """Every therapist excluded for this client, with why: "Ben Carter: relative"."""
    return "; ".join(f"{tid}: {EXCLUSION_REASONS[why]}" for tid, why in referral.exclusions)


def _gender_met(referral: Referral, therapist: Therapist) -> str:
    words = f"gender requirement ({referral.gender_rule}) met"
    return words + (f": is {therapist.gender}" if referral.gender_excluded else "")


def _interpreter(referral: Referral, code: str | None = None) -> str:
    name = _language_name(code or referral.language)
    article = "an" if name[0] in "AEIOU" else "a"
    return f"{article} {name} interpreter"


def _language_words(referral: Referral, therapist: Therapist) -> list[str]:
    """How a therapist who meets the language requirement meets it, in words."""
    lang = _language_name(referral.language)
    speaks = referral.language in therapist.languages
    if referral.needs_interpreter and speaks:
        words = [f"speaks {lang}, so no interpreter is needed"]
    elif referral.interpreter_ok:
        words = [f"works with {_interpreter(referral)}"]
    else:
        words = [f"speaks {lang}"]
    if referral.bsl and "bsl" in therapist.languages:
        words.append("signs BSL, so no BSL interpreter is needed")
    elif referral.bsl:
        words.append(f"works with {_interpreter(referral, 'bsl')}")
    return words


def _language_rule(referral: Referral) -> str:
    """The language requirement in words, for the funnel."""
    lang = _language_name(referral.language)
    if referral.interpreter_ok:
        words = "can work with an interpreter"
    elif referral.needs_interpreter:
        words = f"speak {lang} (no {lang} interpreter can be booked)"
    else:
        words = f"speak {lang}"
    if referral.bsl and not referral.bsl_bookable:
        words += " and sign BSL (no BSL interpreter can be booked)"
    elif referral.bsl:
        words += " and can work with a BSL interpreter"
    return words


@functools.lru_cache(maxsize=4096)
def _times(items: frozenset | tuple) -> str:
    """Windows ((day, start, end)) or (day, part) pairs in words: "Mon morning, Tue
    17:30-20:00". Cached: many clients share the same few patterns of availability."""
    windows = [w if len(w) == 3 else (w[0], *PART_WINDOWS[w[1]]) for w in items]
    return ", ".join(window_words(w, short=True) for w in sorted(windows))


def _window_of(referral: Referral, slot: Slot) -> Window | None:
    """The client's window that a slot lies inside, if any."""
    for window in referral.windows:
        day, start, end = window
        if day == slot.day and start <= slot.start and slot.end <= end:
            return window
    return None


def _exact(referral: Referral) -> bool:
    """Some of the client's times are exact windows, not whole parts of the day."""
    return _has_exact(referral.windows)


@functools.lru_cache(maxsize=16384)
def _has_exact(windows: tuple[Window, ...]) -> bool:
    return any(not _part_names(start, end) for _, start, end in windows)


def _slot_in_times(referral: Referral, slot: Slot) -> str:
    """How a chosen slot matches the client's times: named when the window is an exact
    one ("matches availability (inside Tuesday 17:30-20:00)")."""
    window = _window_of(referral, slot)
    if window is None or _part_names(window[1], window[2]):
        return "matches availability"
    return f"matches availability (inside {window_words(window)})"


def _place_phrase(referral: Referral) -> str:
    places = list(referral.sites) if referral.mode != "remote" else []
    if referral.accepts_remote:
        places.append("remote")
    words = " or ".join(places) if places else "nowhere"
    if referral.sites_ruled_out:
        words += f" (ruled out: {referral.access_words})"
    return words


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _priority_phrase(referral: Referral, priority: int) -> str:
    weeks = referral.weeks_waiting
    standard = ""
    if weeks >= 18:
        standard = ", past the 6- and 18-week standards"
    elif weeks >= 6:
        standard = ", past the 6-week standard"
    risk = referral.risk_words or f"{referral.risk} risk"
    return f"priority {priority}: waiting {_plural(weeks, 'week')}{standard}, {risk}"


def _assignment_reasons(
    referral: Referral, therapist: Therapist, slots: Sequence[Slot], priority: int
) -> list[str]:
    """Every hard constraint and preference the proposal meets, in the data's own words."""
    reasons = [_priority_phrase(referral, priority)]
    reasons.append(f"offers {_modality_name(referral.modality)}")
    if referral.competence_rule is not None:
        reasons.append(
            f"competence requirement ({referral.competence_rule}) met: is "
            f"{therapist.competence_words}"
        )
    elif therapist.level < 2:
        reasons.append(f"is {therapist.competence_words} (the client needs no more)")
    reasons.extend(_language_words(referral, therapist))
    if referral.gender_rule is not None:
        reasons.append(_gender_met(referral, therapist))
    if referral.gender_strength == "preferred":
        met = therapist.gender == referral.gender
        reasons.append(f"gender preference ({referral.gender}) {'met' if met else 'not met'}")
    if referral.exclusions:
        reasons.append(
            f"not a therapist excluded for this client (excluded: {_exclusions_phrase(referral)})"
        )
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
            + _slot_in_times(referral, slot)
        )
    if referral.preferred_site is not None and not all(
        s.site == referral.preferred_site for s in slots
    ):
        reasons.append(f"preferred site ({referral.preferred_site}) not met")
    if referral.preferred_windows:
        wanted = referral.preferred_words
        met = all(referral.prefers_time(s) for s in slots)
        reasons.append(f"preferred time ({wanted}) {'met' if met else 'not met'}")
    reasons.append(_sessions_phrase(therapist, k))
    reasons.extend(
        f"within the cap on {CAP_NOUNS[kind]} clients ({therapist.cap_words(kind)} before this "
        "allocation)"
        for kind in CAP_KINDS
        if referral.is_kind(kind) and therapist.cap_room(kind) is not None
    )
    if referral.planned_start is not None:
        reasons.append(_course_phrase(referral))
    if referral.continuity == "required":
        reasons.append("continuity requirement met: also assessed the client")
    elif referral.continuity == "preferred" and referral.assessor == therapist.id:
        reasons.append("continuity: also assessed the client")
    return reasons


def _sessions_phrase(therapist: Therapist, k: int) -> str:
    """The weekly sessions a proposal uses: a client seen k times a week uses k."""
    return (
        f"has free weekly sessions ({therapist.capacity} before this allocation; this client "
        f"uses {k})"
    )


def _cap_failure(therapist: Therapist, kind: str) -> str:
    return f"has reached the cap on {CAP_NOUNS[kind]} clients ({therapist.cap_words(kind)})"


def _course_phrase(referral: Referral) -> str:
    words = f"no leave or break during the planned course ({referral.course_words})"
    if referral.earliest_start is not None and referral.earliest_start == referral.planned_start:
        words += f"; starts on the client's earliest start ({referral.earliest_start})"
    return words


def _first_clear_start(therapist: Therapist, start: dt.date, span: dt.timedelta) -> dt.date:
    """The earliest day on or after ``start`` from which ``span`` more days are free of the
    therapist's leave and breaks."""
    day = start
    for first, last in therapist.leave:  # sorted by start
        if first <= day + span and last >= day:
            day = last + dt.timedelta(days=1)
    return day


def _failure_phrase(referral: Referral, therapist: Therapist, family: str) -> str:
    if family == "modality":
        return f"does not offer {_modality_name(referral.modality)}"
    if family == "language":
        lacks = []
        lang = _language_name(referral.language)
        if not referral.interpreter_ok and referral.language not in therapist.languages:
            lacks.append(f"does not speak {lang}")
            if referral.needs_interpreter:
                lacks[-1] += f" (no {lang} interpreter can be booked)"
        if referral.bsl and not referral.bsl_bookable and "bsl" not in therapist.languages:
            lacks.append("does not sign BSL (no BSL interpreter can be booked)")
        return " and ".join(lacks)
    if family == "gender":
        if referral.gender_strength == "required" and therapist.gender != referral.gender:
            return f"is not {referral.gender} (required)"
        if therapist.gender is None:
            return f"gender not recorded (the client requires: {referral.gender_rule})"
        return f"is {therapist.gender} (the client requires: {referral.gender_rule})"
    if family == "excluded":
        return f"excluded for this client ({_exclusion_words(referral, therapist.id)})"
    if family == "competence":
        lacks = []
        if therapist.level < COMPETENCES.index(referral.competence):
            lacks.append(
                "is a trainee" if therapist.grade == "trainee" else "works under supervision"
            )
        if referral.specialism and referral.specialism not in therapist.specialisms:
            lacks.append(f"does not have the {referral.specialism} specialism")
        return " and ".join(lacks) + f" (the client needs {referral.competence_rule})"
    if family == "continuity":
        return f"is not the client's assessor ({referral.assessor}; continuity required)"
    if family == "frequency":
        return f"does not offer {referral.sessions_per_week} sessions a week"
    if family == "leave":
        start, end = therapist.away_during(referral.planned_start, referral.course_end)
        return f"away {start} to {end}, during the planned course ({referral.course_words})"
    if family in CAP_KINDS:
        return _cap_failure(therapist, family)
    if family == "capacity":
        if therapist.capacity <= 0:
            return "has no free place"
        return (
            f"has {_plural(therapist.capacity, 'free weekly session')} (the client is seen "
            f"{referral.sessions_per_week} times a week)"
        )
    if not therapist.slots:
        return "has no free slots"
    timely = [s for s in therapist.slots if referral.fits_time(s)]
    if not timely:
        if not _exact(referral):
            offered = ", ".join(s.label for s in therapist.slots[:4])
            return f"no slot in the client's available times (has {offered})"
        # Exact windows: name them, and the slots' ends, so the near misses show.
        offered = ", ".join(f"{s.label}\u2013{_hhmm(s.end)}" for s in therapist.slots[:4])
        return f"no slot inside the client's times ({_times(referral.windows)}; has {offered})"
    if not any(referral.accepts_slot_site(s.site) for s in therapist.slots):
        return f"no slot at {_place_phrase(referral)}"
    if not any(referral.accepts_slot_site(s.site) for s in timely):
        return f"no slot both in the client's times and at {_place_phrase(referral)}"
    return f"fitting slots on fewer than {referral.sessions_per_week} different days"


def _meets_phrase(referral: Referral, therapist: Therapist, family: str) -> str | None:
    if family == "modality":
        return f"offers {_modality_name(referral.modality)}"
    if family == "language" and (referral.language in therapist.languages or referral.bsl):
        return "; ".join(_language_words(referral, therapist))
    if family == "gender" and referral.gender_rule is not None:
        return f"is {therapist.gender}"
    if family == "excluded" and referral.exclusions:
        return "not excluded for this client"
    if family == "competence" and referral.competence_rule is not None:
        return f"is {therapist.competence_words}"
    if family == "continuity" and referral.continuity == "required":
        return "is the client's assessor (continuity required)"
    if family == "frequency" and referral.sessions_per_week > 1:
        return f"offers {referral.sessions_per_week} sessions a week"
    if family in CAP_KINDS and referral.is_kind(family) and therapist.cap_room(family):
        return (
            f"has room under the cap on {CAP_NOUNS[family]} clients ({therapist.cap_words(family)})"
        )
    if family == "capacity":
        return f"has {_plural(therapist.capacity, 'free weekly session')}"
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
            return _language_rule(referral)
        if family == "gender":
            return f"meet the gender requirement ({referral.gender_rule})"
        if family == "excluded":
            return "are not excluded for this client"
        if family == "competence":
            return f"have the competence asked for ({referral.competence_rule})"
        if family == "continuity":
            return f"are the client's assessor ({referral.assessor}; continuity required)"
        if family == "frequency":
            return "offer weekly sessions" if k == 1 else f"offer {k} sessions a week"
        if family == "leave":
            return f"are not away during the planned course ({referral.course_words})"
        if family in CAP_KINDS:
            return f"have room under their cap on {CAP_NOUNS[family]} clients"
        if family == "capacity":
            return "have a free place" if k == 1 else f"have {k} free weekly sessions"
        return (
            f"have a free slot in the client's times ({_times(referral.windows) or 'none'})"
            f" at {_place_phrase(referral)}" + ("" if k == 1 else f" on {k} different days")
        )

    steps = [f"{_plural(service_size, 'therapist')} in service {referral.service!r}"]
    previous = service_size
    # Every requirement this client has is shown; the others only when they cut.
    shown = {"modality", "slots"}
    if (referral.language != "english" and not referral.interpreter_ok) or referral.bsl:
        shown.add("language")
    if referral.gender_rule is not None:
        shown.add("gender")
    if referral.exclusions:
        shown.add("excluded")
    if referral.competence_rule is not None:
        shown.add("competence")
    if referral.continuity == "required":
        shown.add("continuity")
    if k > 1:
        shown.add("frequency")
    for family, count in zip(FAMILIES, survivors, strict=True):
        if count < previous or family in shown:
            steps.append(f"{words(family)}: {count}")
        previous = count
    return "no therapist meets every requirement: " + " -> ".join(steps)


class _SlotTable:
    """A service's slots as arrays (day, start, end, part of the day, site), therapist by
    therapist as in ``_Group``, so that the suggestions count over every slot of many
    therapists without a Python loop per slot."""

    def __init__(self, g: _Group):
        slots = g.slots
        S = len(slots)
        self.day = g.s_day
        self.start = np.fromiter((s.start for s in slots), np.int64, S)
        self.end = self.start + np.fromiter((s.length for s in slots), np.int64, S)
        self.part = np.fromiter((s.part for s in slots), np.int64, S)
        codes: dict[str, int] = {}
        self.site = np.fromiter((codes.setdefault(s.site, len(codes)) for s in slots), np.int64, S)
        self.cls, self.classes = _slot_classes(slots)
        self.sites = list(codes)
        self.t = g.s_t
        self.lo, self.hi = g.t_slot_start[:-1], g.t_slot_start[1:]
        self.found: dict[tuple, np.ndarray] = {}  # time classes inside, per windows

    def of(self, thers: np.ndarray) -> np.ndarray:
        """The slot positions of therapists ``thers`` (group positions)."""
        lo, hi = self.lo[thers], self.hi[thers]
        n = hi - lo
        total = int(n.sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        offsets = np.repeat(lo - (np.cumsum(n) - n), n)
        return np.arange(total) + offsets

    def inside(self, idx: np.ndarray, by_day) -> np.ndarray:
        """Which slots ``idx`` lie wholly inside one of the windows ``by_day`` (seven
        tuples of (start, end), as ``_by_day`` gives): judged once per time class (slots
        of the same day, start and end), and once per set of windows, then read per
        slot."""
        found = self.found.get(by_day)
        if found is None:
            day, start, end = self.classes[:, 0], self.classes[:, 1], self.classes[:, 2]
            found = np.zeros(len(self.classes), dtype=bool)
            for d, windows in enumerate(by_day):
                if not windows:
                    continue
                on_day = day == d
                for a, b in windows:
                    found |= on_day & (start >= a) & (end <= b)
            self.found[by_day] = found
        return found[self.cls[idx]]

    def site_mask(self, idx: np.ndarray, test) -> np.ndarray:
        """Which slots ``idx`` are at a site (a name, or "remote") that passes ``test``."""
        by_code = np.fromiter((bool(test(x)) for x in self.sites), bool, len(self.sites))
        return by_code[self.site[idx]]

    def opened(self, idx: np.ndarray, usable: np.ndarray, k: int) -> int:
        """How many therapists have ``usable`` slots (of ``idx``) on at least ``k`` days."""
        chosen = idx[usable]
        if not len(chosen):
            return 0
        days = np.zeros(len(self.lo) * 7, dtype=bool)  # (therapist, day) with a slot
        days[self.t[chosen] * 7 + self.day[chosen]] = True
        return int((np.bincount(np.flatnonzero(days) // 7) >= k).sum())


def _opened(
    referral: Referral, table: _SlotTable, idx: np.ndarray, times=(), places=(), windows=None
) -> int:
    """How many of the therapists whose slots are ``idx`` would have fitting slots on
    enough days if the client also gave the ``times`` ((day, part) pairs), accepted the
    ``places``, or had the ``windows`` in place of their own."""
    given = referral.windows if windows is None else windows
    by_day = _joined_by_day((*given, *((d, *PART_WINDOWS[p]) for d, p in times)))
    usable = table.inside(idx, by_day) & table.site_mask(
        idx, lambda site: referral.accepts_slot_site(site) or site in places
    )
    return table.opened(idx, usable, referral.sessions_per_week)


@functools.lru_cache(maxsize=16384)
def _joined_by_day(windows: tuple[Window, ...]) -> tuple:
    """``_by_day`` of the windows joined: cached, as clients share patterns of times."""
    return _by_day(_joined(windows))


# The most a suggestion widens one of the client's windows by; beyond it, adding a part of
# the day is the plainer change.
WIDEN_MINUTES = 120


def _widenings(
    referral: Referral, table: _SlotTable, idx: np.ndarray, in_time: np.ndarray, at_place
) -> list[str]:
    """The widening of one of the client's exact windows that would open the most of the
    therapists whose slots are ``idx`` (``in_time``, ``at_place``: which of them lie in the
    client's times, at a place the client accepts): "widening Tuesday 17:30-20:00 to
    17:00-20:00 would make 3 of them eligible", said only when it would."""
    found: dict[tuple[Window, Window], int] = {}
    if not _exact(referral):
        return []
    outside = idx[~in_time & at_place]
    day, s_start, s_end = table.day[outside], table.start[outside], table.end[outside]
    for window in referral.windows:
        d, start, end = window
        if _part_names(start, end):
            continue
        on_day = day == d
        lo = np.minimum(start, s_start[on_day])
        hi = np.maximum(end, s_end[on_day])
        widened = (start - lo) + (hi - end)
        keep = (widened > 0) & (widened <= WIDEN_MINUTES)
        if not keep.any():
            continue
        pairs, counts = np.unique(
            np.stack([lo[keep], hi[keep]], axis=1), axis=0, return_counts=True
        )
        for (a, b), c in zip(pairs.tolist(), counts.tolist(), strict=True):
            key = (window, (d, a, b))
            found[key] = found.get(key, 0) + c
    best = []
    for window, wider in sorted(found, key=lambda x: (-found[x], x))[:3]:
        others = [w for w in referral.windows if w != window]
        opened = _opened(referral, table, idx, windows=[*others, wider])
        if opened:
            best.append((-opened, wider[2] - wider[1], window, wider, opened))
    if not best:
        return []
    _, _, window, wider, opened = min(best)
    span = f"{_hhmm(wider[1])}\u2013{_hhmm(wider[2])}"
    return [f"widening {window_words(window)} to {span} would make {opened} of them eligible"]


def _suggestion(
    referral: Referral,
    thers: Sequence[Therapist],
    family: str,
    hints: bool = True,
    count: int | None = None,
    table: _SlotTable | None = None,
    picked: np.ndarray | None = None,
) -> str:
    """What single change of ``family`` would do. ``count`` therapists of the service fail
    this client's requirements in that family alone; ``thers`` are all of them, or (for
    the families whose wording counts nothing more) at least the three named. With
    ``hints`` on the slots family, ``table`` holds the service's slots and ``picked`` the
    group positions of ``thers``."""
    count = len(thers) if count is None else count
    names = ", ".join(t.id for t in thers[:3])

    def one(singular: str, plural: str) -> str:
        return singular if count == 1 else plural

    who = f"{_plural(count, 'therapist')} ({names}{', ...' if count > 3 else ''})"
    if family == "modality":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('does', 'do')} not offer "
            f"{_modality_name(referral.modality)}"
        )
    if family == "language":
        # Book an interpreter for what they lack (the spoken language, BSL), adding the
        # language to the service's list where it cannot book one today.
        booked, unlisted = [], 0
        if not referral.interpreter_ok and any(referral.language not in t.languages for t in thers):
            booked.append(_interpreter(referral))
            unlisted += not referral.interpreter_bookable
        if referral.bsl and any("bsl" not in t.languages for t in thers):
            booked.append(_interpreter(referral, "bsl"))
            unlisted += 1  # a BSL need fails only when BSL cannot be booked
        listed = " and ".join(booked)
        if unlisted:
            return (
                f"booking {listed} (adding {'them' if unlisted > 1 else 'it'} to the "
                f"languages the service can book interpreters for) would make {who} eligible"
            )
        return f"booking {listed} would make {who} eligible"
    if family == "gender":
        changes = []
        if referral.gender_strength == "required":
            changes.append(
                f"a preference rather than a requirement for a {referral.gender} therapist"
            )
        if referral.gender_excluded:
            excluded = " or ".join(sorted(referral.gender_excluded))
            changes.append(f"no longer excluding {excluded} therapists")
        return f"{' and '.join(changes)} would make {who} eligible"
    if family == "competence":
        changes = []
        if referral.competence == "qualified":
            changes.append("accepting a trainee")
        elif referral.competence == "independent":
            changes.append("accepting a therapist under supervision or a trainee")
        if referral.specialism:
            changes.append(f"not requiring the {referral.specialism} specialism")
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('lacks', 'lack')} the "
            f"competence asked for ({referral.competence_rule}); {' and '.join(changes)} "
            f"would make {one('it', 'them')} eligible"
        )
    if family == "continuity":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('is', 'are')} not the "
            f"client's assessor ({referral.assessor}); making continuity a wish rather than a "
            f"requirement would make {one('it', 'them')} eligible"
        )
    if family == "excluded":
        why = "; ".join(f"{t.id}: {_exclusion_words(referral, t.id)}" for t in thers[:3])
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('is', 'are')} excluded "
            f"for this client ({why}); lifting {one('that exclusion', 'those exclusions')} "
            f"would make {one('it', 'them')} eligible"
        )
    if family == "frequency":
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('does', 'do')} not offer "
            f"{referral.sessions_per_week} sessions a week"
        )
    if family == "leave":
        # The earliest start that clears one of them for the whole course, and how many
        # that start clears; and, when every one is away only after the start, the
        # longest fixed course that ends before the first of them goes away.
        span = referral.course_end - referral.planned_start
        back = min(_first_clear_start(t, referral.planned_start, span) for t in thers)
        opened = sum(t.away_during(back, back + span) is None for t in thers)
        words = (
            f"{who} {one('meets', 'meet')} everything else but {one('is', 'are')} away during "
            f"the planned course ({referral.course_words}); a start on or after {back} would "
            f"make {opened} of them eligible"
        )
        away = [t.away_during(referral.planned_start, referral.course_end) for t in thers]
        first_away = max(a for a, _ in away)
        weeks = (first_away - referral.planned_start).days // 7
        if weeks >= 1:
            ends_before = referral.planned_start + dt.timedelta(days=7 * weeks)
            shorter = sum(a >= ends_before for a, _ in away)
            words += (
                f"; a course of {_plural(weeks, 'week')} or fewer would make {shorter} of "
                "them eligible"
            )
        return words
    if family in CAP_KINDS:
        caps = "; ".join(f"{t.id}: {t.cap_words(family)}" for t in thers[:3])
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} reached "
            f"the cap on {CAP_NOUNS[family]} clients ({caps}); raising "
            f"{one('that cap', 'those caps')} by one would make {one('it', 'them')} eligible"
        )
    if family == "capacity":
        k = referral.sessions_per_week
        if k > 1:
            return (
                f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free "
                f"place (fewer than {k} free weekly sessions, as the client is seen {k} times a "
                f"week); {k} free weekly sessions would make {one('it', 'them')} eligible"
            )
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free "
            "place; next in line when one frees up"
        )
    # Slots: say which change of times or places would open them, and how many it would.
    k = referral.sessions_per_week
    times = f" ({_times(referral.windows)})" if _exact(referral) else ""
    plain = (
        f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free slot "
        f"in the client's times{times} at {_place_phrase(referral)}"
        + ("" if k == 1 else f" on {k} different days")
    )
    if not any(t.slots for t in thers):
        return (
            f"{who} {one('meets', 'meet')} everything else but {one('has', 'have')} no free slots"
        )
    if not hints:
        return plain
    # Over every slot of theirs, at once: in the client's times; at a place the client
    # accepts; at a place the client could accept (a site ruled out by access or travel is
    # a fact, not a wish to relax).
    idx = table.of(picked)
    in_time = table.inside(idx, referral.windows_by_day)
    at_place = table.site_mask(idx, referral.accepts_slot_site)
    could = table.site_mask(idx, lambda x: x == REMOTE or referral.could_use_site(x))
    missing_times: dict[tuple[int, int], int] = {}
    off_time = idx[at_place & ~in_time]
    if len(off_time):
        # Counted per (day, part of the day), in that order (a bincount, not a sort).
        counts = np.bincount(table.day[off_time] * len(PARTS) + table.part[off_time])
        keys = np.flatnonzero(counts)
        missing_times = {
            divmod(key, len(PARTS)): c
            for key, c in zip(keys.tolist(), counts[keys].tolist(), strict=True)
        }
    missing_places: dict[str, int] = {}
    elsewhere = idx[in_time & ~at_place & could]
    if len(elsewhere):
        counts = np.bincount(table.site[elsewhere])
        codes = np.flatnonzero(counts)
        missing_places = {
            table.sites[c]: n for c, n in zip(codes.tolist(), counts[codes].tolist(), strict=True)
        }
    changes = _widenings(referral, table, idx, in_time, at_place)
    if missing_times:
        top = tuple(sorted(missing_times, key=lambda x: (-missing_times[x], x))[:3])
        opened = _opened(referral, table, idx, times=top)
        if opened:
            changes.append(
                f"adding {_times(top)} to the client's availability would make "
                f"{opened} of them eligible"
            )
    if missing_places:
        top_places = tuple(sorted(missing_places, key=lambda x: (-missing_places[x], x))[:2])
        opened = _opened(referral, table, idx, places=top_places)
        if opened:
            changes.append(
                "accepting "
                + " or ".join("remote sessions" if p == REMOTE else p for p in top_places)
                + f" would make {opened} of them eligible"
            )
    if changes:
        return f"{who} {one('lacks', 'lack')} only a fitting slot: " + "; ".join(changes)
    return plain


class _Held:
    """After the allocation, what the placed clients hold with each therapist: weekly
    sessions and caps in use (``loads``), free places and slots, who is placed there and
    the lowest priority placed; and the words already found for a therapist's state or a
    slots suggestion. Built once from the group the plan places in (``g``); referrals of
    another group with the same therapists (a chunk of left-out referrals) are explained
    against the same one (``every_cap``: their caps counted whether or not ``g``'s
    referrals have them)."""

    def __init__(self, g: _Group, plan: _Plan, every_cap: bool = False):
        T = len(g.thers)
        self.placed = plan.placed
        self.loads = loads = _Loads(g, plan.placed, every_cap)
        self.places_left = g.t_cap - np.asarray(loads.sessions, dtype=np.int64)
        self.free_slot = np.ones(len(g.slots), dtype=bool)
        self.clients: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.placed_cols = {r: cols for r, (_, cols) in plan.placed.items()}
        self.lowest = np.full(T, _NONE, dtype=np.int64)  # lowest priority placed
        for r, (t, cols) in plan.placed.items():
            self.free_slot[list(cols)] = False
            self.clients[t].append((int(g.priority[r]), r))
            self.lowest[t] = min(self.lowest[t], int(g.priority[r]))
        self.free_idx = np.flatnonzero(self.free_slot)
        # Each therapist's caps reached after the allocation.
        self.full_caps = [
            [kind for kind in loads.kinds if loads.room(t, kind) <= 0] for t in range(T)
        ]
        self.state_words: dict[tuple, str] = {}  # a therapist's state, as ``_states`` words it
        self.table: _SlotTable | None = None  # the slots, once a suggestion counts them
        self.slot_hints: dict[tuple, str] = {}  # ``_slot_hint``'s words


def _explain_unplaced(
    problem: Problem, g: _Group, rows: np.ndarray, plan: _Plan, held: _Held | None = None
) -> dict[int, Unplaced]:
    """Why each unplaced referral (group positions ``rows``) waits, and what would place it.

    Built in bulk: the counts are read off the failure codes of every (referral,
    therapist) pair at once, and what many referrals share (a therapist's state, a slots
    suggestion over the same therapists and the same times and places) is worded once.
    ``held``: the placed clients' side (``_Held``), when ``g`` is not the plan's group but
    one with the same therapists; built from ``g`` and ``plan`` if not given."""
    out: dict[int, Unplaced] = {}
    if len(rows) == 0:
        return out
    T, U, F = len(g.thers), len(rows), len(FAMILIES)
    # Two bytes per (therapist, unplaced referral): bit j set when the therapist fails
    # family j. Built as the families met (a shift and an OR per family), then flipped.
    # Consecutive rows (a chunk of left-out referrals) are read in place, not copied; so
    # are all the rows when most of them are asked for (one copy of the codes after).
    run = slice(int(rows[0]), int(rows[-1]) + 1) if (np.diff(rows) == 1).all() else None
    whole = run is None and len(g.refs) <= 2 * U
    cols = run or slice(None)
    width = len(g.refs) if whole else U
    code = np.zeros((T, width), dtype=np.uint16)
    bit = np.empty((T, width), dtype=np.uint16)
    asked = 0
    tabled: dict[str, int] = {}  # the families read off their tables, and their bits
    for j, family in enumerate(FAMILIES):
        if family in g.trivial:  # no referral asks for it: nobody fails it
            continue
        asked |= 1 << j
        if family in g.meets.lazy:
            tabled[family] = j
            continue
        meets = g.meets[family]
        meets = meets[:, cols] if run or whole else np.take(meets, rows, axis=1)
        np.left_shift(meets.view(np.uint8), j, out=bit, dtype=np.uint16)
        np.bitwise_or(code, bit, out=code)
    del bit
    if whole:
        code = np.take(code, rows, axis=1)
    if tabled:
        np.bitwise_or(code, g.meets.table_bits(tabled, rows), out=code)
    np.bitwise_xor(code, np.uint16(asked), out=code)
    fits = code == 0  # (T, U)
    n_eligible = np.add.reduce(fits, axis=0, dtype=np.int32)
    # How many therapists fail each unplaced referral in one family alone (what a single
    # change would open), family by family over whole rows of therapists.
    single_count = np.zeros((F, U), dtype=np.int32)
    alone = np.empty((T, U), dtype=bool)
    for j, family in enumerate(FAMILIES):
        if family not in g.trivial:
            np.equal(code, np.uint16(1 << j), out=alone)
            np.add.reduce(alone, axis=0, dtype=np.int32, out=single_count[j])
    del alone
    single_count = single_count.T
    # Per referral, the therapists in the service's order: (U, T).
    by_referral = np.ascontiguousarray(code.T)
    del code
    blocked = np.flatnonzero(n_eligible == 0)
    # The funnel: how many therapists pass each family and every one before it.
    blocked_codes = by_referral[blocked]
    funnel = np.stack(
        [
            np.add.reduce((blocked_codes & np.uint16((2 << j) - 1)) == 0, axis=1, dtype=np.int32)
            for j in range(len(FAMILIES))
        ],
        axis=1,
    )
    del blocked_codes
    position = {int(n): i for i, n in enumerate(blocked)}
    # The single changes each referral is told of, chosen at once: for a referral some
    # therapists can take, the family most of the others fail alone (not capacity, the
    # lowest family on ties); for one nobody can take, the two such families that open
    # the most therapists (the lower family first on ties).
    ranked = np.full((U, 2), -1, dtype=np.int64)
    if U:
        without_capacity = single_count.copy()
        without_capacity[:, _CAPACITY] = 0
        best = without_capacity.argmax(axis=1)
        has = without_capacity[np.arange(U), best] > 0
        ranked[:, 0] = np.where(has, best, -1)
        if len(blocked):
            counts_b = single_count[blocked]
            order_b = np.argsort(-counts_b, axis=1, kind="stable")[:, :2]
            top = np.take_along_axis(counts_b, order_b, axis=1)
            ranked[blocked] = np.where(top > 0, order_b, -1)
    # The first three therapists failing that family alone, per referral (the suggestion
    # names three; where it counts more, the loop reads the referral's whole row): looked
    # for only in the rows told of one (a second one: only those nobody can take).
    named_of = []
    for col in range(2):
        told = np.flatnonzero(ranked[:, col] >= 0)
        found = np.full((U, 3), -1, dtype=np.int64)
        if len(told):
            codes = by_referral if len(told) == U else by_referral[told]
            found[told] = _first_true(codes == _family_bits(ranked[told, col])[:, None], 3)
        named_of.append(found.tolist())

    # After allocation: free places, free slots, and who is placed with each therapist.
    if held is None:
        held = _Held(g, plan)
    loads, places_left, free_slot = held.loads, held.places_left, held.free_slot
    clients, placed_cols, lowest = held.clients, held.placed_cols, held.lowest
    none = _NONE
    # Per therapist and unplaced referral: different days of free fitting slots; and per
    # referral, over every therapist it fits with, the lowest priority placed there and
    # whether one of them has nobody placed.
    free_idx = held.free_idx
    usable = g.ok[:, run][free_idx] if run else g.ok[free_idx][:, rows]
    free_days = _distinct_days(g.s_t[free_idx], g.s_day[free_idx], usable, T)
    del usable
    # The lowest priority held: the first therapist it fits with, in order of lowest held.
    order = np.argsort(lowest, kind="stable")
    in_order = fits[order]
    first_fit = in_order.argmax(axis=0)
    columns = np.arange(U)
    min_held = np.where(in_order[first_fit, columns], lowest[order][first_fit], none).tolist()
    del in_order
    any_empty = fits[lowest == none].any(axis=0).tolist()
    first = _first_true(by_referral == 0, 5)
    first_rows = first.tolist()
    decided = _decided_by_caps(g, rows, fits, free_days, places_left, loads)
    del fits
    # Days with a free fitting slot, for the three therapists named per referral.
    named = first[:, :3]
    days_named = np.where(named >= 0, free_days[np.maximum(named, 0), columns[:, None]], 0)

    single_rows = single_count.tolist()
    funnel_rows = funnel.tolist()
    n_eligible_rows = n_eligible.tolist()
    ids = [t.id for t in g.thers]
    priorities = g.priority.tolist()
    ref_ids = g.ref_ids.tolist()
    ranked_rows = ranked.tolist()
    days_rows = days_named.tolist()
    left_rows = places_left.tolist()
    # Each therapist's caps reached after the allocation, and its state as worded for a
    # referral (``_states``), shared by every referral with the same needs.
    full_caps, state_words, slot_hints = held.full_caps, held.state_words, held.slot_hints
    for n, row in enumerate(rows.tolist()):
        referral = g.refs[row]
        priority = priorities[row]
        reasons: list[str] = []
        suggestions: list[str] = []
        total = n_eligible_rows[n]
        if total > 0:
            eligible = [t for t in first_rows[n] if t >= 0]
            standing = (min_held[n], any_empty[n], total)
            lower, days_of = (), None
            if min_held[n] < priority:  # who ranks lower, with every therapist it fits with
                days_of = free_days[:, n]
                lower = (
                    (r, t)
                    for t in np.flatnonzero(by_referral[n] == 0).tolist()
                    for p, r in clients.get(t, ())
                    if p < priority
                )
            reasons.append(
                _outranked(
                    g,
                    row,
                    eligible,
                    standing,
                    lower,
                    ids,
                    free_slot,
                    placed_cols,
                    loads,
                    days_of,
                    priority,
                )
            )
            days = days_rows[n]
            states = [(t, left_rows[t], days[i]) for i, t in enumerate(eligible[:3])]
            reasons.append(_states(g, row, states, ids, lowest, full_caps, state_words, priority))
            if decided is not None and decided[0][n]:
                short, by_kind = decided[1][n]
                suggestions.extend(_cap_decided(g, row, short, by_kind, places_left))
            suggestions.append(
                "next in line when "
                + " or ".join([ids[t] for t in eligible[:3]])
                + " has a free place and a fitting slot"
            )
            # What places it is a place freeing up; a wider requirement only adds
            # therapists who may be just as full, so the largest one is named, not advised.
        else:
            pattern = by_referral[n]
            b = position[n]
            reasons.append(_funnel_sentence(referral, funnel_rows[b], T))
            t = int(_POPCOUNT[pattern].argmin())
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
        hints = total == 0
        for col, j in enumerate(ranked_rows[n]):
            if j < 0:
                break
            family, count = FAMILIES[j], single_rows[n][j]
            # Every one of them where the wording counts what a change would open; else
            # the three named.
            if family == "leave" or (family == "slots" and hints):
                picked = np.flatnonzero(by_referral[n] == 1 << j).tolist()
            else:
                picked = [t for t in named_of[col][n] if t >= 0]
            if family == "slots" and hints:
                if held.table is None:
                    held.table = _SlotTable(g)  # once, when a suggestion first counts slots
                suggestions.append(_slot_hint(referral, g, picked, held.table, slot_hints))
                continue
            thers = [g.thers[t] for t in picked]
            suggestions.append(_suggestion(referral, thers, family, hints, count))
        if not suggestions:
            suggestions.append(
                "no single change makes a therapist eligible; review the requirements with "
                "the client or widen the service's offer"
            )
        out[ref_ids[row]] = Unplaced(
            referral=referral.id,
            priority=priority,
            reasons=tuple(reasons),
            suggestions=tuple(suggestions),
        )
    return out


def _family_bits(families: np.ndarray) -> np.ndarray:
    """Each referral's failure code for failing only family ``families[n]``, or a code no
    pair has where there is none (-1)."""
    return np.where(families >= 0, np.left_shift(1, np.maximum(families, 0)), 0xFFFF).astype(
        np.uint16
    )


def _first_true(mask: np.ndarray, n: int) -> np.ndarray:
    """(U, n): the columns of the first ``n`` True cells in each row of ``mask`` (-1 past
    the last), found by repeated argmax (each stops at a row's first True). Clears
    ``mask``'s cells as it goes."""
    rows = np.arange(len(mask))
    out = np.full((len(mask), n), -1, dtype=np.int64)
    if not mask.shape[1]:
        return out
    for i in range(n):
        col = mask.argmax(axis=1)
        hit = mask[rows, col]
        if not hit.any():
            break
        out[hit, i] = col[hit]
        mask[rows[hit], col[hit]] = False
    return out


def _slot_hint(referral: Referral, g: _Group, picked: list[int], table: _SlotTable, seen: dict):
    """The slots suggestion for a referral no therapist can take (``_suggestion`` with
    hints), worded once for every referral with the same times, places (the fields
    ``accepts_slot_site``, ``could_use_site`` and ``_place_phrase`` read), sessions a week
    and therapists failing on slots alone: it reads nothing else of the referral."""
    key = (
        referral.windows,
        referral.sessions_per_week,
        referral.mode,
        referral.sites,
        referral.sites_ruled_out,
        referral.step_free,
        referral.step_free_sites,
        tuple(picked),
    )
    words = seen.get(key)
    if words is None:
        thers = [g.thers[t] for t in picked]
        chosen = np.asarray(picked, dtype=np.int64)
        words = seen[key] = _suggestion(referral, thers, "slots", True, len(picked), table, chosen)
    return words


def _free_days(g: _Group, row: int, t: int, extra: Sequence[int], free_slot: np.ndarray) -> int:
    """Different days of therapist ``t``'s fitting slots for ``row`` that are free (or in
    ``extra``)."""
    lo, hi = int(g.t_slot_start[t]), int(g.t_slot_start[t + 1])
    usable = g.ok[lo:hi, row] & free_slot[lo:hi]
    days = set(g.s_day[lo:hi][usable].tolist())
    days.update(int(g.s_day[s]) for s in extra if g.ok[s, row])
    return len(days)


def _outranked(g, row, named, held, lower, ids, free_slot, placed_cols, loads, days, priority):
    """Why a referral that meets every requirement with some therapists waits: judged on
    every one of them (``held``: the lowest priority placed with any of them, whether one
    has nobody placed, how many there are), not only the five ``named``. ``lower`` yields
    (referral, therapist) of everyone placed with them who ranks lower (someone does when
    the lowest priority held is below this referral's), read only as far as needed.
    ``days``: per therapist, the days with a free slot fitting this referral;
    ``priority``: this referral's."""
    lowest, any_empty, total = held
    names = ", ".join([ids[t] for t in named])
    more = f" and {total - 5} more" if total > 5 else ""
    opening = (
        f"meets every requirement with {_plural(total, 'therapist')} ({names}{more}), but "
        "their places and fitting slots "
    )
    if not any_empty and lowest > priority:
        return opening + "went to people ranked higher (waiting longer or at higher risk)"
    if not any_empty and lowest >= priority:
        return opening + "went to people ranked at least as high (none ranked lower)"
    if lowest >= priority:  # nobody placed with one of them: the search did not reach it
        return opening + "are not all taken: the search for improvements ran out of time"
    k = g.refs[row].sessions_per_week
    # Could one of them make way: this client in their place, their slots freed? (``r``
    # is a row of the plan's group, which ``g`` need not be: the client's needs are read
    # here.)
    counted = [kind for kind in loads.kinds if g.r_kind[kind][row]]
    could = any(
        loads.fits_instead(t, k, counted, r)
        and (days[t] >= k or _free_days(g, row, t, placed_cols[r], free_slot) >= k)
        for r, t in lower
    )
    ranked_lower = f"are taken, some by people ranked lower (lowest priority placed there {lowest})"
    if could:
        return (
            opening
            + ranked_lower
            + "; one of them could make way for this client, but the search for improvements"
            " ran out of time"
        )
    needs = f"times, places or {k} sessions a week" if k > 1 else "times or places"
    return (
        opening
        + ranked_lower
        + ": none of them could make way for this client alone, as their slots would not fit"
        f" this client's {needs}; placing as many people as possible comes first"
    )


def _states(g, row, states, ids, lowest, full_caps, seen, priority) -> str:
    """Where each named therapist stands for this referral after the allocation:
    ``states`` holds (therapist, free weekly sessions left, days with a free fitting slot);
    ``full_caps`` each therapist's caps reached. Each state is worded once per therapist
    and what it reads of the referral (kept in ``seen``); ``priority``: this referral's."""
    referral = g.refs[row]
    k = referral.sessions_per_week
    high, complex_ = referral.high_risk, referral.complex
    out = []
    for t, places_left, days in states:
        key = (t, k, high, complex_, min(days, k))
        words = seen.get(key)
        if words is None:
            words = seen[key] = _state(g, t, k, places_left, days, ids, lowest, full_caps, referral)
        out.append(words)
    return "; ".join(out) + f" (this referral {priority})"


def _state(g, t, k, places_left, days, ids, lowest, full_caps, referral) -> str:
    """One therapist's state for a referral seen ``k`` times a week (``_states``)."""
    full = [kind for kind in full_caps[t] if referral.is_kind(kind)]
    if places_left <= 0:
        state = "no free place left"
    elif places_left < k:
        state = f"too few free weekly sessions left ({places_left}; this client needs {k})"
    elif full:
        cap = g.thers[t].max_high_risk if full[0] == "high_risk" else g.thers[t].max_complex
        state = f"its cap on {CAP_NOUNS[full[0]]} clients is reached (at most {cap})"
    elif days == 0:
        state = "the fitting slots are taken"
    elif days < k:
        state = "too few fitting slots left on different days"
    else:
        state = "a free place and fitting slots left, not yet offered"
    if lowest[t] < _NONE:
        state += f", lowest priority placed there {lowest[t]}"
    return f"{ids[t]}: {state}"


def _decided_by_caps(g, rows, fits, free_days, places_left, loads):
    """Where, after the allocation, only a cap or the weekly sessions stop a waiting
    referral's place with a therapist it fits with (free fitting slots on enough days are
    left): (whether any such therapist, per referral; {referral: ((T,) "too few free
    weekly sessions", {kind: (T,) "only the cap on kind"})} for those with one), or None
    when nothing of the kind can happen.

    What stops a place is a matter of the therapist and of the referral's class (its
    sessions a week and which caps it counts against): judged per class, then read per
    referral."""
    k = g.r_k[rows]
    if not loads.kinds and not (k > 1).any():
        return None
    kinds = list(loads.kinds)
    flags = [g.r_kind[kind][rows].astype(np.int64) for kind in kinds]
    key = k * (1 << len(kinds)) + sum((f << i for i, f in enumerate(flags)), np.zeros_like(k))
    classes, cls = np.unique(key, return_inverse=True)
    cls = cls.reshape(-1)
    full = {kind: loads.room_all(kind) <= 0 for kind in kinds}  # (T,) per kind
    T = len(places_left)
    blocks = np.zeros((T, len(classes)), dtype=bool)
    per_class = []
    for c, value in enumerate(classes.tolist()):
        kc, bits = divmod(value, 1 << len(kinds))
        counted = {kind: full[kind] & bool(bits >> i & 1) for i, kind in enumerate(kinds)}
        n_full = sum((m.astype(np.int8) for m in counted.values()), np.zeros(T, np.int8))
        enough = places_left >= kc
        short = (places_left > 0) & ~enough & (n_full == 0)
        by_kind = {kind: enough & m & (n_full == 1) for kind, m in counted.items()}
        per_class.append((short, by_kind))
        blocks[:, c] = short
        for m in by_kind.values():
            blocks[:, c] |= m
    open_ = fits & (free_days >= k[None, :])
    any_ = (open_ & blocks[:, cls]).any(axis=0)
    columns = {}
    for n in np.flatnonzero(any_).tolist():
        short, by_kind = per_class[cls[n]]
        column = open_[:, n]
        columns[n] = (column & short, {kind: column & m for kind, m in by_kind.items()})
    return any_.tolist(), columns


def _cap_decided(g, row, short, by_kind, places_left) -> list[str]:
    """What a cap or the weekly sessions decided for a waiting referral: the therapists
    where only that stops a place now (``short``: too few free weekly sessions; ``by_kind``:
    only the cap on that kind), and what changing it would do."""
    k = g.refs[row].sessions_per_week
    out = []
    for kind, mask in by_kind.items():
        named = [g.thers[t] for t in np.flatnonzero(mask).tolist()]
        if not named:
            continue
        caps = "; ".join(f"{t.id}: at most {_cap_of(t, kind)}" for t in named[:3])
        more = f" and {len(named) - 3} more" if len(named) > 3 else ""
        which = "that cap" if len(named) == 1 else "one of those caps"
        out.append(
            f"the cap on {CAP_NOUNS[kind]} clients decides: {_plural(len(named), 'therapist')} "
            f"({caps}{more}) {'has' if len(named) == 1 else 'have'} a free place and fitting "
            f"slots left but no room under it; raising {which} by one would let this client "
            "be placed there"
        )
    thers = np.flatnonzero(short).tolist()
    if thers:
        left = "; ".join(f"{g.thers[t].id}: {int(places_left[t])} left" for t in thers[:3])
        more = f" and {len(thers) - 3} more" if len(thers) > 3 else ""
        out.append(
            f"weekly sessions decide: {_plural(len(thers), 'therapist')} ({left}{more}) "
            f"{'has' if len(thers) == 1 else 'have'} fitting slots left but fewer than the {k} "
            f"free weekly sessions this client needs; {k} free weekly sessions with one of "
            "them would let this client be placed there"
        )
    return out


def _cap_of(therapist: Therapist, kind: str) -> int | None:
    return therapist.max_high_risk if kind == "high_risk" else therapist.max_complex


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
