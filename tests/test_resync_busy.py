"""A resync that meets Salesforce's concurrency limit is retried, not refused as over-budget.

The simulated org answers ``OrgState.busy`` requests with 403 REQUEST_LIMIT_EXCEEDED
"ConcurrentPerOrgLongTxn Limit exceeded." (the short-lived limit of concurrent long
requests) before it serves again; the daily limit ("TotalRequests Limit exceeded.")
is never retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from test_ingest import SENDABLE, Env, close_env, ledger_state, open_ids, start_env
from test_service_api import assert_error_body, resync
from test_session import Stack

from tui.data.cache import ViewFilter
from tui.service import resync as resync_module
from tui.service.db import PostgresTarget


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts what reaches the simulated org, and what it answered."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if "/composite/sobjects" in request.url.path:
            self.statuses.append(response.status_code)
        return response


@pytest.fixture
async def env(
    tmp_path: Path, ledger_target: Path | PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Env]:
    """The service on a demo ledger (each engine), counting what reaches the org."""
    monkeypatch.setattr(resync_module, "BUSY_BACKOFF", (0.0, 0.01, 0.02))
    counting: list[CountingTransport] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        counting.append(CountingTransport(inner))
        return counting[0]

    e = await start_env(tmp_path, target=ledger_target, wrap=wrap)
    e.sent = counting[0]  # type: ignore[attr-defined]
    yield e
    await close_env(e)


async def test_a_busy_org_is_retried_and_the_resync_goes_through(env: Env) -> None:
    ids = await open_ids(env.db, SENDABLE, limit=5)
    env.org.busy = 2
    answer = await resync(env, ids, "busy-then-free")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert env.sent.statuses == [403, 403, 200]  # type: ignore[attr-defined]
    assert body["salesforce_calls"] == 3  # the refused attempts were sent and count
    assert {o["status"] for o in body["outcomes"]} <= {"synced", "failed"}
    assert (await env.client.get("/v1/usage")).json()["used"] >= 3


async def test_an_org_that_stays_busy_refuses_the_resync_with_retry_in_a_minute(
    env: Env,
) -> None:
    ids = await open_ids(env.db, SENDABLE, limit=5)
    before = await ledger_state(env.db)
    env.org.busy = 100
    message = assert_error_body(await resync(env, ids, "busy"), 503, "salesforce_busy")
    assert "Salesforce is busy, retry in a minute" in message
    assert "ConcurrentPerOrgLongTxn Limit exceeded." in message
    assert "4 attempts" in message and "Nothing was synced" in message
    assert "daily" not in message and "allocation" not in message
    assert env.sent.statuses == [403] * 4  # type: ignore[attr-defined]
    assert await ledger_state(env.db) == before
    env.org.busy = 0  # the long requests finished: the same request id may go again
    again = await resync(env, ids, "busy")
    assert again.status_code == 200 and again.json()["replayed"] is False


async def test_the_daily_limit_is_not_retried(env: Env) -> None:
    ids = await open_ids(env.db, SENDABLE, limit=5)
    env.org.api_used = 16500  # 10% past the 15,000 daily requests: the org blocks calls
    message = assert_error_body(await resync(env, ids, "spent"), 429, "salesforce_limit_exceeded")
    assert "daily" in message and "busy" not in message
    assert env.sent.statuses == [403]  # type: ignore[attr-defined]


async def test_usage_past_the_org_maximum_is_reported_as_the_org_says(env: Env) -> None:
    env.org.api_used = 16000  # past Max (15,000), below where the org blocks calls
    usage = await env.client.get("/v1/usage")
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["salesforce_limit"] == 15000 and body["org_used"] > 15000


async def test_the_console_session_is_told_to_retry_in_a_minute(
    tmp_path: Path, ledger_target: Path | PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resync_module, "BUSY_BACKOFF", (0.0, 0.0, 0.0))
    stack = await Stack.opened(tmp_path, ledger_target, size=60)
    session = await stack.session()
    try:
        await session.refresh()
        stack.org.state.org.busy = 1000
        ids = list(await session.view_ids(ViewFilter(), "id", False))[:10]
        summary = await session.resync(ids)
        assert summary.refused is not None
        assert "Salesforce is busy, retry in a minute" in summary.refused
        assert summary.synced == 0 and summary.interrupted == 0
        assert await session.cache.pending() == []  # settled: may be started again
    finally:
        await session.close()
        await stack.service.stop()
