"""``GET /v1/usage/breakdown``: the service's own calls, through the real connector to the
simulated org, counted by kind and by object in the usage ledger (a real SQLite file)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.test_service_api import T0, Clock, Env, client_for, make_service, open_ids, resync
from tui.embedded import build_demo_ledger
from tui.service.usage import hour_start
from tui.simorg.demo import demo_org_state


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    """A demo ledger whose usage history is cleared: only this test's calls count."""
    db = tmp_path / "ledger.sqlite3"
    build_demo_ledger(db, 400, now=T0)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM usage_hourly")
        conn.execute("DELETE FROM usage_calls")
    org, clock = demo_org_state(7), Clock(T0)
    service = make_service(db, org, clock)
    await service.start()
    e = Env(service, client_for(service), org, clock, db)
    yield e
    await e.client.aclose()
    await e.service.stop()


def as_dict(items: list[dict]) -> dict[str, int]:
    return {item["name"]: item["calls"] for item in items}


async def test_a_resync_is_counted_as_updates_of_its_objects(env: Env) -> None:
    contacts = open_ids(env.db, "sf_object = 'Contact' AND sf_id IS NOT NULL", limit=6)
    leads = open_ids(env.db, "sf_object = 'Lead' AND sf_id IS NOT NULL", limit=3)
    assert (await resync(env, contacts[:3], "r-c")).status_code == 200
    assert (await resync(env, contacts[3:] + leads, "r-cl")).status_code == 200
    used = (await env.client.get("/v1/usage")).json()["used"]  # reads /limits: one more
    body = (await env.client.get("/v1/usage/breakdown")).json()
    rows = {(r["kind"], r["object"]): r["calls"] for r in body["rows"]}
    assert rows[("update", "Contact")] == 1
    assert rows[("update", "Contact+Lead")] == 1
    assert rows[("limits", "")] == 1
    assert body["total"] == sum(rows.values()) == used == 3
    assert as_dict(body["by_kind"])["update"] == 2


async def test_doctor_describes_are_counted_per_object_and_survive_a_restart(env: Env) -> None:
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


async def test_calls_counted_before_kinds_were_recorded_show_as_unrecorded(env: Env) -> None:
    hour = hour_start(T0).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(env.db) as conn:  # an older ledger's hourly count, without kinds
        conn.execute("INSERT INTO usage_hourly(hour, calls) VALUES (?, 40)", (hour,))
    await env.restart()  # a service opening that ledger
    body = (await env.client.get("/v1/usage/breakdown")).json()
    assert body["rows"] == [{"kind": "unrecorded", "object": "", "calls": 40}]
    assert body["total"] == 40


async def test_calls_older_than_24_hours_leave_the_breakdown(env: Env) -> None:
    await env.client.get("/v1/doctor")
    env.clock.now = T0.replace(day=T0.day + 1, hour=T0.hour + 1)
    body = (await env.client.get("/v1/usage/breakdown")).json()
    assert body["total"] == 0 and body["rows"] == []
