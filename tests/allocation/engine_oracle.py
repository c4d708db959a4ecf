"""The engine tests' independent reading of the rules, their problem generators and
hand-made rows.

The checker and the exhaustive search here read the raw problem dict and the result dict
only: they re-derive every rule from docs/allocation.md and use none of the engine's
internals, so a bug in the engine's eligibility code cannot hide itself.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "allocation-problem.json"

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

# ---------------------------------------------------------------------------------------
# An independent reading of the rules (docs/allocation.md), on plain dicts
# ---------------------------------------------------------------------------------------

PRIORITY = {
    "base": 100,
    "per_week": 5,
    "max_weeks": 104,
    "breach_6": 600,
    "breach_18": 1200,
    "risk": {"low": 0, "medium": 250, "high": 500},
}
FIT = {"gender": 4, "continuity": 3, "site": 2, "time": 2, "language": 1}


def day_of(value):
    return value if isinstance(value, int) else DAYS[value.lower()[:3]]


def minutes(hhmm):
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def part_of(hhmm):
    m = minutes(hhmm)
    return "morning" if m < 12 * 60 else ("afternoon" if m < 17 * 60 else "evening")


PART_SPANS = {"morning": (0, 720), "afternoon": (720, 1020), "evening": (1020, 1440)}


def window_of(item):
    """(day, start, end) of a window: {"day", "start", "end"} or "Tue 17:30-20:00" or
    "Tue evening"."""
    if isinstance(item, dict):
        return day_of(item["day"]), minutes(item["start"]), minutes(item["end"])
    day, rest = item.split(" ", 1)
    if rest.strip().lower() in PART_SPANS:
        return (day_of(day), *PART_SPANS[rest.strip().lower()])
    start, end = re.split(r"\s*(?:-|\u2013|to)\s*", rest.strip())
    return day_of(day), minutes(start), minutes(end)


def times_of(referral, preferred=False):
    """Every window the client gave (parts of the day as their spans), not joined."""
    if preferred:
        spans = [(d, *PART_SPANS[p]) for p in referral.get("preferred_parts", []) for d in range(7)]
        return spans + [window_of(w) for w in referral.get("preferred_windows", [])]
    spans = [(day_of(d), *PART_SPANS[p]) for d, p in referral.get("availability", [])]
    return spans + [window_of(w) for w in referral.get("windows", [])]


def covered(windows, slot):
    """Every minute of the slot lies in one of the windows (so touching windows join)."""
    day, start = day_of(slot["day"]), minutes(slot["start"])
    return all(
        any(d == day and a <= m < b for d, a, b in windows)
        for m in range(start, start + slot.get("length", 50))
    )


def run_around(windows, slot):
    """The stretch of joined windows (start, end) that holds the whole slot, or None."""
    day, start = day_of(slot["day"]), minutes(slot["start"])
    end = start + slot.get("length", 50)
    runs = []
    for d, a, b in sorted(windows):
        if d != day:
            continue
        if runs and a <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    return next(((a, b) for a, b in runs if a <= start and end <= b), None)


def weeks_of(referral, today):
    if "weeks_waiting" in referral:
        return referral["weeks_waiting"]
    delta = dt.date.fromisoformat(today) - dt.date.fromisoformat(referral["referral_date"])
    return delta.days // 7


def priority_of(referral, today):
    weeks = weeks_of(referral, today)
    points = PRIORITY["base"] + PRIORITY["per_week"] * min(weeks, PRIORITY["max_weeks"])
    points += PRIORITY["breach_6"] if weeks >= 6 else 0
    points += PRIORITY["breach_18"] if weeks >= 18 else 0
    return points + PRIORITY["risk"][referral.get("risk", "low")]


def preference(referral):
    pref = referral.get("gender_preference", "none")
    if pref in (None, "none"):
        return "none", None
    return pref["strength"], pref.get("gender")


def gender_allows(referral, therapist):
    """A required gender, and no excluded one ("not a man"); a therapist whose gender is
    not recorded meets neither."""
    strength, gender = preference(referral)
    if strength == "required" and therapist.get("gender") != gender:
        return False
    excluded = {g.lower() for g in referral.get("gender_exclusion", [])}
    return not excluded or (
        therapist.get("gender") is not None and therapist["gender"] not in excluded
    )


LEVELS = {"any": 0, "qualified": 1, "independent": 2}


def competence_allows(referral, therapist):
    """A trainee is level 0, a qualified therapist under supervision 1, one not under
    supervision 2; a required specialism must be among the therapist's."""
    grade = therapist.get("grade", "qualified")
    supervised = therapist.get("supervised", grade == "trainee")
    level = 0 if grade == "trainee" else (1 if supervised else 2)
    specialism = referral.get("specialism")
    return level >= LEVELS[referral.get("competence", "any")] and (
        specialism is None or specialism in therapist.get("specialisms", [])
    )


def bookable(problem, service, language):
    """The service can book an interpreter for the language: it is on the service's list,
    or the service has no list."""
    lists = problem.get("interpreter_languages") or {}
    return service not in lists or language in {x.lower() for x in lists[service]}


def language_allows(referral, therapist, problem):
    """The spoken language: the therapist speaks it, or the client needs an interpreter the
    service can book. BSL as well: the therapist signs, or a BSL interpreter can be booked."""
    language = referral.get("language", "english")
    service = referral["service"]
    spoken = language in therapist["languages"] or (
        referral.get("needs_interpreter", False) and bookable(problem, service, language)
    )
    signed = (
        not referral.get("bsl")
        or "bsl" in therapist["languages"]
        or bookable(problem, service, "bsl")
    )
    return spoken and signed


def continuity_allows(referral, therapist):
    """Continuity required: only the assessor (who may not be a therapist at all)."""
    return referral.get("continuity") != "required" or referral.get("assessor") == therapist["id"]


def excluded_ids(referral):
    return {e["therapist"] for e in referral.get("exclude_therapists", [])}


def free_places(therapist):
    """Free weekly sessions: ``sessions``, or the older ``capacity`` less ``caseload``."""
    if "sessions" in therapist:
        return therapist["sessions"]
    if "caseload" in therapist:
        return max(therapist["capacity"] - therapist["caseload"], 0)
    return therapist["capacity"]


CAP_KINDS = ("high_risk", "complex")


def counts_against(referral, kind):
    """A high-risk referral (risk high) counts against a cap on high-risk clients, a
    complex one (``complex``) against a cap on complex clients."""
    if kind == "high_risk":
        return referral.get("risk", "low") == "high"
    return bool(referral.get("complex", False))


def cap_room(therapist, kind):
    """Places left under the therapist's cap on ``kind`` before any allocation, or None."""
    cap = therapist.get(f"max_{kind}")
    if cap is None:
        return None
    return max(cap - therapist.get(f"{kind}_caseload", 0), 0)


def caps_allow(referral, therapist):
    """Room under every cap the referral counts against, before any allocation."""
    rooms = [cap_room(therapist, k) for k in CAP_KINDS if counts_against(referral, k)]
    return all(room is None or room > 0 for room in rooms)


def load_of(referral):
    """What one placement uses of its therapist: weekly sessions, then one per capped kind."""
    kinds = [int(counts_against(referral, kind)) for kind in CAP_KINDS]
    return (referral.get("sessions_per_week", 1), *kinds)


def limits_of(therapist):
    rooms = [cap_room(therapist, kind) for kind in CAP_KINDS]
    return (free_places(therapist), *(10**9 if room is None else room for room in rooms))


def add_load(a, b, sign=1):
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))


def within(load, limits):
    return all(x <= y for x, y in zip(load, limits, strict=True))


def start_date(referral, problem):
    """The planned start, never before the client's earliest start."""
    value = referral.get("planned_start") or problem.get("today")
    start = dt.date.fromisoformat(value) if value else None
    if referral.get("earliest_start"):
        earliest = dt.date.fromisoformat(referral["earliest_start"])
        start = earliest if start is None else max(start, earliest)
    return start


OPEN_ENDED_WEEKS = 12  # the horizon an open-ended course is checked over


def course_of(referral, problem):
    """(first day, last day) of the planned course, or None without a start."""
    start = start_date(referral, problem)
    if start is None:
        return None
    weeks = referral.get("therapy_weeks")
    if weeks in (None, "open_ended"):
        weeks = OPEN_ENDED_WEEKS
    return start, start + dt.timedelta(weeks=weeks) - dt.timedelta(days=1)


def on_leave(therapist, course):
    """Some leave or break of the therapist falls on a day of the course."""
    if course is None:
        return False
    first, last = course
    return any(
        dt.date.fromisoformat(p["start"]) <= last and dt.date.fromisoformat(p["end"]) >= first
        for p in therapist.get("leave", [])
    )


def slot_fits(referral, slot, problem=None):
    """Inside the client's availability and at a place the client accepts."""
    if not covered(times_of(referral), slot):
        return False
    mode = referral.get("mode", "either")
    if slot["site"] == "remote":
        return mode in ("remote", "either")
    return mode in ("in_person", "either") and site_reachable(referral, slot["site"], problem)


def site_reachable(referral, site, problem):
    """One of the client's sites, step-free when they need it, and within their travel
    limit (a site without a travel time is taken as within it)."""
    if site not in referral.get("sites", []):
        return False
    if referral.get("step_free") and site not in (problem or {}).get("step_free_sites", []):
        return False
    limit = referral.get("max_travel_minutes")
    return limit is None or referral.get("travel_minutes", {}).get(site, 0) <= limit


def pair_allowed(referral, therapist, problem):
    """Every hard constraint that does not depend on which slots are chosen."""
    return (
        referral["service"] == therapist["service"]
        and referral["modality"] in therapist["modalities"]
        and language_allows(referral, therapist, problem)
        and gender_allows(referral, therapist)
        and competence_allows(referral, therapist)
        and therapist["id"] not in excluded_ids(referral)
        and continuity_allows(referral, therapist)
        and referral.get("sessions_per_week", 1) in therapist.get("frequencies", [1])
        and not on_leave(therapist, course_of(referral, problem))
        and free_places(therapist) >= referral.get("sessions_per_week", 1)
        and caps_allow(referral, therapist)
    )


def bundle_fit(referral, therapist, slots):
    strength, gender = preference(referral)
    points = 0
    if strength == "preferred" and therapist.get("gender") == gender:
        points += FIT["gender"]
    if referral.get("assessor") == therapist["id"] and referral.get("continuity") != "none":
        points += FIT["continuity"]
    # No interpreter needed at all, where one (or BSL) would otherwise be.
    interp, bsl = referral.get("needs_interpreter"), referral.get("bsl")
    if (
        (interp or bsl)
        and (not interp or referral.get("language", "english") in therapist["languages"])
        and (not bsl or "bsl" in therapist["languages"])
    ):
        points += FIT["language"]
    if referral.get("preferred_site") and all(
        s["site"] == referral["preferred_site"] for s in slots
    ):
        points += FIT["site"]
    wanted = times_of(referral, preferred=True)
    if wanted and all(covered(wanted, s) for s in slots):
        points += FIT["time"]
    return points


def check_hard_constraints(problem, result):
    """Assert that no proposal breaks a hard constraint; return (placed, priority, fit)."""
    referrals = {r["id"]: r for r in problem["referrals"]}
    therapists = {t["id"]: t for t in problem["therapists"]}
    seen_referrals = set()
    load = {tid: (0, 0, 0) for tid in therapists}
    used_slots = set()
    priority_total = fit_total = 0
    for a in result["assignments"]:
        referral, therapist = referrals[a["referral"]], therapists[a["therapist"]]
        assert a["referral"] not in seen_referrals, "referral placed twice"
        seen_referrals.add(a["referral"])
        assert pair_allowed(referral, therapist, problem), (a["referral"], a["therapist"])
        by_id = {s["id"]: s for s in therapist["slots"]}
        slots = [by_id[s["id"]] for s in a["slots"]]
        k = referral.get("sessions_per_week", 1)
        assert len(slots) == k, "one slot per weekly session"
        assert len({day_of(s["day"]) for s in slots}) == k, "sessions on different days"
        for s in slots:
            assert slot_fits(referral, s, problem), (a["referral"], s)
            key = (therapist["id"], s["id"])
            assert key not in used_slots, f"slot {key} given twice"
            used_slots.add(key)
            returned = next(x for x in a["slots"] if x["id"] == s["id"])
            assert returned["start"] == s["start"] and returned["site"] == s["site"]
        # Weekly sessions (a client seen k times a week uses k) and the caps.
        load[therapist["id"]] = add_load(load[therapist["id"]], load_of(referral))
        assert within(load[therapist["id"]], limits_of(therapist)), "over capacity or a cap"
        priority = priority_of(referral, problem.get("today"))
        fit = bundle_fit(referral, therapist, slots)
        assert a["priority"] == priority and a["fit"] == fit
        priority_total += priority
        fit_total += fit
    unplaced = {u["referral"] for u in result["unplaced"]}
    assert unplaced.isdisjoint(seen_referrals)
    assert unplaced | seen_referrals == set(referrals)
    assert result["objective"]["priority"] == priority_total
    assert result["objective"]["fit"] == fit_total
    assert result["objective"]["placed"] == len(seen_referrals)
    return len(seen_referrals), priority_total, fit_total


def exhaustive_best(problem):
    """Best (placed, priority total, fit total), lexicographically, by trying every
    allocation (with pruning by an optimistic bound on what the rest could add)."""
    referrals = problem["referrals"]
    options = []
    for referral in referrals:
        k = referral.get("sessions_per_week", 1)
        mine = []
        for therapist in problem["therapists"]:
            if not pair_allowed(referral, therapist, problem):
                continue
            fitting = [s for s in therapist["slots"] if slot_fits(referral, s, problem)]
            for bundle in itertools.combinations(fitting, k):
                if len({day_of(s["day"]) for s in bundle}) == k:
                    mine.append(
                        (
                            therapist["id"],
                            frozenset((therapist["id"], s["id"]) for s in bundle),
                            bundle_fit(referral, therapist, bundle),
                        )
                    )
        options.append((priority_of(referral, problem.get("today")), mine, load_of(referral)))
    caps = {t["id"]: limits_of(t) for t in problem["therapists"]}
    # Branch and bound: the most that positions i onwards could add, for pruning. Tuples
    # compare lexicographically, and each part of the bound is a sum of maxima.
    tail = [(0, 0, 0)] * (len(options) + 1)
    for i in range(len(options) - 1, -1, -1):
        priority, mine, _ = options[i]
        best_fit = max((f for _, _, f in mine), default=0)
        n, p, f = tail[i + 1]
        tail[i] = (n + 1, p + priority, f + best_fit) if mine else (n, p, f)
    best = [(-1, -1, -1)]

    def search(i, used, load, placed, priority, fit):
        if i == len(options):
            best[0] = max(best[0], (placed, priority, fit))
            return
        n, p, f = tail[i]
        if (placed + n, priority + p, fit + f) < best[0]:
            return
        p, mine, needs = options[i]
        for tid, slots, f in mine:
            after = add_load(load.get(tid, (0, 0, 0)), needs)
            if within(after, caps[tid]) and not (slots & used):
                before, load[tid] = load.get(tid, (0, 0, 0)), after
                search(i + 1, used | slots, load, placed + 1, priority + p, fit + f)
                load[tid] = before
        search(i + 1, used, load, placed, priority, fit)

    search(0, frozenset(), {}, 0, 0, 0)
    return best[0]


def value_of(objective, totals):
    placed, priority, fit = totals
    return objective["place_scale"] * placed + objective["scale"] * priority + fit


# ---------------------------------------------------------------------------------------
# Small random problems
# ---------------------------------------------------------------------------------------

SITES = ["North", "South"]


def tiny_problem(seed, max_referrals=5, max_therapists=3):
    """A tiny problem biased towards feasibility, so that placements compete."""
    rng = random.Random(seed)
    pick = rng.choice
    therapists = []
    for i in range(rng.randint(1, max_therapists)):
        home = SITES[i % 2]
        slots, taken = [], set()
        for j in range(rng.randint(1, 5)):
            day, hour = rng.randint(0, 3), pick([9, 13, 18])
            if (day, hour) not in taken:
                taken.add((day, hour))
                site = pick(["remote", home, home])
                slots.append(
                    {
                        "id": f"s{j}",
                        "day": day,
                        "start": f"{hour:02d}:00",
                        "length": 50,
                        "site": site,
                    }
                )
        therapist = {
            "id": f"t-{i}",
            "service": pick(["a"] * 5 + ["b"]),
            "modalities": pick([["psychodynamic"], ["psychodynamic", "dit"]]),
            "languages": pick([["english"], ["english"], ["english", "polish"]]),
            "gender": pick(["female", "male"]),
            "sites": [home],
            "remote": True,
            "capacity": pick([0, 1, 1, 2, 2, 3]),
            "frequencies": pick([[1], [1, 2], [1, 2], [1, 2, 3]]),
            "slots": slots,
        }
        if rng.random() < 0.15:
            therapist["leave"] = [{"start": "2025-03-01", "end": "2025-03-10"}]
        # A planned break from a third stream, so the rest of each seed's problem is unchanged.
        if random.Random(seed * 15485867 + i).random() < 0.2:
            therapist.setdefault("leave", []).append({"start": "2025-04-14", "end": "2025-04-25"})
        if random.Random(seed * 32452843 + 1000 + i).random() < 0.25:
            therapist["languages"] = [*therapist["languages"], "bsl"]
        # Competence from a second stream, so the rest of each seed's problem is unchanged.
        extra = random.Random(seed * 104729 + i)
        grade = extra.choice(["qualified", "qualified", "trainee"])
        if grade == "trainee" or extra.random() < 0.3:
            therapist["grade"] = grade
            therapist["supervised"] = grade == "trainee" or extra.random() < 0.5
        if extra.random() < 0.5:
            therapist["specialisms"] = extra.sample(["trauma", "perinatal"], extra.randint(1, 2))
        # The caseload mix from a seventh stream: caps on high-risk and complex clients
        # (counting some already in the caseload), and free weekly sessions given as
        # ``sessions`` rather than the older ``capacity``.
        mix = random.Random(seed * 86028121 + i)
        for kind in ("high_risk", "complex"):
            if mix.random() < 0.35:
                therapist[f"max_{kind}"] = mix.randint(0, 2)
                if mix.random() < 0.5:
                    therapist[f"{kind}_caseload"] = mix.randint(0, 1)
        if mix.random() < 0.3:
            therapist["sessions"] = therapist.pop("capacity")
        therapists.append(therapist)
    referrals = []
    for i in range(rng.randint(1, max_referrals)):
        mode = pick(["in_person", "remote", "either", "either"])
        sites = [] if mode == "remote" else pick([["North"], SITES])
        cells = [(d, p) for d in range(4) for p in ("morning", "afternoon", "evening")]
        availability = rng.sample(cells, rng.randint(3, 10))
        strength = pick(["none", "none", "preferred", "required"])
        referral = {
            "id": f"r-{i}",
            "service": pick(["a"] * 5 + ["b"]),
            "modality": pick(["psychodynamic"] * 4 + ["dit"]),
            "language": pick(["english", "english", "polish"]),
            "needs_interpreter": rng.random() < 0.5,
            "gender_preference": "none"
            if strength == "none"
            else {"strength": strength, "gender": pick(["female", "male"])},
            "mode": mode,
            "sites": sites,
            "availability": [list(a) for a in availability],
            "sessions_per_week": pick([1, 1, 1, 2, 2, 3]),
            "planned_start": pick(["2025-03-05", "2025-03-17"]),
            "weeks_waiting": rng.randint(0, 30),
            "risk": pick(["low", "medium", "high"]),
        }
        if sites and rng.random() < 0.5:
            referral["preferred_site"] = sites[0]
        if rng.random() < 0.5:
            referral["preferred_parts"] = [availability[0][1]]
        if rng.random() < 0.4:
            referral["assessor"] = pick([t["id"] for t in therapists])
        # Exclusions from a second stream, so the rest of each seed's problem is unchanged.
        extra = random.Random(seed * 7919 + i)
        if extra.random() < 0.2:
            referral["exclude_therapists"] = [
                {"therapist": extra.choice(therapists)["id"], "reason": "conflict_of_interest"}
            ]
        if extra.random() < 0.25:
            referral["competence"] = extra.choice(["qualified", "independent"])
        if extra.random() < 0.2:
            referral["specialism"] = extra.choice(["trauma", "perinatal"])
        if extra.random() < 0.2 and strength != "required":
            excluded = "male" if referral["gender_preference"] == "none" else None
            pref = referral["gender_preference"]
            if pref != "none":
                excluded = "male" if pref["gender"] == "female" else "female"
            referral["gender_exclusion"] = [excluded]
        # Time from a third stream, so the rest of each seed's problem is unchanged.
        timing = random.Random(seed * 15485863 + i)
        if timing.random() < 0.2:
            referral["earliest_start"] = timing.choice(["2025-03-11", "2025-04-01"])
        if timing.random() < 0.5:
            referral["therapy_weeks"] = timing.choice([2, 8, 24, "open_ended"])
        # Languages from a fourth stream: BSL as well as the spoken language.
        if random.Random(seed * 32452843 + i).random() < 0.2:
            referral["bsl"] = True
        # Continuity from a fifth stream: a requirement or no wish, where there is an assessor.
        wish = random.Random(seed * 49979687 + i)
        if "assessor" in referral and wish.random() < 0.4:
            referral["continuity"] = wish.choice(["required", "none"])
        # Access and travel from a sixth stream.
        access = random.Random(seed * 67867967 + i)
        if sites and access.random() < 0.25:
            referral["step_free"] = True
        if sites and access.random() < 0.25:
            referral["max_travel_minutes"] = 30
            referral["travel_minutes"] = {s: access.choice([10, 45]) for s in sites}
        if random.Random(seed * 86028121 - 1 - i).random() < 0.3:
            referral["complex"] = True
        _exact_times(referral, random.Random(seed * 86028121 + i))
        referrals.append(referral)
    problem = {"today": "2025-03-03", "therapists": therapists, "referrals": referrals}
    problem["step_free_sites"] = random.Random(seed * 67867967 - 1).choice([[], ["North"], SITES])
    # The interpreters service "a" can book (service "b" books any), from the same stream.
    lists = random.Random(seed * 32452843 - 1)
    if lists.random() < 0.5:
        problem["interpreter_languages"] = {"a": lists.choice([[], ["polish"], ["bsl"]])}
    return problem


# Exact windows around the 09:00, 13:00 and 18:00 slots (50 minutes): some hold the slot,
# some end or start just inside it, and one pair only holds it once joined.
EXACT_WINDOWS = (
    ["08:30-10:00"],
    ["09:10-11:00"],
    ["12:00-13:50"],
    ["13:00-13:45"],
    ["12:00-13:00", "13:00-14:00"],
    ["17:30-20:00"],
    ["18:00-18:50"],
    ["18:10-21:00"],
)


def _exact_times(referral, rng):
    """Exact windows in place of the parts of the day on some days (a seventh stream)."""
    if rng.random() >= 0.35:
        return
    days = rng.sample(range(4), rng.randint(1, 3))
    referral["availability"] = [a for a in referral["availability"] if a[0] not in days]
    names = ["Mon", "Tue", "Wed", "Thu"]
    windows = []
    for day in days:
        for group in rng.sample([EXACT_WINDOWS[:2], EXACT_WINDOWS[2:5], EXACT_WINDOWS[5:]], 2)[
            : rng.randint(1, 2)
        ]:
            windows += [f"{names[day]} {w}" for w in rng.choice(group)]
    referral["windows"] = windows
    if rng.random() < 0.4:
        referral.pop("preferred_parts", None)
        referral["preferred_windows"] = [windows[0]]


SEEDS = range(400)


# --- Hand-made rows ---------------------------------------------------------------------


def therapist(tid="t-1", **extra):
    row = {
        "id": tid,
        "service": "adult",
        "modalities": ["psychodynamic"],
        "languages": ["english"],
        "gender": "female",
        "sites": ["North"],
        "remote": True,
        "capacity": 1,
        "slots": [{"id": "s1", "day": 1, "start": "18:00", "length": 50, "site": "North"}],
    }
    row.update(extra)
    return row


def referral(rid="r-1", **extra):
    row = {
        "id": rid,
        "service": "adult",
        "modality": "psychodynamic",
        "language": "english",
        "mode": "either",
        "sites": ["North"],
        "availability": [[1, "evening"], [3, "evening"]],
        "weeks_waiting": 3,
        "risk": "low",
    }
    row.update(extra)
    return row


def problem_of(therapists, referrals, **extra):
    return {"today": "2025-03-03", "therapists": therapists, "referrals": referrals, **extra}
