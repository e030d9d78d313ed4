"""Replicas on one PostgreSQL ledger (issue 14, part 2): two services on one schema of
the machine's PostgreSQL, the simulated org behind the real connector counting what it
received. The same resync sent to both at once is sent once; a write committing late
on one replica holds the other's back, so a reader following the feed misses nothing.

The errors are written into the ledger directly, in the shape ``POST /v1/errors``
stores them (tests/test_replicas.py shows that shape through the API on SQLite)."""

from __future__ import annotations

import asyncio

import orjson
from test_replicas import received
from test_replicas_feed import follow
from test_resync_jobs import live_ids

from tui.service.ledger import Ledger


async def add_contacts(ledger: Ledger, sf_ids: list[str]) -> list[int]:
    """One open error per Contact (an email address the CRM has since corrected)."""
    rows = [
        (n, n, "property_value", "property_value.invalid_email", "contact", f"c{n}", "",
         "Contact", sf_id, "to_salesforce", "INVALID_EMAIL_ADDRESS",
         f"Email: invalid email address: p{n}@@example.com", '["Email"]',
         "2025-03-10T12:00:00Z", "2025-03-10T12:00:00Z", 1, "open",
         orjson.dumps({"record": {"attributes": {"type": "Contact"}, "Id": sf_id,
                                  "Email": f"p{n}@example.com"}, "checks": {}}).decode())
        for n, sf_id in enumerate(sf_ids, 1)
    ]  # fmt: skip
    async with ledger.transaction() as conn:
        await conn.executemany(f"INSERT INTO errors VALUES ({', '.join('?' * 18)})", rows)
    return [row[0] for row in rows]


async def test_the_same_resync_sent_to_two_replicas_at_once_is_sent_once(two_on_postgres) -> None:
    a, b = two_on_postgres
    ids = await add_contacts(a.service.ledger, live_ids(a.org, 3))
    body = {"error_ids": ids, "request_id": "same-request"}
    answers = await asyncio.gather(
        a.client.post("/v1/resync", json=body), b.client.post("/v1/resync", json=body)
    )
    done = [r for r in answers if r.status_code == 200 and not r.json()["replayed"]]
    assert len(done) == 1, [r.text for r in answers]
    other = next(r for r in answers if r is not done[0])
    assert (other.status_code, other.json().get("error", {}).get("code")) in {
        (409, "resync_in_progress"),
        (200, None),
    }, other.text
    assert received(a, b) == dict.fromkeys(live_ids(a.org, 3), 1)
    again = await b.client.post("/v1/resync", json=body)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert sum(received(a, b).values()) == 3 and a.wire.calls + b.wire.calls == 1
    # each replica's calls land in the one usage ledger, counted once
    (used,) = await a.service.ledger.reader.fetchone("SELECT sum(calls) FROM usage_hourly")  # type: ignore[misc]
    assert used == a.wire.requests + b.wire.requests


async def test_a_late_commit_on_one_replica_holds_the_others_write_and_the_reader_misses_nothing(
    two_on_postgres,
) -> None:
    a, b = two_on_postgres
    ids = await add_contacts(a.service.ledger, live_ids(a.org, 4))
    seen, cursor = await follow(b.client, 0)
    assert [error_id for error_id, _ in seen] == ids
    b_wrote = asyncio.Event()

    async def b_writes() -> None:
        async with b.service.ledger.transaction() as conn:
            await Ledger.set_status(conn, ids[2:], "open")
        b_wrote.set()

    async with a.service.ledger.transaction() as conn:
        await Ledger.set_status(conn, ids[:1], "open")  # a takes the next seq, commits late
        writer = asyncio.create_task(b_writes())
        await asyncio.sleep(0.3)
        assert not b_wrote.is_set()  # b waits for the ledger's write lock
        during, cursor_during = await follow(b.client, cursor)
        assert during == [] and cursor_during == cursor
    await writer
    after, _ = await follow(a.client, cursor)
    assert [error_id for error_id, _ in after] == [ids[0], *ids[2:]]
    assert [seq for _, seq in after] == list(range(cursor + 1, cursor + 4))
