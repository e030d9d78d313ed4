"""The change feed never skips a row across replicas (issue 14, part 2): one replica's
write transaction that commits late holds the other replica's write back, so a reader
following ``GET /v1/errors`` with its cursor (from either replica) cannot move past a
sequence number that is still to commit. Two services on one real ledger."""

from __future__ import annotations

import asyncio

import httpx
from test_replicas import failures, two  # noqa: F401  (the fixture)

from tui.service.ledger import Ledger


async def follow(client: httpx.AsyncClient, cursor: int) -> tuple[list[tuple[int, int]], int]:
    """Every (id, seq) the feed gives after ``cursor``, and the cursor after them."""
    seen: list[tuple[int, int]] = []
    while True:
        body = (await client.get("/v1/errors", params={"cursor": cursor, "limit": 2})).json()
        seen += [(row[0], row[1]) for row in body["rows"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return seen, cursor


async def test_a_late_commit_on_one_replica_holds_the_others_write_and_the_reader_misses_nothing(
    two,  # noqa: F811
) -> None:
    a, b = two
    first = (await a.ingest(failures(0, 3)))["error_ids"]
    seen, cursor = await follow(b.client, 0)
    assert [error_id for error_id, _ in seen] == first
    async with a.service.ledger.transaction() as conn:
        # replica a's transaction takes the next seq and does not commit yet ...
        await Ledger.set_status(conn, first[:1], "open")
        # ... while replica b is sent a new batch, and a reader asks b's feed
        posting = asyncio.create_task(b.ingest(failures(3, 2)))
        await asyncio.sleep(0.3)
        assert not posting.done()  # b's write waits for a's commit
        during, cursor_during = await follow(b.client, cursor)
        assert during == [] and cursor_during == cursor  # nothing half-committed shows
    added = (await posting)["error_ids"]
    after, _ = await follow(a.client, cursor)
    # a's late change first (it took its seq first), then b's, none skipped
    assert [error_id for error_id, _ in after] == [first[0], *added]
    seqs = [seq for _, seq in after]
    assert seqs == sorted(seqs) and seqs[0] == cursor + 1
    assert seqs == list(range(cursor + 1, cursor + 1 + len(seqs)))
