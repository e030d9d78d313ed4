"""POST /v1/errors with ``"outcome": "synced"`` items: the sync engine reports a record that
synced, and the record's open errors resolve (issue 10, point 1). Real app, real ledger on
each engine (the ``env`` of test_ingest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_harness import ledger_rows
from test_cli_ingest import (  # noqa: F401  (_no_user_config: a fixture)
    API_TOKEN,
    _no_user_config,
    ingest,
    item,
    jsonl,
    served,
)
from test_ingest import T0, Env, close_env, email_item, rows, start_env

from tui import i18n
from tui.data.client import ServiceClient
from tui.service.db import PostgresTarget
from tui.widgets.detail import error_text


@pytest.fixture
async def env(tmp_path: Path, ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    e = await start_env(tmp_path, target=ledger_target)
    yield e
    await close_env(e)


def synced(record_id: str = "51234", at: str = "2025-03-10T12:10:00Z", **over: Any) -> dict:
    item = {"outcome": "synced", "object_type": "contact", "record_id": record_id,
            "occurred_at": at}  # fmt: skip
    item.update(over)
    return item


def picklist_item(env: Env, record_id: str = "51234", at: str = "2025-03-10T12:00:00Z") -> dict:
    """A second failure of the same record, of another subtype (a restricted picklist)."""
    return email_item(
        env,
        record_id,
        occurred_at=at,
        errors=[{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                 "message": "Lead Source: bad value for restricted picklist field: Web Form",
                 "fields": ["LeadSource"]}],
    )  # fmt: skip


async def feed_after(env: Env, cursor: int) -> list[list[Any]]:
    answer = await env.client.get("/v1/errors", params={"cursor": cursor})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


async def test_a_success_resolves_every_open_error_of_the_record_and_direction(env: Env) -> None:
    made = await env.ingest([email_item(env), picklist_item(env)])
    other_direction = await env.ingest([email_item(env, direction="from_salesforce")])
    other_record = await env.ingest([email_item(env, "51235")])
    cursor = (await env.client.get("/v1/errors", params={"cursor": 0})).json()["next_cursor"]
    answer = await env.ingest([synced()])
    assert answer["accepted"] == 1 and answer["resolved"] == 2 and answer["unchanged"] == []
    assert (answer["created"], answer["repeated"]) == (0, 0)
    assert sorted(answer["error_ids"]) == sorted(made["error_ids"])
    by_id = {r["id"]: r for r in await rows(env.db)}
    for error_id in made["error_ids"]:
        assert by_id[error_id]["status"] == "resolved"
        assert by_id[error_id]["last_seen"] == "2025-03-10T12:10:00Z"
        history = (await env.detail(error_id))["history"]
        assert history[-1] == {"at": "2025-03-10T12:10:00Z", "outcome": "resolved",
                               "sf_code": "", "message": "", "request_id": None,
                               "sent": None}  # fmt: skip
    for untouched in other_direction["error_ids"] + other_record["error_ids"]:
        assert by_id[untouched]["status"] == "open"
    changed = await feed_after(env, cursor)
    assert sorted(r[0] for r in changed) == sorted(made["error_ids"])
    assert {r[16] for r in changed} == {"resolved"}


async def test_a_success_older_than_the_newest_failure_changes_nothing(env: Env) -> None:
    await env.ingest([email_item(env), picklist_item(env, at="2025-03-10T12:20:00Z")])
    before = await rows(env.db)
    answer = await env.ingest([synced(at="2025-03-10T12:10:00Z")])
    assert answer["accepted"] == 1 and answer["resolved"] == 0 and answer["error_ids"] == []
    assert answer["unchanged"] == [{"index": 0, "code": "older_than_failure",
                                    "reason": "the record failed after this success (a newer "
                                    "failure is recorded), so its errors stay open"}]  # fmt: skip
    assert await rows(env.db) == before


async def test_a_success_for_an_unknown_record_is_an_answer_not_an_error(env: Env) -> None:
    answer = await env.post([synced("never-failed")])
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 1 and body["rejected"] == [] and body["resolved"] == 0
    assert body["unchanged"][0]["code"] == "unknown_record"
    assert "no sync error is known for this record" in body["unchanged"][0]["reason"]
    assert await rows(env.db) == []


async def test_a_second_success_finds_nothing_open(env: Env) -> None:
    await env.ingest([email_item(env)])
    assert (await env.ingest([synced()]))["resolved"] == 1
    again = await env.ingest([synced(at="2025-03-10T12:11:00Z")])
    assert again["resolved"] == 0 and again["unchanged"][0]["code"] == "nothing_open"


async def test_a_late_failure_does_not_reopen_what_a_newer_success_resolved(env: Env) -> None:
    (error_id,) = (await env.ingest([email_item(env)]))["error_ids"]
    await env.ingest([synced(at="2025-03-10T12:10:00Z")])
    await env.ingest([email_item(env, occurred_at="2025-03-10T12:05:00Z")])
    assert (await env.detail(error_id))["status"] == "resolved"
    env.clock.now = T0 + timedelta(minutes=30)
    await env.ingest([email_item(env, occurred_at="2025-03-10T12:40:00Z")])
    assert (await env.detail(error_id))["status"] == "open"


async def test_failures_and_successes_of_one_batch_apply_in_item_order(env: Env) -> None:
    answer = await env.ingest([
        email_item(env, occurred_at="2025-03-10T12:00:00Z"),
        synced(at="2025-03-10T12:01:00Z"),
        email_item(env, "51235", occurred_at="2025-03-10T12:02:00Z"),
        email_item(env, occurred_at="2025-03-10T12:03:00Z"),
    ])  # fmt: skip
    first, second = answer["error_ids"][0], answer["error_ids"][2]
    assert answer["error_ids"] == [first, first, second, first]
    assert (answer["created"], answer["repeated"], answer["resolved"]) == (2, 1, 1)
    detail = await env.detail(first)
    assert detail["status"] == "open"
    assert [h["outcome"] for h in detail["history"]] == ["failed", "resolved", "failed"]


async def test_a_replayed_batch_of_successes_changes_nothing_more(env: Env) -> None:
    await env.ingest([email_item(env)])
    first = await env.ingest([synced()], batch_id="ok-1")
    again = await env.ingest([synced()], batch_id="ok-1")
    assert again == {**first, "replayed": True} and first["resolved"] == 1


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda i: i.pop("occurred_at"), "occurred_at is missing"),
        (lambda i: i.update(occurred_at="2025-03-10T14:00:00Z"), "ahead of the service's clock"),
        (lambda i: i.update(errors=[{"statusCode": "X"}]), "errors is not a known key"),
        (lambda i: i.update(outcome="maybe"), "outcome must be 'failed' or 'synced', got 'maybe'"),
        (lambda i: i.pop("record_id"), "record_id is missing"),
    ],
)
async def test_bad_success_items_are_refused_by_field(env: Env, change, says: str) -> None:
    item = synced()
    change(item)
    answer = await env.ingest([item])
    assert answer["accepted"] == 0 and says in answer["rejected"][0]["reason"]


@pytest.mark.parametrize(("lang", "words"), [("en", "resolved by the sync engine"),
                                             ("ja", "同期エンジンにより解決")])  # fmt: skip
async def test_the_console_names_a_success_in_the_history(env: Env, lang, words: str) -> None:
    (error_id,) = (await env.ingest([email_item(env)]))["error_ids"]
    await env.ingest([synced()])
    client = ServiceClient(
        "http://synchealth.test", transport=httpx.ASGITransport(app=env.service.asgi)
    )
    try:
        detail = await client.error(error_id)
    finally:
        await client.aclose()
    assert detail is not None and detail.history[-1].outcome == "resolved"
    i18n.set_lang(lang)
    try:
        assert words in error_text(detail, detail).plain
    finally:
        i18n.set_lang("en")


def test_synchealth_ingest_reports_what_successes_resolved(
    tmp_path: Path, ledger_target: Path | PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    now = "2025-03-10T12:00:00Z"
    failed = jsonl(tmp_path / "failed.jsonl", [item(1, occurred_at=now), item(2, occurred_at=now)])
    later = "2025-03-10T12:20:00Z"
    fixed = jsonl(tmp_path / "fixed.jsonl", [synced("1", later), synced("no-such", later)])
    with served(tmp_path, ledger_target) as (url, _, db):
        auth = ("--url", url, "--token", API_TOKEN)
        assert ingest(capsys, str(failed), *auth)[0] == 0
        code, err = ingest(capsys, str(fixed), *auth)
        sql = "SELECT record_id, status FROM errors WHERE record_name LIKE 'Contact %' "
        found = asyncio.run(ledger_rows(db, sql + "ORDER BY record_id"))
    assert code == 0, err
    assert "2 items: 2 accepted (0 new errors, 0 repeats of known errors; 1 error resolved " \
        "by reported successes), 0 rejected" in err  # fmt: skip
    assert "line 2: a success that changed nothing: no sync error is known" in err
    assert found == [("1", "resolved"), ("2", "open")]
