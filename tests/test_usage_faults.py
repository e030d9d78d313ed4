"""The usage ledger at the edges of a call: a request that found no connection is not
counted, and a ledger that cannot record a call sends nothing (issue 14, item 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from clock import Clock
from pg_harness import service_target, until_database_back
from test_ingest import T0
from test_replicas import ORG_TOKEN, open_replica
from test_resync_jobs import report
from test_serve_loopback import free_port

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.simorg.demo import demo_org_state


async def breakdown_total(client: httpx.AsyncClient) -> int:
    answer = await client.get("/v1/usage/breakdown")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total"])


async def test_calls_that_found_no_connection_are_not_counted(
    ledger_target: Path | PostgresTarget,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = ServiceConfig(**service_target(ledger_target), org_url=nobody, org_token=ORG_TOKEN,
                           notify_interval=None, retry_interval=None)  # fmt: skip
    service = SyncHealthService(config)
    await service.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.asgi), base_url="http://t")
    try:
        items = [{"object_type": "contact", "record_id": "c1",
                  "salesforce": {"object": "Contact", "id": "003000000000001AAA",
                                 "fields": {"Email": "a@example.com"}},
                  "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "message": "bad",
                              "fields": ["Email"]}]}]  # fmt: skip
        ids = (await client.post("/v1/errors", json={"errors": items})).json()["error_ids"]
        answer = await client.post("/v1/resync", json={"error_ids": ids, "request_id": "r1"})
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "salesforce_unavailable"
        usage = (await client.get("/v1/usage")).json()  # its /limits read is refused too
        assert "could not be refreshed" in usage["limits_error"]
        assert usage["used"] == 0 and await breakdown_total(client) == 0
    finally:
        await client.aclose()
        await service.stop()


@pytest.mark.parametrize("ledger_target", ["postgresql"], indirect=True)
async def test_a_call_the_ledger_cannot_record_is_not_sent(
    ledger_target: PostgresTarget, tmp_path: Path
) -> None:
    """The database drops the service's connection while it records the call: 503 with
    the reason, and nothing reached the org."""
    org = demo_org_state(7)
    env = await open_replica(tmp_path / "unused", org, Clock(T0), database=ledger_target)
    try:
        ids = await report(env, 2)
        with psycopg.connect(ledger_target.url, autocommit=True) as holder:
            holder.execute("BEGIN")
            holder.execute("LOCK TABLE usage_hourly IN EXCLUSIVE MODE")  # reads still go
            sending = asyncio.create_task(
                env.client.post("/v1/resync", json={"error_ids": ids, "request_id": "r1"})
            )
            waiting = await _backend_waiting_for(holder, "usage_hourly")
            holder.execute("SELECT pg_terminate_backend(%s)", (waiting,))
            answer = await asyncio.wait_for(sending, 30)
            holder.execute("ROLLBACK")
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "database_unavailable"
        assert env.wire.calls == 0 and env.wire.requests == 0  # nothing went unrecorded
        await until_database_back(env.client, "/v1/usage/breakdown")  # the lost connection
        assert await breakdown_total(env.client) == 0
        # nothing was sent, so the same request may be sent again
        again = await env.client.post("/v1/resync", json={"error_ids": ids, "request_id": "r1"})
        assert again.status_code == 200 and again.json()["salesforce_calls"] == 1, again.text
        assert await breakdown_total(env.client) == env.wire.requests == 1
    finally:
        await env.client.aclose()
        await env.service.stop()


async def _backend_waiting_for(conn: Any, table: str) -> int:
    """The pid of the backend waiting for a lock on ``table``."""
    for _ in range(300):
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE relation = %s::regclass AND NOT granted", (table,)
        ).fetchone()
        if row is not None:
            return int(row[0])
        await asyncio.sleep(0.05)
    pytest.fail(f"no backend waited for {table}")
