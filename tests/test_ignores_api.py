"""Ignoring errors and causes (issue 15, point 2): ``/v1/ignores``, ``/v1/unignore``, the
expiry (an injected clock), reopening on a new cause, and what ignored errors are kept
from (open counts, causes, automatic retries, resyncs). The real service on a real ledger
on each engine (the version-3 upgrade on SQLite alone), the simulated org behind the real
connector."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pg_harness import ledger_rows, sqlite_only
from test_causes_api import tier_failure
from test_ingest import T0, Env, close_env
from test_resync_jobs import live_ids
from test_retries import policy, quiet_env, validation_failure

from tui.service.db import PostgresTarget
from tui.service.ignores import MAX_IGNORE_IDS
from tui.service.migrations import SCHEMA_VERSION
from tui.service.resync import IGNORED


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    e = await quiet_env(ledger_target)
    yield e
    await close_env(e)


async def statuses(env: Env) -> dict[int, str]:
    return dict(await ledger_rows(env.db, "SELECT id, status FROM errors"))


async def ignore(env: Env, expect: int = 200, **body: Any) -> dict[str, Any]:
    answer = await env.client.post("/v1/ignores", json={"request_id": "r1", **body})
    assert answer.status_code == expect, answer.text
    return answer.json()


async def history(env: Env) -> list[dict[str, Any]]:
    return (await env.client.get("/v1/history")).json()["entries"]


async def feed_status(env: Env) -> dict[int, str]:
    body = (await env.client.get("/v1/errors", params={"limit": 10000})).json()
    at = body["columns"].index("status")
    return {row[0]: row[at] for row in body["rows"]}


async def test_ignored_errors_leave_open_and_say_why_who_and_until_when(env: Env) -> None:
    ids = (await env.ingest([tier_failure(n, "Diamond") for n in range(1, 5)]))["error_ids"]
    until = (T0 + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = await ignore(env, error_ids=ids[:3], reason="  CRM fix next week ", expires_at=until)
    assert result["changed"] == ids[:3] and result["unchanged"] == [] and not result["replayed"]
    assert await feed_status(env) == {**dict.fromkeys(ids[:3], "ignored"), ids[3]: "open"}
    detail = await env.detail(ids[0])
    assert detail["status"] == "ignored"
    assert detail["ignore"]["reason"] == "CRM fix next week"
    assert detail["ignore"]["expires_at"] == until and detail["ignore"]["actor"]
    assert detail["next_retry"]["reason"] in ("ignored", "off")
    (entry, *_) = await history(env)
    assert entry["kind"] == "ignore" and entry["ref"] == "r1" and entry["errors"] == 3
    assert entry["reason"] == "CRM fix next week" and entry["expires_at"] == until
    assert entry["error_ids"] == ids[:3]
    (listed,) = (await env.client.get("/v1/ignores")).json()["ignores"]
    assert listed["ignore_id"] == result["ignore_id"] and listed["errors"] == 3
    (cause,) = (await env.client.get("/v1/causes")).json()["causes"]
    assert cause["open_errors"] == 1  # the ignored three left the cause's open count


async def test_a_retried_request_answers_again_and_another_body_is_refused(env: Env) -> None:
    ids = (await env.ingest([tier_failure(n, "Gold") for n in range(1, 3)]))["error_ids"]
    first = await ignore(env, error_ids=ids, reason="known")
    again = await ignore(env, error_ids=ids, reason="known")
    assert again == {**first, "replayed": True}
    other = await ignore(env, 409, error_ids=ids[:1], reason="known")
    assert other["error"]["code"] == "request_id_reused"
    assert [e["kind"] for e in await history(env)].count("ignore") == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"error_ids": [1], "reason": ""}, 422, "missing_reason"),
        ({"error_ids": [1], "reason": "   "}, 422, "missing_reason"),
        ({"error_ids": [1]}, 422, "missing_reason"),
        ({"error_ids": [1], "reason": "x\x00y"}, 422, "invalid_reason"),
        ({"error_ids": [1], "reason": "x" * 501}, 422, "invalid_reason"),
        ({"error_ids": [1], "reason": "x", "expires_at": "2025-03-10T12:00:00Z"}, 422,
         "expiry_in_past"),
        ({"error_ids": [1], "reason": "x", "expires_at": "2025-03-10T12:30:00Z"}, 422,
         "expiry_in_past"),
        ({"error_ids": [1], "reason": "x", "expires_at": "2025-04-01T00:00:00"}, 422,
         "invalid_expiry"),
        ({"error_ids": [1], "reason": "x", "expires_at": "next week"}, 422, "invalid_expiry"),
        ({"error_ids": [1], "reason": "x", "expires_at": 12}, 422, "invalid_expiry"),
        ({"error_ids": [1], "reason": "x", "days": 0}, 422, "invalid_expiry"),
        ({"error_ids": [1], "reason": "x", "days": 3661}, 422, "invalid_expiry"),
        ({"error_ids": [1], "reason": "x", "days": True}, 422, "invalid_expiry"),
        ({"error_ids": [1], "reason": "x", "days": 1, "expires_at": "2026-01-01T00:00:00Z"},
         422, "invalid_expiry"),
        ({"error_ids": [1, 999999], "reason": "x"}, 404, "unknown_errors"),
        ({"error_ids": list(range(MAX_IGNORE_IDS + 1)), "reason": "x"}, 422, "too_many_errors"),
        ({"error_ids": [], "reason": "x"}, 422, "invalid_ignore"),
        ({"error_ids": ["1"], "reason": "x"}, 422, "invalid_ignore"),
        ({"error_ids": [True], "reason": "x"}, 422, "invalid_ignore"),
        ({"reason": "x"}, 422, "invalid_ignore"),
        ({"error_ids": [1], "cause": "0123456789abcdef", "reason": "x"}, 422, "invalid_ignore"),
        ({"cause": "not-a-cause", "reason": "x"}, 422, "invalid_ignore"),
        ({"cause": "0123456789abcdef", "reason": "x"}, 404, "not_found"),
        ({"error_ids": [1], "reason": "x", "request_id": ""}, 422, "invalid_ignore"),
    ],
)  # fmt: skip
async def test_bad_input_is_a_clear_4xx_and_ignores_nothing(
    env: Env, body: dict[str, Any], status: int, code: str
) -> None:
    await env.ingest([tier_failure(1, "Gold")])
    before = await statuses(env)
    answer = await ignore(env, status, **body)
    assert answer["error"]["code"] == code and answer["error"]["message"]
    assert await statuses(env) == before
    assert [e["kind"] for e in await history(env)] == ["report"]


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]"])
async def test_a_body_that_is_no_request_is_422(env: Env, raw: bytes) -> None:
    for path in ("/v1/ignores", "/v1/unignore"):
        answer = await env.client.post(path, content=raw)
        assert answer.status_code == 422, answer.text


async def test_days_count_from_the_service_clock_and_a_later_retry_is_the_same_request(
    env: Env,
) -> None:
    ids = (await env.ingest([tier_failure(1, "Gold")]))["error_ids"]
    first = await ignore(env, error_ids=ids, reason="a week", days=7)
    env.clock.now = T0 + timedelta(minutes=3)  # the client retried a little later
    assert (await ignore(env, error_ids=ids, reason="a week", days=7))["replayed"] is True
    assert first["changed"] == ids
    (listed,) = (await env.client.get("/v1/ignores")).json()["ignores"]
    assert listed["expires_at"] == "2025-03-17T12:30:00Z"


async def test_an_ignore_expires_and_the_errors_come_back(env: Env) -> None:
    ids = (await env.ingest([tier_failure(n, "Gold") for n in range(1, 3)]))["error_ids"]
    until = (T0 + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await ignore(env, error_ids=ids, reason="wait a day", expires_at=until)
    env.clock.now = T0 + timedelta(hours=23)
    assert set((await feed_status(env)).values()) == {"ignored"}
    env.clock.now = T0 + timedelta(days=1)
    assert set((await feed_status(env)).values()) == {"open"}
    (entry, *_) = await history(env)
    assert entry["kind"] == "reopen" and entry["why"] == "expired" and entry["error_ids"] == ids
    assert (await env.client.get("/v1/ignores")).json()["ignores"] == []
    assert (await env.detail(ids[0]))["ignore"] is None


async def test_a_failure_with_the_same_cause_keeps_it_ignored_a_new_cause_reopens(
    env: Env,
) -> None:
    (error_id,) = (await env.ingest([tier_failure(1, "Gold")]))["error_ids"]
    await ignore(env, error_ids=[error_id], reason="tier values are being cleaned")
    env.clock.now = T0 + timedelta(minutes=5)
    again = {**tier_failure(1, "Platinum"), "occurred_at": "2025-03-10T12:35:00Z"}
    assert (await env.ingest([again]))["repeated"] == 1  # another value: the same cause
    detail = await env.detail(error_id)
    assert detail["status"] == "ignored" and detail["attempts"] == 2
    other = tier_failure(1, "Gold")
    other["errors"][0]["message"] = "Region: bad value for restricted picklist field: Gold"
    other["errors"][0]["fields"] = ["Region__c"]
    other["occurred_at"] = "2025-03-10T12:40:00Z"
    assert (await env.ingest([other]))["repeated"] == 1
    detail = await env.detail(error_id)
    assert detail["status"] == "open" and detail["ignore"] is None
    kinds = [(e["kind"], e.get("why")) for e in await history(env)]
    assert kinds[0] == ("report", None) and kinds[1] == ("reopen", "new_cause")


async def test_a_whole_cause_is_ignored_and_unignored(env: Env) -> None:
    ids = (await env.ingest([tier_failure(n, v) for n, v in enumerate("ABC", 1)]))["error_ids"]
    (other,) = (await env.ingest([validation_failure(live_ids(env.org, 1)[0], 7)]))["error_ids"]
    (cause,) = [
        c for c in (await env.client.get("/v1/causes")).json()["causes"] if c["records"] == 3
    ]
    result = await ignore(env, cause=cause["cause"], reason="one known bad picklist")
    assert sorted(result["changed"]) == sorted(ids)
    assert await statuses(env) == {**dict.fromkeys(ids, "ignored"), other: "open"}
    assert (await history(env))[0]["cause"] == cause["cause"]
    body = {"request_id": "u1", "cause": cause["cause"]}
    undone = (await env.client.post("/v1/unignore", json=body)).json()
    assert sorted(undone["changed"]) == sorted(ids) and undone["ignore_id"] is None
    assert set((await statuses(env)).values()) == {"open"}
    assert (await env.client.post("/v1/unignore", json=body)).json()["replayed"] is True
    assert [e["kind"] for e in await history(env)][:2] == ["unignore", "ignore"]


async def test_unignore_by_id_and_delete_an_ignore(env: Env) -> None:
    ids = (await env.ingest([tier_failure(n, "Gold") for n in range(1, 4)]))["error_ids"]
    made = await ignore(env, error_ids=ids, reason="later")
    answer = await env.client.post("/v1/unignore", json={"request_id": "u", "error_ids": ids[:1]})
    assert answer.json()["changed"] == ids[:1] and answer.json()["unchanged"] == []
    unknown = await env.client.post("/v1/unignore", json={"request_id": "v", "error_ids": [9999]})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_errors"
    gone = await env.client.delete(f"/v1/ignores/{made['ignore_id']}")
    assert gone.status_code == 200 and gone.json()["changed"] == ids[1:]
    assert set((await statuses(env)).values()) == {"open"}
    for bad in ("12345", "x", "-1"):
        answer = await env.client.delete(f"/v1/ignores/{bad}")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


async def test_a_resolved_error_is_not_ignored_and_a_success_resolves_an_ignored_one(
    env: Env,
) -> None:
    ids = (await env.ingest([tier_failure(n, "Gold") for n in range(1, 3)]))["error_ids"]
    synced = {"object_type": "contact", "record_id": "crm-1", "outcome": "synced",
              "occurred_at": "2025-03-10T12:31:00Z"}  # fmt: skip
    await ignore(env, error_ids=ids, reason="later")
    env.clock.now = T0 + timedelta(minutes=2)
    assert (await env.ingest([synced]))["resolved"] == 1
    assert await statuses(env) == {ids[0]: "resolved", ids[1]: "ignored"}
    assert (await env.detail(ids[0]))["ignore"] is None
    body = {"request_id": "r2", "error_ids": ids, "reason": "again"}
    again = (await env.client.post("/v1/ignores", json=body)).json()
    assert again["changed"] == [ids[1]] and again["unchanged"] == [ids[0]]


async def test_retries_and_resyncs_leave_ignored_errors_alone(env: Env) -> None:
    await policy(env, enabled=True)
    items = [validation_failure(sf_id, k) for k, sf_id in enumerate(live_ids(env.org, 4))]
    ids = (await env.ingest(items))["error_ids"]
    await ignore(env, error_ids=ids[:2], reason="Salesforce admin is on it")
    assert await env.service.retries.tick() == 2  # only the two open ones are due
    for error_id in ids[:2]:
        detail = await env.detail(error_id)
        assert detail["attempts"] == 1 and detail["next_retry"]["reason"] == "ignored"
    outcomes = (await env.resync(ids[:1], "by-hand"))["outcomes"]
    assert outcomes == [{**outcomes[0], "status": "skipped", "message": IGNORED}]
    assert (await statuses(env))[ids[0]] == "ignored"


async def test_expired_ignores_come_back_before_a_retry_round(env: Env) -> None:
    await policy(env, enabled=True)
    items = [validation_failure(sf_id, k) for k, sf_id in enumerate(live_ids(env.org, 2))]
    ids = (await env.ingest(items))["error_ids"]
    until = (T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await ignore(env, error_ids=ids, reason="an hour", expires_at=until)
    assert await env.service.retries.tick() == 0
    env.clock.now = T0 + timedelta(hours=2)
    assert await env.service.retries.tick() == 2


@sqlite_only  # PostgreSQL ledgers began at version 5
async def test_a_version_3_ledger_is_upgraded_and_can_ignore(env: Env) -> None:
    ids = (await env.ingest([tier_failure(1, "Gold")]))["error_ids"]
    await env.service.stop()
    with sqlite3.connect(env.db) as conn:  # as synchealth of ledger version 3 left it
        conn.executescript(
            "DROP TABLE ignored_errors; DROP TABLE ignores; DROP TABLE ignore_requests; "
            "UPDATE meta SET value = '3' WHERE key = 'schema_version';"
        )
    await env.service.start()
    with sqlite3.connect(env.db) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),) == ("7",)
    assert (await ignore(env, error_ids=ids, reason="after the upgrade"))["changed"] == ids
