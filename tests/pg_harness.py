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
