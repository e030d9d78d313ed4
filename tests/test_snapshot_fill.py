"""The first fill from ``GET /v1/snapshot``: the endpoint, consistency with the change feed
(changes made while the snapshot is read are neither lost nor doubled), a snapshot cut
short, a service without the endpoint. Real service, real ledger and cache files. What
the service does is tried on both engines (a service of its own on the demo ledger in
a SQLite file, then in a PostgreSQL schema: :func:`served`); what the console does with
the answers, on the embedded demo (a SQLite ledger by design)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from notify_env import ORG_TOKEN
from pg_harness import demo_ledger, service_target
from pg_harness import ledger_rows as peek

from tests.conftest import DEMO_SIZE, FIXED_NOW
from tui.core.models import ERROR_COLUMNS, FEED_ROW_COLUMNS
from tui.data.cache import ViewFilter
from tui.data.cache_schema import ROW_COLUMNS
from tui.data.fill import REQUESTS_AHEAD
from tui.data.session import DataSession, FillProgress
from tui.embedded import LEDGER_NAME, open_data_session
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state


def as_cached(rows: list[tuple]) -> list[tuple]:
    """Ledger rows of ``ROW_COLUMNS`` as the cache stores them (fields joined)."""
    at = ROW_COLUMNS.split(", ").index("fields")
    return [(*r[:at], ";".join(orjson.loads(r[at])), *r[at + 1 :]) for r in rows]


async def cache_rows(session: DataSession) -> list[tuple]:
    return list(
        await session.cache._r.execute_fetchall(f"SELECT {ROW_COLUMNS} FROM errors ORDER BY id")
    )


async def open_session(env: dict[str, Path], chunk: int = 500) -> DataSession:
    session = await open_data_session(cache_path=env["cache_file"], demo_size=DEMO_SIZE)
    session.snapshot_chunk = chunk
    return session


async def get_snapshot(session: DataSession, **params: Any) -> httpx.Response:
    return await session.client._http.get("/v1/snapshot", params=params)


async def test_the_snapshot_streams_every_error_by_id_with_its_cursor(synchealth_env) -> None:
    session = await open_session(synchealth_env)
    try:
        answer = await get_snapshot(session, after=0, limit=DEMO_SIZE)
        counted = await get_snapshot(session, after=0, limit=1, count=1)
        assert orjson.loads(counted.content.splitlines()[0])["remaining"] == DEMO_SIZE
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/x-ndjson"
        lines = answer.content.splitlines()
        header, trailer = orjson.loads(lines[0]), orjson.loads(lines[-1])
        rows = [r for line in lines[1:-1] for r in orjson.loads(line)]
        with sqlite3.connect(synchealth_env["data"] / LEDGER_NAME) as conn:
            top, max_id = conn.execute("SELECT max(seq), max(id) FROM errors").fetchone()
        assert header == {
            "columns": list(FEED_ROW_COLUMNS), "cursor": top, "remaining": None, "max_id": max_id
        }  # fmt: skip
        assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len(rows) == DEMO_SIZE
        assert trailer == {"end": True, "last_id": rows[-1][0], "has_more": False}
        assert isinstance(rows[0][ERROR_COLUMNS.index("fields")], list)

        part = await get_snapshot(session, after=rows[9][0], limit=5, count=1)
        lines = part.content.splitlines()
        got = [r for line in lines[1:-1] for r in orjson.loads(line)]
        assert got == rows[10:15]
        assert orjson.loads(lines[0])["remaining"] == DEMO_SIZE - 10
        assert orjson.loads(lines[-1]) == {"end": True, "last_id": rows[14][0], "has_more": True}

        # a range of ids: has_more speaks of the range only
        for limit, sent, more in ((5, 3, False), (2, 2, True)):
            ranged = await get_snapshot(session, after=rows[9][0], before=rows[13][0], limit=limit)
            lines = ranged.content.splitlines()
            assert [r for line in lines[1:-1] for r in orjson.loads(line)] == rows[10 : 10 + sent]
            trailer = {"end": True, "last_id": rows[9 + sent][0], "has_more": more}
            assert orjson.loads(lines[-1]) == trailer
    finally:
        await session.close()


async def test_the_snapshot_as_a_database_holds_the_rows_the_lines_hold(synchealth_env) -> None:
    """``GET /v1/snapshot/database``: the same rows as the NDJSON answer (``fields`` as
    JSON text), what its header and trailer say in ``Synchealth-Snapshot``, ranges too."""
    session = await open_session(synchealth_env)
    try:
        lines = (await get_snapshot(session, after=0, limit=DEMO_SIZE)).content.splitlines()
        rows = [r for line in lines[1:-1] for r in orjson.loads(line)]
        for params, want, more in (
            ({"after": 0, "limit": DEMO_SIZE, "count": 1}, rows, False),
            ({"after": rows[9][0], "before": rows[13][0], "limit": 5}, rows[10:13], False),
            ({"after": rows[9][0], "before": rows[13][0], "limit": 2}, rows[10:12], True),
        ):
            answer = await session.client._http.get("/v1/snapshot/database", params=params)
            assert answer.headers["content-type"] == "application/vnd.sqlite3"
            head = orjson.loads(answer.headers["synchealth-snapshot"])
            conn = sqlite3.connect(":memory:")
            conn.deserialize(answer.content)
            got = conn.execute(
                f"SELECT {', '.join(FEED_ROW_COLUMNS)} FROM snapshot_rows ORDER BY id"
            ).fetchall()
            conn.close()
            fi = FEED_ROW_COLUMNS.index("fields")
            assert [[*r[:fi], orjson.loads(r[fi]), *r[fi + 1 :]] for r in got] == want
            assert head["rows"] == len(want) and head["last_id"] == want[-1][0]
            assert head["has_more"] is more and head["max_id"] == rows[-1][0]
            assert head["remaining"] == (DEMO_SIZE if "count" in params else None)
    finally:
        await session.close()


def test_a_chunk_database_that_says_other_than_it_holds_is_refused() -> None:
    from dataclasses import replace

    from tui.data.snapshot import check_database, parse_snapshot_database

    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE snapshot_rows ({', '.join(FEED_ROW_COLUMNS)})")
    row = [1, *range(len(FEED_ROW_COLUMNS) - 1)]
    row[FEED_ROW_COLUMNS.index("fields")] = '["Name"]'
    conn.execute(f"INSERT INTO snapshot_rows VALUES ({', '.join('?' * len(row))})", row)
    conn.commit()
    data = conn.serialize()
    head = {"columns": FEED_ROW_COLUMNS, "cursor": 1, "remaining": None, "max_id": 1,
            "rows": 1, "last_id": 1, "has_more": False}  # fmt: skip
    chunk = parse_snapshot_database(orjson.dumps(head).decode(), data)
    check_database(chunk)  # as it says: accepted
    for wrong, says in (
        (replace(chunk, rows=2), "holds 1 rows"),
        (replace(chunk, database=data[: len(data) // 2]), "cannot be read"),
        (replace(chunk, database=b"not a database" * 100), "cannot be read"),
    ):
        with pytest.raises(ValueError, match=says):
            check_database(wrong)
    conn.execute("UPDATE snapshot_rows SET fields = 'Name'")
    conn.commit()
    with pytest.raises(ValueError, match="1 with unreadable fields"):
        check_database(replace(chunk, database=conn.serialize()))
    with pytest.raises(ValueError, match="no Synchealth-Snapshot header"):
        parse_snapshot_database(None, data)


@pytest.mark.parametrize(
    "params",
    [
        {"after": -1},
        {"after": "x"},
        {"limit": 0},
        {"limit": 50_001},
        {"limit": "1e3"},
        {"count": 2},
        {"before": -1},
    ],
)
async def test_bad_snapshot_parameters_are_a_422_that_says_why(synchealth_env, params) -> None:
    session = await open_session(synchealth_env)
    try:
        answer = await get_snapshot(session, **params)
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "invalid_parameter" and next(iter(params)) in error["message"]
    finally:
        await session.close()


@asynccontextmanager
async def served(target: Path | PostgresTarget, tmp_path: Path) -> AsyncIterator[DataSession]:
    """A console's data session (chunks of 500) on a service of its own over the demo
    ledger of ``DEMO_SIZE`` errors at ``target``, either engine."""
    await demo_ledger(target, tmp_path, DEMO_SIZE, now=FIXED_NOW)
    org = create_simorg(demo_org_state(7), access_token=ORG_TOKEN)
    config = ServiceConfig(**service_target(target), org_token=ORG_TOKEN,
                           org_transport=httpx.ASGITransport(app=org), mode="simulated",
                           notify_interval=None)  # fmt: skip
    service = SyncHealthService(config)
    await service.start()
    session = await DataSession.open(
        "http://synchealth.test",
        transport=httpx.ASGITransport(app=service.asgi),
        cache_path=tmp_path / "cache.sqlite3",
    )
    session.snapshot_chunk = 500
    try:
        yield session
    finally:
        await session.close()
        await service.stop()


async def held(target: Path | PostgresTarget) -> list[tuple]:
    """Every error of the ledger at ``target``, as the cache stores it."""
    return as_cached(await peek(target, f"SELECT {ROW_COLUMNS} FROM errors ORDER BY id"))


async def test_changes_made_while_the_snapshot_is_read_are_neither_lost_nor_doubled(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    """Records resolved between chunks, before and after the chunk holding them: the
    fill ends with exactly the ledger's rows, and later refreshes move nothing."""
    async with served(ledger_target, tmp_path) as session:
        await _changed_while_read(session, ledger_target)


async def _changed_while_read(session: DataSession, target: Path | PostgresTarget) -> None:
    picks = await peek(
        target,
        "SELECT object_type, record_id, min(id) FROM errors WHERE status = 'open' AND "
        "direction = 'to_salesforce' GROUP BY object_type, record_id "
        "HAVING max(last_seen) < '2025-06-16T09:00:00Z' AND (SELECT count(*) FROM errors o "
        "WHERE o.record_id = errors.record_id AND o.object_type = errors.object_type "
        "AND o.direction <> 'to_salesforce') = 0 ORDER BY min(id)",
    )
    early, late = picks[0], picks[-1]  # in the first chunk, in a later one
    assert early[2] < 500 < late[2]
    snapshot, chunks = session.client.snapshot, []

    async def snapshot_then_change(after: int, limit: int, **kw: Any) -> Any:
        chunk = await snapshot(after, limit, **kw)
        chunks.append(chunk)
        if len(chunks) == 1:  # the record of the first chunk and one not sent yet
            items = [
                {"outcome": "synced", "object_type": ot, "record_id": rid,
                 "occurred_at": "2025-06-16T09:10:00Z"}
                for ot, rid, _ in (early, late)
            ]  # fmt: skip
            answer = await session.client._http.post("/v1/errors", json={"errors": items})
            assert answer.status_code == 200 and answer.json()["resolved"] >= 2
        return chunk

    session.client.snapshot = snapshot_then_change  # type: ignore[method-assign]
    result = await session.refresh()
    assert result.online and len(chunks) == DEMO_SIZE // 500
    expected = await held(target)
    assert await cache_rows(session) == expected
    resolved = ViewFilter(status="resolved", record_id=early[1])
    assert await session.count(resolved) >= 1
    assert await session.count(ViewFilter(record_id=late[1])) == 0
    opened = sum(1 for r in expected if r[-1] == "open")
    assert sum(c.errors for c in await session.type_counts()) == opened
    again = await session.refresh()
    assert again.online and again.changed == 0


async def test_a_fill_killed_mid_snapshot_resumes_after_the_last_chunk(synchealth_env) -> None:
    session = await open_session(synchealth_env)
    seen: list[FillProgress] = []
    snapshot, asked = session.client.snapshot, []

    async def dies_at_the_third_chunk(after: int, limit: int, **kw: Any) -> Any:
        asked.append(after)
        if len(asked) == 3:
            raise asyncio.CancelledError  # the process is killed while the chunk is read
        return await snapshot(after, limit, **kw)

    session.client.snapshot = dies_at_the_third_chunk  # type: ignore[method-assign]
    session.on_fill = seen.append
    try:
        with pytest.raises(asyncio.CancelledError):
            await session.refresh()
        stored = await session.cache.row_count()
        assert stored == 1000  # the two chunks whose transactions committed
        assert session.cache.filling and await session.cache.cursor() == 0
    finally:
        await session.close()

    session = await open_session(synchealth_env)  # the restart
    try:
        state = await session.cache.snapshot_state()
        assert state is not None and session.cache.filling
        assert await session.count(ViewFilter()) == 0  # cards and grid agree: both empty
        assert sum(c.errors for c in await session.type_counts()) == 0
        snapshot, asked = session.client.snapshot, []

        async def recording(after: int, limit: int, **kw: Any) -> Any:
            asked.append(after)
            return await snapshot(after, limit, **kw)

        session.client.snapshot = recording  # type: ignore[method-assign]
        seen.clear()
        session.on_fill = seen.append
        result = await session.refresh()
        assert result.online and asked[0] == state[1]  # on after the last stored id
        assert seen[0].done == stored and seen[-1].done == DEMO_SIZE == seen[-1].total
        assert await cache_rows(session) == await held(synchealth_env["data"] / LEDGER_NAME)
        assert not session.cache.filling and await session.cache.snapshot_state() is None
        opened = sum(1 for r in await held(synchealth_env["data"] / LEDGER_NAME) if r[-1] == "open")
        assert await session.count(ViewFilter()) == opened
        assert sum(c.errors for c in await session.type_counts()) == opened
    finally:
        await session.close()


class CutShort(httpx.AsyncBaseTransport):
    """The service's transport, with the first answer of the second chunk (ids above
    500) cut short: NDJSON without its trailer, or half a SQLite database. The answers
    of later chunks, asked at the same time, arrive first. Without ``database`` the
    service answers as one from before ``/v1/snapshot/database`` (404)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, database: bool) -> None:
        self.inner, self.database, self.cut = inner, database, 0
        self.flying = self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/snapshot/database" and not self.database:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "-"}})
        if not path.startswith("/v1/snapshot"):
            return await self.inner.handle_async_request(request)
        self.flying += 1
        self.most = max(self.most, self.flying)
        try:
            answer = await self.inner.handle_async_request(request)
            body = await answer.aread()
        finally:
            self.flying -= 1
        if request.url.params["after"] == "500" and not self.cut:
            await asyncio.sleep(0.5)  # the later chunks' answers come first
            self.cut += 1
            if self.database:
                body = body[: len(body) // 2]
            else:
                body = body[: body.rstrip(b"\n").rfind(b"\n") + 1]
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)


@pytest.mark.parametrize(("database", "says"), [(True, "cannot be read"), (False, "cut short")])
async def test_a_snapshot_cut_short_stores_nothing_of_it_and_the_next_refresh_goes_on(
    synchealth_env, database: bool, says: str
) -> None:
    session = await open_session(synchealth_env)
    transport = CutShort(session._owned.transport, database)
    session.client._http._transport = transport
    try:
        result = await session.refresh()
        assert not result.online and says in (result.error or ""), result.error
        assert await session.cache.row_count() == 500  # the first chunk, whole
        assert session.cache.path.exists() and session.cache.notice is None  # not "damaged"
        assert transport.most == REQUESTS_AHEAD  # the ranges after the first, at once
        result = await session.refresh()
        assert result.online
        assert await cache_rows(session) == await held(synchealth_env["data"] / LEDGER_NAME)
    finally:
        await session.close()


def test_an_unreadable_snapshot_is_refused_with_the_reason() -> None:
    from tui.data.snapshot import parse_snapshot

    for body in (b"", b'{"columns": []}\n', b"not json\n[]\n{}\n", b'{}\n{"end": true}\n'):
        with pytest.raises(ValueError):
            parse_snapshot(body)


async def test_a_service_without_the_snapshot_is_filled_from_the_feed(synchealth_env) -> None:
    session = await open_session(synchealth_env)

    class NoSnapshot(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/v1/snapshot":  # a service from before the endpoint
                body = {"error": {"code": "not_found", "message": "There is no endpoint."}}
                return httpx.Response(404, json=body)
            return await self.inner.handle_async_request(request)

    session.client._http._transport = NoSnapshot(session._owned.transport)
    session.page_size = 250
    session.cache.bulk_threshold = 250
    try:
        result = await session.refresh()
        assert result.online and result.changed == DEMO_SIZE
        assert await cache_rows(session) == await held(synchealth_env["data"] / LEDGER_NAME)
    finally:
        await session.close()


async def test_a_ledger_that_cannot_be_read_ends_the_snapshot_without_a_trailer(
    tmp_path: Path,
) -> None:
    """The status line is sent before the rows: a failure leaves an answer the client
    refuses as cut short, never a 500 nor rows that look whole."""
    from tui.data.snapshot import parse_snapshot
    from tui.service.db import database
    from tui.service.snapshot import snapshot_lines

    missing = [line async for line in snapshot_lines(database(tmp_path / "none.sqlite3"), 0, 10)]
    assert missing == []
    broken = tmp_path / "broken.sqlite3"
    with sqlite3.connect(broken) as conn:
        conn.execute("CREATE TABLE errors (id INTEGER PRIMARY KEY, seq INTEGER)")
        conn.execute("INSERT INTO errors VALUES (1, 1)")  # no columns to make rows of
    lines = [line async for line in snapshot_lines(database(broken), 0, 10, count=True)]
    assert len(lines) == 1 and orjson.loads(lines[0])["remaining"] == 1
    with pytest.raises(ValueError, match="no header or no trailer"):
        parse_snapshot(b"".join(lines))


#: A first fill in a process of its own, chunks of 250, four to a transaction
#: (CHUNKS_PER_COMMIT); after its sixth chunk (1,000 rows committed, 500 stored in the
#: open transaction) it says so and stops, to be killed there.
_FILL_THEN_HANG = """
import asyncio, sys, time
from pathlib import Path
from tui.embedded import open_data_session

async def main() -> None:
    session = await open_data_session(cache_path=Path(sys.argv[1]), demo_size=int(sys.argv[2]))
    session.snapshot_chunk = 250

    def hang_after_six_chunks(progress) -> None:
        if progress.done >= 1500:
            print(progress.done, flush=True)
            time.sleep(600)  # the loop stops here, the transaction open

    session.on_fill = hang_after_six_chunks
    await session.refresh()

asyncio.run(main())
"""


async def test_a_fill_killed_with_sigkill_mid_transaction_resumes_after_the_last_commit(
    synchealth_env,
) -> None:
    """A real kill (SIGKILL, no cleanup) while a transaction of several chunks is open:
    the cache keeps the chunks committed before it, the resume point is theirs, and the
    next fill ends with every row of the ledger once."""
    import signal
    import subprocess
    import sys

    from tui.data.fill import CHUNKS_PER_COMMIT

    assert CHUNKS_PER_COMMIT == 4  # the counts below assume it
    cache_file = synchealth_env["cache_file"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _FILL_THEN_HANG, str(cache_file), str(DEMO_SIZE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)  # type: ignore[union-attr]
        assert line.strip() == "1500"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    ledger = await held(synchealth_env["data"] / LEDGER_NAME)
    with sqlite3.connect(cache_file) as conn:  # as the kill left it
        kept = [r[0] for r in conn.execute("SELECT id FROM errors ORDER BY id")]
        state = orjson.loads(
            conn.execute("SELECT value FROM meta WHERE key = 'json:snapshot'").fetchone()[0]
        )
    assert kept == [r[0] for r in ledger[:1000]]  # the first transaction's four chunks
    assert state[1] == kept[-1]  # resumes after the last id committed

    session = await open_session(synchealth_env)  # the restart
    try:
        assert session.cache.filling
        result = await session.refresh()
        assert result.online and result.changed == DEMO_SIZE - 1000
        assert await cache_rows(session) == ledger
        assert not session.cache.filling and await session.cache.snapshot_state() is None
    finally:
        await session.close()


async def test_the_cache_fills_the_same_from_a_service_on_either_engine(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    """The snapshot's rows are made by the database (json_rows): on PostgreSQL too the
    console's cache ends with the ledger's rows, chunk after chunk, and its cards agree."""
    async with served(ledger_target, tmp_path) as session:
        result = await session.refresh()
        assert result.online and result.changed == DEMO_SIZE
        expected = await held(ledger_target)
        assert await cache_rows(session) == expected
        opened = sum(1 for r in expected if r[-1] == "open")
        assert sum(c.errors for c in await session.type_counts()) == opened
