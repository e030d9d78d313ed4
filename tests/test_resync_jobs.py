"""Resync jobs (issue 10, point 3): up to 50,000 errors in the background, 200 per call,
paced within the allocation, cancellable, safe across restarts. Real app and ledger, the
simulated org behind the real connector (with a fault injector where a case needs one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pg_harness import service_target
from test_ingest import ORG_TOKEN, T0, Clock, Env, close_env

from tui.core.sobjects import KEY_PREFIX
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.ids import make_id
from tui.simorg.state import OrgState

CONTACT = KEY_PREFIX["Contact"]

#: Salesforce's answers (HTTP 403, REQUEST_LIMIT_EXCEEDED) when the org has too many API
#: requests running at once, and when its daily requests are spent, as jsforce reported
#: them in SalesforceLabs/OrgCheck issues #432 and #181
#: (https://github.com/SalesforceLabs/OrgCheck/issues/432, .../issues/181).
CONCURRENCY_REFUSAL = [
    {"message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
     "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]  # fmt: skip
DAILY_REFUSAL = [
    {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]


class Received(httpx.AsyncBaseTransport):
    """Between the service and the simulated org: counts each record id the org received
    in a collections call, and can refuse chosen calls like Salesforce does."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.records: dict[str, int] = {}
        self.calls = 0
        self.refuse: Callable[[int], bool] = lambda n: False
        self.refusal: list[dict[str, str]] = CONCURRENCY_REFUSAL

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and "/composite/sobjects" in request.url.path:
            self.calls += 1
            if self.refuse(self.calls):
                return httpx.Response(403, json=self.refusal)
            body = orjson.loads(await request.aread())
            for record in body["records"]:
                key = record.get("Id") or record.get("CRM_Id__c")
                self.records[key] = self.records.get(key, 0) + 1
        return await self.inner.handle_async_request(request)


async def open_service(
    db: Path | PostgresTarget, org: OrgState, clock: Clock, recheck: float = 0.02
) -> tuple[Env, Received]:
    wire = Received(httpx.ASGITransport(app=create_simorg(org, access_token=ORG_TOKEN)))
    config = ServiceConfig(**service_target(db), org_token=ORG_TOKEN, org_transport=wire,
                           clock=clock, mode="simulated", notify_interval=None,
                           job_recheck=recheck)  # fmt: skip
    service = SyncHealthService(config)
    await service.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.asgi),
                               base_url="http://synchealth.test")  # fmt: skip
    return Env(service, client, org, clock, db), wire


@pytest.fixture
async def world(
    ledger_target: Path | PostgresTarget,
) -> AsyncIterator[tuple[Env, Received]]:
    env, wire = await open_service(ledger_target, demo_org_state(7), Clock(T0))
    yield env, wire
    await close_env(env)


def live_ids(org: OrgState, n: int) -> list[str]:
    """``n`` distinct Contacts the integration may write."""
    out, counter = [], 1
    while len(out) < n:
        if org.usable(CONTACT, counter):
            out.append(make_id(CONTACT, counter))
        counter += 1
    return out


async def report(env: Env, n: int) -> list[int]:
    """``n`` failed Contacts (an address the engine has since corrected), one per record."""
    ids: list[int] = []
    sf_ids = live_ids(env.org, n)
    for start in range(0, n, 1000):
        items = [
            {"object_type": "contact", "record_id": f"c{k}", "occurred_at": "2025-03-10T12:00:00Z",
             "salesforce": {"object": "Contact", "id": sf_ids[k],
                            "fields": {"Email": f"person{k}@example.com"}},
             "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
                         "message": f"Email: invalid email address: person{k}@@example.com",
                         "fields": ["Email"]}]}
            for k in range(start, min(n, start + 1000))
        ]  # fmt: skip
        ids += (await env.ingest(items))["error_ids"]
    return ids


async def start_job(env: Env, ids: list[int], request_id: str = "job-1") -> httpx.Response:
    return await env.client.post(
        "/v1/resync/jobs", json={"error_ids": ids, "request_id": request_id}
    )


async def job(env: Env, job_id: str, **params: Any) -> dict[str, Any]:
    answer = await env.client.get(f"/v1/resync/jobs/{job_id}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def until(env: Env, job_id: str, check: Callable[[dict], bool]) -> dict[str, Any]:
    for _ in range(1000):
        seen = await job(env, job_id, limit=0)
        if check(seen):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"the job never got there: {seen}")


async def test_a_job_of_450_errors_costs_3_calls_and_reports_every_outcome(world) -> None:
    env, wire = world
    ids = await report(env, 450)
    answer = await start_job(env, ids)
    assert answer.status_code == 202
    started = answer.json()
    assert started["total"] == 450 and started["state"] == "running"
    done = await until(env, started["job_id"], lambda j: j["state"] == "done")
    assert done["salesforce_calls"] == 3 == wire.calls
    assert done["counts"]["synced"] == 450 and done["done"] == 450
    assert set(wire.records.values()) == {1} and len(wire.records) == 450
    first = await job(env, started["job_id"], limit=400)
    rest = await job(env, started["job_id"], cursor=first["next_cursor"], limit=400)
    outcomes = first["outcomes"] + rest["outcomes"]
    assert [o["error_id"] for o in outcomes] == sorted(ids)
    assert {o["status"] for o in outcomes} == {"synced"}
    assert (await env.detail(ids[0]))["status"] == "resolved"
    listed = (await env.client.get("/v1/resync/jobs")).json()["jobs"]
    assert [j["job_id"] for j in listed] == [started["job_id"]]


async def test_a_retried_post_is_the_same_job_and_a_reused_request_id_is_refused(world) -> None:
    env, _ = world
    ids = await report(env, 3)
    first = (await start_job(env, ids, "same")).json()
    again = await start_job(env, list(reversed(ids)), "same")
    assert again.status_code == 200 and again.json()["job_id"] == first["job_id"]
    assert again.json()["replayed"] is True
    other = await start_job(env, ids[:1], "same")
    assert other.status_code == 409 and other.json()["error"]["code"] == "request_id_reused"


@pytest.mark.parametrize(("ids", "says"), [
    (list(range(1, 50_002)), "One job takes from 1 to 50,000 error ids, got 50,001."),
    ([], "One job takes from 1 to 50,000 error ids, got 0."),
    (["1"], "error_ids must be a list of error ids"),
])  # fmt: skip
async def test_a_job_of_50001_ids_or_none_is_refused(world, ids: list, says: str) -> None:
    env, wire = world
    answer = await start_job(env, ids)
    assert answer.status_code == 422 and says in answer.json()["error"]["message"]
    assert (await env.client.get("/v1/resync/jobs")).json()["jobs"] == [] and wire.calls == 0


async def test_errors_already_in_a_running_job_are_refused(world) -> None:
    env, _ = world
    await env.service.usage.set_allocated(0)  # the first job can only wait
    ids = await report(env, 10)
    first = (await start_job(env, ids[:6], "a")).json()
    answer = await start_job(env, ids[4:], "b")
    assert answer.status_code == 409
    body = answer.json()["error"]
    assert body["code"] == "errors_in_running_job"
    assert body["message"].startswith(f"2 of these errors are already in a running resync job "
                                      f"({first['job_id']}): {ids[4]}, {ids[5]}.")  # fmt: skip
    assert (await start_job(env, ids[6:], "c")).status_code == 202


async def test_a_job_waits_for_the_allocation_saying_until_when_then_resumes(world) -> None:
    env, wire = world
    ids = await report(env, 500)
    await env.service.usage.set_allocated(1)  # lowered below what the job needs
    started = (await start_job(env, ids)).json()
    waiting = await until(env, started["job_id"], lambda j: j["waiting"] is not None)
    assert waiting["counts"]["synced"] == 200 and waiting["salesforce_calls"] == 1
    # the one call just spent leaves the 24-hour window when its hour does
    assert waiting["wait_until"] == "2025-03-11T12:00:00Z"
    assert "Waiting for the allocation until 2025-03-11T12:00:00Z" in waiting["waiting"]
    assert "used 1 of its 1 allocated calls" in waiting["waiting"]
    await asyncio.sleep(0.1)
    assert wire.calls == 1  # it waits, it does not fail or send
    await env.service.usage.set_allocated(100)
    env.service.jobs.wake()
    done = await until(env, started["job_id"], lambda j: j["state"] == "done")
    assert done["counts"]["synced"] == 500 and done["waiting"] is None and wire.calls == 3
    assert set(wire.records.values()) == {1}


async def test_a_job_that_cannot_ever_fit_says_so(world) -> None:
    env, wire = world
    await env.service.usage.set_allocated(0)
    started = (await start_job(env, await report(env, 5))).json()
    waiting = await until(env, started["job_id"], lambda j: j["waiting"] is not None)
    assert waiting["wait_until"] is None and "Raise the allocation" in waiting["waiting"]
    assert wire.calls == 0


async def test_a_cancelled_job_sends_nothing_more(world) -> None:
    env, wire = world
    await env.service.usage.set_allocated(0)
    ids = await report(env, 300)
    started = (await start_job(env, ids)).json()
    await until(env, started["job_id"], lambda j: j["waiting"] is not None)
    answer = await env.client.post(f"/v1/resync/jobs/{started['job_id']}/cancel")
    assert answer.status_code == 200
    cancelled = answer.json()
    assert cancelled["state"] == "cancelled" and cancelled["counts"]["cancelled"] == 300
    await env.service.usage.set_allocated(100)
    env.service.jobs.wake()
    await asyncio.sleep(0.2)
    assert wire.calls == 0
    seen = await job(env, started["job_id"], limit=1)
    assert seen["outcomes"][0]["status"] == "cancelled"
    assert "nothing was sent" in seen["outcomes"][0]["message"]
    assert (await env.detail(ids[0]))["status"] == "open"
    missing = await env.client.post("/v1/resync/jobs/job-nope/cancel")
    assert missing.status_code == 404 and "job-nope" in missing.json()["error"]["message"]


@pytest.mark.parametrize(("refusal", "refused", "says"), [
    # busy: the resync itself tries once more (BUSY_BACKOFF), then refuses
    (CONCURRENCY_REFUSAL, (2, 3), "Salesforce is busy"),
    # the daily limit is not retried by the resync
    (DAILY_REFUSAL, (2,), "the org has used all of its daily Salesforce API requests"),
])  # fmt: skip
async def test_salesforces_limits_mid_job_wait_and_retry_the_batch(
    world, monkeypatch: pytest.MonkeyPatch, refusal: list, refused: tuple, says: str
) -> None:
    env, wire = world
    monkeypatch.setattr("tui.service.resync.BUSY_BACKOFF", (0.0,))  # the resync's own retry
    ids = await report(env, 600)
    wire.refusal = refusal
    wire.refuse = lambda n: n in refused  # the second batch (and a retry of it)
    started = (await start_job(env, ids)).json()
    waiting = await until(env, started["job_id"], lambda j: j["waiting"] is not None)
    assert waiting["waiting"].startswith("Waiting until 2025-03-10T12:31:00Z: ")
    assert says in waiting["waiting"]
    assert waiting["wait_until"] == "2025-03-10T12:31:00Z" and waiting["counts"]["synced"] == 200
    await asyncio.sleep(0.1)
    assert (await job(env, started["job_id"]))["counts"]["synced"] == 200  # it waits
    env.clock.now = T0 + timedelta(seconds=61)
    done = await until(env, started["job_id"], lambda j: j["state"] == "done")
    assert done["counts"]["synced"] == 600 and done["salesforce_calls"] == 3
    assert len(wire.records) == 600 and set(wire.records.values()) == {1}


async def test_each_crash_window_of_a_chunk_sends_nothing_twice(
    ledger_target: Path | PostgresTarget,
) -> None:
    """A job's chunks left mid-flight by a process that died, each window in turn."""
    db, org, clock = ledger_target, demo_org_state(7), Clock(T0)
    env, wire = await open_service(db, org, clock)
    await env.service.jobs.stop()  # the worker stays still while the windows are set up
    ids = await report(env, 600)
    created = (await start_job(env, ids)).json()
    job_id = created["job_id"]
    chunks = [ids[0:200], ids[200:400], ids[400:600]]
    # chunk 0: its resync committed, then the process died before the job noted it
    await env.service.resync.run(f"{job_id}/0", chunks[0])
    # chunk 1: the resync was written 'started' and sent, then the process died
    await env.service.ledger.start_request(f"{job_id}/1", chunks[1], clock())
    # chunk 2: marked 'sending', but the process died before the resync was written
    async with env.service.ledger.transaction() as conn:
        await conn.execute(
            "UPDATE resync_job_items SET state = 'sending' WHERE job_id = ? AND chunk IN (0, 1, 2)",
            (job_id,),
        )
    sent_before = dict(wire.records)
    await close_env(env)

    env, wire = await open_service(db, org, clock)  # the restart
    try:
        done = await until(env, job_id, lambda j: j["state"] == "done")
        assert wire.calls == 1  # only chunk 2 went out
        assert set(wire.records) == set(live_ids(org, 600)[400:])  # chunk 2, once each
        assert set(wire.records.values()) == {1}
        assert set(sent_before) == set(live_ids(org, 600)[:200])  # chunk 0, before the crash
        assert done["counts"] == {"pending": 0, "sending": 0, "synced": 400, "failed": 0,
                                  "skipped": 0, "unknown": 200, "cancelled": 0,
                                  "requested": 0}  # fmt: skip
        unknown = (await job(env, job_id, cursor=chunks[1][0] - 1, limit=1))["outcomes"][0]
        assert unknown["status"] == "unknown" and "it was not sent again" in unknown["message"]
    finally:
        await close_env(env)


async def test_a_service_stops_even_when_its_job_worker_was_just_woken(
    ledger_target: Path | PostgresTarget,
) -> None:
    """A wake and a stop in the same turn of the loop: the worker still ends. (With
    ``asyncio.wait_for`` on Python 3.11 the finished wait swallowed the cancel and
    ``stop()`` waited forever: the PostgreSQL teardown hang of issue 14.)"""
    env, _ = await open_service(ledger_target, demo_org_state(7), Clock(T0), recheck=60)
    try:
        await asyncio.sleep(0.3)  # the worker did its first round and waits for a wake
        env.service.jobs.wake()
        stopping = asyncio.ensure_future(env.service.jobs.stop())
        done, _ = await asyncio.wait({stopping}, timeout=5)
        assert done, "the job worker did not stop"
    finally:
        await close_env(env)
