"""``GET /v1/usage/breakdown``: the service's own calls, through the real connector to the
simulated org, counted by kind and by object in the usage ledger (on either engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pg_harness import demo_ledger, ledger_rows, ledger_write

from tests.notify_env import Clock, NotifyEnv
from tests.test_doctor_service import T0
from tui.service.db import PostgresTarget
from tui.service.usage import hour_start


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget, tmp_path: Path) -> AsyncIterator[NotifyEnv]:
    """A demo ledger whose usage history is cleared: only this test's calls count."""
    await demo_ledger(ledger_target, tmp_path, 400, now=T0)
    await ledger_write(ledger_target, "DELETE FROM usage_hourly")
    await ledger_write(ledger_target, "DELETE FROM usage_calls")
    e = await NotifyEnv(ledger_target, Clock(T0)).start()
    yield e
    await e.stop()


async def open_ids(env: NotifyEnv, sf_object: str, limit: int) -> list[int]:
    rows = await ledger_rows(
        env.db,
        "SELECT id FROM errors WHERE status = 'open' AND sf_object = ? AND sf_id IS NOT NULL "
        "ORDER BY id LIMIT ?",
        (sf_object, limit),
    )
    return [r[0] for r in rows]


async def resync(env: NotifyEnv, ids: list[int], request_id: str) -> int:
    answer = await env.client.post("/v1/resync", json={"error_ids": ids, "request_id": request_id})
    return answer.status_code


def as_dict(items: list[dict]) -> dict[str, int]:
    return {item["name"]: item["calls"] for item in items}


async def test_a_resync_is_counted_as_updates_of_its_objects(env: NotifyEnv) -> None:
    contacts = await open_ids(env, "Contact", limit=6)
    leads = await open_ids(env, "Lead", limit=3)
    assert await resync(env, contacts[:3], "r-c") == 200
    assert await resync(env, contacts[3:] + leads, "r-cl") == 200
    used = (await env.client.get("/v1/usage")).json()["used"]  # reads /limits: one more
    body = (await env.client.get("/v1/usage/breakdown")).json()
    rows = {(r["kind"], r["object"]): r["calls"] for r in body["rows"]}
    assert rows[("update", "Contact")] == 1
    assert rows[("update", "Contact+Lead")] == 1
    assert rows[("limits", "")] == 1
    assert body["total"] == sum(rows.values()) == used == 3
    assert as_dict(body["by_kind"])["update"] == 2


async def test_doctor_describes_are_counted_per_object_and_survive_a_restart(
    env: NotifyEnv,
) -> None:
    await env.client.get("/v1/doctor")
    await env.restart()
    body = (await env.client.get("/v1/usage/breakdown")).json()
    kinds, objects = as_dict(body["by_kind"]), as_dict(body["by_object"])
    described = {r["object"] for r in body["rows"] if r["kind"] == "describe"}
    assert described == {"Account", "Contact", "Lead", "Opportunity", "Task"}
    assert kinds["describe"] == 5 and kinds["versions"] == 1 and kinds["limits"] == 1
    assert objects[""] == 2 and objects["Lead"] == 1
    assert [k["calls"] for k in body["by_kind"]] == sorted(
        (k["calls"] for k in body["by_kind"]), reverse=True
    )


async def test_calls_counted_before_kinds_were_recorded_show_as_unrecorded(env: NotifyEnv) -> None:
    hour = hour_start(T0).strftime("%Y-%m-%dT%H:%M:%SZ")
    # an older ledger's hourly count, without kinds
    await ledger_write(env.db, "INSERT INTO usage_hourly(hour, calls) VALUES (?, 40)", [(hour,)])
    await env.restart()  # a service opening that ledger
    body = (await env.client.get("/v1/usage/breakdown")).json()
    assert body["rows"] == [{"kind": "unrecorded", "object": "", "calls": 40}]
    assert body["total"] == 40


async def test_calls_older_than_24_hours_leave_the_breakdown(env: NotifyEnv) -> None:
    await env.client.get("/v1/doctor")
    env.clock.now = T0.replace(day=T0.day + 1, hour=T0.hour + 1)
    body = (await env.client.get("/v1/usage/breakdown")).json()
    assert body["total"] == 0 and body["rows"] == []
