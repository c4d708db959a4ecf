"""Moving models between apps keeps every row.

The fixture is a PostgreSQL dump of a database migrated and seeded at the commit before the
architecture change (f8c3d07: `migrate`, `seed_demo`, then `enrich_at_f8c3d07.py` beside it,
which adds the consents, risk flags, a repeat, an acknowledgement, an assessment
questionnaire row, an addendum and a non-attendance step that the demo data lacks). The test
loads it into a database of its own, runs today's `migrate` on it in a subprocess, and checks
that every table's rows are still there, under the table's new name where it moved.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.support.services import ROOT, require_postgres

FIXTURE = Path(__file__).parent / "fixtures" / "before_architecture.sql.gz"

# Tables that moved with their models: old name -> new name.
MOVED = {
    "assessment_measureresponse": "intake_measureresponse",
    "assessment_riskflag": "intake_riskflag",
    "assessment_riskflagrepeat": "intake_riskflagrepeat",
    "assessment_therapy": "therapy_therapy",
    "assessment_goal": "therapy_goal",
    "assessment_goalrating": "therapy_goalrating",
    "assessment_sessionplan": "therapy_sessionplan",
    "assessment_therapysession": "therapy_therapysession",
    "assessment_progressflag": "therapy_progressflag",
    "assessment_nonattendancestep": "therapy_nonattendancestep",
}
MOVED_CONTENT_TYPES = {(old.split("_")[0], old.split("_", 1)[1]): new for old, new in MOVED.items()}
# Tables the migrations since then add, which the old database cannot have had.
NEW_TABLES = {
    "therapy_sessionresponse",
    "intake_apitoken",
    "intake_apitokenuse",
    "intake_rightsrequest",
    "audit_auditevent",
    # The REST API's Idempotency-Keys of writes (api/models.py).
    "api_idempotentwrite",
    "portal_signinlink",
    "portal_portalsession",
    "therapy_questionnairerequest",
    # Two-factor sign-in (django-otp): authenticators and recovery codes.
    "otp_totp_totpdevice",
    "otp_static_staticdevice",
    "otp_static_statictoken",
    # The coordinators' exclusions for allocation (named therapists, therapist genders).
    "allocation_therapistexclusion",
    "allocation_allocationneeds",
    # The service's allocation settings (the languages it can book interpreters for).
    "allocation_allocationsettings",
    # Step-free access at the service's sites.
    "allocation_siteaccess",
    # The reporting page's per-referral facts and when each service's were built.
    "reporting_referralfacts",
    "reporting_factsbuild",
    # The referral tally the staff list counts from (intake/tally.py).
    "intake_referraltally",
}
# Tables replaced on purpose: the partner API's clear tokens (authtoken) became hashed ones,
# one for one (intake/migrations/0013_api_tokens.py).
REPLACED = {"authtoken_token": "intake_apitoken"}


def _psql(dsn: str, sql: bytes) -> None:
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"],
        input=sql,
        check=True,
        capture_output=True,
    )


def _rows(dsn: str) -> dict[str, set]:
    """Every table's primary keys (or whole rows, for tables without an id)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        rows = {}
        for table in tables:
            if table == "django_migrations":
                continue
            has_id = conn.execute(
                "SELECT 1 FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s AND column_name = 'id'",
                [table],
            ).fetchone()
            query = f'SELECT {"id" if has_id else "*"} FROM public."{table}"'
            rows[table] = {row if not has_id else row[0] for row in conn.execute(query)}
        return rows


@pytest.fixture
def old_database(postgres):
    require_postgres()
    settings = connection.settings_dict
    name = f"threshold_moves_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    dsn = f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"
    try:
        _psql(dsn, gzip.decompress(FIXTURE.read_bytes()))
        yield dsn
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _migrate(dsn: str) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DATABASE_URL=dsn, DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_migrating_a_database_from_before_the_moves_keeps_every_row(old_database):
    with psycopg.connect(old_database) as conn:  # a partner's token of the time
        conn.execute(
            "INSERT INTO authtoken_token (key, created, user_id) "
            "SELECT repeat('a', 40), now(), min(id) FROM common_user"
        )
    before = _rows(old_database)
    assert before["authtoken_token"], "a clear token to be hashed in"
    assert before["assessment_riskflagrepeat"], "the fixture should hold a row in every moved table"
    assert all(before[old] for old in MOVED), "the fixture should hold rows in every moved table"

    _migrate(old_database)
    after = _rows(old_database)

    for table, replacement in REPLACED.items():
        assert table not in after, f"{table} should be replaced by {replacement}"
        assert len(after[replacement]) == len(before[table]), f"{table}: tokens lost"
    for table, rows in before.items():
        if table in REPLACED:
            continue
        new = MOVED.get(table, table)
        assert new in after, f"{table} is gone"
        assert after[new] >= rows, f"{table}: rows lost in {new}"
        # A new model brings its content type and permissions; nothing else is added.
        if table not in {"django_content_type", "auth_permission"}:
            assert len(after[new]) == len(rows), f"{table}: rows added to {new} by migrating"
    assert (
        not set(after)
        - {MOVED.get(table, table) for table in before}
        - NEW_TABLES
        - {"django_migrations"}
    )


def test_moved_content_types_keep_their_ids(old_database):
    with psycopg.connect(old_database) as conn:
        before = dict(
            conn.execute("SELECT app_label || '.' || model, id FROM django_content_type").fetchall()
        )
    _migrate(old_database)
    with psycopg.connect(old_database) as conn:
        after = dict(
            conn.execute("SELECT app_label || '.' || model, id FROM django_content_type").fetchall()
        )
    for (app, model), new_table in MOVED_CONTENT_TYPES.items():
        new_app = new_table.split("_")[0]
        assert after[f"{new_app}.{model}"] == before[f"{app}.{model}"]
        assert f"{app}.{model}" not in after


def test_questionnaires_repeated_at_a_session_stay_linked_to_it(old_database):
    with psycopg.connect(old_database) as conn:
        before = set(
            conn.execute(
                "SELECT id, session_id FROM assessment_measureresponse WHERE session_id IS NOT NULL"
            ).fetchall()
        )
    assert before, "the fixture should hold questionnaires repeated at sessions"
    _migrate(old_database)
    with psycopg.connect(old_database) as conn:
        after = set(
            conn.execute("SELECT response_id, session_id FROM therapy_sessionresponse").fetchall()
        )
    assert after == before
