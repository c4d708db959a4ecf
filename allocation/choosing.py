"""The coordinator's choice of therapist for one referral, grouped and filtered by what
fits this client.

`choose_options` reads the referral and the service's team as the matching engine does
(`engine_input`), asks the pure `engine.fit` what each therapist meets and lacks, and
returns the therapists with a free place and free slots in groups, best fit first, each
with its free slots under it. Filters narrow what is shown; a therapist with a selected
slot is always shown, so a choice never disappears from the page. A fixed number of
queries whatever the size of the team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from allocation.engine import ProblemError, parse_problem
from allocation.engine.fit import SlotFit, TherapistFit, client_asks, therapist_fits
from allocation.engine_input import (
    _assessor,
    _interpreter_setting,
    _referral_row,
    referral_values,
    step_free_sites,
    team_input,
)
from allocation.models import Therapist, WeeklySlot
from allocation.selectors import NOTICE_DAYS, language_name
from common.models import Service
from intake.models import Referral

GROUPS = {
    "fits": "Fits everything this client asked for",
    "partly": "Fits partly",
    "other": "Other therapists with a free place",
}
REMOTE = "remote"


@dataclass(frozen=True)
class ChooseFilters:
    times: bool = False  # only therapists with a free slot in the client's available times
    language: str = ""  # a language code: only therapists who speak it
    place: str = ""  # "remote" or a site's name: only therapists with a free slot there
    # Only therapists who meet every requirement but the slots (which ``times`` and
    # ``place`` narrow): therapy, language, gender, the exclusions, sessions a week, leave.
    requirements: bool = False

    @property
    def active(self) -> bool:
        return bool(self.times or self.language or self.place or self.requirements)


@dataclass(frozen=True)
class SlotChoice:
    slot: WeeklySlot
    fit: SlotFit
    html_id: str  # the checkbox's id: id_slots_0 is the first one shown

    @property
    def value(self) -> str:
        return str(self.slot.public_id)

    @property
    def label(self) -> str:
        return self.fit.label

    @property
    def usable(self) -> bool:
        return self.fit.usable

    @property
    def note(self) -> str:
        return self.fit.note


@dataclass(frozen=True)
class TherapistChoice:
    therapist: Therapist
    fit: TherapistFit
    slots: list[SlotChoice]

    @property
    def fits(self) -> tuple[str, ...]:
        return self.fit.fits

    @property
    def lacks(self) -> tuple[str, ...]:
        return self.fit.lacks

    @property
    def free_places(self) -> int:
        return max(self.fit.therapist.capacity, 0)


@dataclass(frozen=True)
class ChoiceGroup:
    key: str
    title: str
    rows: list[TherapistChoice]
    open: bool = True  # the rest is collapsed unless it holds a selected slot


@dataclass
class ChoosePage:
    sessions_per_week: int
    filters: ChooseFilters
    groups: list[ChoiceGroup] = field(default_factory=list)
    unavailable: list[TherapistChoice] = field(default_factory=list)  # nothing to choose
    choosable: list[TherapistChoice] = field(default_factory=list)  # what the form accepts
    asks: list[tuple[str, str]] = field(default_factory=list)
    languages: list[tuple[str, str]] = field(default_factory=list)
    places: list[tuple[str, str]] = field(default_factory=list)
    shown: int = 0
    total: int = 0
    problem: str = ""  # why the fit could not be worked out, when it could not


def choose_options(
    *,
    user,
    referral: Referral,
    filters: ChooseFilters | None = None,
    selected: Iterable[str] = (),
    today: dt.date | None = None,
) -> ChoosePage:
    """The therapists the coordinator may choose for a referral of the user's service,
    grouped by fit and narrowed by ``filters`` (values not offered are ignored)."""
    filters = filters or ChooseFilters()
    selected = {str(s) for s in selected}
    today = today or timezone.localdate()
    service = Service.objects.select_related("allocation_settings").get(pk=referral.service_id)
    site_names = list(service.sites.order_by("name").values_list("name", flat=True))
    team = team_input(service=service, today=today)
    values = referral_values(Referral.objects.filter(pk=referral.pk)).first()
    zone = timezone.get_current_timezone()
    planned_start = today + dt.timedelta(days=NOTICE_DAYS)
    row = _referral_row(values, service, site_names, planned_start, today, zone, names=team.names)
    if isinstance(row, str):
        return ChoosePage(sessions_per_week=values["sessions"] or 1, filters=filters, problem=row)
    by_user = {t.user_id: team.names[t.pk] for t in team.therapists if t.user_id}
    _assessor(row, values, by_user)
    try:
        problem = parse_problem(
            {
                "today": today.isoformat(),
                "services": [service.slug],
                "sites": site_names,
                **_interpreter_setting(service, fetched=True),
                # Read only for a client who needs it: the page's queries stay fixed.
                "step_free_sites": step_free_sites(service) if row.get("step_free") else [],
                "therapists": team.rows,
                "referrals": [row],
            }
        )
    except ProblemError as error:
        return ChoosePage(
            sessions_per_week=row["sessions_per_week"], filters=filters, problem=str(error)
        )
    client = problem.referrals[0]
    models = {team.names[t.pk]: t for t in team.therapists}

    languages = {client.language} | {x for t in problem.therapists for x in t.languages}
    language_choices = [(code, language_name(code)) for code in sorted(languages) if code]
    place_choices = [(REMOTE, "Remote"), *((name, name) for name in site_names)]
    filters = ChooseFilters(
        times=filters.times,
        requirements=filters.requirements,
        language=filters.language if filters.language in languages else "",
        place=filters.place if filters.place in {v for v, _ in place_choices} else "",
    )

    page = ChoosePage(
        sessions_per_week=client.sessions_per_week,
        filters=filters,
        asks=_asks(
            client,
            recorded=bool(
                values["preferences__availability"] or values.get("preferences__time_windows")
            ),
        ),
        languages=language_choices,
        places=place_choices,
    )
    grouped: dict[str, list[TherapistChoice]] = {key: [] for key in GROUPS}
    counter = 0
    for fit in therapist_fits(client, problem.therapists):
        therapist = models[fit.therapist.id]
        if fit.tier == "unavailable":
            page.unavailable.append(TherapistChoice(therapist=therapist, fit=fit, slots=[]))
            continue
        slots = [SlotChoice(slot=team.slots[s.slot.id], fit=s, html_id="") for s in fit.slots]
        choice = TherapistChoice(therapist=therapist, fit=fit, slots=slots)
        page.choosable.append(choice)
        chosen = any(s.value in selected for s in slots)
        if not chosen and not _passes(fit, filters):
            continue
        # Checkbox ids in the order shown, so the error summary's link (id_slots_0)
        # reaches the first one on the page.
        numbered = []
        for s in slots:
            numbered.append(SlotChoice(slot=s.slot, fit=s.fit, html_id=f"id_slots_{counter}"))
            counter += 1
        grouped[fit.tier].append(TherapistChoice(therapist=therapist, fit=fit, slots=numbered))
    for key, title in GROUPS.items():
        rows = grouped[key]
        holds_choice = any(s.value in selected for r in rows for s in r.slots)
        page.groups.append(
            ChoiceGroup(key=key, title=title, rows=rows, open=key != "other" or holds_choice)
        )
    page.total = len(page.choosable)
    page.shown = sum(len(g.rows) for g in page.groups)
    return page


def _asks(client, *, recorded: bool) -> list[tuple[str, str]]:
    asks = client_asks(client)
    if not recorded:  # the engine then takes any weekday time to suit
        asks[0] = ("Available", "No times recorded: any weekday time is taken to suit")
    return asks


def _passes(fit: TherapistFit, filters: ChooseFilters) -> bool:
    if filters.times and not any(s.in_times for s in fit.slots):
        return False
    if filters.requirements and set(fit.missing) - {"slots"}:
        return False
    if filters.language and filters.language not in fit.therapist.languages:
        return False
    if filters.place:
        return any(s.slot.site == filters.place for s in fit.slots)
    return True
