"""The audit trail end to end: the real service on a ledger of each engine (a SQLite file,
then a schema of the real PostgreSQL) and the simulated org, changed over its HTTP API
(ASGI), read back by GET /v1/audit and GET /v1/history."""

from __future__ import annotations

from typing import Any

from test_ingest import Env, open_ids
from test_ingest import env as env  # a fixture: the service on each engine
from test_resync_jobs import report, start_job, until, world  # noqa: F401 (fixture)

from tui.core.audit_models import HISTORY_KINDS, AuditPage

ANA = {"X-Synchealth-Actor": "ana@laptop"}


async def trail(env: Env, cursor: int = 0, limit: int = 200) -> AuditPage:
    answer = await env.client.get("/v1/audit", params={"cursor": cursor, "limit": limit})
    assert answer.status_code == 200, answer.text
    return AuditPage.model_validate(answer.json())


async def put(env: Env, path: str, body: dict[str, Any]) -> None:
    answer = await env.client.put(path, json=body, headers=ANA)
    assert answer.status_code == 200, answer.text


async def test_an_allocation_change_is_recorded_old_to_new_once(env: Env) -> None:
    before = (await env.client.get("/v1/usage")).json()["allocated"]
    await put(env, "/v1/usage/allocation", {"allocated": 1234})
    await put(env, "/v1/usage/allocation", {"allocated": 1234})  # the same again: no change
    entries = (await trail(env)).entries
    assert [(e.kind, e.actor) for e in entries] == [("allocation", "ana@laptop")]
    (change,) = entries[0].changes
    assert (change.field, change.old, change.new) == ("allocated", before, 1234)
    refused = await env.client.put("/v1/usage/allocation", json={"allocated": 10**9})
    assert refused.status_code == 422
    assert len((await trail(env)).entries) == 1  # a refused change is no change


async def test_retry_and_notification_settings_name_each_field_changed(env: Env) -> None:
    await put(env, "/v1/retries", {"enabled": True, "ceiling_percent": 60})
    await put(
        env,
        "/v1/notifications",
        {"enabled": True, "email": {"enabled": True, "recipients": ["ops@example.com"]}},
    )
    retries, notifications = (await trail(env)).entries
    assert retries.kind == "retries"
    assert {(c.field, c.old, c.new) for c in retries.changes} == {
        ("enabled", False, True),
        ("ceiling_percent", 75, 60),
    }
    assert notifications.kind == "notifications" and notifications.actor == "ana@laptop"
    assert [(c.field, c.old, c.new) for c in notifications.changes] == [
        ("enabled", False, True),
        ("email.enabled", False, True),
        ("email.recipients", [], ["ops@example.com"]),
    ]
    refused = await env.client.put("/v1/notifications", json={"frequency": "hourly"})
    assert refused.status_code == 422
    assert len((await trail(env)).entries) == 2


async def test_a_mute_and_its_end_are_recorded_with_the_cause(env: Env) -> None:
    cause = (await env.client.get("/v1/causes")).json()["causes"][0]["cause"]
    await put(env, f"/v1/notifications/mutes/{cause}", {"minutes": 60})
    ended = await env.client.delete(f"/v1/notifications/mutes/{cause}", headers=ANA)
    assert ended.status_code == 200, ended.text
    again = await env.client.delete(f"/v1/notifications/mutes/{cause}", headers=ANA)
    assert again.status_code == 404  # not muted: nothing happened, nothing recorded
    mute, unmute = (await trail(env)).entries
    assert (mute.kind, mute.ref, mute.actor) == ("mute", cause, "ana@laptop")
    assert mute.expires_at is not None and mute.expires_at > mute.at
    assert (unmute.kind, unmute.ref) == ("unmute", cause)


async def test_a_job_is_recorded_when_started_and_cancelled_with_counts(world) -> None:  # noqa: F811
    env, wire = world
    await env.service.usage.set_allocated(0)  # the job can only wait
    ids = await report(env, 300)
    started = await env.client.post(
        "/v1/resync/jobs", json={"error_ids": ids, "request_id": "j1"}, headers=ANA
    )
    job_id = started.json()["job_id"]
    await until(env, job_id, lambda j: j["waiting"] is not None)
    cancel = await env.client.post(f"/v1/resync/jobs/{job_id}/cancel", headers=ANA)
    assert cancel.status_code == 200
    jobs = [e for e in (await trail(env)).entries if e.kind == "job"]
    assert [(e.action, e.ref, e.actor) for e in jobs] == [
        ("started", job_id, "ana@laptop"),
        ("cancelled", job_id, "ana@laptop"),
    ]
    assert jobs[0].errors == 300 and jobs[0].cancelled == 0
    assert jobs[1].cancelled == 300 and jobs[1].synced == 0 and wire.calls == 0
    replayed = await env.client.post(
        "/v1/resync/jobs", json={"error_ids": ids, "request_id": "j1"}, headers=ANA
    )
    assert replayed.status_code == 200  # the same job: not started twice, not recorded twice
    assert len([e for e in (await trail(env)).entries if e.kind == "job"]) == 2


async def test_a_finished_job_is_recorded_under_who_started_it(world) -> None:  # noqa: F811
    env, _ = world
    ids = await report(env, 250)
    started = await env.client.post(
        "/v1/resync/jobs", json={"error_ids": ids, "request_id": "j2"}, headers=ANA
    )
    job_id = started.json()["job_id"]
    done = await until(env, job_id, lambda j: j["state"] == "done")
    finished = [e for e in (await trail(env)).entries if e.action == "finished"]
    assert [(e.ref, e.actor) for e in finished] == [(job_id, "ana@laptop")]
    counts = done["counts"]
    assert (finished[0].synced, finished[0].failed, finished[0].skipped) == (
        counts["synced"],
        counts["failed"],
        counts["skipped"],
    )
    assert finished[0].synced + finished[0].failed + finished[0].skipped == 250
    assert finished[0].salesforce_calls == done["salesforce_calls"] > 0
    chunks = [e for e in (await trail(env)).entries if e.kind == "resync"]
    assert len(chunks) == 2  # 200 + 50: each chunk sent is a resync row as before


async def test_a_follower_keeps_its_cursor_and_sees_every_entry_once(env: Env) -> None:
    for calls in (100, 200, 300, 400, 500):
        await put(env, "/v1/usage/allocation", {"allocated": calls})
    seen: list[int] = []
    cursor = 0
    while True:
        page = await trail(env, cursor, limit=2)
        seen += [e.changes[0].new for e in page.entries]  # type: ignore[misc]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert seen == [100, 200, 300, 400, 500]
    assert (await trail(env, cursor)).entries == []
    assert (await trail(env, cursor)).next_cursor == cursor  # nothing new: keep it
    await put(env, "/v1/usage/allocation", {"allocated": 600})
    assert [e.changes[0].new for e in (await trail(env, cursor)).entries] == [600]


async def test_history_lists_the_older_kinds_unless_all_is_asked(env: Env) -> None:
    ids = await open_ids(env.db, limit=2)
    await env.resync(ids, "r1")
    await put(env, "/v1/usage/allocation", {"allocated": 777})
    older = (await env.client.get("/v1/history")).json()["entries"]
    assert [e["kind"] for e in older] == ["resync"]
    assert all(e["kind"] in HISTORY_KINDS for e in older)
    every = (await env.client.get("/v1/history", params={"all": 1})).json()["entries"]
    assert [e["kind"] for e in every] == ["allocation", "resync"]
    bad = await env.client.get("/v1/audit", params={"cursor": "-1"})
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["message"]
