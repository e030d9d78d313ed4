"""Replicas on one ledger (issue 14, part 2): a replica's start leaves a live replica's
resync alone, a dead one's is interrupted, and a request_id or batch_id sent to two
replicas at once is carried out once (two services on one ledger of each engine, a
SQLite file, then a schema of the real PostgreSQL; the simulated org behind the real
connector counts what it received)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from clock import Clock
from pg_harness import service_target
from test_ingest import ORG_TOKEN, T0, Env
from test_resync_jobs import Received, report

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.service.lease import Leases
from tui.service.ledger import Ledger
from tui.service.replicas import STALE_AFTER, Replicas
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.state import OrgState

WALL = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
async def ledger(ledger_target: Path | PostgresTarget) -> AsyncIterator[Ledger]:
    """The ledger on each engine (a SQLite file, a PostgreSQL schema of its own)."""
    led = Ledger(ledger_target)
    await led.open()
    yield led
    await led.close()


async def state_of(ledger: Ledger, request_id: str) -> str:
    stored = await ledger.request(request_id)
    assert stored is not None
    return stored.state


async def test_one_process_on_sqlite_interrupts_every_started_request_at_start(
    ledger: Ledger,
) -> None:
    await ledger.start_request("a", [1, 2], T0, owner="gone-host:1:x")
    await ledger.start_request("b", [3], T0)  # written before requests had owners
    replica = Replicas(ledger, single_process=True)
    assert await replica.start() == 2
    await replica.stop()
    assert [await state_of(ledger, r) for r in ("a", "b")] == ["interrupted", "interrupted"]
    stored = await ledger.request("a")
    assert stored is not None and stored.error_ids == [1, 2]


async def test_a_live_replicas_request_is_left_alone_and_a_dead_ones_interrupted(
    ledger: Ledger,
) -> None:
    wall = Clock(WALL)
    first = Replicas(ledger, single_process=False, clock=wall)
    await first.start()
    await ledger.start_request("live", [1], T0, owner=first.replica_id)
    await ledger.start_request("old", [2], T0)  # no owner: a process of before version 7
    second = Replicas(ledger, single_process=False, clock=wall)
    try:
        assert await second.start() == 1  # only the ownerless one
        assert await state_of(ledger, "live") == "started"
        assert await state_of(ledger, "old") == "interrupted"
        # the first replica's heartbeat stops (killed): fresh enough for a while ...
        wall.advance(seconds=5 * STALE_AFTER - 1)
        assert await second.beat() == 0 and await state_of(ledger, "live") == "started"
        # ... then older than STALE_AFTER heartbeats: the next sweep interrupts its request
        wall.advance(seconds=2)
        assert await second.beat() == 1
        assert await state_of(ledger, "live") == "interrupted"
        async with ledger.reader.execute("SELECT replica_id FROM replicas") as cur:
            assert [r[0] for r in await cur.fetchall()] == [second.replica_id]
    finally:
        await second.stop()
        await first.stop()


async def test_a_clean_stop_interrupts_only_its_own_requests(ledger: Ledger) -> None:
    one = Replicas(ledger, single_process=False)
    two = Replicas(ledger, single_process=False)
    await one.start()
    await two.start()
    await ledger.start_request("mine", [1], T0, owner=one.replica_id)
    await ledger.start_request("theirs", [2], T0, owner=two.replica_id)
    await one.stop()
    assert await state_of(ledger, "mine") == "interrupted"
    assert await state_of(ledger, "theirs") == "started"
    await two.stop()


# -- two services on one ledger ------------------------------------------------------------


class Wire(Received):
    """:class:`Received`, also counting every request the org answered (``requests``)."""

    requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await super().handle_async_request(request)


@dataclass
class Replica(Env):
    """A service process with the wire to the one simulated org all replicas share."""

    wire: Wire


async def open_replica(
    db: Path | PostgresTarget,
    org: OrgState,
    clock: Clock,
    leases: Leases | None = None,
    **config: Any,
) -> Replica:
    """A service process on the ledger ``db`` (either engine), one of several on it."""
    wire = Wire(httpx.ASGITransport(app=create_simorg(org, access_token=ORG_TOKEN)))
    values: dict[str, Any] = {"notify_interval": None, "retry_interval": None, **config}
    settings = ServiceConfig(**service_target(db), org_token=ORG_TOKEN, org_transport=wire,
                             clock=clock, mode="simulated", **values)  # fmt: skip
    service = SyncHealthService(settings, leases)
    await service.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.asgi),
                               base_url="http://synchealth.test")  # fmt: skip
    return Replica(service, client, org, clock, db, wire)


@asynccontextmanager
async def two_replicas(db: Path | PostgresTarget) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two service replicas on the one ledger ``db``, the demo's org behind both."""
    org, clock = demo_org_state(7), Clock(T0)
    a = await open_replica(db, org, clock)
    b = await open_replica(db, org, clock)
    try:
        yield a, b
    finally:
        for env in (a, b):
            await env.client.aclose()
            await env.service.stop()


@pytest.fixture
async def two(ledger_target: Path | PostgresTarget) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas on one ledger of each engine in turn."""
    async with two_replicas(ledger_target) as pair:
        yield pair


def received(*envs: Replica) -> dict[str, int]:
    """Every record id the one org received, with how often, whichever replica sent it."""
    total: dict[str, int] = {}
    for env in envs:
        for key, times in env.wire.records.items():
            total[key] = total.get(key, 0) + times
    return total


async def test_the_same_resync_sent_to_two_replicas_at_once_is_sent_once(two) -> None:
    a, b = two
    ids = await report(a, 3)
    body = {"error_ids": ids, "request_id": "same-request"}
    answers = await asyncio.gather(
        a.client.post("/v1/resync", json=body), b.client.post("/v1/resync", json=body)
    )
    done = [r for r in answers if r.status_code == 200 and not r.json()["replayed"]]
    others = [r for r in answers if r not in done]
    assert len(done) == 1 and len(others) == 1, [r.text for r in answers]
    other = others[0]
    # the other replica either saw it being sent or, a moment later, its stored answer
    assert (other.status_code, other.json().get("error", {}).get("code")) in {
        (409, "resync_in_progress"),
        (200, None),
    }, other.text
    assert received(a, b) == dict.fromkeys(received(a, b), 1) and len(received(a, b)) == 3
    # asked again now, either replica answers the stored result
    again = await b.client.post("/v1/resync", json=body)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert sum(received(a, b).values()) == 3
    # every Salesforce call is counted once, whichever replica made it (the usage view
    # asks the org for its limits: one more call)
    usage = (await b.client.get("/v1/usage")).json()
    assert a.wire.calls + b.wire.calls == 1
    assert usage["used"] == a.wire.requests + b.wire.requests == 2


def failures(start: int, n: int) -> list[dict[str, Any]]:
    """``n`` failed Contacts of the CRM records ``c<start>`` ...: new errors each."""
    return [
        {"object_type": "contact", "record_id": f"c{k}", "occurred_at": "2025-03-10T12:00:00Z",
         "salesforce": {"object": "Contact", "fields": {"Email": f"p{k}@@example.com"}},
         "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid",
                     "fields": ["Email"]}]}
        for k in range(start, start + n)
    ]  # fmt: skip


async def fail(env: Env, start: int, n: int) -> list[int]:
    """Report :func:`failures` to ``env``; their error ids."""
    ids: list[int] = (await env.ingest(failures(start, n)))["error_ids"]
    return ids


async def test_the_same_batch_posted_to_two_replicas_at_once_is_recorded_once(two) -> None:
    a, b = two
    body = {"errors": failures(0, 50), "batch_id": "batch-1"}
    answers = await asyncio.gather(
        a.client.post("/v1/errors", json=body), b.client.post("/v1/errors", json=body)
    )
    assert [r.status_code for r in answers] == [200, 200]
    assert sorted(r.json()["replayed"] for r in answers) == [False, True]
    assert answers[0].json()["error_ids"] == answers[1].json()["error_ids"]
    async with a.service.ledger.reader.execute("SELECT count(*), sum(attempts) FROM errors") as c:
        assert tuple(await c.fetchone()) == (50, 50)  # type: ignore[arg-type]
