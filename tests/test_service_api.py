"""The Sync Health API end to end: the real Starlette app over a real ledger on each engine
talking to the simulated org through the real connector."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from clock import Clock
from pg_harness import demo_ledger, ledger_rows, service_target

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.state import OrgState

T0 = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
ORG_TOKEN = "00Dtest!token"
DEMO_SIZE = 400


@dataclass
class Env:
    service: SyncHealthService
    client: httpx.AsyncClient
    org: OrgState
    clock: Clock
    db: Path | PostgresTarget

    async def restart(self) -> None:
        """A new service process on the same ledger and org."""
        await self.client.aclose()
        await self.service.stop()
        self.service = make_service(self.db, self.org, self.clock)
        await self.service.start()
        self.client = client_for(self.service)


def make_service(
    db: Path | PostgresTarget, org: OrgState, clock: Clock, api_token: str | None = None
):
    transport = httpx.ASGITransport(app=create_simorg(org, access_token=ORG_TOKEN))
    config = ServiceConfig(**service_target(db), org_token=ORG_TOKEN, org_transport=transport,
                           api_token=api_token, clock=clock, mode="simulated")  # fmt: skip
    return SyncHealthService(config)


def client_for(service: SyncHealthService, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=service.asgi),
                             base_url="http://synchealth.test", **kw)  # fmt: skip


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget, tmp_path: Path) -> AsyncIterator[Env]:
    db = ledger_target
    await demo_ledger(db, tmp_path, DEMO_SIZE, now=T0)
    org, clock = demo_org_state(7), Clock(T0)
    service = make_service(db, org, clock)
    await service.start()
    e = Env(service, client_for(service), org, clock, db)
    yield e
    await e.client.aclose()
    await e.service.stop()


async def open_ids(db: Path | PostgresTarget, where: str = "1 = 1", limit: int = 100) -> list[int]:
    rows = await ledger_rows(
        db, f"SELECT id FROM errors WHERE status = 'open' AND {where} ORDER BY id LIMIT ?", (limit,)
    )
    return [r[0] for r in rows]


async def resolved_ids(db: Path | PostgresTarget) -> list[int]:
    return [r[0] for r in await ledger_rows(db, "SELECT id FROM errors WHERE status = 'resolved'")]


async def snapshot(db: Path | PostgresTarget) -> tuple[list[tuple], int]:
    errors = await ledger_rows(db, "SELECT * FROM errors ORDER BY id")
    attempts = (await ledger_rows(db, "SELECT COUNT(*) FROM attempts"))[0][0]
    return errors, attempts


def assert_error_body(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    message = body["error"]["message"]
    assert len(message) > 20
    return message


async def resync(env: Env, ids: list[int], request_id: str) -> httpx.Response:
    return await env.client.post("/v1/resync", json={"error_ids": ids, "request_id": request_id})


# -- health, usage, allocation ------------------------------------------------------


async def test_health_names_the_org_and_mode(env: Env) -> None:
    body = (await env.client.get("/v1/health")).json()
    assert body["status"] == "ok" and body["mode"] == "simulated"
    assert body["org_name"] == "Sakura Trading KK" and body["version"]
    assert body["time"] == "2025-03-10T12:30:00Z"


async def test_usage_is_a_rolling_window_with_cached_limits(env: Env) -> None:
    usage = (await env.client.get("/v1/usage")).json()
    hourly = usage["hourly"]
    assert len(hourly) == 24
    assert hourly[0]["hour"] == "2025-03-09T13:00:00Z"
    assert hourly[-1]["hour"] == "2025-03-10T12:00:00Z"
    assert usage["used"] == sum(b["calls"] for b in hourly) > 0
    assert usage["allocated"] == 5000 and usage["salesforce_limit"] == 15000
    assert usage["org_used"] == env.org.api_used == 1  # the /limits call itself
    assert usage["limits_error"] is None and usage["limits_as_of"] == "2025-03-10T12:30:00Z"

    env.clock.now = T0 + timedelta(minutes=4)
    again = (await env.client.get("/v1/usage")).json()
    assert env.org.api_used == 1  # cached for 5 minutes: Salesforce not asked again
    assert again["used"] == usage["used"]

    env.clock.now = T0 + timedelta(hours=24)
    later = (await env.client.get("/v1/usage")).json()
    assert env.org.api_used == 2
    assert later["used"] == 1  # everything before 13:00 yesterday left the window
    assert later["hourly"][-1] == {"hour": "2025-03-11T12:00:00Z", "calls": 1}


async def test_usage_keeps_the_last_limits_when_salesforce_is_down(env: Env) -> None:
    await env.client.get("/v1/usage")
    env.org.unavailable = True
    env.clock.now = T0 + timedelta(minutes=10)
    usage = (await env.client.get("/v1/usage")).json()
    assert usage["salesforce_limit"] == 15000 and usage["org_used"] == 1
    assert usage["limits_as_of"] is not None
    assert "HTTP 503" in usage["limits_error"]
    assert (await env.client.get("/v1/health")).json()["status"] == "degraded"


async def test_allocation_accepts_a_valid_number(env: Env) -> None:
    response = await env.client.put("/v1/usage/allocation", json={"allocated": 6000})
    assert response.status_code == 200 and response.json()["allocated"] == 6000
    assert (await env.client.get("/v1/usage")).json()["allocated"] == 6000


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"allocated": "abc"}', "whole number"),
        (b'{"allocated": -5}', "between 0 and"),
        (b'{"allocated": 15001}', "15,000"),
        (b'{"allocated": 12.5}', "whole number"),
        (b'{"allocated": true}', "whole number"),
        (b'{"allocated": 6000', "not valid JSON"),
        (b"", "needs a JSON body"),
        (b"{}", '{"allocated"'),
        (b"[6000]", '{"allocated"'),
    ],
)
async def test_a_bad_allocation_is_422_and_changes_nothing(env: Env, body: bytes, says: str):
    response = await env.client.put(
        "/v1/usage/allocation", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert says in response.json()["error"]["message"]
    assert (await env.client.get("/v1/usage")).json()["allocated"] == 5000


# -- the change feed and details -------------------------------------------------------


async def feed_all(client: httpx.AsyncClient, cursor: int = 0, limit: int = 150):
    rows: list[list] = []
    while True:
        page = (await client.get("/v1/errors", params={"cursor": cursor, "limit": limit})).json()
        rows += page["rows"]
        assert page["next_cursor"] >= cursor
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return rows, cursor, page["columns"]


async def test_the_feed_pages_through_every_error_in_seq_order(env: Env) -> None:
    rows, cursor, columns = await feed_all(env.client)
    assert columns[:2] == ["id", "seq"] and columns[-1] == "cause" and len(columns) == 18
    assert len(rows) == DEMO_SIZE and len({r[0] for r in rows}) == DEMO_SIZE
    seqs = [r[1] for r in rows]
    assert seqs == sorted(seqs) and cursor == seqs[-1]
    assert all(isinstance(r[12], list) for r in rows)
    empty = (await env.client.get("/v1/errors", params={"cursor": cursor})).json()
    assert empty == {"columns": columns, "rows": [], "next_cursor": cursor, "has_more": False}


async def test_the_feed_says_how_many_rows_remain_when_asked(env: Env) -> None:
    cursor, seen = 0, 0
    while True:
        page = (
            await env.client.get("/v1/errors", params={"cursor": cursor, "limit": 700, "count": 1})
        ).json()
        seen += len(page["rows"])
        assert page["remaining"] == DEMO_SIZE - seen
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    plain = (await env.client.get("/v1/errors", params={"limit": 5})).json()
    assert "remaining" not in plain


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=10001", "limit=abc", "cursor=-1", "count=2", "count=yes"]
)
async def test_bad_feed_parameters_are_422(env: Env, query: str) -> None:
    assert_error_body(await env.client.get(f"/v1/errors?{query}"), 422, "invalid_parameter")


async def test_a_resync_moves_changed_rows_to_the_end_of_the_feed(env: Env) -> None:
    _, cursor, _ = await feed_all(env.client)
    ids = await open_ids(env.db, limit=30)
    result = (await resync(env, ids, "feed-1")).json()
    synced = {o["error_id"] for o in result["outcomes"] if o["status"] == "synced"}
    assert synced, "some of the demo's errors are fixed and must sync"
    rows, _, _ = await feed_all(env.client, cursor)
    assert sorted(r[0] for r in rows) == sorted(ids)
    status = {r[0]: r[16] for r in rows}
    assert {i for i, s in status.items() if s == "resolved"} == synced
    assert min(r[1] for r in rows) > cursor


async def test_error_detail_has_history_and_clear_404(env: Env) -> None:
    error_id = (await open_ids(env.db, limit=1))[0]
    detail = (await env.client.get(f"/v1/errors/{error_id}")).json()
    assert detail["id"] == error_id and isinstance(detail["fields"], list)
    assert len(detail["history"]) == detail["attempts"]
    assert "999999" in assert_error_body(await env.client.get("/v1/errors/999999"), 404,
                                         "not_found")  # fmt: skip
    assert_error_body(await env.client.get("/v1/errors/abc"), 422, "invalid_parameter")
    assert_error_body(await env.client.get("/v1/nope"), 404, "not_found")


# -- resync -----------------------------------------------------------------------------


async def test_resync_outcomes_against_the_simulated_org(env: Env) -> None:
    ids = await open_ids(env.db, limit=100)
    before = {i: (await env.client.get(f"/v1/errors/{i}")).json() for i in ids}
    used_before = (await env.client.get("/v1/usage")).json()["used"]
    org_before = env.org.api_used
    response = await resync(env, ids, "r-100")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["salesforce_calls"] == math.ceil(len(ids) / 200) == 1
    assert env.org.api_used - org_before == 1
    assert (await env.client.get("/v1/usage")).json()["used"] == used_before + 1
    outcomes = {o["error_id"]: o for o in result["outcomes"]}
    assert [o["error_id"] for o in result["outcomes"]] == ids
    kinds = {o["status"] for o in outcomes.values()}
    assert kinds == {"synced", "failed"}
    for error_id, outcome in outcomes.items():
        detail = (await env.client.get(f"/v1/errors/{error_id}")).json()
        old = before[error_id]
        assert detail["attempts"] == old["attempts"] + 1
        assert detail["history"][-1]["request_id"] == "r-100"
        assert detail["history"][-1]["outcome"] == outcome["status"]
        if outcome["status"] == "synced":
            assert detail["status"] == "resolved"
        else:  # a record still faulty fails again for the same reason
            assert detail["status"] == "open"
            assert (outcome["type"], outcome["subtype"]) == (old["type"], old["subtype"])
            assert outcome["sf_code"] == old["sf_code"] and outcome["message"]


async def test_integration_checks_fail_again_without_sending(env: Env) -> None:
    ids = await open_ids(env.db, "payload LIKE '%\"checks\":{%:false}%'", limit=5)
    assert ids
    org_before = env.org.api_used
    result = (await resync(env, ids, "checks")).json()
    assert result["salesforce_calls"] == 0 and env.org.api_used == org_before
    assert {o["status"] for o in result["outcomes"]} == {"failed"}
    assert all(o["sf_code"].startswith("SYNC_") for o in result["outcomes"])


async def test_unknown_and_resolved_ids_are_skipped(env: Env) -> None:
    done = (await resolved_ids(env.db))[0]
    result = (await resync(env, [999999, done, 999999], "skip")).json()
    assert [o["error_id"] for o in result["outcomes"]] == [999999, done]
    assert {o["status"] for o in result["outcomes"]} == {"skipped"}
    assert "No sync error" in result["outcomes"][0]["message"]
    assert "already resolved" in result["outcomes"][1]["message"]
    assert result["salesforce_calls"] == 0


async def test_replaying_a_done_request_sends_nothing(env: Env) -> None:
    ids = await open_ids(env.db, limit=20)
    first = (await resync(env, ids, "again")).json()
    org_calls, state = env.org.api_used, await snapshot(env.db)
    used = (await env.client.get("/v1/usage")).json()["used"]
    org_calls = env.org.api_used
    replay = await resync(env, list(reversed(ids)), "again")
    assert replay.status_code == 200
    assert replay.json() == {**first, "replayed": True}
    assert env.org.api_used == org_calls and await snapshot(env.db) == state
    assert (await env.client.get("/v1/usage")).json()["used"] == used
    other = await resync(env, ids[:5], "again")
    assert "different set" in assert_error_body(other, 409, "request_id_reused")


async def test_an_interrupted_request_is_refused_after_restart(env: Env) -> None:
    ids = await open_ids(env.db, limit=3)
    # what a process killed between 'started' and 'done' leaves behind
    await env.service.ledger.start_request("crashed", ids, T0)
    await env.restart()
    state = await snapshot(env.db)
    message = assert_error_body(await resync(env, ids, "crashed"), 409, "resync_interrupted")
    assert "new request" in message
    assert await snapshot(env.db) == state
    assert (await resync(env, ids, "fresh")).status_code == 200


async def test_salesforce_down_mid_resync_is_never_resent(env: Env) -> None:
    ids = await open_ids(env.db, "payload NOT LIKE '%false%'", limit=3)
    env.org.unavailable = True
    state = await snapshot(env.db)
    assert_error_body(await resync(env, ids, "down"), 503, "salesforce_unavailable")
    assert await snapshot(env.db) == state
    env.org.unavailable = False
    assert_error_body(await resync(env, ids, "down"), 409, "resync_interrupted")


async def test_allocation_that_cannot_cover_the_resync_is_429(env: Env) -> None:
    used = (await env.client.get("/v1/usage")).json()["used"]
    await env.client.put("/v1/usage/allocation", json={"allocated": used})
    ids = await open_ids(env.db, "payload NOT LIKE '%false%'", limit=10)
    org_calls, state = env.org.api_used, await snapshot(env.db)
    message = assert_error_body(await resync(env, ids, "over"), 429, "allocation_exceeded")
    assert f"{used:,} of its {used:,}" in message and "1 Salesforce API call" in message
    assert env.org.api_used == org_calls and await snapshot(env.db) == state
    await env.client.put("/v1/usage/allocation", json={"allocated": used + 1})
    assert (await resync(env, ids, "over")).status_code == 200  # nothing was recorded


async def test_over_the_allocation_integration_errors_are_refused_too(env: Env) -> None:
    """Re-checking integration-raised errors sends nothing but counts an attempt; over the
    allocation the service refuses it like any resync (issue 12, point 8)."""
    used = (await env.client.get("/v1/usage")).json()["used"]
    await env.client.put("/v1/usage/allocation", json={"allocated": used})
    ids = await open_ids(env.db, "payload LIKE '%\"checks\":{%:false}%'", limit=3)
    assert ids
    state = await snapshot(env.db)
    assert_error_body(await resync(env, ids, "checks-over"), 429, "allocation_exceeded")
    assert await snapshot(env.db) == state  # no attempt counted, nothing changed


async def test_salesforce_request_limit_is_a_clear_refusal(env: Env) -> None:
    await env.client.get("/v1/usage")
    # the org ran 10% past its 15,000 daily requests (other clients too): calls are blocked
    env.org.api_used = 16500
    ids = await open_ids(env.db, "payload NOT LIKE '%false%'", limit=10)
    state = await snapshot(env.db)
    message = assert_error_body(
        await resync(env, ids, "sf-limit"), 429, "salesforce_limit_exceeded"
    )
    assert "Nothing was synced" in message and "daily" in message
    assert await snapshot(env.db) == state
    env.org.api_used = 0
    assert (await resync(env, ids, "sf-limit")).status_code == 200


async def test_an_expired_org_session_is_a_clear_refusal(env: Env) -> None:
    env.org.token_expires_at = 0.0
    ids = await open_ids(env.db, "payload NOT LIKE '%false%'", limit=2)
    state = await snapshot(env.db)
    message = assert_error_body(
        await resync(env, ids, "expired"), 502, "salesforce_session_expired"
    )
    assert "access token" in message and await snapshot(env.db) == state
    env.org.token_expires_at = None
    assert (await resync(env, ids, "expired")).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error_ids": list(range(1, 102)), "request_id": "x"}, "too_many_errors"),
        ({"error_ids": [], "request_id": "x"}, "invalid_resync"),
        ({"error_ids": [1]}, "invalid_resync"),
        ({"error_ids": ["1"], "request_id": "x"}, "invalid_resync"),
        ({"error_ids": 1, "request_id": "x"}, "invalid_resync"),
    ],
)
async def test_bad_resync_requests_are_422(env: Env, body: dict, code: str) -> None:
    state = await snapshot(env.db)
    assert_error_body(await env.client.post("/v1/resync", json=body), 422, code)
    assert await snapshot(env.db) == state


# -- notifications, auth, openapi --------------------------------------------------------


async def test_notifications_round_trip_and_validation(env: Env) -> None:
    assert (await env.client.get("/v1/notifications")).json()["enabled"] is False
    new = {"enabled": True, "frequency": "weekly", "webhook": {"enabled": True}}
    stored = (await env.client.put("/v1/notifications", json=new)).json()
    assert {k: stored[k] for k in new} == new and stored["digest_time"] == "09:00"
    assert (await env.client.get("/v1/notifications")).json() == stored
    bad = await env.client.put("/v1/notifications", json={"frequency": "hourly"})
    assert "weekly" in assert_error_body(bad, 422, "invalid_notifications")
    typo = await env.client.put("/v1/notifications", json={"enable": True})
    assert "enable: there is no such setting" in assert_error_body(
        typo, 422, "invalid_notifications"
    )
    assert (await env.client.get("/v1/notifications")).json() == stored


async def test_a_configured_token_is_required(env: Env, tmp_path: Path) -> None:
    service = make_service(env.db, env.org, env.clock, api_token="s3cret")
    await service.start()
    try:
        async with client_for(service) as anonymous:
            message = assert_error_body(await anonymous.get("/v1/usage"), 401, "unauthorized")
            assert "Bearer" in message
        async with client_for(service, headers={"Authorization": "Bearer wrong"}) as wrong:
            assert_error_body(await wrong.get("/v1/usage"), 401, "unauthorized")
            # health needs no token, and says nothing of the org without a valid one
            health = (await wrong.get("/v1/health")).json()
            assert health["status"] == "ok" and health["org_name"] == health["replica"] == ""
        async with client_for(service, headers={"Authorization": "Bearer s3cret"}) as good:
            health = (await good.get("/v1/health")).json()
            assert health["org_name"] and health["replica"]
    finally:
        await service.stop()


async def test_openapi_lists_the_endpoints(env: Env) -> None:
    doc = (await env.client.get("/v1/openapi.json")).json()
    assert {"/v1/usage", "/v1/errors", "/v1/resync"} <= set(doc["paths"])
    assert "ResyncResult" in doc["components"]["schemas"]
