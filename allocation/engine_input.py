"""The matching engine's problem for one service, read from the database.

`allocation_problem` reads the service's therapists (places, slots, leave, what they offer)
and its waiting list (needs, preferences, risk, how long each has waited) into the JSON
shape `allocation.engine.parse_problem` reads, with the maps back from the engine's ids to
rows. Read by the proposal task, which acts for no user; nothing here is scoped to one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    When,
)
from django.db.models.functions import JSONObject
from django.utils import timezone

from allocation.engine import PARTS
from allocation.engine.parse import window_from, windows_overlap
from allocation.engine.problem import Window, _hhmm
from allocation.models import (
    AllocationSettings,
    Hold,
    SiteAccess,
    Therapist,
    TherapistExclusion,
    WeeklySlot,
)
from allocation.selectors import (
    NOTICE_DAYS,
    WEEKDAY_CODES,
    booked_slot_ids,
    caseload_mix_counts,
    language_code,
    slot_label,
)
from common.models import Service
from intake.models import Referral

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
    today = today or timezone.localdate()
    planned_start = today + dt.timedelta(days=NOTICE_DAYS)
    site_names = list(service.sites.order_by("name").values_list("name", flat=True))
    team = team_input(service=service, today=today)
    by_user = {t.user_id: team.names[t.pk] for t in team.therapists if t.user_id}
    out = ProblemInput(
        data={},
        referrals={},
        therapists={team.names[t.pk]: t.pk for t in team.therapists},
        slots=team.slots,
        labels=team.labels,
    )

    rows = (
        referral_values(
            Referral.objects.filter(service=service, status=Referral.Status.AWAITING_ALLOCATION)
        )
        .filter(on_hold=False)
        .order_by("received_at", "id")
    )
    zone = timezone.get_current_timezone()
    referral_rows = []
    for values in rows:
        row = _referral_row(
            values, service, site_names, planned_start, today, zone, names=team.names
        )
        if isinstance(row, str):
            out.left_out[values["pk"]] = row
            continue
        _assessor(row, values, by_user)
        out.referrals[values["reference"]] = values["pk"]
        referral_rows.append(row)

    out.data = {
        "today": today.isoformat(),
        "services": [service.slug],
        "sites": site_names,
        **_interpreter_setting(service),
        "step_free_sites": step_free_sites(service),
        "therapists": team.rows,
        "referrals": referral_rows,
    }
    return out


def step_free_sites(service: Service) -> list[str]:
    """The names of the service's step-free sites."""
    return list(
        SiteAccess.objects.filter(site__service=service, step_free=True)
        .order_by("site__name")
        .values_list("site__name", flat=True)
    )


def _interpreter_setting(service: Service, *, fetched: bool = False) -> dict:
    """The problem's ``interpreter_languages`` for this service, when it has a list.
    ``fetched``: the service was read with ``select_related("allocation_settings")``."""
    if fetched:
        try:
            listed = service.allocation_settings.interpreter_languages
        except AllocationSettings.DoesNotExist:
            listed = None
    else:
        listed = (
            AllocationSettings.objects.filter(service=service)
            .values_list("interpreter_languages", flat=True)
            .first()
        )
    return {} if listed is None else {"interpreter_languages": {service.slug: listed}}


@dataclass
class TeamInput:
    """A service's therapists as the engine reads them, with the ways back to rows."""

    therapists: list[Therapist]  # by name, with sites, slots and leave prefetched
    names: dict[int, str]  # Therapist pk -> engine id (a unique name)
    rows: list[dict]  # the engine's therapist records, in the same order
    slots: dict[str, WeeklySlot]  # engine id (public id) -> free slot
    labels: dict[str, str]  # slot id -> its day and time, for messages


def team_input(*, service: Service, today: dt.date) -> TeamInput:
    """Every therapist profile of the service as the engine's records: the slots no
    allocation holds, the caseload from allocations, and leave that has not ended. A fixed
    number of queries whatever the size of the team."""
    mix = caseload_mix_counts(service_id=service.pk)  # sessions in use, high-risk, complex
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
    team = TeamInput(therapists=therapists, names=names, rows=[], slots={}, labels={})
    for therapist in therapists:
        slots = []
        for slot in therapist.slots.all():
            if slot.pk in booked:
                continue
            sid = str(slot.public_id)
            team.slots[sid] = slot
            team.labels[sid] = slot_label(slot.weekday, slot.start)
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
            "id": names[therapist.pk],
            "name": therapist.display_name,
            "service": service.slug,
            "modalities": [str(m).strip().lower() for m in therapist.modalities or []],
            "languages": [language_code(str(x)) for x in therapist.languages or []],
            "sites": [site.name for site in therapist.sites.all()],
            "remote": therapist.offers_remote,
            # Weekly sessions, and the sessions the current caseload already uses.
            "capacity": therapist.capacity,
            "caseload": mix.get(therapist.pk, (0, 0, 0))[0],
            **_caps(therapist, mix),
            "frequencies": list(therapist.frequencies or [1]),
            "grade": therapist.grade,
            "supervised": therapist.supervised or therapist.grade == Therapist.Grade.TRAINEE,
            "specialisms": list(therapist.specialisms or []),
            "slots": slots,
            # Leave and planned breaks alike: the engine checks them across each course.
            "leave": [
                {"start": p.starts_on.isoformat(), "end": p.ends_on.isoformat(), "notes": p.kind}
                for p in therapist.leave.all()
                if p.ends_on >= today
            ],
        }
        if therapist.gender != Therapist.Gender.NOT_STATED:
            row["gender"] = therapist.gender
        team.rows.append(row)
    return team


def referral_values(referrals):
    """Referrals as plain values with what the engine reads of each (``_referral_row``):
    preferences, the finished assessment's recommendation, an open hold or risk flag. Plain
    values, not model instances: a large waiting list builds several times faster."""
    from assessment.models import Assessment
    from intake.models import RiskFlag

    open_flag = RiskFlag.objects.filter(referral=OuterRef("pk"), acknowledged_at__isnull=True)
    open_hold = Hold.objects.filter(referral=OuterRef("pk"), released_at__isnull=True)
    # The named exclusions in the same query: (therapist pk, reason) per exclusion.
    exclusions = (
        TherapistExclusion.objects.filter(referral=OuterRef("pk"))
        .order_by("id")
        .values(pair=JSONObject(therapist="therapist_id", reason="reason"))
    )
    finished = Q(assessment__status=Assessment.Status.FINISHED)
    return referrals.annotate(
        open_flag=Exists(open_flag),
        # A restriction the client asked for (intake.rights) holds a referral like a hold.
        on_hold=ExpressionWrapper(
            Q(Exists(open_hold)) | Q(restricted_at__isnull=False), output_field=BooleanField()
        ),
        modality=Case(When(finished, then="assessment__recommendation_modality")),
        sessions=Case(When(finished, then="assessment__recommendation_sessions_per_week")),
        assessor=Case(When(finished, then="assessment__assessor_id")),
        exclusions=ArraySubquery(exclusions),
    ).values(
        "pk",
        "reference",
        "risk_level",
        "received_at",
        "open_flag",
        "on_hold",
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
        "preferences__time_windows",
        "preferences__preferred_windows",
        "exclusions",
        "allocation_needs__gender_excluded",
        "allocation_needs__competence",
        "allocation_needs__specialism",
        "allocation_needs__earliest_start",
        "allocation_needs__therapy_weeks",
        "allocation_needs__bsl",
        "allocation_needs__continuity",
        "allocation_needs__step_free",
        "allocation_needs__travel_minutes",
        "allocation_needs__max_travel_minutes",
        "allocation_needs__spoken_language",
        "allocation_needs__complex_case",
    )


GENDER_STRENGTHS = {"preference": "preferred", "requirement": "required"}
ALL_WEEKDAY_TIMES = [[day, part] for day in range(5) for part in PARTS]


def _risk_words(values: dict) -> str:
    """The risk as the referral list shows it (None known, Low, Medium, High), so a reason
    never calls a referral's risk something its own page does not."""
    words = f"risk: {Referral.Risk(values['risk_level']).label.lower()}"
    if values["open_flag"]:
        words += ", with a risk flag not yet acknowledged (ranked as high)"
    return words


def _assessor(row: dict, values: dict, by_user: dict) -> None:
    """The assessor's therapist id, for continuity; when continuity is required of an
    assessor without a therapist profile, a name no therapist has, so nobody is eligible
    and the reasons say why."""
    if values["assessor"] in by_user:
        row["assessor"] = by_user[values["assessor"]]
    elif row.get("continuity") == "required":
        row["assessor"] = "the assessor (no therapist profile)"


def _access(row: dict, values: dict) -> None:
    """Step-free access and travel (the coordinator's record), for in-person sessions."""
    if values.get("allocation_needs__step_free"):
        row["step_free"] = True
    limit = values.get("allocation_needs__max_travel_minutes")
    if limit:
        row["max_travel_minutes"] = limit
        travel = values.get("allocation_needs__travel_minutes") or {}
        known = set(row.get("sites", ()))
        minutes = {site: m for site, m in travel.items() if site in known}
        if minutes:
            row["travel_minutes"] = minutes


def _bsl_as_well(row: dict, values: dict) -> None:
    """BSL as well as a spoken language (the coordinator's record): the engine's ``bsl``,
    with the spoken language the client also uses in place of a recorded BSL."""
    if not values.get("allocation_needs__bsl"):
        return
    row["bsl"] = True
    if row.get("language", "bsl") == "bsl":
        # The recorded language (or interpreter) was BSL: the BSL need now says that.
        row["language"] = language_code(values.get("allocation_needs__spoken_language") or "")
        row["language"] = row["language"] or "english"
        row.pop("needs_interpreter", None)


def _caps(therapist: Therapist, mix: dict[int, tuple[int, int, int]]) -> dict:
    """The therapist's caps on high-risk and complex clients, with the clients of each kind
    already allocated (which count against them)."""
    _, high_risk, complex_ = mix.get(therapist.pk, (0, 0, 0))
    row = {}
    if therapist.max_high_risk is not None:
        row["max_high_risk"] = therapist.max_high_risk
        row["high_risk_caseload"] = high_risk
    if therapist.max_complex is not None:
        row["max_complex"] = therapist.max_complex
        row["complex_caseload"] = complex_
    return row


def _referral_row(values: dict, service, site_names, planned_start, today, zone, names=None):
    """The engine's record of one referral (from ``allocation_problem``'s values), or a
    sentence saying why it cannot be one. ``names`` maps therapist pks to the engine's ids,
    for the coordinator's exclusions."""
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
        "risk_words": _risk_words(values),
        "mode": "either",
        "sites": list(site_names),
        "availability": ALL_WEEKDAY_TIMES,
    }
    names = names or {}
    excluded = [
        {"therapist": names[pair["therapist"]], "reason": pair["reason"]}
        for pair in values.get("exclusions") or []
        if pair["therapist"] in names
    ]
    if excluded:
        row["exclude_therapists"] = excluded
    if values.get("allocation_needs__competence") not in (None, "", "any"):
        row["competence"] = values["allocation_needs__competence"]
    if values.get("allocation_needs__specialism"):
        row["specialism"] = values["allocation_needs__specialism"]
    continuity = values.get("allocation_needs__continuity")
    if continuity in ("required", "none") and (continuity == "none" or values["assessor"]):
        row["continuity"] = continuity
    if values.get("allocation_needs__gender_excluded"):
        row["gender_exclusion"] = list(values["allocation_needs__gender_excluded"])
    if values.get("allocation_needs__earliest_start"):
        row["earliest_start"] = values["allocation_needs__earliest_start"].isoformat()
    if values.get("allocation_needs__therapy_weeks"):
        row["therapy_weeks"] = values["allocation_needs__therapy_weeks"]
    if values.get("allocation_needs__complex_case"):
        row["complex"] = True
    if values["preferences__pk"] is None:
        _bsl_as_well(row, values)
        _access(row, values)
        return row
    language = language_code(values["preferences__language"])
    if values["preferences__interpreter_needed"]:
        interpreter = language_code(values["preferences__interpreter_language"])
        row["language"] = interpreter or language or "english"
        row["needs_interpreter"] = True
    elif language:
        row["language"] = language
    _bsl_as_well(row, values)
    _access(row, values)
    strength = GENDER_STRENGTHS.get(values["preferences__therapist_gender_strength"])
    gender = values["preferences__therapist_gender"]
    if strength and gender and gender not in row.get("gender_exclusion", ()):
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
    return _exact_times(row, values)


def windows_of(rows) -> list[Window]:
    """Recorded windows ({"day", "start", "end"}) as the engine's (day, start, end); a row
    that cannot be read raises ValueError saying what is wrong."""
    return [window_from(w.get("day"), w.get("start"), w.get("end")) for w in rows or []]


def window_rows(windows) -> list[dict]:
    """The engine's windows as recorded rows, for ``Preferences``."""
    return [{"day": day, "start": _hhmm(start), "end": _hhmm(end)} for day, start, end in windows]


def _exact_times(row: dict, values: dict):
    """The exact windows the coordinator recorded, in place of the parts of the day; and
    the preferred windows. A record that cannot be read is a sentence, not a crash."""
    exact = values.get("preferences__time_windows") or []
    preferred = values.get("preferences__preferred_windows") or []
    for rows, what in ((exact, "times"), (preferred, "preferred times")):
        try:
            overlap = windows_overlap(windows_of(rows))
        except ValueError as error:
            overlap = str(error)
        if overlap:
            return f"has recorded {what} that cannot be read ({overlap}); set them again"
    if exact:
        row["availability"] = []
        row["windows"] = exact
    if preferred:
        row["preferred_windows"] = preferred
    return row
