"""One service's eligibility matrices (``_Group``), and the placements made on them.

``_groups`` splits a problem by service (services share nothing). ``_Group`` builds, with
numpy, every hard constraint as a (therapist, referral) or (slot, referral) matrix, the
candidate (referral, slot) pairs and their values. ``_Plan`` is one service's placements
as the solvers return them; ``_plan_value`` is their objective value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocation.engine.problem import (
    CAP_KINDS,
    COMPETENCES,
    CONTINUITY,
    REMOTE,
    Problem,
    Slot,
)
from allocation.engine.scoring import _priorities

# Hard-constraint families, in the order the explanation funnel narrows the therapists
# (explain.py). At most sixteen: two bytes hold a therapist's failures for a referral
# (``explain._explain_unplaced``).
FAMILIES = (
    "modality",
    "competence",
    "language",
    "gender",
    "excluded",
    "continuity",
    "frequency",
    "leave",
    *CAP_KINDS,
    "capacity",
    "slots",
)

# Room under a cap that does not exist: more than any service's placements.
_NO_CAP = 1 << 40


def _groups(problem: Problem) -> dict[str, tuple[list[int], list[int]]]:
    """Referral and therapist positions per service: services never share anything."""
    groups: dict[str, tuple[list[int], list[int]]] = {}
    for i, r in enumerate(problem.referrals):
        groups.setdefault(r.service, ([], []))[0].append(i)
    for j, t in enumerate(problem.therapists):
        groups.setdefault(t.service, ([], []))[1].append(j)
    return groups


def _codes(values: Iterable[str]) -> dict[str, int]:
    table: dict[str, int] = {}
    for v in values:
        table.setdefault(v, len(table))
    return table


def _off_leave(spans: np.ndarray, leave: np.ndarray, T: int) -> np.ndarray:
    """(T, R): True where no leave or break of the therapist falls inside the referral's
    planned course (its start to its end, or the horizon of an open-ended course).

    ``spans``: each referral's course as (first, last) day ordinals, (0, 0) if undated;
    ``leave``: (therapist position, first, last) per leave period.
    """
    R = len(spans)
    if not len(leave):
        return np.ones((T, R), dtype=bool)
    # Referrals share few distinct courses: test each leave period once per course.
    uniq, inverse = np.unique(spans, axis=0, return_inverse=True)
    first, last = uniq[:, 0], uniq[:, 1]
    dated = first > 0
    by_course = np.zeros((T, len(uniq)), dtype=bool)
    for j, a, b in leave.tolist():
        by_course[j] |= dated & (first <= b) & (last >= a)
    return np.take(~by_course, inverse.reshape(-1), axis=1)


def _has_days(
    s_t: np.ndarray, s_day: np.ndarray, usable: np.ndarray, r_k: np.ndarray, T: int
) -> np.ndarray:
    """(T, R): the therapist has usable slots on at least as many distinct days as the
    referral's sessions a week. For a weekly referral, any usable slot: each therapist's
    slots are one run; the others count days (``_distinct_days``)."""
    out = np.zeros((T, usable.shape[1]), dtype=bool)
    if len(s_t):
        head = np.r_[True, s_t[1:] != s_t[:-1]]
        group = np.cumsum(head) - 1  # the therapist's run of each slot
        per_t = usable[head]  # a copy; OR in the therapist's other slots
        for s in np.flatnonzero(~head).tolist():
            per_t[group[s]] |= usable[s]
        out[s_t[head]] = per_t
        several = np.flatnonzero(r_k != 1)
        if len(several):
            days = _distinct_days(s_t, s_day, usable[:, several], T)
            out[:, several] = days >= r_k[several][None, :]
    return out


def _distinct_days(s_t: np.ndarray, s_day: np.ndarray, usable: np.ndarray, T: int) -> np.ndarray:
    """(T, R): distinct days with a usable slot, per therapist (k sessions need k days).

    ``s_t`` and ``s_day`` are each slot's therapist and day, slots ordered by therapist
    then day; ``usable`` is the (S, R) matrix of slots each referral can take.
    """
    days = np.zeros((T, usable.shape[1]), dtype=np.int16)
    if len(s_t):
        key = s_t * 7 + s_day
        first = np.r_[True, key[1:] != key[:-1]]
        group = np.cumsum(first) - 1  # (therapist, day) group of each slot
        per_day = usable[first]  # a copy; OR in the other slots of the same day
        for s in np.flatnonzero(~first).tolist():
            per_day[group[s]] |= usable[s]
        owner = s_t[first]
        # Sum each therapist's day rows: a therapist has at most seven, so add the
        # j-th day row of every therapist that has one, for j = 0..6.
        head = np.r_[True, owner[1:] != owner[:-1]]
        start = np.flatnonzero(head)
        count = np.diff(np.r_[start, len(owner)])
        for j in range(int(count.max())):
            has = count > j
            days[owner[start[has]]] += per_day[start[has] + j]
    return days


def _slot_classes(slots: Sequence[Slot]) -> tuple[np.ndarray, np.ndarray]:
    """Each slot's time class, and the classes as a (K, 3) array of (day, start, end)."""
    keys = np.fromiter(
        itertools.chain.from_iterable((s.day, s.start, s.end) for s in slots),
        np.int64,
        3 * len(slots),
    ).reshape(-1, 3)
    if not len(slots):
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
    classes, inverse = np.unique(keys, axis=0, return_inverse=True)
    return inverse.reshape(-1), classes


def _time_classes(classes: np.ndarray, windows: Sequence[tuple]) -> np.ndarray:
    """(K, R): slot class k lies wholly inside one of referral r's (joined) windows.

    Referrals share few distinct windows (the parts of the day, a coordinator's usual
    evening), so each distinct window is matched against the classes once, and its
    referrals' columns are set from that one (K,) mask.
    """
    K, R = len(classes), len(windows)
    out = np.zeros((K, R), dtype=bool)
    if not K:
        return out
    day, start, end = classes[:, 0], classes[:, 1], classes[:, 2]
    holders: dict[tuple, list[int]] = {}
    for i, own in enumerate(windows):
        for w in own:
            holders.setdefault(w, []).append(i)
    for (d, a, b), rows in holders.items():
        inside = np.flatnonzero((day == d) & (start >= a) & (end <= b))
        if len(inside):
            out[np.ix_(inside, np.asarray(rows))] = True
    return out


class _Inputs:
    """The per-referral and per-therapist inputs of a set of referrals and therapists (one
    service), computed once: every ``_Group`` built on a subset of them (a round of
    pruning, a chunk of referrals checked or explained) slices these instead of walking
    its records again. Codes (modality, language, gender, site, specialism) are shared by
    the whole set; only equal codes are ever compared, so a subset's matrices are the same
    as if it had coded its own. Referral arrays are indexed by position in ``ref_ids``,
    therapist arrays by position in ``ther_ids``, slot arrays by slot (all therapists'
    slots, ordered by therapist, then day, then start)."""

    def __init__(self, problem: Problem, ref_ids: Sequence[int], ther_ids: Sequence[int]):
        self.ref_ids = np.asarray(ref_ids, dtype=np.int64)
        self.ther_ids = np.asarray(ther_ids, dtype=np.int64)
        refs = [problem.referrals[i] for i in ref_ids]
        thers = [problem.therapists[i] for i in ther_ids]
        self.refs, self.thers = refs, thers
        R, T = len(refs), len(thers)
        # Problem position -> position here (-1: not here).
        self.ref_pos = np.full(len(problem.referrals), -1, dtype=np.int64)
        self.ref_pos[self.ref_ids] = np.arange(R)
        self.ther_pos = np.full(len(problem.therapists), -1, dtype=np.int64)
        self.ther_pos[self.ther_ids] = np.arange(T)

        chain = itertools.chain
        modality = _codes(chain((r.modality for r in refs), *(t.modalities for t in thers)))
        language = _codes(chain((r.language for r in refs), *(t.languages for t in thers)))
        gender = _codes(
            chain(
                (r.gender for r in refs if r.gender),
                (t.gender for t in thers if t.gender),
                *(r.gender_excluded for r in refs),
            )
        )
        site = _codes(chain(*(r.sites for r in refs), *(t.sites for t in thers)))
        specialism = _codes(
            chain((r.specialism for r in refs if r.specialism), *(t.specialisms for t in thers))
        )
        self.n_gender = len(gender)
        self.bsl = language.get("bsl")

        t_mod = np.zeros((len(modality), T), dtype=bool)
        t_lang = np.zeros((len(language), T), dtype=bool)
        t_freq = np.zeros((6, T), dtype=bool)
        t_gender = np.full(T, -1, dtype=np.int64)
        t_cap = np.zeros(T, dtype=np.int64)
        t_spec = np.zeros((len(specialism) + 1, T), dtype=bool)
        t_spec[len(specialism)] = True  # the last row: no specialism required
        for j, t in enumerate(thers):
            t_mod[[modality[m] for m in t.modalities], j] = True
            t_lang[[language[x] for x in t.languages], j] = True
            t_freq[list(t.frequencies), j] = True
            if t.gender is not None:
                t_gender[j] = gender[t.gender]
            t_cap[j] = t.capacity
            t_spec[[specialism[x] for x in t.specialisms], j] = True
        self.t_mod, self.t_lang, self.t_freq, self.t_spec = t_mod, t_lang, t_freq, t_spec
        self.t_gender, self.t_cap = t_gender, t_cap
        self.t_level = np.fromiter((t.level for t in thers), np.int64, T)
        self.t_room = {
            kind: np.fromiter(
                (_NO_CAP if x is None else x for x in (t.cap_room(kind) for t in thers)),
                np.int64,
                T,
            )
            for kind in CAP_KINDS
        }
        self.leave = np.asarray(
            [(j, a.toordinal(), b.toordinal()) for j, t in enumerate(thers) for a, b in t.leave],
            dtype=np.int64,
        ).reshape(-1, 3)

        def column(values: Iterable[Any], dtype: Any = np.int64) -> np.ndarray:
            return np.fromiter(values, dtype, R)

        self.r_mod = column(modality[r.modality] for r in refs)
        self.r_lang = column(language[r.language] for r in refs)
        self.r_interp = column((r.needs_interpreter for r in refs), bool)
        # An interpreter the service can book (``interpreter_languages``): any therapist.
        self.r_booked = column((r.interpreter_ok for r in refs), bool)
        self.r_k = column(r.sessions_per_week for r in refs)
        self.r_greq = column(
            gender[r.gender] if r.gender_strength == "required" else -2 for r in refs
        )
        self.r_gpref = column(
            gender[r.gender] if r.gender_strength == "preferred" else -2 for r in refs
        )
        self.priority = _priorities(refs, problem.weights)
        self.r_bsl_need = column((r.bsl and not r.bsl_bookable for r in refs), bool)
        self.r_bsl = column((r.bsl for r in refs), bool)
        self.r_pref_site = column(
            site[r.preferred_site] + 1 if r.preferred_site is not None else -1 for r in refs
        )
        # The assessor's position here (-1: none, or not a therapist here).
        ther_at = {t.id: j for j, t in enumerate(thers)}
        self.r_assessor = column(ther_at.get(r.assessor, -1) if r.assessor else -1 for r in refs)
        self.r_cont = column((CONTINUITY.index(r.continuity) for r in refs), np.int64)
        self.r_level = column(COMPETENCES.index(r.competence) for r in refs)
        self.r_spec = column(
            specialism[r.specialism] if r.specialism else len(specialism) for r in refs
        )
        self.r_asks_competence = column(
            (r.competence != "any" or bool(r.specialism) for r in refs), bool
        )
        self.r_kind = {kind: column((r.is_kind(kind) for r in refs), bool) for kind in CAP_KINDS}
        spans = np.zeros((R, 2), dtype=np.int64)
        for i, r in enumerate(refs):
            if r.planned_start is not None:
                spans[i] = (r.planned_start.toordinal(), r.course_end.toordinal())
        self.spans = spans

        def scatter(rows: int, cells: Iterable[tuple[int, int]]) -> np.ndarray:
            matrix = np.zeros((rows, R), dtype=bool)
            flat = [a * R + i for a, i in cells]
            matrix.reshape(-1)[flat] = True
            return matrix

        n_sites = len(site) + 1  # code 0 is "remote"
        self.r_site = scatter(
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
        # Gender exclusions ("not a man"): row g holds the referrals excluding gender g;
        # the last row, for therapists whose gender is not recorded, every referral with any.
        self.r_gex = scatter(
            len(gender) + 1,
            chain(
                ((gender[x], i) for i, r in enumerate(refs) for x in r.gender_excluded),
                ((len(gender), i) for i, r in enumerate(refs) if r.gender_excluded),
            ),
        )
        self.r_has_gex = self.r_gex[len(gender)].copy()
        # Named exclusions: (therapist position here, referral position) per cell, and
        # which referrals name anyone (here or not).
        cells = [
            (ther_at[tid], i)
            for i, r in enumerate(refs)
            for tid, _ in r.exclusions
            if tid in ther_at
        ]
        self.excluded = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
        self.r_has_excl = column((bool(r.exclusions) for r in refs), bool)

        # Slots, ordered by therapist then (day, start): Therapist.slots is already sorted.
        all_slots = [s for t in thers for s in t.slots]
        S = len(all_slots)
        self.slots = all_slots
        self.s_t = np.asarray([j for j, t in enumerate(thers) for _ in t.slots], dtype=np.int64)
        self.s_day = np.fromiter((s.day for s in all_slots), np.int64, S)
        self.s_class, classes = _slot_classes(all_slots)
        self.s_site = np.fromiter(
            (0 if s.site == REMOTE else site[s.site] + 1 for s in all_slots), np.int64, S
        )
        self.t_slot_start = np.searchsorted(self.s_t, np.arange(T + 1))
        # (time classes, R): the class lies inside one of the client's windows, or one of
        # their preferred windows.
        self.r_avail = _time_classes(classes, [r.windows for r in refs])
        self.r_pref_part = _time_classes(classes, [r.preferred_windows for r in refs])

    def take(self, ref_ids: Sequence[int], ther_ids: Sequence[int]):
        """Positions here of these referrals and therapists (problem positions), and the
        positions here of the therapists' slots, in order; each None when they are all of
        them, in order (nothing to slice). None if some of them are not here."""
        ri = self.ref_pos[np.asarray(ref_ids, dtype=np.int64)]
        ti = self.ther_pos[np.asarray(ther_ids, dtype=np.int64)]
        if (ri < 0).any() or (ti < 0).any():
            return None  # some are not here
        T = len(self.thers)
        if len(ti) == T and (ti == np.arange(T)).all():
            ti = si = None
        else:
            starts, ends = self.t_slot_start[ti], self.t_slot_start[ti + 1]
            lengths = ends - starts
            si = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
                int(lengths.sum())
            )
        if len(ri) == len(self.refs) and (ri == np.arange(len(ri))).all():
            ri = None
        return ri, ti, si


class _Meets(Mapping):
    """Per family, the ``(T, R)`` matrix of who meets it. The families read off a small
    table of the referral's code (modality, language, competence, frequency, the caps,
    capacity) are spread to ``(T, R)`` only when read: the explanations read their failure
    bits off the tables instead (``table_bits``), spread once for all of them."""

    def __init__(self, order, matrices, tables, joint, spread):
        self._order = order
        self._matrices, self._tables, self._spread = matrices, tables, spread
        self._joint = joint  # (per joint code, a referral holding it; each referral's code)
        self.lazy = frozenset(tables)

    def __getitem__(self, family: str) -> np.ndarray:
        matrix = self._matrices.get(family)
        if matrix is None:
            table, code = self._tables[family]
            matrix = self._matrices[family] = self._spread(table, code)
        return matrix

    def __contains__(self, family: object) -> bool:
        return family in self._matrices or family in self._tables

    def __iter__(self) -> Iterator[str]:
        return (family for family in self._order if family in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def table_bits(self, bits: dict[str, int], rows: np.ndarray) -> np.ndarray:
        """``(T, len(rows))`` uint16: bit ``bits[family]`` set where the therapist meets
        that table family, for the referrals ``rows``; worked out per joint code of the
        referrals, then spread once."""
        first, joint = self._joint
        T = next(iter(self._tables.values()))[0].shape[1]
        by_code = np.zeros((len(first), T), dtype=np.uint16)
        for family, j in bits.items():
            table, code = self._tables[family]
            by_code |= table[code[first]].astype(np.uint16) << np.uint16(j)
        return np.take(np.ascontiguousarray(by_code.T), joint[rows], axis=1)


class _Group:
    """Eligibility matrices for the referrals and therapists of one service.

    Matrices are therapist-major ``(T, R)`` or slot-major ``(S, R)``, with referrals as
    columns ("rows" in the code means referral positions in this group). Slots are ordered
    by therapist, then day, then start, so a therapist's slots are contiguous.
    """

    def __init__(
        self,
        problem: Problem,
        ref_ids: Sequence[int],
        ther_ids: Sequence[int],
        inputs: _Inputs | None = None,
        eligible_only: bool = False,
    ):
        """``inputs``: the service's inputs (``_Inputs``) holding these referrals and
        therapists, shared by the groups built on parts of it; built here if not given.
        ``eligible_only``: stop once ``eligible`` is known (no family matrices but gender's,
        no candidate slots): for a count of who fits where, and nothing else."""
        self.problem = problem
        taken = inputs.take(ref_ids, ther_ids) if inputs is not None else None
        if taken is None:
            inputs = _Inputs(problem, ref_ids, ther_ids)
            taken = inputs.take(ref_ids, ther_ids)
        ri, ti, si = taken
        self.inputs = inputs
        self.ref_ids = np.asarray(ref_ids, dtype=np.int64)
        self.ther_ids = np.asarray(ther_ids, dtype=np.int64)
        refs = [problem.referrals[i] for i in ref_ids]
        thers = [problem.therapists[i] for i in ther_ids]
        self.refs, self.thers = refs, thers
        R, T = len(refs), len(thers)

        def rcol(a: np.ndarray) -> np.ndarray:  # per referral
            return a.copy() if ri is None else a[ri]

        def rmat(a: np.ndarray) -> np.ndarray:  # (rows, referrals)
            return a if ri is None else a[:, ri]

        def tcol(a: np.ndarray) -> np.ndarray:  # per therapist
            return a.copy() if ti is None else a[ti]

        def tmat(a: np.ndarray) -> np.ndarray:  # (rows, therapists)
            return a if ti is None else a[:, ti]

        # Input positions -> positions in this group (-1: not in it).
        if ti is None:
            t_at = np.arange(len(inputs.thers))
        else:
            t_at = np.full(len(inputs.thers), -1, dtype=np.int64)
            t_at[ti] = np.arange(T)

        t_mod, t_lang, t_freq = tmat(inputs.t_mod), tmat(inputs.t_lang), tmat(inputs.t_freq)
        t_gender, t_cap = tcol(inputs.t_gender), tcol(inputs.t_cap)
        self.t_cap = t_cap

        r_mod, r_lang = rcol(inputs.r_mod), rcol(inputs.r_lang)
        r_interp = rcol(inputs.r_interp)
        # An interpreter the service can book (``interpreter_languages``): any therapist.
        r_booked = rcol(inputs.r_booked)
        r_k = rcol(inputs.r_k)
        r_greq, r_gpref = rcol(inputs.r_greq), rcol(inputs.r_gpref)
        self.r_k = r_k
        self.priority = rcol(inputs.priority)

        # Slots, ordered by therapist then (day, start): Therapist.slots is already sorted.
        if si is None:
            self.s_t = inputs.s_t.copy()
            self.slots = list(inputs.slots)
            s_class = inputs.s_class
        else:
            self.s_t = t_at[inputs.s_t[si]]
            self.slots = [inputs.slots[s] for s in si.tolist()]
            s_class = inputs.s_class[si]
        self.s_day = inputs.s_day.copy() if si is None else inputs.s_day[si]
        self.s_site = inputs.s_site.copy() if si is None else inputs.s_site[si]
        # Each slot's time class: slots of the same day, start and end share one, and the
        # client's windows are matched once per class (``_time_classes``): the classes of
        # this group's slots, in the inputs' (sorted) order. The solvers read it, and
        # ``r_pref_part`` below, under these names.
        used, s_part = np.unique(s_class, return_inverse=True)
        self.s_part = s_part.reshape(-1).astype(np.int64)
        self.t_slot_start = np.searchsorted(self.s_t, np.arange(T + 1))
        rows = used if ri is None else np.ix_(used, ri)
        r_avail = inputs.r_avail[rows]
        r_site = rmat(inputs.r_site)
        # (time classes, R): the class lies inside one of the client's preferred windows.
        r_pref_part = inputs.r_pref_part[rows]
        r_pref_site = rcol(inputs.r_pref_site)
        assessor = rcol(inputs.r_assessor)
        r_assessor = np.append(t_at, -1)[assessor]  # -1 (none) reads the -1 appended
        # Continuity: a requirement keeps only the assessor (-1: not a therapist here, so
        # nobody); a wish scores the fit bonus; "none" neither.
        r_cont = rcol(inputs.r_cont)
        self.r_pref_site = r_pref_site
        self.r_pref_part = r_pref_part

        # Pair-level hard constraints, one (T, R) matrix per family (True = meets).
        leave = inputs.leave
        if ti is not None and len(leave):
            leave = leave[t_at[leave[:, 0]] >= 0]
            leave = np.column_stack([t_at[leave[:, 0]], leave[:, 1:]])
        has_leave = len(leave) > 0
        meets_leave = _off_leave(rcol(inputs.spans), leave, T)

        def spread(by_code: np.ndarray, codes: np.ndarray) -> np.ndarray:
            # (codes, T) -> (T, R), C-ordered like every other matrix here: mixed memory
            # layouts make the elementwise work below several times slower.
            return np.take(np.ascontiguousarray(by_code.T), codes, axis=1)

        signs = t_lang[inputs.bsl] if inputs.bsl is not None else np.zeros(T, dtype=bool)
        r_bsl_need = rcol(inputs.r_bsl_need)
        r_bsl = rcol(inputs.r_bsl)
        # The coordinators' requirements, computed only when some referral has them: the
        # rest of the time the family is met by everyone (a read-only view, no memory),
        # and the explanations skip it (``trivial``).
        everyone = np.broadcast_to(np.True_, (T, R))
        self.trivial: set[str] = set()
        # The families that depend on the therapist and a small code of the referral: each
        # a (codes, T) table of who meets it, spread to (T, R) in one pass.
        tables: dict[str, tuple[np.ndarray, np.ndarray]] = {"modality": (t_mod, r_mod)}
        # Language: a therapist who speaks it, or an interpreter the service can book; and
        # with BSL as well as a spoken language, a therapist who signs or a BSL interpreter
        # the service can book.
        lang_code = r_lang * 4 + r_booked * 2 + r_bsl_need
        codes, lang_code = np.unique(lang_code, return_inverse=True)
        booked, need = (codes // 2) % 2 == 1, codes % 2 == 1
        tables["language"] = (
            (t_lang[codes // 4] | booked[:, None]) & (signs[None, :] | ~need[:, None]),
            lang_code.reshape(-1),
        )
        # Gender required: the therapist's gender (the last row: none required).
        n_gender = inputs.n_gender
        tables["gender"] = (
            np.vstack(
                [t_gender[None, :] == np.arange(n_gender)[:, None], np.ones((1, T), dtype=bool)]
            ),
            np.where(r_greq == -2, n_gender, r_greq),
        )
        # Competence: a level (trainee, supervised, independent) and a required specialism.
        if rcol(inputs.r_asks_competence).any():
            t_spec = tmat(inputs.t_spec)
            n_spec = len(t_spec)
            codes, comp_code = np.unique(
                rcol(inputs.r_level) * n_spec + rcol(inputs.r_spec), return_inverse=True
            )
            tables["competence"] = (
                (tcol(inputs.t_level)[None, :] >= (codes // n_spec)[:, None])
                & t_spec[codes % n_spec],
                comp_code.reshape(-1),
            )
        else:
            self.trivial.add("competence")
        tables["frequency"] = (t_freq, r_k)
        # Weekly sessions: a client seen k times a week needs k free sessions.
        tables["capacity"] = (t_cap[None, :] >= np.arange(6)[:, None], r_k)
        # The caseload-mix caps: per kind, which referrals count (``r_kind``), each
        # therapist's free places under the cap (``t_room``, ``_NO_CAP`` without one), and
        # the family "has room" (trivial where no cap or no such client).
        self.r_kind = {kind: rcol(inputs.r_kind[kind]) for kind in CAP_KINDS}
        self.t_room = {kind: tcol(inputs.t_room[kind]) for kind in CAP_KINDS}
        for kind in CAP_KINDS:
            counts, room = self.r_kind[kind], self.t_room[kind]
            if counts.any() and (room < _NO_CAP).any():
                has_room = np.vstack([np.ones((1, T), dtype=bool), (room > 0)[None, :]])
                tables[kind] = (has_room, counts.astype(np.int64))
            else:
                self.trivial.add(kind)
        # Gender is spread now (exclusions change it); the others when read (``_Meets``).
        meets = {"gender": spread(*tables["gender"])}
        gender_ok = meets["gender"]
        if rcol(inputs.r_has_gex).any():
            # Gender exclusions ("not a man"): row g holds the referrals excluding gender g;
            # the last row, for therapists whose gender is not recorded, every referral
            # with any.
            r_gex = rmat(inputs.r_gex)
            gender_ok &= ~r_gex[np.where(t_gender >= 0, t_gender, n_gender)]
        # Named exclusions (a conflict of interest, a complaint, a relative): one cell each.
        if rcol(inputs.r_has_excl).any():
            cells = inputs.excluded
            if ri is None:
                r_at = np.arange(len(inputs.refs))
            else:
                r_at = np.full(len(inputs.refs), -1, dtype=np.int64)
                r_at[ri] = np.arange(R)
            t_cell, r_cell = t_at[cells[:, 0]], r_at[cells[:, 1]]
            keep = (t_cell >= 0) & (r_cell >= 0)
            not_excluded = np.ones((T, R), dtype=bool)
            not_excluded[t_cell[keep], r_cell[keep]] = False
        else:
            not_excluded = everyone
            self.trivial.add("excluded")
        required = r_cont == 2
        if required.any():
            # Only the assessor (-1: not a therapist here, so nobody).
            continuity_ok = np.repeat(~required[None, :], T, axis=0)
            rows = np.flatnonzero(required & (r_assessor >= 0))
            continuity_ok[r_assessor[rows], rows] = True
        else:
            continuity_ok = everyone
            self.trivial.add("continuity")
        for kind in CAP_KINDS:
            if kind in self.trivial:
                meets[kind] = everyone
        if "competence" in self.trivial:
            meets["competence"] = everyone
        meets.update(
            {
                "excluded": not_excluded,
                "continuity": continuity_ok,
                "leave": meets_leave,
            }
        )
        # Every family met: the table families at once, by their joint code (a therapist
        # meets a joint code where it meets each family's), then the others.
        joint = np.zeros(R, dtype=np.int64)
        for table, code in tables.values():
            joint = joint * len(table) + code
        codes, first, joint = np.unique(joint, return_index=True, return_inverse=True)
        joint = joint.reshape(-1)
        both = np.ones((len(codes), T), dtype=bool)
        for table, code in tables.values():
            both &= table[code[first]]
        pair_ok = spread(both, joint)
        lazy = {} if eligible_only else {f: v for f, v in tables.items() if f != "gender"}
        self.meets = _Meets(
            FAMILIES,
            meets,
            lazy,
            (first, joint),
            spread,
        )
        if rcol(inputs.r_has_gex).any():
            pair_ok &= gender_ok
        for family, matrix in (("excluded", not_excluded), ("continuity", continuity_ok)):
            if family not in self.trivial:
                pair_ok &= matrix
        if has_leave:
            pair_ok &= meets_leave
        # Slot level: at an acceptable place and inside the client's availability. Slots
        # of one time class at one site are usable by the same referrals: computed once
        # per such pair.
        n_site = len(r_site)
        codes, pair = np.unique(self.s_part * n_site + self.s_site, return_inverse=True)
        usable = (r_avail[codes // n_site] & r_site[codes % n_site])[pair.reshape(-1)]
        meets["slots"] = _has_days(self.s_t, self.s_day, usable, r_k, T)
        self.eligible = pair_ok & meets["slots"]
        if eligible_only:
            return
        # Usable slots of eligible therapists: the candidate (referral, slot) pairs.
        S = len(self.slots)
        self.ok = np.logical_and(usable, self.eligible[self.s_t], out=usable) if S else usable
        self.special = self._special()

        self.t_gender, self.t_lang = t_gender, t_lang
        self.r_gpref, self.r_assessor, self.r_interp, self.r_lang = (
            r_gpref,
            np.where(r_cont > 0, r_assessor, -1),  # the bonus: a wish or a requirement
            r_interp,
            r_lang,
        )
        # The language fit point: the client needs an interpreter or BSL, and the therapist
        # speaks (and signs) so that no interpreter is needed.
        self.r_bsl = r_bsl
        self.t_signs = signs
        self.r_wants_direct = r_interp | r_bsl

    def _special(self) -> np.ndarray:
        """Referrals the exact weekly flow cannot place: those seen more than once a week,
        and those of a kind some therapist they fit with caps below what could reach it
        (fewer places under the cap than such clients eligible there, and than its free
        sessions). Every other referral is placed exactly by the flow around them."""
        special = self.r_k > 1
        for kind in CAP_KINDS:
            if kind in self.trivial:
                continue
            counts = self.r_kind[kind]
            reach = self.eligible[:, counts].sum(axis=1)
            binding = self.t_room[kind] < np.minimum(reach, self.t_cap)
            if binding.any():
                special |= counts & self.eligible[binding].any(axis=0)
        return special

    def pair_fit(self, t: Any, r: Any) -> Any:
        """Fit points that depend on the therapist only (arrays of positions, or ints)."""
        weights = self.problem.weights
        return (
            weights.fit_gender * (self.t_gender[t] == self.r_gpref[r])
            + weights.fit_continuity * (self.r_assessor[r] == t)
            + weights.fit_language * self._direct(t, r)
        )

    def _direct(self, t: Any, r: Any) -> Any:
        """The client needs an interpreter or BSL, and the therapist needs none: speaks the
        language (if an interpreter was needed) and signs BSL (if BSL is needed)."""
        return (
            self.r_wants_direct[r]
            & (~self.r_interp[r] | self.t_lang[self.r_lang[r], t])
            & (~self.r_bsl[r] | self.t_signs[t])
        )

    def pair_fit_one(self, t: int, r: int) -> int:
        """``pair_fit`` for one therapist and one referral, without array overhead."""
        weights = self.problem.weights
        points = 0
        if self.t_gender[t] == self.r_gpref[r]:
            points += weights.fit_gender
        if self.r_assessor[r] == t:
            points += weights.fit_continuity
        if self._direct(t, r):
            points += weights.fit_language
        return points

    def arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(referral, slot, value) for every candidate pair, ordered by slot.

        For a referral seen k times a week the value is an upper bound on the value of any
        k-slot bundle containing that slot, which makes the flow a relaxation. Computed
        once per group (the decomposition, the swap search and pruning each read them).
        """
        cached = self.__dict__.get("_arcs")
        if cached is None:
            cached = self._arcs = self._make_arcs()
        return cached

    def _make_arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        # Imported here: the baseline module builds groups, so it imports this one.
        from allocation.engine.baseline import _greedy_placed

        cached = getattr(self, "_greedy", None)
        if cached is None:
            cached = self._greedy = _greedy_placed(self)
        return cached

    def candidates_by_therapist(self, row: int) -> dict[int, list[int]]:
        """``candidates(row, t)`` for every therapist ``t`` with one, from one read of the
        referral's column (computed once per referral)."""
        cache = self.__dict__.setdefault("_candidates", {})
        found = cache.get(row)
        if found is None:
            found = cache[row] = {}
            slots = np.flatnonzero(self.ok[:, row])
            for s, t in zip(slots.tolist(), self.s_t[slots].tolist(), strict=True):
                found.setdefault(t, []).append(s)
        return found

    def candidates(self, row: int, t: int) -> list[int]:
        lo, hi = self.t_slot_start[t], self.t_slot_start[t + 1]
        return [int(s) for s in np.flatnonzero(self.ok[lo:hi, row]) + lo]


class _Loads:
    """Per therapist: weekly sessions in use, and clients of each capped kind placed.

    Plain lists, not arrays: the searches ask about one therapist at a time, many times.
    """

    def __init__(
        self,
        g: _Group,
        placed: dict[int, tuple[int, tuple[int, ...]]] | None = None,
        every_cap: bool = False,
    ):
        """``every_cap``: count every kind some therapist caps, not only those of the
        group's referrals (for referrals of another group with the same therapists)."""
        self.g = g
        T = len(g.thers)
        self.k = g.r_k.tolist()
        self.cap = g.t_cap.tolist()
        self.sessions = [0] * T
        if every_cap:
            kinds = [kind for kind in CAP_KINDS if (g.t_room[kind] < _NO_CAP).any()]
        else:
            kinds = [kind for kind in CAP_KINDS if kind not in g.trivial]
        self.kinds = {kind: [0] * T for kind in kinds}
        self.flags = {kind: g.r_kind[kind].tolist() for kind in kinds}
        self.rooms = {kind: g.t_room[kind].tolist() for kind in kinds}
        for row, (t, _) in (placed or {}).items():
            self.add(row, t)

    def add(self, row: int, t: int, sign: int = 1) -> None:
        self.sessions[t] += sign * self.k[row]
        for kind, held in self.kinds.items():
            if self.flags[kind][row]:
                held[t] += sign

    def fits(self, t: int, rows: Iterable[int], freed: Iterable[int] = ()) -> bool:
        """Therapist ``t``, once the placed referrals ``freed`` are taken out, has the free
        weekly sessions and the room under each cap for every referral in ``rows``."""
        k = self.k
        need = self.sessions[t]
        for r in rows:
            need += k[r]
        for r in freed:
            need -= k[r]
        if need > self.cap[t]:
            return False
        for kind, held in self.kinds.items():
            flag = self.flags[kind]
            extra = sum(flag[r] for r in rows)
            if extra and held[t] + extra - sum(flag[r] for r in freed) > self.rooms[kind][t]:
                return False
        return True

    def fits_instead(self, t: int, k: int, counted: Iterable[str], freed: int) -> bool:
        """``fits(t, [row], [freed])`` for a referral given by what it needs, which may
        belong to another group with the same therapists: ``k`` weekly sessions, and
        ``counted``, the capped kinds it counts as."""
        if self.sessions[t] + k - self.k[freed] > self.cap[t]:
            return False
        for kind in counted:
            held = self.kinds.get(kind)
            if held is not None and held[t] + 1 - self.flags[kind][freed] > self.rooms[kind][t]:
                return False
        return True

    def room_all(self, kind: str) -> np.ndarray:
        """Places left under every therapist's cap on ``kind``."""
        held = self.kinds.get(kind)
        room = self.g.t_room[kind]
        return room - np.asarray(held, dtype=np.int64) if held is not None else room

    def room(self, t: int, kind: str) -> int:
        """Places left under therapist ``t``'s cap on ``kind`` (``_NO_CAP`` without one)."""
        held = self.kinds.get(kind)
        return int(self.g.t_room[kind][t]) - (held[t] if held is not None else 0)


@dataclass
class _Plan:
    """Placements in one group: referral position -> (therapist position, slot positions)."""

    placed: dict[int, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    method: str = "min_cost_flow"
    optimal: bool = True
    upper_bound: int = 0
    solver_seconds: float = 0.0
    # False when the swap search (swaps.py) ran out of time before it found none left.
    swaps_done: bool = True
    # The relaxation (each referral needs one slot): node potentials of an optimal flow,
    # and its optimum; what pruning (prune.py) reads its dual prices from.
    potentials: np.ndarray | None = None
    relaxed: int = 0
    # The last exact weekly flow's potentials (decompose.py): a warm start for the next.
    weekly_potentials: np.ndarray | None = None


class _Values:
    """``_bundle_value``'s inputs as plain lists, and the values already computed: the
    searches value the same (referral, therapist, slots) bundles many times over."""

    def __init__(self, g: _Group):
        self.priority = g.priority.tolist()
        self.pref_site = g.r_pref_site.tolist()
        self.s_site = g.s_site.tolist()
        self.s_part = g.s_part.tolist()
        self.wants_part = g.r_pref_part.any(axis=0).tolist()
        self.pair_fit: dict[tuple[int, int], int] = {}
        self.memo: dict[tuple[int, int, tuple[int, ...]], int] = {}


def _values(g: _Group) -> _Values:
    cached = g.__dict__.get("_value_lists")
    if cached is None:
        cached = g._value_lists = _Values(g)
    return cached


def _bundle_value(g: _Group, row: int, t: int, cols: Sequence[int]) -> int:
    """One placement's value: the referral with therapist ``t`` in slots ``cols``."""
    v = _values(g)
    key = (row, t, tuple(cols))
    value = v.memo.get(key)
    if value is not None:
        return value
    weights = g.problem.weights
    fit = v.pair_fit.get((row, t))
    if fit is None:
        fit = v.pair_fit[(row, t)] = g.pair_fit_one(t, row)
    value = g.problem.value_of(v.priority[row], fit)
    pref = v.pref_site[row]
    if pref >= 0 and all(v.s_site[s] == pref for s in cols):
        value += weights.fit_site
    if v.wants_part[row]:
        wanted = g.r_pref_part[:, row]
        if all(wanted[v.s_part[s]] for s in cols):
            value += weights.fit_time
    v.memo[key] = value
    return value


def _plan_value(g: _Group, plan: _Plan) -> int:
    return sum(_bundle_value(g, r, t, cols) for r, (t, cols) in plan.placed.items())
