"""Seeded generator of allocation problems, for the benchmark and the tests.

Pure Python, no Django. It returns the same JSON-shaped dict that
``allocation.engine.parse_problem`` reads, so generated problems also exercise the parser.

The distributions aim at a large NHS psychological therapies service rather than at
uniform noise: most clients speak English and a long tail speak other languages (a few
use BSL); evening slots are scarce; most therapists have no or few free places; most
clients are seen weekly and a minority two or three times a week; waits are skewed, with
a tail past the 18-week standard.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

SITE_NAMES = (
    "Riverside",
    "Hillcrest",
    "Market Street",
    "Northgate",
    "St Anne's",
    "Parkway",
    "Eastfield",
    "Harbour",
    "Millbrook",
    "Castle Yard",
)

# Client languages, skewed: English first, then a long tail. Weights are per thousand.
CLIENT_LANGUAGES = (
    ("english", 840),
    ("polish", 30),
    ("urdu", 25),
    ("punjabi", 20),
    ("bengali", 15),
    ("arabic", 15),
    ("romanian", 12),
    ("somali", 9),
    ("portuguese", 9),
    ("turkish", 7),
    ("tigrinya", 5),
    ("bsl", 6),
    ("kurdish", 4),
    ("lithuanian", 3),
)
# Second languages of therapists (everyone speaks English).
THERAPIST_LANGUAGES = (
    ("polish", 20),
    ("urdu", 20),
    ("punjabi", 18),
    ("bengali", 10),
    ("arabic", 10),
    ("romanian", 6),
    ("portuguese", 6),
    ("turkish", 5),
    ("bsl", 4),
    ("somali", 3),
    ("french", 10),
    ("spanish", 10),
)
DAYTIME_STARTS = ("09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00")
EVENING_STARTS = ("17:00", "18:00", "19:00")


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    values = [v for v, _ in weighted]
    weights = [w for _, w in weighted]
    return rng.choices(values, weights)[0]


SPECIALISMS = ("young adults", "trauma", "perinatal")
EXCLUSION_CODES = ("conflict_of_interest", "previous_complaint", "relative", "other")


def _caseload_mix(mix: random.Random, row: dict[str, Any]) -> None:
    """Some therapists cap their high-risk or complex clients (a few already at the cap);
    some state their capacity as free weekly ``sessions`` rather than the older
    ``capacity``."""
    for kind, share in (("high_risk", 0.25), ("complex", 0.15)):
        if mix.random() < share:
            cap = mix.randint(1, 3)
            row[f"max_{kind}"] = cap
            row[f"{kind}_caseload"] = mix.randint(0, cap)
    if "caseload" not in row and mix.random() < 0.3:
        row["sessions"] = row.pop("capacity")


# Exact windows coordinators record, by the parts of the day the client gave on that day:
# some reach across a part's edge (a lunch hour, leaving work early), others are narrower
# (after work, the school run).
EXACT_WINDOWS = {
    ("morning",): ("09:00-13:00", "09:30-12:00", "08:30-11:00"),
    ("afternoon",): ("11:00-17:00", "13:00-16:00", "12:30-15:00"),
    ("afternoon", "morning"): ("09:00-17:00", "09:30-14:30", "10:00-16:00"),
    ("evening",): ("16:00-20:00", "17:30-20:00", "18:00-21:00"),
}


def _exact_windows(row: dict[str, Any], clock: random.Random) -> None:
    """For some clients, exact windows in place of the parts of the day on their days."""
    if clock.random() >= 0.15:
        return
    days = sorted({d for d, _ in row["availability"]})
    windows, kept = [], []
    for day in days:
        parts = tuple(sorted({p for d, p in row["availability"] if d == day}))
        if parts not in EXACT_WINDOWS:  # mornings and evenings: the parts stay
            kept += [[day, p] for p in parts]
            continue
        choices = EXACT_WINDOWS[parts]
        window = choices[0] if clock.random() < 0.6 else clock.choice(choices[1:])
        windows.append(f"{DAY_WORDS[day]} {window}")
    if not windows:
        return
    row["availability"] = kept
    row["windows"] = windows
    if "preferred_parts" in row and clock.random() < 0.3:
        del row["preferred_parts"]
        row["preferred_windows"] = [windows[0]]


DAY_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def generate_problem(
    *,
    referrals: int,
    therapists: int,
    seed: int = 0,
    services: int = 1,
    sites: int = 8,
    multi_session_share: float = 0.1,
    today: str = "2025-03-03",
    caseload_mix: bool = True,
) -> dict[str, Any]:
    """Return a problem dict with the given numbers of referrals and therapists.

    ``services`` splits both lists across that many services (one large service by
    default: the hardest case, as every referral competes with every other).
    ``multi_session_share`` is the share of referrals seen more than once a week.
    ``caseload_mix`` False leaves out the caps on high-risk and complex clients and the
    complex cases (every other field is the same).
    """
    rng = random.Random(seed)
    today_date = dt.date.fromisoformat(today)
    service_names = [f"service-{i + 1}" for i in range(services)]
    site_names = (
        list(SITE_NAMES[:sites])
        if sites <= len(SITE_NAMES)
        else [f"Site {i + 1}" for i in range(sites)]
    )
    # A hub-and-spoke estate: the first sites are busier.
    site_weights = [max(1, 10 - 2 * i) for i in range(len(site_names))]

    def some_sites(k: int) -> list[str]:
        chosen: list[str] = []
        while len(chosen) < min(k, len(site_names)):
            site = rng.choices(site_names, site_weights)[0]
            if site not in chosen:
                chosen.append(site)
        return chosen

    staff = random.Random(seed + 2_000_003)
    # Time (planned breaks, earliest starts, course lengths) from a third stream, so every
    # other field is what it was before.
    timing = random.Random(seed + 3_000_017)
    words = random.Random(seed + 4_000_037)
    # The caseload mix (caps on high-risk and complex clients, complex cases) from a fifth.
    mix = random.Random(seed + 5_000_011)
    # Exact windows from a sixth stream, so every other field is what it was before.
    clock = random.Random(seed + 6_000_011)
    therapist_rows = []
    therapist_ids = [f"t-{i + 1}" for i in range(therapists)]
    for tid in therapist_ids:
        modalities = []
        if rng.random() < 0.85:
            modalities.append("psychodynamic")
        if rng.random() < 0.35:
            modalities.append("dit")
        if rng.random() < 0.1:
            modalities.append("cat")
        if not modalities:
            modalities.append("psychodynamic")
        languages = ["english"]
        if rng.random() < 0.14:
            languages.append(_pick(rng, THERAPIST_LANGUAGES))
        gender = _pick(rng, (("female", 70), ("male", 28), ("non-binary", 2)))
        t_sites = some_sites(1 if rng.random() < 0.7 else 2)
        remote = rng.random() < 0.6
        free = _pick(rng, ((0, 30), (1, 30), (2, 20), (3, 12), (4, 6), (5, 2)))
        frequencies = _pick(rng, (((1,), 75), ((1, 2), 20), ((1, 2, 3), 4), ((1, 2, 3, 4, 5), 1)))
        n_slots = free + rng.randint(0, 2) + (1 if len(frequencies) > 1 else 0)
        taken: set[tuple[int, str]] = set()
        slot_rows = []
        for j in range(n_slots):
            day = rng.choices(range(7), (20, 20, 20, 20, 17, 2, 1))[0]
            start = rng.choice(EVENING_STARTS if rng.random() < 0.1 else DAYTIME_STARTS)
            if (day, start) in taken:
                continue
            taken.add((day, start))
            site = "remote" if remote and rng.random() < 0.4 else rng.choice(t_sites)
            slot_rows.append(
                {"id": f"s{j + 1}", "day": day, "start": start, "length": 50, "site": site}
            )
        row: dict[str, Any] = {
            "id": tid,
            "service": rng.choice(service_names),
            "modalities": modalities,
            "languages": languages,
            "gender": gender,
            "sites": t_sites,
            "remote": remote,
            "frequencies": list(frequencies),
            "slots": slot_rows,
        }
        if rng.random() < 0.5:
            row["capacity"] = free
        else:
            total = rng.randint(14, 22)
            row["capacity"] = total
            row["caseload"] = total - free
        if rng.random() < 0.08:
            start = today_date + dt.timedelta(days=rng.randint(-7, 30))
            end = start + dt.timedelta(days=rng.randint(5, 21))
            row["leave"] = [{"start": start.isoformat(), "end": end.isoformat()}]
        # Competence from a second stream, so every other field is what it was before.
        if staff.random() < 0.12:
            row["grade"] = "trainee"
        elif staff.random() < 0.1:
            row["supervised"] = True
        if staff.random() < 0.3:
            row["specialisms"] = staff.sample(SPECIALISMS, staff.randint(1, 2))
        if timing.random() < 0.05:  # a planned break of a week, some weeks ahead
            start = today_date + dt.timedelta(days=timing.randint(28, 84))
            row.setdefault("leave", []).append(
                {"start": start.isoformat(), "end": (start + dt.timedelta(days=6)).isoformat()}
            )
        if caseload_mix:
            _caseload_mix(mix, row)
        therapist_rows.append(row)

    # The coordinators' constraints come from a second stream, so every other field of a
    # seed's problem is what it was before they existed.
    extra = random.Random(seed + 1_000_003)
    referral_rows = []
    for i in range(referrals):
        language = _pick(rng, CLIENT_LANGUAGES)
        interpreter = language != "english" and rng.random() < 0.45
        strength = _pick(rng, (("none", 65), ("preferred", 25), ("required", 10)))
        preference: dict[str, str] | str = "none"
        if strength != "none":
            preference = {
                "strength": strength,
                "gender": _pick(rng, (("female", 78), ("male", 20), ("non-binary", 2))),
            }
        mode = _pick(rng, (("in_person", 35), ("remote", 20), ("either", 45)))
        r_sites: list[str] = [] if mode == "remote" else some_sites(rng.randint(1, 3))
        pattern = rng.random()
        availability: set[tuple[int, str]] = set()
        if pattern < 0.45:  # daytime on some weekdays
            for day in rng.sample(range(5), rng.randint(2, 5)):
                for part in ("morning", "afternoon"):
                    if rng.random() < 0.7:
                        availability.add((day, part))
        elif pattern < 0.65:  # works office hours: evenings only
            for day in rng.sample(range(5), rng.randint(2, 5)):
                availability.add((day, "evening"))
        else:  # anything goes
            for _ in range(rng.randint(3, 8)):
                availability.add(
                    (
                        rng.choices(range(7), (20, 20, 20, 20, 17, 2, 1))[0],
                        rng.choice(("morning", "afternoon", "evening")),
                    )
                )
        if not availability:
            availability.add((rng.randrange(5), "morning"))
        if rng.random() < multi_session_share:
            sessions = _pick(rng, ((2, 75), (3, 20), (4, 3), (5, 2)))
        else:
            sessions = 1
        weeks = min(int(rng.expovariate(1 / 11)), 78)
        row = {
            "id": f"r-{i + 1}",
            "service": rng.choice(service_names),
            "modality": _pick(rng, (("psychodynamic", 70), ("dit", 23), ("cat", 7))),
            "language": language,
            "needs_interpreter": interpreter,
            "gender_preference": preference,
            "mode": mode,
            "sites": r_sites,
            "availability": sorted([d, p] for d, p in availability),
            "sessions_per_week": sessions,
            "planned_start": (today_date + dt.timedelta(days=rng.randint(0, 21))).isoformat(),
            "risk": _pick(rng, (("low", 70), ("medium", 25), ("high", 5))),
        }
        if r_sites and rng.random() < 0.7:
            row["preferred_site"] = r_sites[0]
        if rng.random() < 0.3:
            row["preferred_parts"] = [rng.choice(sorted({p for _, p in availability}))]
        if rng.random() < 0.5:
            row["weeks_waiting"] = weeks
        else:
            row["referral_date"] = (
                today_date - dt.timedelta(days=7 * weeks + rng.randint(0, 6))
            ).isoformat()
        if rng.random() < 0.6:
            row["assessor"] = (
                rng.choice(therapist_ids)
                if therapist_ids and rng.random() < 0.3
                else f"a-{rng.randint(1, 40)}"
            )
        if therapist_ids and extra.random() < 0.04:  # a conflict of interest, a relative
            named = extra.sample(therapist_ids, min(len(therapist_ids), extra.randint(1, 2)))
            row["exclude_therapists"] = [
                {"therapist": tid, "reason": extra.choice(EXCLUSION_CODES)} for tid in named
            ]
        if extra.random() < 0.08:  # complex cases: a qualified therapist
            row["competence"] = "qualified" if extra.random() < 0.8 else "independent"
        if extra.random() < 0.05:
            row["specialism"] = extra.choice(SPECIALISMS)
        not_male = preference == "none" or preference["gender"] != "male"
        if extra.random() < 0.05 and strength != "required" and not_male:  # "not a man"
            row["gender_exclusion"] = ["male"]
        if timing.random() < 0.1:  # cannot start until after an operation, exams, a move
            later = today_date + dt.timedelta(days=timing.randint(14, 60))
            row["earliest_start"] = later.isoformat()
        if timing.random() < 0.4:  # a fixed course: 16 sessions of DIT, a year of therapy
            row["therapy_weeks"] = timing.choice((16, 16, 24, 52))
        # Languages from a fourth stream: a few clients need BSL as well as English.
        if words.random() < 0.01 and language != "bsl":
            row["bsl"] = True
        # Continuity from the same stream: with a therapist who assessed, a requirement or
        # no wish at all for a few.
        if r_sites and words.random() < 0.03:  # a wheelchair user: step-free sites only
            row["step_free"] = True
        if r_sites and words.random() < 0.1:  # travel times to the sites, and a limit
            row["travel_minutes"] = {s: words.choice((15, 30, 45, 60, 90)) for s in r_sites}
            row["max_travel_minutes"] = words.choice((30, 45, 60))
        wish = words.random()
        if row.get("assessor", "").startswith("t-") and wish < 0.15:
            row["continuity"] = "required" if wish < 0.1 else "none"
        # A complex case (docs/allocation.md, "Caseload mix").
        if mix.random() < 0.08 and caseload_mix:
            row["complex"] = True
        _exact_windows(row, clock)
        referral_rows.append(row)

    # The languages each service can book an interpreter for: the common ones, not the rarest.
    bookable = [code for code, weight in CLIENT_LANGUAGES if weight >= 4 and code != "english"]
    return {
        "today": today,
        "services": service_names,
        "sites": site_names,
        "interpreter_languages": {name: bookable for name in service_names},
        # Every other site has step-free access (the first, the hub, does).
        "step_free_sites": site_names[::2],
        "therapists": therapist_rows,
        "referrals": referral_rows,
    }
