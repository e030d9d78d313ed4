"""A real PostgreSQL for tests (127.0.0.1:5432, user postgres, database test, trust).

Each test that asks for one gets a schema of its own, dropped after it. With no
server reachable the PostgreSQL tests are skipped with a message naming the URL,
unless ``SYNCHEALTH_REQUIRE_POSTGRES=1`` (.ci/run sets it): then they fail.

Tests peek into a ledger through :func:`ledger_rows` / :func:`ledger_write`, which go
through the database layer and so read the same on both engines.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tui.service.db import PostgresTarget, database

PG_URL = os.environ.get("SYNCHEALTH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_ENV = "SYNCHEALTH_REQUIRE_POSTGRES"
#: The ledger's engines, in the order every test of both runs them.
ENGINES = ("sqlite", "postgresql")


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


def db_arg(target: Path | PostgresTarget | str) -> str:
    """What ``--db`` takes for the ledger at ``target``: its path, or its PostgreSQL URL."""
    return target.url if isinstance(target, PostgresTarget) else str(target)


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


@contextmanager
def served_demo_on_postgres(folder: Path, size: int) -> Iterator[tuple[list[str], dict[str, str]]]:
    """``synchealth serve`` arguments and environment for a demo ledger of ``size`` errors
    in a PostgreSQL schema of its own, against the simulated org on a loopback port
    (``serve --demo`` builds SQLite ledgers only). The schema is dropped afterwards."""
    import asyncio

    from sfstandin import GIVEN_TOKEN, standin_in_thread

    from tui.simorg.demo import demo_org_state

    require_postgres(pg_problem())
    schema = create_schema()
    target = PostgresTarget(schema_url(schema))
    try:
        asyncio.run(demo_ledger(target, folder, size))
        with standin_in_thread(demo_org_state(7)) as org:
            env = {"SALESFORCE_ACCESS_TOKEN": GIVEN_TOKEN}
            yield ["--db", target.url, "--org-url", org.url], env
    finally:
        drop_schema(schema)


# --- a private cluster that checks passwords ---------------------------------------


@dataclass(frozen=True)
class PasswordCluster:
    """A PostgreSQL of the test session's own on 127.0.0.1:``port`` that checks passwords
    (scram-sha-256): the machine's server trusts everyone, so a wrong password can only
    be tried here. ``url`` has no password; the superuser's is ``password``."""

    port: int
    password: str
    data: Path = field(repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb and pg_ctl, if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found and (found[-1].parent / "pg_ctl").exists() else None


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def password_cluster_problem() -> str | None:
    """Why no private cluster can be made here: no server binaries, or root without
    runuser; None when it can be tried."""
    if _pg_bin() is None:
        return "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (initdb, pg_ctl)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb cannot run as the postgres user"
    return None


def start_password_cluster() -> PasswordCluster:
    """initdb into a new folder under /tmp, then pg_ctl start on a free loopback port;
    a step that fails raises RuntimeError with its output."""
    import pwd
    import secrets
    import socket
    import subprocess
    import tempfile

    bin_dir = _pg_bin()
    assert bin_dir is not None
    home = Path(tempfile.mkdtemp(prefix="synchealth-pg-"))
    password = "pw-" + secrets.token_urlsafe(12)
    (home / "pwfile").write_text(password + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (home, home / "pwfile"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    data = home / "data"
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1"
    steps = [
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
         f"--pwfile={home / 'pwfile'}", "--no-sync"],
        [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"),
         "-w", "-t", "60", "start"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(_as_postgres(step), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            raise RuntimeError(f"{Path(step[0]).name} failed: {done.stdout}{done.stderr}")
    return PasswordCluster(port, password, data)


def stop_password_cluster(cluster: PasswordCluster) -> None:
    import subprocess

    bin_dir = _pg_bin()
    assert bin_dir is not None
    stop = [str(bin_dir / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "-w", "stop"]
    subprocess.run(_as_postgres(stop), capture_output=True, timeout=60)
    shutil.rmtree(cluster.data.parent, ignore_errors=True)


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


async def stored_bytes(target: Path | PostgresTarget) -> bytes:
    """All that the ledger at ``target`` keeps, to look for what must never be stored
    there (a secret): a SQLite file's bytes with its journal files, or every row of
    every table of the PostgreSQL schema as text."""
    if isinstance(target, Path):
        return b"".join(p.read_bytes() for p in sorted(target.parent.glob(f"{target.name}*")))
    db = database(target)
    await db.open()
    try:
        tables = await db.reader.fetchall(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY table_name"
        )
        rows = [
            row
            for (table,) in tables
            for row in await db.reader.fetchall(f"SELECT CAST(t AS text) FROM {table} AS t")
        ]
    finally:
        await db.close()
    return "\n".join(r[0] for r in rows).encode()


def demo_serve_args(
    stack: ExitStack, engine: str, folder: Path, size: int = 50
) -> tuple[list[str], dict[str, str]]:
    """``synchealth serve`` arguments and environment for a demo ledger of ``size`` errors
    on ``engine`` ("sqlite": ``--demo``; "postgresql": :func:`served_demo_on_postgres`,
    its schema dropped when ``stack`` closes)."""
    if engine == "sqlite":
        return ["--demo", "--demo-size", str(size), "--db", str(folder / "served.sqlite3")], {}
    return stack.enter_context(served_demo_on_postgres(folder, size))


async def until_database_back(client: Any, path: str = "/v1/errors") -> None:
    """Wait until ``path`` answers 200 again after the service lost its database: requests
    fail at once (503) until the outage's probe, every PROBE_EVERY s, gets a connection."""
    import asyncio
    import time

    from tui.service.db.outage import PROBE_EVERY

    deadline = time.monotonic() + PROBE_EVERY + 10
    while (answer := await client.get(path)).status_code != 200:
        assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.1)
