"""What runs once across replicas (issue 14, part 2): the notifier, the retries and the
resync jobs run in the replica holding their lease, a PostgreSQL advisory lock, and move
to another replica when the holder's session dies. A real PostgreSQL (a database of
each test's own, holding the ledger two service objects share), a real webhook receiver
on loopback and the simulated org counting what it received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from clock import Clock
from notify_env import WebhookReceiver
from pg_db import fresh_database, lock_holder, terminate
from test_ingest import T0
from test_notify_loop import eventually
from test_replicas import Replica, fail, open_replica, received
from test_resync_jobs import report, start_job, until

from tui.service.db import PostgresTarget
from tui.service.lease import LEASE_CLASS, LEASE_NAMES, AdvisoryLeases, LeaseName, Leases, lease_key
from tui.simorg.demo import demo_org_state

APP = "synchealth leases"


@pytest.fixture
def pg_url() -> AsyncIterator[str]:
    with fresh_database() as url:
        yield url


async def taken(leases: Leases, name: LeaseName, seconds: float = 5.0) -> bool:
    """Whether ``leases`` gets ``name`` within ``seconds`` (a session's locks go a moment
    after its client closed it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await leases.held(name):
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def holder(url: str, name: str) -> int | None:
    return lock_holder(url, LEASE_CLASS, lease_key(name, "public"))


async def test_a_lease_is_held_by_one_session_and_moves_when_it_dies(pg_url: str) -> None:
    first, second = AdvisoryLeases(pg_url, cooldown=0.2), AdvisoryLeases(pg_url)
    try:
        assert await first.held("notifier") is True
        assert await second.held("notifier") is False
        assert await second.held("jobs") is True  # each lease on its own
        assert await first.held("notifier") is True  # asked again: still its own
        assert first.holding() == ["notifier"] and second.holding() == ["jobs"]
        pid = holder(pg_url, "notifier")
        assert pid is not None and terminate(pg_url, APP, pid) == 1  # the holder "dies"
        assert await first.held("notifier") is False  # it notices at its next look
        assert first.holding() == []
        assert await first.held("notifier") is False  # and waits before it asks again
        assert await second.held("notifier") is True
        await asyncio.sleep(0.25)
        assert await first.held("notifier") is False  # reconnected, but it is taken now
        await second.close()  # a clean stop gives its leases back (as its session ends)
        assert await taken(first, "jobs") and await taken(first, "notifier")
    finally:
        await first.close()
        await second.close()


async def test_leases_of_two_scopes_do_not_meet(pg_url: str) -> None:
    one, other = AdvisoryLeases(pg_url, scope="team_a"), AdvisoryLeases(pg_url, scope="team_b")
    try:
        assert await one.held("jobs") and await other.held("jobs")
    finally:
        await one.close()
        await other.close()


async def test_a_database_that_does_not_answer_holds_no_lease() -> None:
    leases = AdvisoryLeases("postgresql://postgres@127.0.0.1:9/none")  # nothing listens on 9
    assert await leases.held("notifier") is False
    assert leases.holding() == []
    await leases.close()


# -- two services ---------------------------------------------------------------------------


async def open_two(pg_url: str, **config: object) -> tuple[Replica, Replica]:
    """Two service processes on one PostgreSQL ledger, its leases in the same database
    (the first started with a cooldown of 5 s); the first one started holds every lease."""
    org, clock, db = demo_org_state(7), Clock(T0), PostgresTarget(pg_url)
    first = await open_replica(db, org, clock, leases=AdvisoryLeases(pg_url, cooldown=5), **config)
    for name in LEASE_NAMES:
        assert await first.service.leases.held(name)
    second = await open_replica(db, org, clock, leases=AdvisoryLeases(pg_url), **config)
    return first, second


async def close_all(*envs: Replica) -> None:
    for env in envs:
        await env.client.aclose()
        await env.service.stop()


async def test_only_the_holder_notifies_and_the_other_takes_over(pg_url: str) -> None:
    with WebhookReceiver() as hook:
        a, b = await open_two(pg_url, notify_interval=0.02, webhook_url=hook.url())
        try:
            answer = await b.client.put(
                "/v1/notifications",
                json={"enabled": True, "frequency": "immediate", "webhook": {"enabled": True}},
            )
            assert answer.status_code == 200, answer.text
            await asyncio.sleep(0.1)  # both loops go round; only a's ticks
            await fail(b, 0, 3)  # reported to the replica without the lease
            await asyncio.sleep(0.1)
            a.clock.advance(seconds=21)  # past the debounce
            await eventually(lambda: len(hook.posts) == 1)
            await asyncio.sleep(0.3)  # many more rounds of both loops: still one message
            assert len(hook.posts) == 1
            assert b.service.leases.holding() == []
            health = [(await e.client.get("/v1/health")).json() for e in (a, b)]
            assert [h["runs"] for h in health] == [["notifier", "retries", "jobs"], []]
            assert health[0]["replica"] == a.service.replicas.replica_id != health[1]["replica"]
            # the holder's session dies: b takes the notifier over at its next round
            assert terminate(pg_url, APP, holder(pg_url, "notifier")) == 1
            await eventually(lambda: "notifier" in b.service.leases.holding())
            await fail(a, 3, 2)
            await asyncio.sleep(0.1)
            a.clock.advance(seconds=21)
            await eventually(lambda: len(hook.posts) == 2)
            await asyncio.sleep(0.3)
        finally:
            await close_all(a, b)
    assert len(hook.posts) == 2  # nothing announced twice
    assert [p.body["synchealth"]["new_errors"] for p in hook.posts] == [3, 2]


class SlowWire:
    """Makes each collections call take ``seconds`` (so a job is caught mid-way)."""

    def __init__(self, env: Replica, seconds: float) -> None:
        inner = env.wire.handle_async_request

        async def slow(request):  # type: ignore[no-untyped-def]
            if request.method == "PATCH":
                await asyncio.sleep(seconds)
            return await inner(request)

        env.wire.handle_async_request = slow  # type: ignore[method-assign]


async def test_a_job_runs_in_the_holder_and_moves_when_it_dies_sending_nothing_twice(
    pg_url: str,
) -> None:
    a, b = await open_two(pg_url, job_recheck=0.05)
    try:
        SlowWire(a, 0.3)
        ids = await report(b, 1000)  # five chunks of 200
        started = (await start_job(b, ids)).json()  # posted to the replica without the lease
        job_id = started["job_id"]
        await until(b, job_id, lambda j: j["counts"]["synced"] >= 200)
        assert b.wire.calls == 0  # only the holder sent
        assert terminate(pg_url, APP, holder(pg_url, "jobs")) == 1  # the holder's session dies
        done = await until(b, job_id, lambda j: j["state"] == "done")
    finally:
        await close_all(a, b)
    assert a.wire.calls >= 1 and b.wire.calls >= 1  # both sent part of it
    # the chunk in flight when the session died may have its answer land after b took the
    # job over: then its 200 are unknown (sent once, never again), as after a kill -9
    counts = done["counts"]
    assert counts["unknown"] in (0, 200) and counts["synced"] + counts["unknown"] == 1000
    got = received(a, b)  # unknown ones may or may not have reached the org; none twice
    assert got == dict.fromkeys(got, 1) and counts["synced"] <= len(got) <= 1000


async def test_two_services_on_one_postgresql_ledger_share_out_what_runs_once(
    pg_target: PostgresTarget,
) -> None:
    """``config.database`` gives a service advisory-lock leases in its own schema."""
    org, clock = demo_org_state(7), Clock(T0)
    a = await open_replica(pg_target, org, clock)
    b = await open_replica(pg_target, org, clock)
    running = [a, b]
    try:
        for name in LEASE_NAMES:
            assert await a.service.leases.held(name) and not await b.service.leases.held(name)
        health = [(await e.client.get("/v1/health")).json() for e in (a, b)]
        assert [h["runs"] for h in health] == [["notifier", "retries", "jobs"], []]
        rows = await a.service.ledger.reader.fetchall("SELECT replica_id FROM replicas")
        assert sorted(r[0] for r in rows) == sorted(h["replica"] for h in health)
        await close_all(running.pop(0))  # a clean stop: a's leases go with its session
        assert await taken(b.service.leases, "jobs")
        rows = await b.service.ledger.reader.fetchall("SELECT replica_id FROM replicas")
        assert [r[0] for r in rows] == [b.service.replicas.replica_id]
    finally:
        await close_all(*running)
