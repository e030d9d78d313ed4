"""What the ledger promises on both engines: writes serialised across processes (the
change feed never skips a row that commits late), migrations in one transaction, a
newer ledger refused, and the database's faults answered with clear messages."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from pg_harness import PG_URL, db_arg, ledger_rows, ledger_write, until_database_back

from tui.service import migrations
from tui.service.db import Connection, DatabaseError, PostgresTarget, database, parse_target
from tui.service.db.dialect import postgres_schema, statements
from tui.service.ledger import SCHEMA_VERSION, Ledger

FROZEN_V5 = Path(__file__).parent / "data" / "ledger_schema_v5.sql"
ERROR_ROW = (
    "INSERT INTO errors VALUES (?, ?, 'picklist', 'picklist.restricted_value', 'contact',"
    " ?, 'Name', 'Lead', NULL, 'to_salesforce', 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',"
    " 'bad value', '[]', '2025-03-01T00:00:00Z', '2025-03-01T00:00:00Z', 1, 'open', '{}')"
)


async def _frozen_ledger(target: Path | PostgresTarget, version: int) -> None:
    """A ledger as synchealth of schema version 5 wrote it, claiming ``version``; a
    version-4 ledger had no trend_days (version 5 added it)."""
    db = database(target)
    await db.open()
    try:
        async with db.transaction() as conn:
            for statement in statements(FROZEN_V5.read_text("utf-8")):
                if version < 5 and "trend_days" in statement:
                    continue
                if db.dialect == "postgresql":
                    statement = postgres_schema(statement)
                await conn.execute(statement)
            await conn.executemany(ERROR_ROW, [(i, i, f"c{i}") for i in (1, 2, 3)])
            await conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(version),)
            )
    finally:
        await db.close()


async def _version(target: Path | PostgresTarget) -> str:
    rows = await ledger_rows(target, "SELECT value FROM meta WHERE key = 'schema_version'")
    return str(rows[0][0])


async def test_a_previous_version_is_upgraded_and_keeps_its_rows(
    ledger_target: Path | PostgresTarget,
) -> None:
    await _frozen_ledger(ledger_target, 4)
    ledger = Ledger(ledger_target)
    await ledger.open()
    try:
        assert await ledger.meta("schema_version") == str(SCHEMA_VERSION)
        rows, cursor, _ = await ledger.feed(0, 10)
        assert [r[0] for r in rows] == [1, 2, 3] and cursor == 3
        assert await ledger.reader.fetchall("SELECT count(*) FROM trend_days") == [(0,)]
    finally:
        await ledger.close()


async def test_the_frozen_version_5_opens_at_this_version(
    ledger_target: Path | PostgresTarget,
) -> None:
    await _frozen_ledger(ledger_target, 5)
    ledger = Ledger(ledger_target)
    await ledger.open()
    await ledger.close()
    assert await _version(ledger_target) == str(SCHEMA_VERSION)
    assert len(await ledger_rows(ledger_target, "SELECT id FROM errors")) == 3


async def _version_4_intact_then_migrated(target: Path | PostgresTarget) -> None:
    """Version 4 as it was (no column ``half``, no trend_days, which the schema makes in
    the same transaction); then the real step on the next start."""
    from tui.service.db import columns, has_table

    assert await _version(target) == "4"
    db = database(target)
    await db.open()
    try:
        assert "half" not in await columns(db.reader, "errors")
        assert not await has_table(db.reader, "trend_days")
    finally:
        await db.close()
    ledger = Ledger(target)
    await ledger.open()
    await ledger.close()
    assert await _version(target) == str(SCHEMA_VERSION)


async def test_a_migration_that_fails_half_way_leaves_the_previous_version(
    ledger_target: Path | PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step changes a table, then fails: the column, trend_days (created by the
    schema in the same transaction) and the version are all as before."""
    await _frozen_ledger(ledger_target, 4)

    async def half_way(conn: Connection) -> None:
        await conn.execute("ALTER TABLE errors ADD COLUMN half TEXT")
        raise DatabaseError("the step fails half way")

    monkeypatch.setitem(migrations.MIGRATIONS, 5, half_way)
    with pytest.raises(DatabaseError, match="half way"):
        await Ledger(ledger_target).open()
    monkeypatch.undo()
    await _version_4_intact_then_migrated(ledger_target)


#: A process that upgrades a version-4 ledger with a step that changes a table and
#: every row, says so in a file, then waits to be killed.
_KILLED_MID_MIGRATION = """
import asyncio, pathlib, sys
from tui.service import migrations
from tui.service.db import parse_target
from tui.service.ledger import Ledger

async def half_way(conn):
    await conn.execute("ALTER TABLE errors ADD COLUMN half TEXT")
    await conn.execute("UPDATE errors SET status = 'resolved', half = 'x'")
    pathlib.Path(sys.argv[2]).write_text("half way")
    await asyncio.sleep(120)

migrations.MIGRATIONS[5] = half_way
asyncio.run(Ledger(parse_target(sys.argv[1])).open())
"""


async def test_a_migration_killed_half_way_leaves_the_previous_version_intact(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    """kill -9 of the process in the middle of a step: the next start finds version 4
    with its rows as they were, and migrates."""
    import signal
    import subprocess
    import sys

    await _frozen_ledger(ledger_target, 4)
    marker = tmp_path / "half-way"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_MID_MIGRATION, db_arg(ledger_target), str(marker)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the migration did not reach its middle"
            await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    rows = await ledger_rows(ledger_target, "SELECT id, status FROM errors ORDER BY id")
    assert rows == [(1, "open"), (2, "open"), (3, "open")]
    await _version_4_intact_then_migrated(ledger_target)
    assert len(await ledger_rows(ledger_target, "SELECT id FROM errors")) == 3


async def test_two_writers_commit_seqs_in_order_and_the_reader_never_skips_a_row(
    ledger_target: Path | PostgresTarget,
) -> None:
    """Two Ledger objects on one database (two replicas) and a reader following the
    feed: a transaction that has taken seq 4 and not yet committed keeps the other
    writer from taking seq 5, so no cursor can pass 4 before 4 is visible."""
    first, second = Ledger(ledger_target), Ledger(ledger_target)
    await first.open()
    await second.open()
    try:
        await ledger_write(ledger_target, ERROR_ROW, [(i, i, f"c{i}") for i in (1, 2, 3)])
        holding, release, second_in = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def slow() -> None:
            async with first.transaction() as conn:
                await Ledger.set_status(conn, [1], "resolved")  # seq 4, not committed
                holding.set()
                await release.wait()

        async def quick() -> None:
            await holding.wait()
            async with second.transaction() as conn:
                second_in.set()
                await Ledger.set_status(conn, [2], "resolved")  # seq 5

        tasks = [asyncio.create_task(slow()), asyncio.create_task(quick())]
        await holding.wait()
        await asyncio.sleep(0.3)
        assert not second_in.is_set()  # the second writer waits for the first
        assert await first.feed(3, 10) == ([], 3, False)  # nothing committed yet
        release.set()
        await asyncio.gather(*tasks)
        rows, cursor, _ = await second.feed(3, 10)
        assert [(r[0], r[1]) for r in rows] == [(1, 4), (2, 5)] and cursor == 5

        # Many interleaved writes from both, a reader following its cursor meanwhile:
        # it sees every change exactly where the feed has it.
        seen: dict[int, int] = {}
        done = asyncio.Event()

        async def follow() -> None:
            cursor = 5
            while True:
                finished = done.is_set()
                rows, cursor, _ = await first.feed(cursor, 1000)
                seen.update({r[1]: r[0] for r in rows})
                if finished and not rows:
                    return
                await asyncio.sleep(0)

        async def write(ledger: Ledger, ids: list[int]) -> None:
            for n in range(10):
                async with ledger.transaction() as conn:
                    await Ledger.set_status(conn, ids, "open" if n % 2 else "resolved")

        reader = asyncio.create_task(follow())
        await asyncio.gather(write(first, [1, 2]), write(second, [3]))
        done.set()
        await reader
        rows, _, _ = await first.feed(5, 10_000)
        # A row changed again leaves its older seq behind (the feed has its latest
        # state); what the reader ends with is each row's last committed change.
        last: dict[int, int] = {}
        for seq, error_id in sorted(seen.items()):
            last[error_id] = seq
        assert last == {r[0]: r[1] for r in rows} and max(seen) == 5 + 30
    finally:
        await first.close()
        await second.close()


# -- faults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://u:secret@host:notaport/db", "port that is not a number"),
        ("postgresql://u:secret@[::1/db", "does not parse"),
        ("mysql://u:secret@host/db", "has the scheme 'mysql'"),
        ("sqlite://relative.db", "sqlite:///absolute/path"),
    ],
)
def test_a_url_that_does_not_parse_is_a_clear_message_without_the_password(
    url: str, says: str
) -> None:
    with pytest.raises(DatabaseError) as got:
        parse_target(url)
    assert says in str(got.value) and "secret" not in str(got.value)


def test_the_password_never_shows_in_a_repr_or_a_str(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    file.write_text("s3cret-from-file\n")
    file.chmod(0o600)
    target = parse_target("postgresql://app:s3cret@db.example:5432/ledger", file)
    assert isinstance(target, PostgresTarget) and target.password == "s3cret-from-file"
    for shown in (repr(target), str(target), database(target).describe()):
        assert "s3cret" not in shown and "app:***@db.example:5432/ledger" in shown


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres:pw@127.0.0.1:CLOSED/test", "refused"),
        (PG_URL.replace("postgres@", "no_such_role:pw@"), 'role "no_such_role" does not exist'),
        (PG_URL.rsplit("/", 1)[0] + "/no_such_db", 'database "no_such_db" does not exist'),
    ],
    ids=["closed_port", "unknown_role", "unknown_database"],
)
async def test_the_database_refusing_at_start_names_host_and_database(
    url: str, says: str, postgres_problem: str | None
) -> None:
    from pg_harness import require_postgres

    require_postgres(postgres_problem)
    target = parse_target(url.replace("CLOSED", str(_closed_port())))
    assert isinstance(target, PostgresTarget)
    with pytest.raises(DatabaseError) as got:
        await Ledger(target).open()
    message = str(got.value)
    assert "cannot connect to the PostgreSQL database" in message and says in message
    assert "127.0.0.1:" in message and ":pw" not in message


class _Proxy:
    """A loopback TCP proxy to PostgreSQL that a test can cut and restore."""

    def __init__(self, port: int) -> None:
        self.port, self.listen_port = port, 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self, listen_port: int = 0) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._pipes |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._pipes:
            writer.close()
        self._pipes.clear()
        await self._server.wait_closed()


async def test_the_database_down_mid_request_is_a_503_then_the_next_request_works(
    pg_target: PostgresTarget,
) -> None:
    from tui.service.app import SyncHealthService
    from tui.service.config import ServiceConfig

    proxy = _Proxy(int(PG_URL.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    via = PostgresTarget(pg_target.url.replace(":5432/", f":{proxy.listen_port}/"))
    service = SyncHealthService(
        ServiceConfig(
            db_path=Path("unused"),
            database=via,
            org_token="t",
            notify_interval=None,
            retry_interval=None,
        )
    )
    await service.start()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.asgi), base_url="http://synchealth.test"
    )
    try:
        assert (await client.get("/v1/errors")).status_code == 200
        await proxy.cut()
        answer = await client.get("/v1/errors")
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "database_unavailable"
        assert "cannot be reached" in error["message"] and "127.0.0.1" in error["message"]
        health = await client.get("/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        await proxy.start(proxy.listen_port)  # the database is back
        await until_database_back(client)
        assert (await client.get("/v1/health")).json()["status"] == "ok"
    finally:
        await client.aclose()
        await service.stop()
        await proxy.cut()
