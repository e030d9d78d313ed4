"""A real PostgreSQL for tests (127.0.0.1:5432, user postgres, database test, trust).

Each test that asks for one gets a schema of its own, dropped after it. With no
server reachable the PostgreSQL tests are skipped with a message naming the URL,
unless ``SYNCHEALTH_REQUIRE_POSTGRES=1`` (.ci/run sets it): then they fail.

Tests peek into a ledger through :func:`ledger_rows` / :func:`ledger_write`, which go
through the database layer and so read the same on both engines.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tui.service.db import PostgresTarget, database

PG_URL = os.environ.get("SYNCHEALTH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_ENV = "SYNCHEALTH_REQUIRE_POSTGRES"


def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {PG_URL}: {str(exc).strip().splitlines()[0]}"


def schema_url(schema: str) -> str:
    """``PG_URL`` with ``schema`` first on the search path (libpq ``options``)."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def create_schema() -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name


def drop_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def require_postgres(problem: str | None) -> None:
    """Skip (or, with SYNCHEALTH_REQUIRE_POSTGRES=1, fail) when PostgreSQL is missing."""
    if problem is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{problem} ({REQUIRE_ENV}=1: PostgreSQL tests must run)")
    pytest.skip(problem)


async def ledger_rows(
    target: Path | PostgresTarget, sql: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read from the ledger at ``target``, whichever engine holds it."""
    db = database(target)
    await db.open()
    try:
        return await db.reader.fetchall(sql, params)
    finally:
        await db.close()


async def ledger_write(
    target: Path | PostgresTarget, sql: str, rows: Iterable[Sequence[Any]] = ((),)
) -> None:
    """``sql`` run once per row of ``rows`` in one write transaction on ``target``."""
    db = database(target)
    await db.open()
    try:
        async with db.transaction() as conn:
            await conn.executemany(sql, rows)
    finally:
        await db.close()


def service_target(target: Path | PostgresTarget) -> dict[str, Any]:
    """ServiceConfig's ledger fields for ``target``: a SQLite path or a PostgreSQL one."""
    if isinstance(target, PostgresTarget):
        return {"db_path": Path("unused-on-postgresql.sqlite3"), "database": target}
    return {"db_path": target}


async def copy_into(source: Path, target: PostgresTarget) -> None:
    """The tables of the SQLite ledger ``source`` (e.g. a demo ledger) copied into a new
    ledger at ``target``, so a test seeded by the demo builder runs on PostgreSQL too."""
    from tui.service.db import has_table
    from tui.service.db.dialect import columns
    from tui.service.ledger import Ledger

    into = Ledger(target)
    await into.open()  # the schema, at this synchealth's version
    src = database(source)
    await src.open()
    try:
        tables = [
            r[0]
            for r in await src.reader.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        async with into.transaction() as conn:
            for table in tables:
                if not await has_table(conn, table):
                    continue
                names = sorted(await columns(src.reader, table) & await columns(conn, table))
                rows = await src.reader.fetchall(f"SELECT {', '.join(names)} FROM {table}")
                await conn.execute(f"DELETE FROM {table}")
                marks = ", ".join("?" * len(names))
                await conn.executemany(
                    f"INSERT INTO {table}({', '.join(names)}) VALUES ({marks})", rows
                )
                if "id" in names:  # identities continue after the ids copied
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                    )
    finally:
        await src.close()
        await into.close()


async def demo_ledger(target: Path | PostgresTarget, tmp_path: Path, size: int, **kw: Any) -> None:
    """The demo ledger of ``size`` errors at ``target``, on either engine."""
    from tui.embedded import build_demo_ledger

    path = target if isinstance(target, Path) else tmp_path / "demo-source.sqlite3"
    build_demo_ledger(path, size, **kw)
    if isinstance(target, PostgresTarget):
        await copy_into(path, target)


#: A test, or a module (``pytestmark``), that uses ``ledger_target`` (directly or through a
#: fixture) but is about SQLite alone, or not about the ledger: its SQLite case only.
sqlite_only = pytest.mark.parametrize("ledger_target", ["sqlite"], indirect=True)


async def ledger_text(target: PostgresTarget) -> str:
    """Every row of every table of the PostgreSQL ledger at ``target``, as text: what a
    search of the database's contents for a string has to look through."""
    tables = await ledger_rows(
        target,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() ORDER BY table_name",
    )
    found = [
        await ledger_rows(target, f"SELECT string_agg(t::text, E'\\n') FROM {name} t")
        for (name,) in tables
    ]
    return "\n".join(rows[0][0] or "" for rows in found)
