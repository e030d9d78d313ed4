"""Writes of two replicas on one PostgreSQL ledger (issue 14, part 2 and the load test's
figures): the cause index catches up under a lock of its own, so a catch-up in progress
on one replica does not hold another's ingest back; batches posted to both at once,
with the catch-ups that follow each and a reader following the feed, leave a feed that
skipped and repeated nothing and cause totals equal to a count made afresh; a write
queued in a transaction's pipeline that fails is raised as the ledger's error, and
nothing of its transaction is kept."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from test_ingest import T0
from test_replicas import Replica, failures

from tui.core.causes import cause_key
from tui.service.db import DatabaseError
from tui.service.ingest import ingest


def synced(start: int, n: int) -> list[dict[str, Any]]:
    """The CRM records ``c<start>`` ... reported as synced after they failed."""
    return [
        {"outcome": "synced", "object_type": "contact", "record_id": f"c{k}",
         "occurred_at": "2025-03-10T12:10:00Z"}
        for k in range(start, start + n)
    ]  # fmt: skip


async def test_a_catch_up_of_the_causes_on_one_replica_does_not_hold_anothers_ingest(
    two_on_postgres,
) -> None:
    a, b = two_on_postgres
    await a.ingest(failures(0, 3))
    ledger = b.service.ledger
    async with a.service.ledger.transaction(("causes",)):  # a's catch-up, under way
        answer = await asyncio.wait_for(ingest(ledger, {"errors": failures(3, 2)}, T0), 30)
        assert answer["created"] == 2
    async with a.service.ledger.transaction():  # the ledger's lock is another lock
        posting = asyncio.create_task(ingest(ledger, {"errors": failures(5, 1)}, T0))
        await asyncio.sleep(0.3)
        assert not posting.done()  # b's write waits for a's
    assert (await posting)["created"] == 1


async def test_batches_posted_to_two_replicas_at_once_leave_the_feed_and_cause_totals_exact(
    two_on_postgres,
) -> None:
    a, b = two_on_postgres
    seen: dict[int, int] = {}  # error id -> the last seq the reader was given
    given: list[int] = []
    done = asyncio.Event()

    async def read() -> None:  # follows the feed from either replica meanwhile
        cursor, turn = 0, 0
        while True:
            finished = done.is_set()
            client = (a, b)[turn % 2].client
            body = (await client.get("/v1/errors", params={"cursor": cursor, "limit": 7})).json()
            for row in body["rows"]:
                seen[row[0]] = row[1]
                given.append(row[1])
            cursor, turn = body["next_cursor"], turn + 1
            if finished and not body["has_more"]:
                return
            await asyncio.sleep(0)

    async def post(env: Replica, starts: range) -> None:
        for start in starts:
            await env.ingest(failures(start, 20), batch_id=f"b{start}")
            if start % 60 == 0:  # some records sync after they failed
                await env.ingest(synced(start, 5))

    reader = asyncio.create_task(read())
    await asyncio.gather(post(a, range(0, 400, 40)), post(b, range(20, 400, 40)))
    done.set()
    await reader

    ledger = dict(await a.service.ledger.reader.fetchall("SELECT id, seq FROM errors"))
    assert len(ledger) == 400 and seen == ledger  # every row, at its last seq
    assert len(given) == len(set(given))  # no seq given twice
    await a.service.causes.catch_up()
    rows = await a.service.ledger.reader.fetchall(
        "SELECT subtype, sf_object, message, status, record_id FROM errors"
    )
    expected = Counter(cause_key(s, o, m) for s, o, m, status, _ in rows if status == "open")
    assert sum(expected.values()) == 400 - 5 * len(range(0, 400, 60))
    totals = await a.service.ledger.reader.fetchall(
        "SELECT cause, open_errors, records FROM cause_totals WHERE open_errors > 0"
    )
    assert {cause: (n, n) for cause, n in expected.items()} == {
        cause: (n, records) for cause, n, records in totals
    }


async def test_a_queued_write_that_fails_is_the_ledgers_error_and_nothing_is_kept(
    two_on_postgres,
) -> None:
    a, _ = two_on_postgres
    ledger = a.service.ledger
    insert = "INSERT INTO meta(key, value) VALUES (?, ?)"
    with pytest.raises(DatabaseError, match="duplicate key"):
        async with ledger.transaction() as conn:
            await conn.send(insert, ("queued", "1"))
            await conn.send(insert, ("queued", "2"))  # the same key: fails at the commit
    assert await ledger.meta("queued") is None
    with pytest.raises(DatabaseError, match="duplicate key"):
        async with ledger.transaction() as conn:
            await conn.send(insert, ("queued", "1"))
            await conn.send(insert, ("queued", "2"))
            await conn.fetchval("SELECT 1")  # a read sends what is queued: raised here
    assert await ledger.meta("queued") is None
