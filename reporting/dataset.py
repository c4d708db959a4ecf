"""The monthly data-set return: one row per referral open at any time in the range, with the
dates, codes and flags a national return of an NHS Talking Therapies service needs. Every
column is described in docs/reporting.md (`COLUMNS` is the order).

Rows are read with a server-side cursor a chunk at a time and written as they come, so
memory stays the same whatever the number of rows. Everything a row needs is read by the
one query (reporting/sql.py: each table read once for the service and grouped by
referral); the only work per row in Python is formatting and `measures.classify_change`
for its flags.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import measures
from intake.models import Referral
from reporting import codes, sql
from reporting.selectors import Period

CHUNK_SIZE = 2000

COLUMNS = (
    "referral_id",
    "nhs_number",
    "referral_received_date",
    "source_of_referral",
    "source_of_referral_local",
    "first_assessment_date",
    "first_treatment_date",
    "second_treatment_date",
    "discharge_date",
    "end_code",
    "phq9_first",
    "phq9_last",
    "gad7_first",
    "gad7_last",
    "case_at_start",
    "finished_treatment",
    "recovery",
    "reliable_improvement",
    "reliable_recovery",
    "reliable_deterioration",
    "attended_sessions",
    "appointments",
)

FIELDS = (
    "reference",
    "client__nhs_number",
    "received_on",
    "source",
    "first_assessed_on",
    "first_treated_on",
    "second_treated_on",
    "discharged_on",
    "status",
    "end_reason",
    "assessment__status",
    "assessment__recommendation_choice",
    "assessment__recommendation_offered_here",
    "first_phq9",
    "last_phq9",
    "first_gad7",
    "last_gad7",
    "n_phq9",
    "n_gad7",
    "attended",
    "appointments",
)


def _total(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


def _flag(value: bool | None) -> str:
    return "" if value is None else ("Y" if value else "N")


def dataset_row(values: tuple) -> tuple:
    """One CSV row (in `COLUMNS` order) from one row of `dataset_rows_query`."""
    row = dict(zip(FIELDS, values, strict=True))
    first_phq9, last_phq9 = _total(row["first_phq9"]), _total(row["last_phq9"])
    first_gad7, last_gad7 = _total(row["first_gad7"]), _total(row["last_gad7"])
    paired = row["n_phq9"] >= 2 and row["n_gad7"] >= 2
    finished = row["status"] == Referral.Status.ENDED and row["attended"] >= 2
    case_at_start = recovery = improvement = reliable_recovery = deterioration = None
    if first_phq9 is not None and first_gad7 is not None:
        case_at_start = first_phq9 >= measures.PHQ9_CASENESS or first_gad7 >= measures.GAD7_CASENESS
    if finished and paired:
        change = measures.classify_change(
            measures.Pair(phq9=first_phq9, gad7=first_gad7),
            measures.Pair(phq9=last_phq9, gad7=last_gad7),
        )
        # Recovery is not defined for someone who was not a case at the start.
        recovery = change.recovery if change.case_at_start else None
        reliable_recovery = change.reliable_recovery if change.case_at_start else None
        improvement = change.reliable_improvement
        deterioration = change.reliable_deterioration
    end = codes.end_code(
        status=row["status"],
        therapy_end_reason=row["end_reason"],
        assessment_status=row["assessment__status"],
        recommendation=row["assessment__recommendation_choice"],
        offered_here=row["assessment__recommendation_offered_here"],
        treated=row["first_treated_on"] is not None,
    )
    return (
        row["reference"],
        row["client__nhs_number"] or "",
        _date(row["received_on"]),
        codes.SOURCE_CODES.get(row["source"], ""),
        row["source"],
        _date(row["first_assessed_on"]),
        _date(row["first_treated_on"]),
        _date(row["second_treated_on"]),
        _date(row["discharged_on"]),
        end,
        _blank(first_phq9),
        _blank(last_phq9),
        _blank(first_gad7),
        _blank(last_gad7),
        _flag(case_at_start),
        _flag(finished),
        _flag(recovery),
        _flag(improvement),
        _flag(reliable_recovery),
        _flag(deterioration),
        row["attended"],
        row["appointments"] or "",
    )


def csv_cell(value):
    """A value for a CSV cell: text a spreadsheet would run as a formula is prefixed with
    an apostrophe (as the audit trail's export does); nothing is written as empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _date(value) -> str:
    return value.isoformat() if value else ""


def _blank(value) -> str | int:
    return "" if value is None else value


def dataset_rows(*, user, period: Period, chunk_size: int = CHUNK_SIZE) -> Iterator[tuple]:
    """The header, then one row per referral of the user's own service, streamed."""
    yield COLUMNS
    if not user.service_id:
        return
    values_of_each = sql.dataset_values(
        service_id=user.service_id, period=period, chunk_size=chunk_size
    )
    for values in values_of_each:
        yield tuple(csv_cell(value) for value in dataset_row(values))
