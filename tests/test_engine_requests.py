"""The engine-request API in engine mode (issue 10, point 2): leases, releases, expiry
and answers, including the bad ones. Real app and ledger (each engine); simulated org
behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_ingest import ORG_TOKEN, T0, Env, close_env, email_item, start_env

from tui.service.db import PostgresTarget

DEMO_SIZE = 20


@pytest.fixture
async def env(tmp_path: Path, ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    """An engine-mode service on a demo ledger, on each engine in turn."""
    e = await start_env(tmp_path, target=ledger_target, size=DEMO_SIZE, resync_mode="engine",
                        engine_request_ttl=timedelta(hours=2), notify_interval=None)  # fmt: skip
    yield e
    await close_env(e)


async def lease(env: Env, seconds: Any = 60, limit: int = 10) -> httpx.Response:
    return await env.client.get("/v1/engine/requests", params={"lease": seconds, "limit": limit})


async def requested(env: Env, *items: dict, request_id: str = "r-1") -> list[dict]:
    ids = (await env.ingest(list(items)))["error_ids"]
    return (await env.resync(list(dict.fromkeys(ids)), request_id))["outcomes"]


def synced_answer(request: dict, at: str = "2025-03-10T12:31:00Z") -> dict:
    return {"outcome": "synced", "object_type": request["object_type"],
            "record_id": request["record_id"], "occurred_at": at,
            "request_id": request["request_id"]}  # fmt: skip


async def test_a_resync_asks_the_engine_once_per_record_and_sends_nothing(env: Env) -> None:
    before = env.org.api_used
    outcomes = await requested(env, email_item(env, "1"), email_item(env, "2"))
    assert {o["status"] for o in outcomes} == {"requested"}
    assert "Sent to the sync engine as request" in outcomes[0]["message"]
    assert env.org.api_used == before
    page = (await lease(env)).json()
    assert len(page["requests"]) == 2
    first = page["requests"][0]
    assert first["object_type"] == "contact" and first["record_id"] == "1"
    assert first["salesforce"]["object"] == "Contact" and first["salesforce"]["id"]
    assert first["lease_until"] == page["lease_until"] == "2025-03-10T12:31:00Z"
    # the same record resynced again joins its waiting request, without a second entry
    again = await requested(env, email_item(env, "1"), request_id="r-2")
    assert again[0]["engine_request_id"] == outcomes[0]["engine_request_id"]
    history = (await env.detail(again[0]["error_id"]))["history"]
    assert [h["outcome"] for h in history].count("requested") == 1


async def test_two_workers_never_hold_the_same_request_and_a_lapsed_lease_returns(
    env: Env,
) -> None:
    await requested(env, email_item(env, "1"), email_item(env, "2"), email_item(env, "3"))
    a = (await lease(env, 60, 2)).json()["requests"]
    b = (await lease(env, 60, 2)).json()["requests"]
    assert len(a) == 2 and len(b) == 1
    assert not {r["request_id"] for r in a} & {r["request_id"] for r in b}
    assert (await lease(env)).json()["requests"] == []
    env.clock.now = T0 + timedelta(seconds=61)  # the first worker died: its leases lapse
    again = (await lease(env)).json()["requests"]
    assert {r["request_id"] for r in again} == {r["request_id"] for r in a + b}


async def test_a_released_request_is_offered_again_at_once(env: Env) -> None:
    await requested(env, email_item(env, "1"))
    (taken,) = (await lease(env)).json()["requests"]
    answer = await env.client.post(f"/v1/engine/requests/{taken['request_id']}/release")
    assert answer.status_code == 200 and answer.json()["lease_until"] is None
    assert [r["request_id"] for r in (await lease(env)).json()["requests"]] == [taken["request_id"]]


@pytest.mark.parametrize("seconds", [0, 604800, -5, "soon"])
async def test_a_lease_of_zero_or_a_week_is_refused(env: Env, seconds: Any) -> None:
    answer = await lease(env, seconds)
    assert answer.status_code == 422
    body = answer.json()["error"]
    assert body["code"] == "invalid_parameter"
    assert "'lease' must be a whole number from 1 to 3,600" in body["message"]


async def test_releasing_an_unknown_or_answered_request_is_a_clear_answer(env: Env) -> None:
    unknown = await env.client.post("/v1/engine/requests/er-nope/release")
    assert unknown.status_code == 404 and "er-nope" in unknown.json()["error"]["message"]
    await requested(env, email_item(env, "1"))
    (taken,) = (await lease(env)).json()["requests"]
    await env.ingest([synced_answer(taken)])
    answered = await env.client.post(f"/v1/engine/requests/{taken['request_id']}/release")
    assert answered.status_code == 409
    assert answered.json()["error"]["code"] == "request_not_waiting"
    assert "answered" in answered.json()["error"]["message"]


async def test_an_answer_resolves_and_marks_the_request(env: Env) -> None:
    (outcome,) = await requested(env, email_item(env, "1"))
    (taken,) = (await lease(env)).json()["requests"]
    answer = await env.ingest([synced_answer(taken)])
    assert answer["resolved"] == 1 and answer["request_notes"] == []
    detail = await env.detail(outcome["error_id"])
    assert detail["status"] == "resolved"
    assert detail["engine_request"]["state"] == "answered"
    assert detail["engine_request"]["answered"] == "2025-03-10T12:30:00Z"
    assert (await lease(env)).json()["requests"] == []


async def test_a_failed_answer_keeps_the_error_open_with_the_new_failure(env: Env) -> None:
    (outcome,) = await requested(env, email_item(env, "1"))
    (taken,) = (await lease(env)).json()["requests"]
    failed = email_item(env, "1", email="still@@bad", occurred_at="2025-03-10T12:30:00Z",
                        request_id=taken["request_id"])  # fmt: skip
    answer = await env.ingest([failed])
    assert answer["repeated"] == 1 and answer["request_notes"] == []
    detail = await env.detail(outcome["error_id"])
    assert detail["status"] == "open" and "still@@bad" in detail["message"]
    assert detail["engine_request"]["outcome"] == "failed"


async def test_answers_for_unknown_or_expired_requests_are_recorded_and_noted(env: Env) -> None:
    (outcome,) = await requested(env, email_item(env, "1"))
    (taken,) = (await lease(env)).json()["requests"]
    env.clock.now = T0 + timedelta(hours=3)  # past the 2-hour expiry
    detail = await env.detail(outcome["error_id"])
    assert detail["engine_request"]["state"] == "expired"
    late = synced_answer(taken, at="2025-03-10T15:00:00Z")
    stray = {**synced_answer(taken, at="2025-03-10T15:00:00Z"), "request_id": "er-unknown"}
    answer = await env.ingest([late, stray])
    assert [(n["index"], n["code"]) for n in answer["request_notes"]] == [
        (0, "request_expired"),
        (1, "unknown_request"),
    ]
    assert "expired" in answer["request_notes"][0]["reason"]
    detail = await env.detail(outcome["error_id"])
    assert detail["status"] == "resolved"  # the success itself is not lost
    history = [(h["outcome"], h["at"]) for h in detail["history"]]
    assert history[1:] == [("requested", "2025-03-10T12:30:00Z"),
                           ("expired", "2025-03-10T14:30:00Z"),
                           ("resolved", "2025-03-10T15:00:00Z")]  # fmt: skip


async def test_a_replayed_resync_request_id_asks_nothing_more(env: Env) -> None:
    ids = (await env.ingest([email_item(env, "1")]))["error_ids"]
    first = await env.resync(ids, "same")
    again = await env.resync(ids, "same")
    assert again == {**first, "replayed": True}
    assert len((await lease(env)).json()["requests"]) == 1
    refused = await env.client.post("/v1/resync", json={"error_ids": [1], "request_id": "same"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "request_id_reused"


async def test_resolved_and_unknown_errors_are_skipped(env: Env) -> None:
    result = await env.resync([999999], "r-x")
    assert result["outcomes"][0]["status"] == "skipped"
    assert result["outcomes"][0]["message"] == "No sync error has this id; nothing was sent."


def test_the_resync_mode_comes_from_the_profile_or_environment(tmp_path: Path) -> None:
    from tui.config import ConfigError
    from tui.profiles import select
    from tui.serve_plan import serve_plan, service_config

    path = tmp_path / "config.toml"
    path.write_text('[profiles.crm.serve]\nresync_mode = "engine"\n', encoding="utf-8")
    plan = serve_plan(select(path, "crm", environ={}), demo=True)
    config = service_config(plan, tmp_path / "l.sqlite3", org_token=ORG_TOKEN, mode="simulated")
    assert (plan.resync_mode, config.resync_mode) == ("engine", "engine")
    plain = serve_plan(select(environ={}), demo=True)
    assert plain.resync_mode == "direct"
    env = {"SYNCHEALTH_RESYNC_MODE": "direct"}
    assert serve_plan(select(path, "crm", environ=env), demo=True).resync_mode == "direct"
    path.write_text('[profiles.crm.serve]\nresync_mode = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        serve_plan(select(path, "crm", environ={}), demo=True)
    assert "resync_mode" in refused.value.message
