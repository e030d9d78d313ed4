"""DataSession against the real service (in-process) on a ledger of each engine (a SQLite
file, then a schema of the real PostgreSQL): refresh, offline, resync batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pg_harness import demo_ledger, ledger_rows, ledger_write, service_target

from tui.data.cache import Cache, ViewFilter
from tui.data.client import ServiceClient
from tui.data.session import DataSession, ResyncProgress
from tui.embedded import open_data_session
from tui.service.db import PostgresTarget

URL = "http://svc.test"


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the real transport and keeps a list of them."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def posted(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests if r.url.path == "/v1/resync"]


class Stack:
    """The real service on a demo ledger at ``ledger``, with the simulated org in-process;
    :meth:`build` writes the ledger, :meth:`start` starts the service on it."""

    def __init__(self, tmp_path: Path, ledger: Path | PostgresTarget, size: int = 600) -> None:
        self.tmp_path, self.ledger, self.size = tmp_path, ledger, size
        self.cache_path = tmp_path / "cache.sqlite3"

    @classmethod
    async def opened(cls, tmp_path: Path, ledger: Path | PostgresTarget, size: int = 600) -> Stack:
        """A stack whose ledger is built and whose service is started."""
        stack = cls(tmp_path, ledger, size)
        await stack.build()
        await stack.start()
        return stack

    async def build(self) -> None:
        await demo_ledger(self.ledger, self.tmp_path, self.size)

    async def start(self) -> None:
        from tui.service import ServiceConfig, SyncHealthService
        from tui.simorg import create_simorg
        from tui.simorg.demo import demo_org_state

        self.org = create_simorg(demo_org_state(), access_token="org-token")
        self.service = SyncHealthService(
            ServiceConfig(
                **service_target(self.ledger),
                org_token="org-token",
                org_transport=httpx.ASGITransport(app=self.org),
                mode="simulated",
                org_name="Test org",
            )
        )
        await self.service.start()
        self.transport = Recorder(httpx.ASGITransport(app=self.service.asgi))

    @property
    def org_calls(self) -> int:
        return self.org.state.org.api_used

    async def session(self) -> DataSession:
        return await open_data_session(
            url=URL, cache_path=self.cache_path, transport=self.transport
        )


@pytest.fixture
async def stack(tmp_path: Path, ledger_target: Path | PostgresTarget):
    s = await Stack.opened(tmp_path, ledger_target)
    yield s
    await s.service.stop()


async def ledger_open(ledger: Path | PostgresTarget) -> dict[str, int]:
    sql = "SELECT type, count(*) FROM errors WHERE status = 'open' GROUP BY type"
    return dict(await ledger_rows(ledger, sql))


async def test_refresh_mirrors_the_ledger_then_moves_only_changes(stack: Stack) -> None:
    session = await stack.session()
    try:
        assert session.online is False and await session.usage() is None
        first = await session.refresh()
        assert first.online and first.changed == 600 and first.error is None
        assert session.org_name == "Sakura Trading KK" and session.mode == "simulated"
        counts = {c.type: c.errors for c in await session.type_counts()}
        assert {t: n for t, n in counts.items() if n} == await ledger_open(stack.ledger)
        usage = await session.usage()
        assert usage is not None and usage.allocated == 5000
        again = await session.refresh()
        assert again.changed == 0
        detail = await session.error_detail((await session.view_ids(ViewFilter()))[0])
        assert detail is not None and detail.history
    finally:
        await session.close()


async def test_offline_refresh_keeps_the_cache(stack: Stack, tmp_path: Path) -> None:
    session = await stack.session()
    await session.refresh()
    before = await session.type_counts()
    await session.close()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    offline = await open_data_session(
        url=URL, cache_path=stack.cache_path, transport=httpx.MockTransport(refuse)
    )
    offline.client.backoff = 0.001
    try:
        result = await offline.refresh()
        assert not result.online and not offline.online
        assert result.error is not None and "Cannot reach" in result.error
        assert offline.last_error is not None and result.error.endswith(offline.last_error)
        assert await offline.type_counts() == before
        assert (await offline.usage()) is not None  # last known usage survives
        assert offline.last_refresh is not None
        error_id = (await offline.view_ids(ViewFilter()))[0]
        detail = await offline.error_detail(error_id)  # from the cache when offline
        assert detail is not None and detail.id == error_id and detail.history == []
    finally:
        await offline.close()


async def test_resync_of_250_goes_in_three_batches_with_progress(stack: Stack) -> None:
    session = await stack.session()
    try:
        await session.refresh()
        ids = list(await session.view_ids(ViewFilter(), "id", False))[:250]
        plan = session.resync_plan(250)
        usage = await session.usage()
        assert (plan.batches, plan.calls) == (2, 2)  # as one job: 200 errors per call
        assert plan.allocation_left == usage.allocated - usage.used - 2
        seen: list[ResyncProgress] = []
        summary = await session.resync(ids, seen.append)
        posted = stack.transport.posted()
        assert [len(p["error_ids"]) for p in posted] == [100, 100, 50]
        assert len({p["request_id"] for p in posted}) == 3
        assert [(p.batch, p.done) for p in seen] == [(1, 100), (2, 200), (3, 250)]
        assert summary.requested == 250 and summary.refused is None
        assert summary.synced + summary.failed + summary.skipped == 250
        assert summary.calls <= 3 and summary.synced > 0
        assert sum(summary.failures_by_subtype.values()) == summary.failed
        assert await session.cache.pending() == []
        # the refresh after the batches brought the new statuses
        open_now = await session.count(ViewFilter())
        assert open_now == sum((await ledger_open(stack.ledger)).values())
        resolved = await session.rows(ids)
        assert sum(r.status == "resolved" for r in resolved.values()) == summary.synced
    finally:
        await session.close()


async def test_a_batch_pending_at_a_kill_is_replayed_not_resent(stack: Stack) -> None:
    session = await stack.session()
    await session.refresh()
    ids = list(await session.view_ids(ViewFilter(), "id", False))[:40]
    # the killed run: written down, sent and done at the service, never confirmed here
    await session.cache.add_pending("req-killed", ids)
    async with ServiceClient(URL, transport=stack.transport) as direct:
        first = await direct.resync(ids, "req-killed")
    await session.close()
    calls_before = stack.org_calls

    session = await stack.session()
    try:
        assert await session.pending_resync() == ids  # what the console shows first
        summary = await session.replay_pending()
        posted = stack.transport.posted()
        assert [p["request_id"] for p in posted] == ["req-killed", "req-killed"]
        assert stack.org_calls == calls_before  # the service replayed: nothing sent twice
        assert summary.requested == 40
        assert summary.synced == sum(o.status == "synced" for o in first.outcomes)
        assert await session.cache.pending() == []
    finally:
        await session.close()


async def test_refresh_and_resync_never_replay_a_pending_batch(stack: Stack) -> None:
    """Issue 16 point 11: a replay is sent only once the user has seen it."""
    session = await stack.session()
    await session.refresh()
    ids = list(await session.view_ids(ViewFilter(), "id", False))[:5]
    await session.cache.add_pending("req-never-sent", ids)
    await session.close()
    session = await stack.session()
    try:
        assert (await session.refresh()).online
        others = list(await session.view_ids(ViewFilter(), "id", False))[5:7]
        await session.resync(ids + others)  # the pending errors are left out
        posted = stack.transport.posted()
        assert len(posted) == 1 and posted[0]["error_ids"] == others
        assert posted[0]["request_id"] != "req-never-sent"
        assert await session.pending_resync() == ids
        await session.replay_pending()
        assert stack.transport.posted()[-1]["request_id"] == "req-never-sent"
        assert await session.cache.pending() == []
    finally:
        await session.close()


async def test_an_interrupted_batch_is_dropped_and_reported(
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> None:
    stack = Stack(tmp_path, ledger_target, size=200)
    await stack.build()
    await ledger_write(  # a service that died mid-resync
        stack.ledger,
        "INSERT INTO resync_requests(request_id, created, state, error_ids) "
        "VALUES ('req-dead', '2025-01-01T00:00:00Z', 'started', '[1, 2, 3]')",
    )
    await stack.start()
    cache = await Cache.open(stack.cache_path)
    await cache.add_pending("req-dead", [1, 2, 3])
    await cache.close()
    session = await stack.session()
    try:
        summary = await session.replay_pending()
        assert summary.interrupted == 3 and summary.skipped == 3 and summary.refused is None
        assert await session.cache.pending() == []
    finally:
        await session.close()
        await stack.service.stop()


async def test_a_batch_another_replica_is_sending_is_kept_not_dropped(stack: Stack) -> None:
    """Issue 14: the service answers 409 resync_in_progress while a live replica sends the
    request; the console keeps the batch to offer again, not as settled."""
    session = await stack.session()
    try:
        await session.refresh()
        ids = list(await session.view_ids(ViewFilter(), "id", False))[:3]
        await session.cache.add_pending("req-elsewhere", ids)
        live = stack.service.replicas.replica_id  # a replica that is alive, mid-send
        now = datetime.now(UTC)
        await stack.service.ledger.start_request("req-elsewhere", ids, now, owner=live)
        calls_before = stack.org_calls
        summary = await session.replay_pending()
        assert summary.kept == 3 and summary.interrupted == 0
        assert summary.refused is not None and "not sent twice" in summary.refused
        assert await session.pending_resync() == ids
        assert stack.org_calls == calls_before  # nothing sent
    finally:
        await session.close()


async def test_allocation_refusal_stops_the_remaining_batches(stack: Stack) -> None:
    session = await stack.session()
    try:
        await session.refresh()
        usage = await session.usage()
        await session.set_allocation(usage.used)  # nothing left to spend
        ids = list(await session.view_ids(ViewFilter(), "id", False))[:150]
        summary = await session.resync(ids)
        assert len(stack.transport.posted()) == 1  # the second batch was not sent
        assert summary.refused is not None and "alloc" in summary.refused.lower()
        assert summary.skipped == 150 and summary.synced == 0
        assert await session.cache.pending() == []
        assert session.resync_plan(1).allocation_left == -1
    finally:
        await session.close()
