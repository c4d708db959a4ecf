"""How many referrals a member of staff opens, from ReferralTally rather than by counting them.

The staff referral list says how many referrals it holds ("45,410 referrals"). Counting them
reads every one of them, even from an index alone: tens of milliseconds at 50,000. On
PostgreSQL triggers keep ReferralTally, a handful of rows a kind of referral (service, status,
who carried out and who finished the assessment), in the same transaction as every write, so
the count is a sum over those rows, exact and as of the reader's snapshot:

- an office role or a therapist opens every referral of the service;
- an assessor opens those to assess, those whose assessment they carried out or finished
  (all three are kinds in the tally) and those with an open risk flag (the few open flags,
  read from their partial index, less those already counted).

`tally_fold` (beat, every few minutes, and after a bulk load) folds the rows each statement
added into one a kind; `tally_rebuild` recounts the table from the referrals (the migration
that made it, and `manage.py referral_tally --rebuild` for an operator who doubts it).
tests/intake/test_tally.py holds the count equal to counting the referrals on every kind of
write. On SQLite (the embedded mode) there are no triggers: the referrals are counted.
"""

from __future__ import annotations

from django.db import connection, transaction

from common import access, roles
from common.access import IN_ASSESSMENT, OFFICE

_FOLD_SQL = """
WITH folded AS (
    DELETE FROM intake_referraltally
    RETURNING service_id, status, assessed_by_id, finished_by_id, n
)
INSERT INTO intake_referraltally (service_id, status, assessed_by_id, finished_by_id, n)
SELECT service_id, status, assessed_by_id, finished_by_id, sum(n)
FROM folded
GROUP BY service_id, status, assessed_by_id, finished_by_id
HAVING sum(n) <> 0
"""

_REBUILD_SQL = """
INSERT INTO intake_referraltally (service_id, status, assessed_by_id, finished_by_id, n)
SELECT service_id, status, assessed_by_id, assessment_finished_by_id, count(*)
FROM intake_referral
GROUP BY service_id, status, assessed_by_id, assessment_finished_by_id
"""

_IN_ASSESSMENT_SQL = ", ".join(f"'{status}'" for status in IN_ASSESSMENT)

# An assessor's count: the kinds they open, then the referrals with an open risk flag that
# are of no such kind (not being assessed, neither carried out nor finished by them).
_ASSESSOR_SQL = f"""
SELECT coalesce((
    SELECT sum(t.n) FROM intake_referraltally t
    WHERE t.service_id = %(service)s {{tally_status}}
      AND (t.status IN ({_IN_ASSESSMENT_SQL})
           OR t.assessed_by_id = %(user)s OR t.finished_by_id = %(user)s)
), 0) + (
    SELECT count(*) FROM intake_referral r
    WHERE r.id IN (
        SELECT f.referral_id FROM intake_riskflag f
        WHERE f.service_id = %(service)s AND f.acknowledged_at IS NULL
    )
      AND r.service_id = %(service)s {{referral_status}}
      AND r.status NOT IN ({_IN_ASSESSMENT_SQL})
      AND r.assessed_by_id IS DISTINCT FROM %(user)s
      AND r.assessment_finished_by_id IS DISTINCT FROM %(user)s
)
"""

_SERVICE_SQL = """
SELECT coalesce(sum(t.n), 0) FROM intake_referraltally t
WHERE t.service_id = %(service)s {tally_status}
"""


def kept() -> bool:
    """Whether the database keeps the tally (PostgreSQL, whose triggers write it)."""
    return connection.vendor == "postgresql"


def referrals_opened_count(user, *, status: str | None = None) -> int:
    """How many of the user's service's referrals (in `status`, if given) the user opens:
    `access.referrals_opened_by(...).count()`, exactly, from the tally where it is kept."""
    from intake.models import Referral

    service = user.service_id
    if not kept():
        referrals = Referral.objects.filter(service_id=service)
        if status:
            referrals = referrals.filter(status=status)
        return access.referrals_opened_count(user, referrals) if service else 0
    if service is None:
        return 0
    if access.has_any_role(user, (*OFFICE, roles.THERAPIST)):
        sql = _SERVICE_SQL
    elif access.has_any_role(user, (roles.ASSESSOR,)):
        sql = _ASSESSOR_SQL
    else:
        return 0
    sql = sql.format(
        tally_status="AND t.status = %(status)s" if status else "",
        referral_status="AND r.status = %(status)s" if status else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"service": service, "user": user.pk, "status": status})
        return int(cursor.fetchone()[0])


def tally_fold() -> int:
    """Fold the tally's rows into one a kind (rows written since by others are left for the
    next fold). Returns the rows left."""
    if not kept():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FOLD_SQL)
        return cursor.rowcount


def tally_rebuild() -> int:
    """Recount the tally from the referrals, holding off referral writes meanwhile."""
    if not kept():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE intake_referral IN SHARE MODE")
        cursor.execute("DELETE FROM intake_referraltally")
        cursor.execute(_REBUILD_SQL)
        return cursor.rowcount


_DIFFERENCES_SQL = """
SELECT service_id, status, assessed_by_id, finished_by_id, sum(n)
FROM (
    SELECT service_id, status, assessed_by_id, finished_by_id, n FROM intake_referraltally
    UNION ALL
    SELECT service_id, status, assessed_by_id, assessment_finished_by_id, -count(*)
    FROM intake_referral
    GROUP BY service_id, status, assessed_by_id, assessment_finished_by_id
) AS both_ways
GROUP BY service_id, status, assessed_by_id, finished_by_id
HAVING sum(n) <> 0
"""


def tally_differences() -> list[tuple]:
    """The kinds whose tally differs from a count of the referrals (kind…, tally - count);
    none when the triggers have kept it."""
    if not kept():
        return []
    # One statement: the tally and the referrals as of one snapshot.
    with connection.cursor() as cursor:
        cursor.execute(_DIFFERENCES_SQL)
        return cursor.fetchall()
