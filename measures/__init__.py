"""Questionnaire definitions and scoring: PHQ-9, GAD-7, CORE-10 and WSAS.

Pure Python on purpose: no Django and no database, so the scoring rules can be read, tested
and reused (forms, reports, the outcome data set) without any setup.

Answers are given as one entry per item: the option chosen, counted from 0 in the order the
options are printed on the form; ``None`` when the item was missed or not asked;
``PREFER_NOT_TO_SAY`` when the person chose not to answer; and, for the WSAS work item only,
``NOT_APPLICABLE``. The scorer, not the form, applies reverse scoring, so the stored answer is
always what the person ticked.

Sources: the published scoring instructions of each measure, the CORE-10 user guide, Mundt et
al. (2002) for the WSAS and the NHS Talking Therapies manual for paired outcome definitions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final

__all__ = [
    "CORE10",
    "FINISHED_TREATMENT_SESSIONS",
    "GAD7",
    "GAD7_CASENESS",
    "GAD7_RELIABLE_CHANGE",
    "MEASURES",
    "NOT_APPLICABLE",
    "PHQ9",
    "PHQ9_CASENESS",
    "PHQ9_RELIABLE_CHANGE",
    "PREFER_NOT_TO_SAY",
    "WSAS",
    "Band",
    "Change",
    "ChangeLabel",
    "Measure",
    "MeasureError",
    "Pair",
    "Score",
    "classify_change",
    "finished_treatment",
    "get_measure",
    "score",
]

# Plain strings rather than object() sentinels so answers survive a round trip through JSON,
# form data and the database unchanged.
PREFER_NOT_TO_SAY: Final = "prefer_not_to_say"
NOT_APPLICABLE: Final = "not_applicable"

Answer = int | str | None
Total = int | float

PHQ9: Final = "phq9"
GAD7: Final = "gad7"
CORE10: Final = "core10"
WSAS: Final = "wsas"

# NHS Talking Therapies thresholds for paired PHQ-9 / GAD-7 outcomes.
PHQ9_CASENESS: Final = 10
GAD7_CASENESS: Final = 8
PHQ9_RELIABLE_CHANGE: Final = 6
GAD7_RELIABLE_CHANGE: Final = 4

# Attended treatment sessions needed to count as having finished a course of treatment.
FINISHED_TREATMENT_SESSIONS: Final = 2


class MeasureError(ValueError):
    """Bad input to the scorer: unknown measure, wrong item count or an invalid answer."""


@dataclass(frozen=True)
class Band:
    """A severity band: inclusive integer range ``low``..``high`` as published."""

    low: int
    high: int
    label: str

    def __iter__(self) -> Iterator[int | str]:
        # Lets a band be unpacked as the (low, high, label) triple the scoring guides print.
        return iter((self.low, self.high, self.label))


@dataclass(frozen=True)
class Measure:
    """One questionnaire as data. Item numbers in every field are 1-based, as on the form."""

    code: str
    name: str  # short name as printed, e.g. "PHQ-9"
    title: str
    timeframe: str
    items: tuple[str, ...]
    options: tuple[str, ...]
    bands: tuple[Band, ...]
    caseness_cutoff: int | None = None
    reverse_scored: frozenset[int] = frozenset()
    risk_items: tuple[int, ...] = ()
    not_applicable_items: frozenset[int] = frozenset()
    # How many items may lack a value and still give a total (by proration or substitution).
    max_items_lacking: int = 0
    notes: str = ""

    @property
    def item_count(self) -> int:
        return len(self.items)

    @property
    def item_min(self) -> int:
        return 0

    @property
    def item_max(self) -> int:
        return len(self.options) - 1

    @property
    def total_max(self) -> int:
        return self.item_count * self.item_max

    def item_score(self, item: int, option: int) -> int:
        """Score of ``option`` (0-based, printed order) on 1-based ``item``."""
        return self.item_max - option if item in self.reverse_scored else option

    def band_for(self, total: Total) -> str:
        """Label of the band holding ``total``.

        A total belongs to the highest band whose lower bound it reaches. For whole totals this
        is the published inclusive range; a prorated total between two ranges (CORE-10 14.4)
        stays in the lower band, which keeps banding in step with the caseness cut-off. WSAS
        words its top band "> 20", which this rule would misplace only for a total strictly
        between 20 and 21; none exists, as one-item substitution gives multiples of 1.25.
        """
        label = self.bands[0].label
        for band in self.bands:
            if total >= band.low:
                label = band.label
        return label

    def is_case(self, total: Total) -> bool | None:
        """Whether ``total`` is at or above the caseness cut-off; None when there is none."""
        return None if self.caseness_cutoff is None else total >= self.caseness_cutoff


_FREQUENCY_OPTIONS = ("Not at all", "Several days", "More than half the days", "Nearly every day")

_PHQ9_MEASURE = Measure(
    code=PHQ9,
    name="PHQ-9",
    title="Patient Health Questionnaire (depression)",
    timeframe="Over the last 2 weeks, how often have you been bothered by any of the following "
    "problems?",
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself, or that you are a failure or have let yourself or your "
        "family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed, or the opposite: "
        "being so fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
    ),
    options=_FREQUENCY_OPTIONS,
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
    caseness_cutoff=PHQ9_CASENESS,
    risk_items=(9,),
    notes="Item 9 is one signal of risk, never the only one: many people at risk score it 0.",
)

_GAD7_MEASURE = Measure(
    code=GAD7,
    name="GAD-7",
    title="Generalised Anxiety Disorder assessment",
    timeframe="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        "Feeling nervous, anxious or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ),
    options=_FREQUENCY_OPTIONS,
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 21, "severe"),
    ),
    caseness_cutoff=GAD7_CASENESS,
)

# CORE-10 is licensed CC BY-ND: item wordings must stay exactly as published.
_CORE10_MEASURE = Measure(
    code=CORE10,
    name="CORE-10",
    title="Clinical Outcomes in Routine Evaluation (psychological distress)",
    timeframe="Over the last week…",
    items=(
        "I have felt tense, anxious or nervous",
        "I have felt I have someone to turn to for support when needed",
        "I have felt able to cope when things go wrong",
        "Talking to people has felt too much for me",
        "I have felt panic or terror",
        "I made plans to end my life",
        "I have had difficulty getting to sleep or staying asleep",
        "I have felt despairing or hopeless",
        "I have felt unhappy",
        "Unwanted images or memories have been distressing me",
    ),
    options=("Not at all", "Only occasionally", "Sometimes", "Often", "Most or all of the time"),
    bands=(
        Band(0, 10, "low"),
        Band(11, 14, "mild"),
        Band(15, 19, "moderate"),
        Band(20, 24, "moderate-to-severe"),
        Band(25, 40, "severe"),
    ),
    caseness_cutoff=11,
    # Items 2 and 3 ask about support and coping, where "most or all of the time" is good news.
    reverse_scored=frozenset({2, 3}),
    risk_items=(6,),
    max_items_lacking=1,
)

_WSAS_MEASURE = Measure(
    code=WSAS,
    name="WSAS",
    title="Work and Social Adjustment Scale",
    # The WSAS prints no recall period; this asks about how things are now.
    timeframe="Thinking about how things are for you at the moment, how much do your "
    "difficulties get in the way of each of these?",
    items=(
        "Because of my difficulties, my ability to work is impaired",
        "Because of my difficulties, my home management (cleaning, tidying, shopping, cooking, "
        "looking after home or children, paying bills) is impaired",
        "Because of my difficulties, my social leisure activities (with other people, such as "
        "parties, outings, visits, dating, entertaining at home) are impaired",
        "Because of my difficulties, my private leisure activities (done alone, such as reading, "
        "gardening, collecting, sewing, walking alone) are impaired",
        "Because of my difficulties, my ability to form and maintain close relationships with "
        "others, including those I live with, is impaired",
    ),
    options=(
        "0: Not at all",
        "1",
        "2: Slightly",
        "3",
        "4: Definitely",
        "5",
        "6: Markedly",
        "7",
        "8: Very severely",
    ),
    bands=(
        Band(0, 9, "subclinical"),
        Band(10, 20, "significant impairment"),
        Band(21, 40, "moderately severe or worse"),
    ),
    # For people who are retired or choose not to work for reasons unrelated to their problem.
    not_applicable_items=frozenset({1}),
    max_items_lacking=1,
)

MEASURES: Final[Mapping[str, Measure]] = MappingProxyType(
    {m.code: m for m in (_PHQ9_MEASURE, _GAD7_MEASURE, _CORE10_MEASURE, _WSAS_MEASURE)}
)


def get_measure(code: str) -> Measure:
    """Registry lookup; accepts "phq9" as well as the printed "PHQ-9"."""
    if not isinstance(code, str):
        raise MeasureError(f"Measure code must be a string, got {type(code).__name__}")
    key = code.strip().lower().replace("-", "").replace("_", "")
    try:
        return MEASURES[key]
    except KeyError:
        known = ", ".join(m.name for m in MEASURES.values())
        raise MeasureError(f"Unknown measure {code!r}; known measures are {known}") from None


@dataclass(frozen=True)
class Score:
    """The result of scoring one completed questionnaire.

    ``total`` is None when withheld (see ``withheld_reason``); it is a float rounded to one
    decimal place when estimated from fewer items (``prorated``), otherwise an int.
    """

    code: str
    total: Total | None
    band: str | None
    caseness: bool | None
    risk_items_endorsed: tuple[int, ...]
    withheld_reason: str | None
    prorated: bool
    # Per item score after reverse scoring; None where the item has no value.
    item_scores: tuple[int | None, ...]
    missing_items: tuple[int, ...] = ()
    prefer_not_to_say_items: tuple[int, ...] = ()
    not_applicable_items: tuple[int, ...] = ()
    # Risk items with no value: a skipped risk question is worth a person's attention too.
    risk_items_unanswered: tuple[int, ...] = ()

    @property
    def answered(self) -> int:
        """Items that have a score (not missing, declined or not applicable)."""
        return sum(s is not None for s in self.item_scores)

    @property
    def missing(self) -> int:
        return len(self.missing_items)

    @property
    def prefer_not_to_say(self) -> int:
        return len(self.prefer_not_to_say_items)

    @property
    def not_applicable(self) -> int:
        return len(self.not_applicable_items)

    @property
    def withheld(self) -> bool:
        return self.total is None

    @property
    def risk_flag(self) -> bool:
        return bool(self.risk_items_endorsed)


def _round_half_up(value: Fraction) -> float:
    # Exact arithmetic: round() on floats uses banker's rounding and binary error (21.25 -> 21.2).
    return math.floor(value * 10 + Fraction(1, 2)) / 10


def _validate(measure: Measure, answers: Sequence[Answer]) -> None:
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise MeasureError(
            f"{measure.name} answers must be a sequence with one entry per item, "
            f"got {type(answers).__name__}"
        )
    if len(answers) != measure.item_count:
        raise MeasureError(
            f"{measure.name} has {measure.item_count} items but {len(answers)} answers were given"
        )
    for number, answer in enumerate(answers, start=1):
        if answer is None or answer == PREFER_NOT_TO_SAY:
            continue
        if answer == NOT_APPLICABLE:
            if number in measure.not_applicable_items:
                continue
            raise MeasureError(f"{measure.name} item {number} cannot be answered 'not applicable'")
        # bool is an int subclass, but True almost always means a form bug, not option 1.
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise MeasureError(
                f"{measure.name} item {number}: expected an option number, None or "
                f"PREFER_NOT_TO_SAY, got {answer!r} ({type(answer).__name__})"
            )
        if not measure.item_min <= answer <= measure.item_max:
            raise MeasureError(
                f"{measure.name} item {number}: option {answer} is out of range "
                f"{measure.item_min} to {measure.item_max}"
            )


def _items_phrase(numbers: Sequence[int], verb_phrase: str) -> str:
    listed = ", ".join(str(n) for n in numbers)
    if len(numbers) == 1:
        return f"1 item ({listed}) {verb_phrase.format(was='was')}"
    return f"{len(numbers)} items ({listed}) {verb_phrase.format(was='were')}"


def _withheld_reason(
    measure: Measure, missing: Sequence[int], declined: Sequence[int], not_applicable: Sequence[int]
) -> str:
    parts = []
    if missing:
        parts.append(_items_phrase(missing, "{was} not answered"))
    if declined:
        parts.append(_items_phrase(declined, "{was} answered 'prefer not to say'"))
    if not_applicable:
        parts.append(_items_phrase(not_applicable, "{was} marked not applicable"))
    what = " and ".join(parts)
    if measure.max_items_lacking == 0:
        rule = f"{measure.name} can be totalled only when every item is scored"
    elif measure.code == CORE10:
        rule = f"{measure.name} can be prorated only when at most one item is unscored"
    else:
        rule = (
            f"{measure.name} can substitute the mean of the other items for at most one "
            "unscored item"
        )
    return f"{what}; {rule}"


def score(code: str, answers: Sequence[Answer]) -> Score:
    """Score one questionnaire. Raises MeasureError on invalid input, never on missing items."""
    measure = get_measure(code)
    _validate(measure, answers)

    item_scores: list[int | None] = []
    missing: list[int] = []
    declined: list[int] = []
    not_applicable: list[int] = []
    for number, answer in enumerate(answers, start=1):
        if isinstance(answer, int):
            item_scores.append(measure.item_score(number, answer))
            continue
        item_scores.append(None)
        if answer is None:
            missing.append(number)
        elif answer == PREFER_NOT_TO_SAY:
            declined.append(number)
        else:
            not_applicable.append(number)

    # Risk is judged on the raw answers so that it is reported even when the total is withheld.
    risk_endorsed = tuple(
        n for n in measure.risk_items if isinstance(answers[n - 1], int) and answers[n - 1] > 0
    )
    risk_unanswered = tuple(n for n in measure.risk_items if item_scores[n - 1] is None)

    values = [s for s in item_scores if s is not None]
    lacking = measure.item_count - len(values)
    total: Total | None
    withheld_reason = None
    if lacking == 0:
        total = sum(values)
    elif lacking <= measure.max_items_lacking:
        # CORE-10 proration (sum * 10 / answered) and WSAS mean substitution (sum + mean of
        # the others) are the same arithmetic: sum * items / answered.
        total = _round_half_up(Fraction(sum(values) * measure.item_count, len(values)))
    else:
        total = None
        withheld_reason = _withheld_reason(measure, missing, declined, not_applicable)

    return Score(
        code=measure.code,
        total=total,
        band=None if total is None else measure.band_for(total),
        caseness=None if total is None else measure.is_case(total),
        risk_items_endorsed=risk_endorsed,
        withheld_reason=withheld_reason,
        prorated=total is not None and lacking > 0,
        item_scores=tuple(item_scores),
        missing_items=tuple(missing),
        prefer_not_to_say_items=tuple(declined),
        not_applicable_items=tuple(not_applicable),
        risk_items_unanswered=risk_unanswered,
    )


# --- Paired outcomes (NHS Talking Therapies) -------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """PHQ-9 and GAD-7 totals taken at the same time point."""

    phq9: int | None
    gad7: int | None


class ChangeLabel(StrEnum):
    RELIABLE_RECOVERY = "reliable recovery"
    RECOVERY = "recovery"  # recovery without reliable improvement
    RELIABLE_IMPROVEMENT = "reliable improvement"
    RELIABLE_DETERIORATION = "reliable deterioration"
    NO_RELIABLE_CHANGE = "no reliable change"


@dataclass(frozen=True)
class Change:
    """Paired first-to-last outcome. Changes are last minus first (negative is better)."""

    phq9_change: int
    gad7_change: int
    case_at_start: bool
    case_at_end: bool
    recovery: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    reliable_recovery: bool
    label: ChangeLabel
    note: str | None = None

    @property
    def not_caseness_at_start(self) -> bool:
        """True when recovery does not apply because the first scores were below caseness."""
        return not self.case_at_start


def _pair_totals(pair: object, which: str) -> tuple[int, int]:
    totals = []
    for key, name, top in (("phq9", "PHQ-9", 27), ("gad7", "GAD-7", 21)):
        value = pair.get(key) if isinstance(pair, Mapping) else getattr(pair, key, None)
        if value is None:
            raise MeasureError(f"The {which} {name} total is missing; both PHQ-9 and GAD-7 needed")
        if isinstance(value, bool) or not isinstance(value, int):
            raise MeasureError(f"The {which} {name} total must be an int, got {value!r}")
        if not 0 <= value <= top:
            raise MeasureError(f"The {which} {name} total {value} is out of range 0 to {top}")
        totals.append(value)
    return totals[0], totals[1]


def _is_case(phq9: int, gad7: int) -> bool:
    return phq9 >= PHQ9_CASENESS or gad7 >= GAD7_CASENESS


def classify_change(
    first: Pair | Mapping[str, int | None], last: Pair | Mapping[str, int | None]
) -> Change:
    """Classify first-to-last PHQ-9/GAD-7 change by the NHS Talking Therapies definitions.

    ``first`` and ``last`` may be a Pair, any object with ``phq9`` and ``gad7`` attributes, or
    a mapping with those keys.
    """
    phq_first, gad_first = _pair_totals(first, "first")
    phq_last, gad_last = _pair_totals(last, "last")
    phq_change = phq_last - phq_first
    gad_change = gad_last - gad_first

    case_at_start = _is_case(phq_first, gad_first)
    case_at_end = _is_case(phq_last, gad_last)
    recovery = case_at_start and not case_at_end

    deteriorated = phq_change >= PHQ9_RELIABLE_CHANGE or gad_change >= GAD7_RELIABLE_CHANGE
    improved = phq_change <= -PHQ9_RELIABLE_CHANGE or gad_change <= -GAD7_RELIABLE_CHANGE
    # A reliable fall on one measure does not count while the other reliably rises.
    reliable_improvement = improved and not deteriorated
    reliable_recovery = recovery and reliable_improvement

    if reliable_recovery:
        label = ChangeLabel.RELIABLE_RECOVERY
    elif recovery:
        label = ChangeLabel.RECOVERY
    elif reliable_improvement:
        label = ChangeLabel.RELIABLE_IMPROVEMENT
    elif deteriorated:
        label = ChangeLabel.RELIABLE_DETERIORATION
    else:
        label = ChangeLabel.NO_RELIABLE_CHANGE

    note = None
    if not case_at_start:
        note = (
            f"Not a case at the start (PHQ-9 below {PHQ9_CASENESS} and GAD-7 below "
            f"{GAD7_CASENESS}), so recovery does not apply."
        )
    return Change(
        phq9_change=phq_change,
        gad7_change=gad_change,
        case_at_start=case_at_start,
        case_at_end=case_at_end,
        recovery=recovery,
        reliable_improvement=reliable_improvement,
        reliable_deterioration=deteriorated,
        reliable_recovery=reliable_recovery,
        label=label,
        note=note,
    )


def finished_treatment(attended_sessions: int) -> bool:
    """Whether a course counts as finished treatment: at least two attended sessions."""
    if isinstance(attended_sessions, bool) or not isinstance(attended_sessions, int):
        raise MeasureError(f"attended_sessions must be an int, got {attended_sessions!r}")
    if attended_sessions < 0:
        raise MeasureError(f"attended_sessions cannot be negative, got {attended_sessions}")
    return attended_sessions >= FINISHED_TREATMENT_SESSIONS
