"""GET /v1/history end to end: the real service over a real ledger (each engine) and the
simulated org, written to by resyncs and engine reports, read by the console's client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from test_ingest import SENDABLE, Env, close_env, email_item, open_ids, start_env

from tui.core.models import ACTOR_HEADER
from tui.data.actor import actor_name
from tui.data.client import ServiceClient
from tui.service.db import PostgresTarget


@pytest.fixture
async def env(tmp_path: Path, ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    started = await start_env(tmp_path, target=ledger_target)
    yield started
    await close_env(started)


def _client(env: Env) -> ServiceClient:
    return ServiceClient(
        "http://synchealth.test", transport=httpx.ASGITransport(app=env.service.asgi)
    )


async def test_resyncs_and_reports_are_listed_newest_first_with_who_and_outcomes(
    env: Env,
) -> None:
    ids = await open_ids(env.db, SENDABLE, 12)
    result = await env.resync(ids, "first")
    report = await env.ingest([email_item(env, "300")], batch_id="engine-run-7")
    async with _client(env) as client:
        console = await client.resync(await open_ids(env.db, SENDABLE, 3), "from-the-console")
        page = await client.history()
    newest, middle, oldest = page.entries
    assert [e.kind for e in page.entries] == ["resync", "report", "resync"]
    assert newest.ref == "from-the-console" and newest.actor == actor_name()
    assert newest.error_ids == [o.error_id for o in console.outcomes]
    assert middle.ref == "engine-run-7" and middle.created == report["created"] == 1
    assert middle.error_ids == report["error_ids"]
    assert middle.actor  # an engine without the header: its network address
    statuses = [o["status"] for o in result["outcomes"]]
    assert oldest.ref == "first" and oldest.errors == 12 and oldest.error_ids == ids
    assert (oldest.synced, oldest.failed, oldest.skipped) == (
        statuses.count("synced"),
        statuses.count("failed"),
        statuses.count("skipped"),
    )
    assert oldest.salesforce_calls == result["salesforce_calls"] and oldest.state == "done"
    assert not page.has_more and page.next_cursor is None


async def test_a_replay_is_not_listed_again_and_a_refusal_is(env: Env) -> None:
    ids = await open_ids(env.db, SENDABLE, 5)
    await env.resync(ids, "once")
    await env.resync(ids, "once")  # replayed: nothing happened
    used = (await env.client.get("/v1/usage")).json()["used"]
    await env.client.put("/v1/usage/allocation", json={"allocated": used})
    refused = await env.client.post(
        "/v1/resync",
        json={"error_ids": await open_ids(env.db, SENDABLE, 2), "request_id": "over"},
        headers={ACTOR_HEADER: "alice@ops-laptop"},
    )
    assert refused.status_code == 429
    entries = (await env.client.get("/v1/history")).json()["entries"]
    assert [e["ref"] for e in entries] == ["over", "once"]
    assert entries[0]["state"] == "refused" and entries[0]["actor"] == "alice@ops-laptop"
    assert "allocat" in entries[0]["message"] and entries[0]["errors"] == 2


async def test_history_pages_back_with_its_cursor_and_refuses_bad_ones(env: Env) -> None:
    for n in range(5):
        await env.resync(await open_ids(env.db, SENDABLE, 1), f"r{n}")
    first = (await env.client.get("/v1/history", params={"limit": 2})).json()
    assert [e["ref"] for e in first["entries"]] == ["r4", "r3"] and first["has_more"]
    second = (
        await env.client.get("/v1/history", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [e["ref"] for e in second["entries"]] == ["r2", "r1"]
    for bad in ({"cursor": "x"}, {"limit": 0}, {"limit": 501}):
        answer = await env.client.get("/v1/history", params=bad)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_parameter"
