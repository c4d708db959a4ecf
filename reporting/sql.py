"""The reporting queries that aggregate per referral before they aggregate again, in SQL.

The ORM says "one value per referral" with a correlated subquery, run once for every
referral; at a service's year of referrals that is tens of thousands of index look-ups per
value. Here each table is read once for the service and grouped by referral (a hash join
and a hash aggregate), then grouped again. Tables are named from the models; every value
comes in as a parameter. Called by reporting/selectors.py and reporting/dataset.py, whose
tests check the figures by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import connection
from django.utils import timezone

from assessment.models import Assessment, AssessmentMeasure
from intake.models import Client, MeasureResponse, Referral
from reporting import charts, codes
from therapy.models import Therapy, TherapySession

REFERRAL = Referral._meta.db_table
CLIENT = Client._meta.db_table
RESPONSE = MeasureResponse._meta.db_table
SESSION = TherapySession._meta.db_table
THERAPY = Therapy._meta.db_table
ASSESSMENT = Assessment._meta.db_table
ASSESSMENT_MEASURE = AssessmentMeasure._meta.db_table
CLOSED = list(codes.CLOSED)


def band_case(days: str, bands: Sequence[charts.Band]) -> str:
    """CASE giving the band index of a number of whole days (charts.band_index in SQL)."""
    whens = " ".join(
        f"WHEN {days} <= {int(band.upto.days)} THEN {index}"
        for index, band in enumerate(bands)
        if band.upto is not None
    )
    return f"CASE {whens} ELSE {len(bands) - 1} END"


def _local_date(column: str) -> str:
    return f"({column} AT TIME ZONE %(tz)s)::date"


def _run(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params | {"tz": timezone.get_current_timezone_name()})
        return cursor.fetchall()


def first_treatment_waits(*, service_id: int, first, last) -> list[tuple[int, int]]:
    """[(wait band, referrals)] for referrals whose first attended session is in the range,
    the wait counted in whole days from the day the referral was received. A referral's
    first attended session is in the range when it has one there (the range's sessions,
    through their index by service and date) and none before it (one index-only look-up
    per referral, in the attended sessions' index by referral and date)."""
    wait = f"f.on_date - {_local_date('r.received_at')}"
    sql = f"""
        WITH f AS (
            SELECT referral_id, min(occurred_on) AS on_date
            FROM {SESSION}
            WHERE service_id = %(service)s AND attendance = 'attended'
                AND occurred_on BETWEEN %(first)s AND %(last)s
            GROUP BY referral_id
        )
        SELECT {band_case(wait, charts.WAIT_BANDS)} AS band, count(*)
        FROM f JOIN {REFERRAL} r ON r.id = f.referral_id
        WHERE NOT EXISTS (
            SELECT FROM {SESSION} earlier
            WHERE earlier.referral_id = f.referral_id AND earlier.attendance = 'attended'
                AND earlier.service_id = %(service)s AND earlier.occurred_on < %(first)s
        )
        GROUP BY band
    """
    return _run(sql, {"service": service_id, "first": first, "last": last})


# Each questionnaire's count, first and last scored total, per referral.
_SCORES = f"""
    SELECT m.referral_id,
        count(*) FILTER (WHERE m.measure = 'phq9') AS n_phq9,
        count(*) FILTER (WHERE m.measure = 'gad7') AS n_gad7,
        (array_agg(m.total ORDER BY m.completed_at, m.id) FILTER (WHERE m.measure = 'phq9'))[1]
            AS first_phq9,
        (array_agg(m.total ORDER BY m.completed_at DESC, m.id DESC)
            FILTER (WHERE m.measure = 'phq9'))[1] AS last_phq9,
        (array_agg(m.total ORDER BY m.completed_at, m.id) FILTER (WHERE m.measure = 'gad7'))[1]
            AS first_gad7,
        (array_agg(m.total ORDER BY m.completed_at DESC, m.id DESC)
            FILTER (WHERE m.measure = 'gad7'))[1] AS last_gad7
    FROM {RESPONSE} m JOIN {{referrals}} USING (referral_id)
    WHERE m.measure IN ('phq9', 'gad7') AND m.total IS NOT NULL
    GROUP BY m.referral_id
"""


def _scored_end(measure: str, *, last: bool) -> str:
    """The first (or last) scored total of one questionnaire of the referral f, with its id:
    one index-only look-up (response_scored_order_idx), in the order of _SCORES."""
    way = " DESC" if last else ""
    return f"""(
        SELECT m.id, m.total FROM {RESPONSE} m
        WHERE m.referral_id = f.referral_id AND m.measure = '{measure}'
            AND m.total IS NOT NULL
        ORDER BY m.completed_at{way}, m.id{way}
        LIMIT 1
    )"""


def finished_treatment_totals(*, service_id: int, first, last) -> list[tuple]:
    """[(paired, first PHQ-9, first GAD-7, last PHQ-9, last GAD-7, referrals)] for the
    referrals ended in the range (their last therapy's end) after two or more attended
    sessions; paired: at least two scored totals of each questionnaire, that is a first
    and a last that are not the same response. A referral's last end is in the range when
    a therapy of it ended there and none ended after: said so rather than as max(ended_on)
    of every therapy, which PostgreSQL cannot estimate and answered with a nested loop per
    referral. Each finished referral's attended sessions and first and last scores are
    index-only look-ups (session_attended_idx, response_scored_order_idx): no sort of the
    responses, whatever their number."""
    sql = f"""
        WITH ended AS (
            SELECT DISTINCT t.referral_id
            FROM {THERAPY} t JOIN {REFERRAL} r ON r.id = t.referral_id
            WHERE r.service_id = %(service)s AND r.status = 'ended'
                AND t.ended_on BETWEEN %(first)s AND %(last)s
                AND NOT EXISTS (
                    SELECT FROM {THERAPY} later
                    WHERE later.referral_id = t.referral_id AND later.ended_on > %(last)s
                )
        ), finished AS (
            SELECT e.referral_id FROM ended e
            WHERE EXISTS (
                SELECT FROM {SESSION} s
                WHERE s.referral_id = e.referral_id AND s.attendance = 'attended'
                OFFSET 1
            )
        )
        SELECT coalesce(p1.id <> p2.id AND g1.id <> g2.id, false) AS paired,
            p1.total, g1.total, p2.total, g2.total, count(*)
        FROM finished f
        LEFT JOIN LATERAL {_scored_end("phq9", last=False)} p1 ON true
        LEFT JOIN LATERAL {_scored_end("gad7", last=False)} g1 ON true
        LEFT JOIN LATERAL {_scored_end("phq9", last=True)} p2 ON true
        LEFT JOIN LATERAL {_scored_end("gad7", last=True)} g2 ON true
        GROUP BY 1, 2, 3, 4, 5
    """
    return _run(sql, {"service": service_id, "first": first, "last": last})


_ATTENDANCE_CODE = (
    "CASE s.attendance "
    + " ".join(f"WHEN '{value}' THEN '{code}'" for value, code in codes.ATTENDANCE_CODES.items())
    + " ELSE '' END"
)

# The columns reporting.dataset.dataset_row reads, in its FIELDS order.
DATASET = f"""
    WITH mine AS (
        SELECT id AS referral_id FROM {REFERRAL}
        WHERE service_id = %(service)s AND received_at < %(end)s
    ), sess AS (
        SELECT s.referral_id,
            (array_agg(s.occurred_on ORDER BY s.occurred_on)
                FILTER (WHERE s.attendance = 'attended'))[1] AS first_treated_on,
            (array_agg(s.occurred_on ORDER BY s.occurred_on)
                FILTER (WHERE s.attendance = 'attended'))[2] AS second_treated_on,
            count(*) FILTER (WHERE s.attendance = 'attended') AS attended,
            string_agg(s.occurred_on::text || ':' || {_ATTENDANCE_CODE}, ';'
                ORDER BY s.occurred_on) AS appointments
        FROM {SESSION} s JOIN mine USING (referral_id)
        GROUP BY s.referral_id
    ), ther AS (
        SELECT DISTINCT ON (t.referral_id) t.referral_id, t.ended_on, t.end_reason
        FROM {THERAPY} t JOIN mine USING (referral_id)
        WHERE t.ended_on IS NOT NULL
        ORDER BY t.referral_id, t.ended_on DESC, t.id DESC
    ), scores AS ({_SCORES.format(referrals="mine")}
    ), assessed AS (
        SELECT a.referral_id, a.status, a.recommendation_choice, a.recommendation_offered_here,
            CASE WHEN a.status = 'finished' THEN {_local_date("a.finished_at")} END AS on_date
        FROM {ASSESSMENT} a JOIN mine USING (referral_id)
    ), rows AS (
        SELECT r.id, r.received_at, r.reference, c.nhs_number,
            {_local_date("r.received_at")} AS received_on,
            r.source, a.on_date AS first_assessed_on,
            sess.first_treated_on, sess.second_treated_on,
            CASE WHEN r.status = ANY(%(closed)s)
                THEN coalesce(ther.ended_on, a.on_date, {_local_date("r.updated_at")})
            END AS discharged_on,
            r.status, ther.end_reason, a.status AS assessment_status,
            a.recommendation_choice, a.recommendation_offered_here,
            sc.first_phq9, sc.last_phq9, sc.first_gad7, sc.last_gad7,
            coalesce(sc.n_phq9, 0) AS n_phq9, coalesce(sc.n_gad7, 0) AS n_gad7,
            coalesce(sess.attended, 0) AS attended, sess.appointments
        FROM {REFERRAL} r
        JOIN mine ON mine.referral_id = r.id
        JOIN {CLIENT} c ON c.id = r.client_id
        LEFT JOIN assessed a ON a.referral_id = r.id
        LEFT JOIN sess ON sess.referral_id = r.id
        LEFT JOIN ther ON ther.referral_id = r.id
        LEFT JOIN scores sc ON sc.referral_id = r.id
    )
    SELECT reference, nhs_number, received_on, source, first_assessed_on, first_treated_on,
        second_treated_on, discharged_on, status, end_reason, assessment_status,
        recommendation_choice, recommendation_offered_here, first_phq9, last_phq9,
        first_gad7, last_gad7, n_phq9, n_gad7, attended, appointments
    FROM rows
    WHERE discharged_on IS NULL OR discharged_on >= %(first)s
    ORDER BY received_at, id
"""


def dataset_values(*, service_id: int, period, chunk_size: int) -> Iterator[tuple]:
    """The data set's values per referral, read through a server-side cursor a chunk at a
    time (as QuerySet.iterator does), so memory stays flat whatever the number of rows."""
    params = {
        "service": service_id,
        "end": period.end,
        "first": period.first,
        "closed": CLOSED,
        "tz": timezone.get_current_timezone_name(),
    }
    with connection.chunked_cursor() as cursor:
        cursor.execute(DATASET, params)
        while rows := cursor.fetchmany(chunk_size):
            yield from rows
