"""The per-referral facts the reporting page counts (reporting.models.ReferralFacts): built
for one service by one set-based INSERT ... SELECT in a transaction, replacing the service's
rows, and read by reporting.selectors for the waiting-times, caseness and outcomes sections.

Each value is the one the live queries in reporting.sql and reporting.selectors work out
(tests/reporting/test_facts.py compares them): local dates in TIME_ZONE, the first attended
session of the service's sessions, the last therapy's end, each questionnaire's first and
last scored total in (completed_at, id) order.
"""

from __future__ import annotations

import time
import zlib

from django.db import connection, transaction
from django.utils import timezone

from common.models import Service
from reporting import charts, sql
from reporting.models import FactsBuild, ReferralFacts

FACTS = ReferralFacts._meta.db_table

_BUILD = f"""
    WITH mine AS (
        SELECT id AS referral_id FROM {sql.REFERRAL} WHERE service_id = %(service)s
    ), sess AS (
        SELECT s.referral_id,
            (array_agg(s.occurred_on ORDER BY s.occurred_on)
                FILTER (WHERE s.attendance = 'attended' AND s.service_id = %(service)s))[1]
                AS first_treated_on,
            (array_agg(s.occurred_on ORDER BY s.occurred_on)
                FILTER (WHERE s.attendance = 'attended' AND s.service_id = %(service)s))[2]
                AS second_treated_on,
            count(*) FILTER (WHERE s.attendance = 'attended') AS attended
        FROM {sql.SESSION} s JOIN mine USING (referral_id)
        WHERE s.attendance = 'attended'
        GROUP BY s.referral_id
    ), ther AS (
        SELECT DISTINCT ON (t.referral_id) t.referral_id, t.ended_on, t.end_reason
        FROM {sql.THERAPY} t JOIN mine USING (referral_id)
        WHERE t.ended_on IS NOT NULL
        ORDER BY t.referral_id, t.ended_on DESC, t.id DESC
    ), scores AS ({sql._SCORES.format(referrals="mine")}
    ), assessed AS (
        SELECT a.referral_id, {sql._local_date("a.finished_at")} AS on_date,
            p.caseness AS phq9_case, g.caseness AS gad7_case
        FROM {sql.ASSESSMENT} a JOIN mine USING (referral_id)
        LEFT JOIN {sql.ASSESSMENT_MEASURE} am_p
            ON am_p.assessment_id = a.id AND am_p.measure = 'phq9'
        LEFT JOIN {sql.RESPONSE} p ON p.id = am_p.response_id
        LEFT JOIN {sql.ASSESSMENT_MEASURE} am_g
            ON am_g.assessment_id = a.id AND am_g.measure = 'gad7'
        LEFT JOIN {sql.RESPONSE} g ON g.id = am_g.response_id
        WHERE a.service_id = %(service)s AND a.status = 'finished'
    )
    INSERT INTO {FACTS} (
        referral_id, service_id, received_on, source,
        assessed_on, assessed_phq9_case, assessed_gad7_case,
        first_treated_on, second_treated_on, attended,
        ended, ended_on, end_reason,
        first_phq9, last_phq9, first_gad7, last_gad7, paired
    )
    SELECT r.id, r.service_id, {sql._local_date("r.received_at")}, r.source,
        a.on_date, a.phq9_case, a.gad7_case,
        sess.first_treated_on, sess.second_treated_on, coalesce(sess.attended, 0),
        r.status = 'ended', ther.ended_on, coalesce(ther.end_reason, ''),
        sc.first_phq9, sc.last_phq9, sc.first_gad7, sc.last_gad7,
        coalesce(sc.n_phq9 >= 2 AND sc.n_gad7 >= 2, false)
    FROM {sql.REFERRAL} r
    JOIN mine ON mine.referral_id = r.id
    LEFT JOIN assessed a ON a.referral_id = r.id
    LEFT JOIN sess ON sess.referral_id = r.id
    LEFT JOIN ther ON ther.referral_id = r.id
    LEFT JOIN scores sc ON sc.referral_id = r.id
"""


def build(*, service_id: int) -> FactsBuild:
    """Replace one service's facts with ones worked out now, in one transaction: a reader
    sees the old rows or the new, never a mix. Two builds of a service at once wait for
    each other (an advisory lock per service); building again gives the same rows."""
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [zlib.crc32(b"reporting.facts") & 0x7FFFFFFF, service_id],
        )
        built_at = timezone.now()
        cursor.execute(f"DELETE FROM {FACTS} WHERE service_id = %s", [service_id])
        cursor.execute(_BUILD, {"service": service_id, "tz": timezone.get_current_timezone_name()})
        referrals = cursor.rowcount
        record, _ = FactsBuild.objects.update_or_create(
            service_id=service_id,
            defaults={
                "built_at": built_at,
                "referrals": referrals,
                "seconds": round(time.monotonic() - started, 3),
            },
        )
    return record


def build_all() -> list[FactsBuild]:
    """Every service's facts, each service in its own transaction."""
    return [
        build(service_id=pk) for pk in Service.objects.order_by("pk").values_list("pk", flat=True)
    ]


def built_at(*, service_id: int):
    """When the service's facts were last built, or None: never built (the page then works
    its figures out from the tables, as it did before there were facts)."""
    return (
        FactsBuild.objects.filter(service_id=service_id).values_list("built_at", flat=True).first()
    )


def _run(query: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def assessed(*, service_id: int, first, last) -> list[tuple]:
    """As selectors.Reads.assessed: [(wait band, PHQ-9 caseness, GAD-7 caseness, n)]."""
    band = sql.band_case("assessed_on - received_on", charts.WAIT_BANDS)
    return _run(
        f"""
        SELECT {band} AS band, assessed_phq9_case, assessed_gad7_case, count(*)
        FROM {FACTS}
        WHERE service_id = %(service)s AND assessed_on BETWEEN %(first)s AND %(last)s
        GROUP BY 1, 2, 3
        """,
        {"service": service_id, "first": first, "last": last},
    )


def first_treatment_waits(*, service_id: int, first, last) -> list[tuple[int, int]]:
    """As sql.first_treatment_waits: [(wait band, referrals)]."""
    band = sql.band_case("first_treated_on - received_on", charts.WAIT_BANDS)
    return _run(
        f"""
        SELECT {band} AS band, count(*)
        FROM {FACTS}
        WHERE service_id = %(service)s AND first_treated_on BETWEEN %(first)s AND %(last)s
        GROUP BY 1
        """,
        {"service": service_id, "first": first, "last": last},
    )


def finished_treatment_totals(*, service_id: int, first, last) -> list[tuple]:
    """As sql.finished_treatment_totals: [(paired, first PHQ-9, first GAD-7, last PHQ-9,
    last GAD-7, referrals)] for referrals ended in the range after two attended sessions."""
    return _run(
        f"""
        SELECT paired, first_phq9, first_gad7, last_phq9, last_gad7, count(*)
        FROM {FACTS}
        WHERE service_id = %(service)s AND ended AND attended >= 2
            AND ended_on BETWEEN %(first)s AND %(last)s
        GROUP BY 1, 2, 3, 4, 5
        """,
        {"service": service_id, "first": first, "last": last},
    )
