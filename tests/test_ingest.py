"""POST /v1/errors end to end: the real Starlette app over a real ledger on each engine (a
SQLite file, then a schema of the real PostgreSQL), with the simulated org behind the real
connector for the resyncs that follow an ingest.

``Env``, ``open_env`` / ``start_env`` and the ledger peeks (``rows``, ``ledger_state``,
``open_ids``) serve the other ledger tests too; the peeks go through the database layer
(tests/pg_harness.py), so they read the same on both engines."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from clock import Clock
from pg_harness import demo_ledger, ledger_rows, ledger_text, service_target

from tui.core.classify import classify_facts
from tui.core.sobjects import KEY_PREFIX
from tui.embedded import build_demo_ledger
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget, Row
from tui.service.db.base import ROWS_PER_INSERT
from tui.service.ingest_items import MAX_BODY_BYTES, MAX_ITEMS, MAX_MESSAGE, MAX_NAME
from tui.service.migrations import SCHEMA_VERSION
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.ids import make_id
from tui.simorg.state import OrgState

T0 = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
ORG_TOKEN = "00Dtest!org-token"
DEMO_SIZE = 60


@dataclass
class Env:
    service: SyncHealthService
    client: httpx.AsyncClient
    org: OrgState
    clock: Clock
    db: Path | PostgresTarget

    def live(self, obj: str, n: int = 1) -> str:
        """A record of the simulated org the integration may edit."""
        prefix = KEY_PREFIX[obj]
        return make_id(prefix, self.org.usable_counter(prefix, n))

    async def post(self, items: list[Any], batch_id: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"errors": items}
        if batch_id is not None:
            body["batch_id"] = batch_id
        return await self.client.post("/v1/errors", json=body)

    async def ingest(self, items: list[Any], batch_id: str | None = None) -> dict[str, Any]:
        answer = await self.post(items, batch_id)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def detail(self, error_id: int) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/errors/{error_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def resync(self, ids: list[int], request_id: str) -> dict[str, Any]:
        answer = await self.client.post(
            "/v1/resync", json={"error_ids": ids, "request_id": request_id}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


async def open_env(
    db: Path | PostgresTarget,
    org: OrgState,
    clock: Clock,
    api_token: str | None = None,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] = lambda t: t,
    **options: Any,
) -> Env:
    """A service process on the ledger ``db`` (either engine); close it with :func:`close_env`.

    ``wrap`` may put a fault injector between the service and the simulated org;
    ``options`` are further ServiceConfig fields (``resync_mode="engine"``, ...).
    """
    transport = wrap(httpx.ASGITransport(app=create_simorg(org, access_token=ORG_TOKEN)))
    config = ServiceConfig(**service_target(db), org_token=ORG_TOKEN, org_transport=transport,
                           api_token=api_token, clock=clock, mode="simulated",
                           **options)  # fmt: skip
    service = SyncHealthService(config)
    await service.start()
    headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.asgi),
                               base_url="http://synchealth.test", headers=headers)  # fmt: skip
    return Env(service, client, org, clock, db)


async def close_env(env: Env) -> None:
    await env.client.aclose()
    await env.service.stop()


async def start_env(
    tmp_path: Path,
    api_token: str | None = None,
    target: Path | PostgresTarget | None = None,
    size: int = DEMO_SIZE,
    **options: Any,
) -> Env:
    """A service on a fresh demo ledger of ``size`` errors (at ``target``, else a SQLite
    file in ``tmp_path``) and the demo's org; ``options`` as for :func:`open_env`."""
    db = tmp_path / "ledger.sqlite3" if target is None else target
    await demo_ledger(db, tmp_path, size, now=T0)
    return await open_env(db, demo_org_state(7), Clock(T0), api_token, **options)


@pytest.fixture
async def env(tmp_path: Path, ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    """The service on a demo ledger, on each engine in turn."""
    e = await start_env(tmp_path, target=ledger_target)
    yield e
    await close_env(e)


def email_item(env: Env, record_id: str = "51234", email: str = "jane@@example.com", **over: Any):
    """A Contact whose email Salesforce refused, known by its Salesforce id."""
    item = {
        "object_type": "contact",
        "record_id": record_id,
        "record_name": "Jane Doe",
        "occurred_at": "2025-03-10T12:00:00Z",
        "salesforce": {"object": "Contact", "id": env.live("Contact", int(record_id) % 97 + 1),
                       "fields": {"Email": email}},
        "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
                    "message": f"Email: invalid email address: {email}", "fields": ["Email"]}],
    }  # fmt: skip
    item.update(over)
    return item


#: The columns of a ledger's errors, as schema.sql orders them.
ERROR_COLUMNS = ("id", "seq", "type", "subtype", "object_type", "record_id", "record_name",
                 "sf_object", "sf_id", "direction", "sf_code", "message", "fields",
                 "first_seen", "last_seen", "attempts", "status", "payload")  # fmt: skip


async def rows(
    db: Path | PostgresTarget, where: str = "id > ?", args: tuple = (DEMO_SIZE,)
) -> list[dict[str, Any]]:
    """The errors ``where`` holds (by default those after the demo's), by column name."""
    sql = f"SELECT {', '.join(ERROR_COLUMNS)} FROM errors WHERE {where} ORDER BY id"
    return [dict(zip(ERROR_COLUMNS, r, strict=True)) for r in await ledger_rows(db, sql, args)]


async def ledger_state(db: Path | PostgresTarget) -> tuple[list[Row], list[Row]]:
    """Every error and every attempt: equal before and after means nothing was written."""
    return (
        await ledger_rows(db, "SELECT * FROM errors ORDER BY id"),
        await ledger_rows(db, "SELECT * FROM attempts ORDER BY rowid"),
    )


#: A ``where`` for :func:`open_ids`: errors a resync sends (no check of theirs failed).
SENDABLE = "payload NOT LIKE '%false%'"


async def open_ids(db: Path | PostgresTarget, where: str = "1 = 1", limit: int = 100) -> list[int]:
    """Ids of up to ``limit`` open errors that also match ``where``, lowest first."""
    found = await ledger_rows(
        db, f"SELECT id FROM errors WHERE status = 'open' AND {where} ORDER BY id LIMIT ?", (limit,)
    )
    return [r[0] for r in found]


def error_body(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"]["code"] == code
    return body["error"]["message"]


# -- per-item judgement ------------------------------------------------------------------


async def test_invalid_items_are_refused_by_field_and_valid_ones_kept(env: Env) -> None:
    good = email_item(env)
    no_object = copy.deepcopy(good)
    del no_object["salesforce"]["object"]
    numeric_id = {**email_item(env, "777"), "record_id": 777}
    typo = {**email_item(env, "778"), "record_nmae": "x"}
    later = email_item(env, "779")
    answer = await env.ingest(["not an item", no_object, good, numeric_id, typo, later])
    assert answer["accepted"] == 2 and answer["created"] == 2 and answer["repeated"] == 0
    assert answer["rejected"] == [
        {"index": 0, "reason": "the item must be an object, got 'not an item'"},
        {"index": 1, "reason": "salesforce.object is missing"},
        {"index": 3, "reason": "record_id must be a string, got 777"},
        {"index": 4, "reason": "record_nmae is not a known key"},
    ]
    stored = await rows(env.db)
    assert [r["record_id"] for r in stored] == ["51234", "779"]
    assert answer["error_ids"] == [r["id"] for r in stored]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda i: i.update(object_type="Contact"), "object_type must be a lowercase name"),
        (lambda i: i.update(direction="sideways"),
         "direction must be 'to_salesforce' or 'from_salesforce', got 'sideways'"),
        (lambda i: i["salesforce"].update(id="003-not-an-id"),
         "salesforce.id must be a Salesforce id of 15 or 18 letters and digits"),
        (lambda i: i["salesforce"]["fields"].update(Id="003000000000001"),
         "salesforce.fields must not hold 'Id'"),
        (lambda i: i["salesforce"]["fields"].update({"Bad Name": 1}),
         "the key 'Bad Name' of salesforce.fields must be a Salesforce API name"),
        (lambda i: i.update(occurred_at="2025-03-10T12:00:00"), "occurred_at needs a time zone"),
        (lambda i: i.update(occurred_at=1741600000), "occurred_at must be an ISO-8601 time"),
        (lambda i: i.update(occurred_at="2025-03-10T13:00:00Z"),
         "occurred_at is 2025-03-10T13:00:00Z, ahead of the service's clock"),
        (lambda i: i.pop("errors"), "the item needs errors"),
        (lambda i: i.update(result={"success": False, "errors": i["errors"]}), "not both"),
        (lambda i: i.update(errors=[]), "errors: List should have at least 1 item"),
        (lambda i: i["errors"][0].pop("statusCode"), "errors[0] needs a statusCode"),
        (lambda i: i.update(checks={"account_synced": "no"}),
         "checks.account_synced must be true or false"),
        (lambda i: i["salesforce"].update(
            id=None, external_id={"field": "CRM_Id__c", "value": "1"},
            fields={"CRM_Id__c": "2"}), "which differs from external_id.value"),
    ],
)  # fmt: skip
async def test_each_rule_names_the_field(env: Env, change, says: str) -> None:
    item = email_item(env)
    change(item)
    answer = await env.ingest([item])
    assert answer["accepted"] == 0 and len(answer["rejected"]) == 1
    assert says in answer["rejected"][0]["reason"]
    assert await rows(env.db) == []


async def test_long_text_from_salesforce_is_cut_not_refused(env: Env) -> None:
    item = email_item(env, record_name="N" * 300)
    item["errors"][0]["message"] = "M" * 9000
    (error_id,) = (await env.ingest([item]))["error_ids"]
    stored = await env.detail(error_id)
    assert len(stored["message"]) == MAX_MESSAGE and stored["message"].endswith("…")
    assert len(stored["record_name"]) == MAX_NAME


# -- classification and payload ------------------------------------------------------------


async def test_item_shapes_are_classified_and_stored_as_the_resync_payload(env: Env) -> None:
    contact = env.live("Contact", 3)
    wrapped = (
        "Update failed. First exception on row 0 with id 00Qxx0000012abc; first error: "
        "STRING_TOO_LONG, Company: data value too large: x (max length=40): [Company]"
    )
    items = [
        {  # a failed sObject Collections result; its id names the record
            "object_type": "contact", "record_id": "1", "record_name": "A",
            "salesforce": {"object": "Contact", "fields": {"LeadSource": "Fax"}},
            "result": {"id": contact, "success": False, "created": False,
                       "errors": [{"statusCode": "DUPLICATES_DETECTED",
                                   "message": "Use one of these records?", "fields": [],
                                   "duplicateResult": {"allowSave": False}}]},
        },
        {  # the REST error array's errorCode, wrapping the real cause
            "object_type": "company", "record_id": "2", "record_name": "B",
            "salesforce": {"object": "Lead", "external_id": {"field": "CRM_Id__c", "value": "2"},
                           "fields": {"Company": "x" * 41}},
            "errors": [{"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "message": wrapped}],
        },
        {  # an error the integration raises itself, with the check it failed
            "object_type": "contact", "record_id": "3", "record_name": "C",
            "direction": "from_salesforce",
            "salesforce": {"object": "Contact", "id": contact, "fields": {}},
            "errors": [{"statusCode": "SYNC_AWAITING_ACCOUNT",
                        "message": "Waiting for account 001xx000003DGb2AAG to sync"}],
            "checks": {"account_synced": False},
        },
    ]  # fmt: skip
    answer = await env.ingest(items)
    assert answer["accepted"] == 3 and answer["rejected"] == []
    got = {r["record_id"]: r for r in await rows(env.db)}
    assert (got["1"]["subtype"], got["1"]["sf_id"]) == ("duplicate.duplicate_rule", contact)
    assert (got["2"]["subtype"], got["2"]["sf_code"], orjson.loads(got["2"]["fields"])) == (
        "property_value.string_too_long", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", ["Company"],
    )  # fmt: skip
    assert got["2"]["sf_id"] is None and got["2"]["sf_object"] == "Lead"
    assert (got["3"]["subtype"], got["3"]["direction"]) == (
        "association.awaiting_account_sync", "from_salesforce",
    )  # fmt: skip
    assert orjson.loads(got["1"]["payload"]) == {
        "record": {"attributes": {"type": "Contact"}, "Id": contact, "LeadSource": "Fax"},
        "checks": {},
    }
    assert orjson.loads(got["2"]["payload"]) == {
        "record": {"attributes": {"type": "Lead"}, "CRM_Id__c": "2", "Company": "x" * 41},
        "checks": {},
        "upsert": {"sobject": "Lead", "field": "CRM_Id__c"},
    }
    assert orjson.loads(got["3"]["payload"])["checks"] == {"account_synced": False}
    # the integration's own check still fails: failed again, nothing sent
    result = await env.resync([got["3"]["id"]], "recheck-1")
    assert result["salesforce_calls"] == 0
    assert result["outcomes"][0]["subtype"] == "association.awaiting_account_sync"


async def test_one_row_per_distinct_subtype_of_a_record(env: Env) -> None:
    item = email_item(env)
    item["errors"] = [
        {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid", "fields": ["Email"]},
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: "
         "[LastName]", "fields": ["LastName"]},
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: "
         "[Company]", "fields": ["Company"]},
    ]  # fmt: skip
    answer = await env.ingest([item])
    assert answer["accepted"] == 1 and answer["created"] == 2
    email, required = await rows(env.db)
    assert email["subtype"] == "property_value.invalid_email"
    assert required["subtype"] == "property_value.required_value"
    assert "[LastName]" in required["message"]
    assert orjson.loads(required["fields"]) == ["LastName", "Company"]
    assert email["payload"] == required["payload"]


# -- dedupe -----------------------------------------------------------------------------------


async def test_the_same_failure_again_counts_an_attempt_not_a_row(env: Env) -> None:
    first = await env.ingest([email_item(env)])
    (error_id,) = first["error_ids"]
    assert error_id > DEMO_SIZE and first["created"] == 1
    before = await env.detail(error_id)
    again = email_item(env, email="jane@@example.org", occurred_at="2025-03-10T12:20:00Z")
    second = await env.ingest([again])
    assert second["error_ids"] == [error_id] and (second["created"], second["repeated"]) == (0, 1)
    after = await env.detail(error_id)
    assert after["attempts"] == 2 and after["seq"] > before["seq"]
    assert (after["first_seen"], after["last_seen"]) == (
        "2025-03-10T12:00:00Z", "2025-03-10T12:20:00Z",
    )  # fmt: skip
    assert after["message"] == "Email: invalid email address: jane@@example.org"
    assert [h["at"] for h in after["history"]] == ["2025-03-10T12:00:00Z", "2025-03-10T12:20:00Z"]
    assert {h["outcome"] for h in after["history"]} == {"failed"}
    assert len(await rows(env.db)) == 1
    # the change feed carries the row once, at its new seq
    page = (await env.client.get("/v1/errors", params={"cursor": before["seq"]})).json()
    assert [r[0] for r in page["rows"]] == [error_id]


async def test_another_subtype_or_direction_of_the_same_record_is_a_new_row(env: Env) -> None:
    (first,) = (await env.ingest([email_item(env)]))["error_ids"]
    other = email_item(env, errors=[{"statusCode": "DUPLICATES_DETECTED",
                                      "message": "Use one of these records?"}])  # fmt: skip
    reverse = email_item(env, direction="from_salesforce")
    elsewhere = email_item(env, record_id="51235")
    answer = await env.ingest([other, reverse, elsewhere])
    assert answer["created"] == 3 and first not in answer["error_ids"]
    assert answer["error_ids"] == sorted(answer["error_ids"]) and min(answer["error_ids"]) > first


async def test_a_resolved_error_reopens_when_it_fails_again(env: Env) -> None:
    (error_id,) = (await env.ingest([email_item(env)]))["error_ids"]
    # the admin fixes the address in the CRM; the engine's next report carries the fix
    fixed = email_item(env, email="jane.doe@example.com", occurred_at="2025-03-10T12:05:00Z")
    assert (await env.ingest([fixed]))["error_ids"] == [error_id]
    result = await env.resync([error_id], "fix-1")
    assert result["outcomes"][0]["status"] == "synced" and result["salesforce_calls"] == 1
    assert (await env.detail(error_id))["status"] == "resolved"
    env.clock.now = T0 + timedelta(minutes=10)
    broken = email_item(env, email="jane@@example.net", occurred_at="2025-03-10T12:39:00Z")
    answer = await env.ingest([broken])
    assert answer["error_ids"] == [error_id] and answer["repeated"] == 1
    reopened = await env.detail(error_id)
    assert reopened["status"] == "open" and reopened["attempts"] == 4
    assert [h["outcome"] for h in reopened["history"]] == ["failed", "failed", "synced", "failed"]
    assert len(await rows(env.db)) == 1


async def test_a_late_report_counts_but_does_not_reopen_or_replace(env: Env) -> None:
    newer = email_item(env, email="new@@x.jp", occurred_at="2025-03-10T12:20:00Z")
    (error_id,) = (await env.ingest([newer]))["error_ids"]
    late = email_item(env, email="old@@x.jp", occurred_at="2025-03-10T11:00:00Z")
    assert (await env.ingest([late]))["repeated"] == 1
    detail = await env.detail(error_id)
    assert detail["attempts"] == 2 and detail["last_seen"] == "2025-03-10T12:20:00Z"
    assert "new@@x.jp" in detail["message"]
    assert detail["history"][0]["at"] == "2025-03-10T11:00:00Z"


async def test_repeats_inside_one_batch_and_seq_follows_item_order(env: Env) -> None:
    items = [email_item(env, "100"), email_item(env, "101"), email_item(env, "100")]
    answer = await env.ingest(items)
    a, b = answer["error_ids"][:2]
    assert answer["error_ids"] == [a, b, a] and (answer["created"], answer["repeated"]) == (2, 1)
    stored = {r["id"]: r for r in await rows(env.db)}
    assert stored[a]["attempts"] == 2 and stored[b]["seq"] < stored[a]["seq"]
    assert stored[a]["seq"] == max(r["seq"] for r in await rows(env.db, "1 = 1", ()))


# -- retries of a batch -----------------------------------------------------------------------


async def test_a_recorded_batch_is_answered_200_when_its_cause_catch_up_fails(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catch-up after the commit timing out on the lock must not turn a recorded batch
    into a 503: the engine would resend it, and without a batch_id count it twice."""
    from tui.service.db import DatabaseUnavailable

    async def open_in_causes() -> int:
        page = (await env.client.get("/v1/causes", params={"limit": 500})).json()
        return sum(c["open_errors"] for c in page["causes"])

    before, real = await open_in_causes(), env.service.causes.catch_up

    async def lock_timeout() -> None:
        raise DatabaseUnavailable("the ledger's lock was not free within 5 s")

    monkeypatch.setattr(env.service.causes, "catch_up", lock_timeout)
    answer = await env.post([email_item(env, "51300")])
    assert answer.status_code == 200, answer.text
    error_id = answer.json()["error_ids"][0]
    monkeypatch.setattr(env.service.causes, "catch_up", real)
    assert await open_in_causes() == before + 1  # the next use caught up
    assert (await env.detail(error_id))["attempts"] == 1


async def test_a_batch_id_applies_once_and_replays_its_answer(env: Env) -> None:
    items = [email_item(env, "200"), {"object_type": "contact"}]
    first = await env.ingest(items, batch_id="engine-run-42")
    assert first["replayed"] is False and first["accepted"] == 1
    state = await ledger_state(env.db)
    again = await env.ingest(items, batch_id="engine-run-42")
    assert again == {**first, "replayed": True}
    assert await ledger_state(env.db) == state
    # the same id for other items is refused; nothing changes
    message = error_body(await env.post([email_item(env, "201")], "engine-run-42"), 409,
                         "batch_id_reused")  # fmt: skip
    assert "already used" in message and await ledger_state(env.db) == state
    # the answer survives a restart of the service
    await close_env(env)
    restarted = await open_env(env.db, env.org, env.clock)
    try:
        assert (await restarted.ingest(items, batch_id="engine-run-42")) == again
    finally:
        await close_env(restarted)


async def test_a_replayed_batch_is_answered_before_its_items_are_judged(env: Env) -> None:
    items = [email_item(env, str(n), email=f"replay{n}@@example.com") for n in range(300, 305)]
    first = await env.ingest(items, batch_id="engine-run-43")
    judged = classify_facts.cache_info()  # every error ingest judges is classified here
    assert judged.hits + judged.misses > 0
    again = await env.ingest(items, batch_id="engine-run-43")
    assert again == {**first, "replayed": True}
    assert classify_facts.cache_info() == judged  # the replay judged nothing
    # the same id for other items is refused before they are judged, too
    error_body(await env.post([email_item(env, "306")], "engine-run-43"), 409, "batch_id_reused")
    assert classify_facts.cache_info() == judged


# -- bodies that are not a batch -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        (b"", 422, "missing_body", "needs a JSON body"),
        (b"{errors: [", 422, "invalid_json", "not valid JSON"),
        (b"[{}]", 422, "invalid_batch", 'Send {"errors": [item, ...]}'),
        (b'{"error": []}', 422, "invalid_batch", "not a batch"),
        (b'{"errors": []}', 422, "invalid_batch", "non-empty list"),
        (b'{"errors": {}}', 422, "invalid_batch", "non-empty list"),
        (b'{"errors": [{}], "batch": 1}', 422, "invalid_batch", "Unknown key 'batch'"),
        (b'{"errors": [{}], "batch_id": 7}', 422, "invalid_batch", "batch_id must be"),
        (b'{"errors": [{}], "batch_id": " "}', 422, "invalid_batch", "batch_id must be"),
    ],
)
async def test_a_body_that_is_not_a_batch_is_refused(
    env: Env, body: bytes, status: int, code: str, says: str
) -> None:
    state = await ledger_state(env.db)
    answer = await env.client.post(
        "/v1/errors", content=body, headers={"Content-Type": "application/json"}
    )
    assert says in error_body(answer, status, code)
    assert await ledger_state(env.db) == state


async def test_too_many_items_is_413_and_nothing_is_recorded(env: Env) -> None:
    state = await ledger_state(env.db)
    items = [email_item(env, str(1000 + n)) for n in range(MAX_ITEMS + 1)]
    message = error_body(await env.post(items), 413, "too_many_items")
    assert "at most 1,000 items, got 1,001" in message
    assert await ledger_state(env.db) == state
    answer = await env.ingest(items[:MAX_ITEMS])
    assert answer["created"] == MAX_ITEMS


async def test_a_batch_of_more_rows_than_one_statement_takes_is_recorded_whole(
    env: Env,
) -> None:
    """The rows go to the ledger ROWS_PER_INSERT to a statement: every one lands once, in
    item order, with its attempt and its cause."""
    n = 2 * ROWS_PER_INSERT + 7
    answer = await env.ingest([email_item(env, str(7000 + k)) for k in range(n)])
    ids = answer["error_ids"]
    assert answer["created"] == n and ids == list(range(ids[0], ids[0] + n))
    got = await rows(env.db, "id >= ?", (ids[0],))
    assert [r["record_id"] for r in got] == [str(7000 + k) for k in range(n)]
    seqs = [r["seq"] for r in got]
    assert seqs == list(range(seqs[0], seqs[0] + n))
    marks = ", ".join("?" * n)
    (attempts, causes), *_ = await ledger_rows(
        env.db,
        f"SELECT (SELECT count(*) FROM attempts WHERE error_id IN ({marks})), "
        f"(SELECT count(*) FROM error_causes WHERE error_id IN ({marks}))",
        [*ids, *ids],
    )
    assert (attempts, causes) == (n, n)


def _big_body() -> bytes:
    filler = "x" * (MAX_BODY_BYTES // 4)
    return orjson.dumps({"errors": [{"record_name": filler} for _ in range(5)]})


async def test_a_body_over_5_mb_is_413_whether_declared_or_streamed(env: Env) -> None:
    body = _big_body()
    assert len(body) > MAX_BODY_BYTES
    declared = await env.client.post("/v1/errors", content=body)
    assert "larger than 5 MB" in error_body(declared, 413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = await env.client.post("/v1/errors", content=chunks())
    assert "larger than 5 MB" in error_body(streamed, 413, "body_too_large")


# -- secrets ------------------------------------------------------------------------------------


def _ledger_bytes(db: Path) -> Iterator[bytes]:
    for path in db.parent.glob(db.name + "*"):
        yield path.read_bytes()


async def _stored(db: Path | PostgresTarget) -> bytes:
    """What the ledger holds: the SQLite file's bytes (its WAL and freed pages too), or the
    text of every row of every table on PostgreSQL."""
    if isinstance(db, PostgresTarget):
        return (await ledger_text(db)).encode()
    return b"".join(_ledger_bytes(db))


async def test_the_api_token_never_reaches_the_ledger(
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> None:
    api_token = "shapi-7Qm2xZ9kLw4RtB8vN1cY6pD3"
    env = await start_env(tmp_path, api_token=api_token, target=ledger_target)
    try:
        unauthorized = await env.client.post(
            "/v1/errors", json={"errors": [email_item(env)]}, headers={"Authorization": "Bearer x"}
        )
        assert unauthorized.status_code == 401
        token_like = "00D5g000004ABCD!AQ4AQFakeTokenLookingValue.x9"
        item = email_item(env)
        item["salesforce"]["fields"]["Description"] = token_like
        answer = await env.ingest([item], batch_id="b-1")
        assert answer["accepted"] == 1
        detail = await env.detail(answer["error_ids"][0])
        assert detail["status"] == "open"
    finally:
        await close_env(env)
    stored = await _stored(env.db)
    assert token_like.encode() in stored  # record data is kept as data
    assert api_token.encode() not in stored
    assert ORG_TOKEN.encode() not in stored


async def test_openapi_describes_the_ingest(env: Env) -> None:
    doc = (await env.client.get("/v1/openapi.json")).json()
    post = doc["paths"]["/v1/errors"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "IngestBatch"
    )
    assert {"IngestBatch", "IngestResult", "ErrorReport"} <= set(doc["components"]["schemas"])


# -- the ledger's schema ------------------------------------------------------------------------


def _make_version_1(db: Path) -> None:
    """Turn a fresh ledger into what version 1 wrote: no dedupe index, no batch table."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX IF EXISTS errors_by_record")
        conn.execute("DROP TABLE ingest_batches")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


async def test_a_version_1_ledger_opens_upgraded_and_dedupes_its_old_rows(tmp_path: Path) -> None:
    """On SQLite alone: PostgreSQL ledgers began at version 5."""
    db = tmp_path / "ledger.sqlite3"
    build_demo_ledger(db, DEMO_SIZE, now=T0)
    _make_version_1(db)
    with sqlite3.connect(db) as conn:
        old = conn.execute(
            "SELECT id, object_type, record_id, sf_object, sf_id, sf_code, message, attempts "
            "FROM errors WHERE subtype = 'property_value.invalid_email' AND status = 'open' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    env = await open_env(db, demo_org_state(7), Clock(T0))
    try:
        with sqlite3.connect(db) as conn:
            assert conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone() == (str(SCHEMA_VERSION),)
            plan = conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM errors WHERE object_type = 'contact' AND "
                "record_id = '1' AND direction = 'to_salesforce' AND subtype = 'x'"
            ).fetchall()
            assert "errors_by_record" in str(plan)
        error_id, object_type, record_id, sf_object, sf_id, code, message, attempts = old
        item = {
            "object_type": object_type, "record_id": record_id,
            "occurred_at": "2025-03-10T12:29:00Z",
            "salesforce": {"object": sf_object, "id": sf_id, "fields": {"Email": "a@@b.jp"}},
            "errors": [{"statusCode": code, "message": message, "fields": ["Email"]}],
        }  # fmt: skip
        answer = await env.ingest([item], batch_id="after-upgrade")
        assert answer["error_ids"] == [error_id] and answer["repeated"] == 1
        assert (await env.detail(error_id))["attempts"] == attempts + 1
    finally:
        await close_env(env)


async def test_nulls_from_salesforce_mean_empty(env: Env) -> None:
    item = email_item(env)
    item["errors"] = [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": None, "fields": None}]
    (error_id,) = (await env.ingest([item]))["error_ids"]
    stored = await env.detail(error_id)
    assert (stored["sf_code"], stored["message"], stored["fields"]) == (
        "UNABLE_TO_LOCK_ROW",
        "",
        [],
    )
