"""A database of its own on the machine's PostgreSQL (127.0.0.1:5432, trust auth, user
postgres), for tests of what runs across replicas. Skipped with a message when no
PostgreSQL answers, unless ``SYNCHEALTH_REQUIRE_POSTGRES=1`` (``.ci/run``): then the
test fails instead (:func:`pg_harness.require_postgres`, the one rule for both)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from pg_harness import require_postgres

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        require_postgres(f"no PostgreSQL on 127.0.0.1:5432 ({exc})")
        raise


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with its sessions) afterwards."""
    name = f"replicas_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate(url: str, application_name: str, pid: int | None = None) -> int:
    """End sessions on ``url``'s database whose application name starts with
    ``application_name`` (and whose backend is ``pid``), as if their process died; how
    many ended."""
    database = url.rsplit("/", 1)[1]
    with _admin() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND application_name LIKE %s AND (%s::int IS NULL OR pid = %s::int)",
            (database, application_name + "%", pid, pid),
        ).fetchall()
    return len(rows)


def lock_holder(url: str, classid: int, objid: int) -> int | None:
    """The backend pid holding the advisory lock ``(classid, objid)``, if any."""
    database = url.rsplit("/", 1)[1]
    with _admin() as admin:
        row = admin.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s "
            "AND l.classid = %s AND l.objid = %s AND l.objsubid = 2",
            (database, classid & 0xFFFFFFFF, objid & 0xFFFFFFFF),
        ).fetchone()
    return None if row is None else int(row[0])


def allow_connections(url: str, allow: bool) -> None:
    """Open or close the database of ``url`` to new sessions; closing ends its sessions."""
    name = url.rsplit("/", 1)[1]
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
