"""Serving the project under gunicorn for a benchmark: one helper for every benchmark."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The PostgreSQL server a benchmark makes its scratch database on (and drops it from).
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")


def field_key() -> str:
    """A fresh FIELD_ENCRYPTION_KEYS value for a benchmark's scratch database."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def bench_env(database_url: str, **overrides: str) -> dict:
    """The environment a benchmark serves the project in: production settings (DEBUG off,
    a fresh secret and field key) on a scratch database, plain HTTP on 127.0.0.1, no Redis
    unless a benchmark names one in `overrides` (REDIS_URL=...). `overrides` are added
    last, so a benchmark can change any of these."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_hex(32),
        "FIELD_ENCRYPTION_KEYS": field_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("REDIS_URL", None)
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(
    *, python: str, cwd: Path, env: dict, workers: int
) -> tuple[subprocess.Popen, int]:
    """gunicorn on a spare loopback port, in its own process group (stop it with
    os.killpg); returns once the port accepts connections, or after 10 s."""
    port = free_port()
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, port


# The public pages' rate limits (docs/security.md) would refuse a benchmark's traffic from
# one address after a few referrals: a benchmark measures throughput, so they are lifted.
NO_RATE_LIMITS = {
    name: "1000000/h"
    for name in (
        "RATE_REFERRAL_PER_ADDRESS",
        "RATE_REFERRAL_PER_CONTACT",
        "RATE_SAVE_PER_ADDRESS",
        "RATE_SAVE_PER_CONTACT",
        "RATE_RESUME_PER_ADDRESS",
    )
}


@dataclass
class SeededDatabase:
    """A scratch database made by `seeded_database`: where it is, the environment to serve
    it in, what the seeding script printed, and how long the set-up took. `drop()` it when
    the run ends (in a `finally`)."""

    name: str
    url: str
    env: dict
    made: dict
    seed_seconds: float
    vacuum_seconds: float
    size: str
    pg_admin: str = PG_ADMIN

    def drop(self) -> None:
        drop_database(self.name, pg_admin=self.pg_admin)


def drop_database(name: str, *, pg_admin: str = PG_ADMIN) -> None:
    import psycopg

    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# Overrides that change how a benchmark serves its database, never what is seeded in it:
# benchmarks differing only in these share a kept seed (`seeded_database`).
def _serving_only(name: str) -> bool:
    return name == "ROOT_URLCONF" or name.startswith("RATE_") or name.endswith("_CACHE_SECONDS")


def _seed_key(script: str, args: Sequence[str], env_overrides: dict) -> str:
    """What a seed depends on: the seeding script and its arguments, the seeding overrides
    and the source of the data generators. Any change to these makes a new seed; a
    migration added since is applied to the copy, as to a live database."""
    import hashlib

    digest = hashlib.sha256()
    for part in (
        script,
        "\0".join(args),
        repr(sorted((k, v) for k, v in env_overrides.items() if not _serving_only(k))),
    ):
        digest.update(part.encode() + b"\1")
    sources = sorted((ROOT / "benchmarks").glob("*_data.py"))
    sources += [ROOT / "allocation" / "problem_gen.py"]
    for path in sources:
        if path.exists():
            digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def seeded_database(
    name: str,
    *,
    script: str,
    args: Sequence[str] = (),
    before_vacuum: Callable[[object, dict], None] | None = None,
    pg_admin: str = PG_ADMIN,
    **env_overrides: str,
) -> SeededDatabase:
    """A scratch database for one benchmark run, set up as every benchmark sets one up.

    Creates `threshold_bench_<name>_<pid>` on `pg_admin`'s server, migrates it, runs the
    seeding `script` (`python -c script *args`, in the benchmark's environment; its last
    line of output is JSON, kept as `made`; its errors go to stderr), calls
    `before_vacuum(connection, made)` if given (for rows a benchmark adds straight in SQL),
    then VACUUM ANALYZE, as autovacuum would after a bulk load. `env_overrides` go to
    `bench_env`. If any step fails the database is dropped here; otherwise the caller drops
    it (`.drop()`) when its run ends.

    Seeding 50,000 referrals takes minutes, so a finished seed is kept on the server as
    `threshold_benchseed_<key>` (the key hashes everything the seed depends on:
    `_seed_key`) and later runs with the same key copy it (CREATE DATABASE … TEMPLATE),
    migrate the copy,
    with the secret and field key it was made under and what its script printed, then
    VACUUM ANALYZE the copy as a fresh seed would be. Benchmarks whose overrides differ only
    in how they serve (`_serving_only`) share a seed. `BENCH_FRESH_SEED=1` seeds afresh
    (and keeps nothing); the kept seeds are listed by
    `psql -l | grep threshold_benchseed_` and dropped like any database."""
    import psycopg

    db = f"threshold_bench_{name}_{os.getpid()}"
    # A seed finished by rows added in SQL (`before_vacuum`) is made afresh each run.
    fresh = os.environ.get("BENCH_FRESH_SEED") == "1" or before_vacuum is not None
    kept = f"threshold_benchseed_{_seed_key(script, args, env_overrides)}"
    url = urllib.parse.urlparse(pg_admin)._replace(path=f"/{db}").geturl()
    if not fresh:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            row = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [kept],
            ).fetchone()
            if row and row[0]:
                note = json.loads(row[0])
                admin.execute(f"CREATE DATABASE {db} TEMPLATE {kept}")
        if row and row[0]:
            env = bench_env(url, **{**env_overrides, **note["secrets"]})
            try:
                _migrate(env)
                _fold_tally(env)
                with psycopg.connect(url, autocommit=True) as conn:
                    # The seed's sessions were made when it was; they last as if made now.
                    conn.execute(
                        "UPDATE django_session SET expire_date = now() + interval '8 hours'"
                    )
                    vacuum_seconds, size = _vacuum(conn)
            except BaseException:
                drop_database(db, pg_admin=pg_admin)
                raise
            return SeededDatabase(
                name=db,
                url=url,
                env=env,
                made=note["made"],
                seed_seconds=note["seed_seconds"],
                vacuum_seconds=vacuum_seconds,
                size=size,
                pg_admin=pg_admin,
            )
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    env = bench_env(url, **env_overrides)
    python = sys.executable
    try:
        _migrate(env)
        started = time.perf_counter()
        output = subprocess.run(
            [python, "-c", script, *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,  # errors go to stderr, which run.py keeps
            text=True,
        ).stdout
        seed_seconds = time.perf_counter() - started
        made = json.loads(output.strip().splitlines()[-1])
        _fold_tally(env)
        with psycopg.connect(url, autocommit=True) as conn:
            if before_vacuum is not None:
                before_vacuum(conn, made)
            vacuum_seconds, size = _vacuum(conn)
        if not fresh:
            _keep_seed(
                db,
                kept,
                pg_admin=pg_admin,
                note={
                    "made": made,
                    "seed_seconds": seed_seconds,
                    "secrets": {k: env[k] for k in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")},
                },
            )
    except BaseException:
        drop_database(db, pg_admin=pg_admin)
        raise
    return SeededDatabase(
        name=db,
        url=url,
        env=env,
        made=made,
        seed_seconds=seed_seconds,
        vacuum_seconds=vacuum_seconds,
        size=size,
        pg_admin=pg_admin,
    )


def _vacuum(conn) -> tuple[float, str]:
    """VACUUM ANALYZE, as autovacuum would after a bulk load: its seconds and the size."""
    started = time.perf_counter()
    conn.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    return seconds, size.fetchone()[0]


def _fold_tally(env: dict) -> None:
    """Fold the referral tally's rows (intake.tally), as beat does every few minutes and would
    after a bulk load."""
    subprocess.run(
        [sys.executable, "manage.py", "referral_tally"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _keep_seed(db: str, kept: str, *, pg_admin: str, note: dict) -> None:
    """Copy the freshly seeded `db` to `kept`, noting what a copy needs, before any run
    touches it. The note is written last: a seed without one is never used."""
    import psycopg

    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {kept} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {kept} TEMPLATE {db}")
        admin.execute(
            psycopg.sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                psycopg.sql.Identifier(kept), psycopg.sql.Literal(json.dumps(note))
            )
        )
