"""Resync of reported errors: update by id, collections upsert by external id, mixed batches,
calls counted per group, and a later call failing after an earlier one was applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_ingest import Env, close_env, start_env

from tui.service.db import PostgresTarget

LOCKED = {"statusCode": "UNABLE_TO_LOCK_ROW",
          "message": "unable to obtain exclusive access to this record"}  # fmt: skip


@pytest.fixture
async def env(tmp_path: Path, ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    e = await start_env(tmp_path, target=ledger_target)
    yield e
    await close_env(e)


def by_id(env: Env, obj: str, n: int, fields: dict[str, Any], record_id: str) -> dict[str, Any]:
    """A record known by its Salesforce id that failed on a locked row."""
    return {
        "object_type": "contact" if obj in ("Contact", "Lead") else "company",
        "record_id": record_id,
        "record_name": f"{obj} {record_id}",
        "salesforce": {"object": obj, "id": env.live(obj, n), "fields": fields},
        "errors": [LOCKED],
    }


def by_external_id(obj: str, value: str, fields: dict[str, Any], errors=None) -> dict[str, Any]:
    """A record known only by its CRM id in the external id field CRM_Id__c."""
    return {
        "object_type": "contact",
        "record_id": value,
        "record_name": f"{obj} {value}",
        "salesforce": {"object": obj, "external_id": {"field": "CRM_Id__c", "value": value},
                       "fields": fields},
        "errors": errors or [LOCKED],
    }  # fmt: skip


def held_by(env: Env, value: str) -> list[dict[str, Any]]:
    """Records of the simulated org whose CRM_Id__c is ``value``."""
    return [r for r in env.org.written.values() if r.get("CRM_Id__c") == value]


async def used(env: Env) -> int:
    return (await env.client.get("/v1/usage")).json()["used"]


async def mixed(env: Env) -> list[int]:
    """Two records by id (a Contact and a Lead) and two by external id (a Contact, a Lead)."""
    answer = await env.ingest([
        by_id(env, "Lead", 4, {"Title": "Head of Sales"}, "301"),
        by_external_id("Contact", "c-302", {"LastName": "Sato", "Email": "sato.302@example.org"}),
        by_id(env, "Contact", 5, {"Department": "Sales"}, "303"),
        by_external_id("Lead", "l-304", {"LastName": "Ito", "Company": "Aoba Foods"}),
    ])  # fmt: skip
    assert answer["created"] == 4
    return answer["error_ids"]


async def test_a_record_known_by_external_id_is_upserted(env: Env) -> None:
    bad = by_external_id(
        "Contact", "c-9001", {"LastName": "Tanaka", "Email": "aiko@@example.jp"},
        errors=[{"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
                 "message": "Email: invalid email address: aiko@@example.jp"}],
    )  # fmt: skip
    (error_id,) = (await env.ingest([bad]))["error_ids"]
    before = env.org.api_used
    failed = await env.resync([error_id], "upsert-1")
    assert failed["salesforce_calls"] == 1 and env.org.api_used == before + 1
    (outcome,) = failed["outcomes"]
    assert (outcome["status"], outcome["subtype"]) == ("failed", "property_value.invalid_email")
    assert held_by(env, "c-9001") == []

    # the engine reports the record again once the admin fixed the address in the CRM
    env.clock.now += timedelta(minutes=5)
    fixed = {**bad, "occurred_at": "2025-03-10T12:34:00Z"}
    fields = {"LastName": "Tanaka", "Email": "aiko.t@example.jp"}
    fixed["salesforce"] = {**bad["salesforce"], "fields": fields}
    assert (await env.ingest([fixed]))["error_ids"] == [error_id]
    synced = await env.resync([error_id], "upsert-2")
    assert synced["outcomes"][0]["status"] == "synced" and synced["salesforce_calls"] == 1
    (created,) = held_by(env, "c-9001")
    assert created["Email"] == "aiko.t@example.jp" and "Id" not in created
    assert (await env.detail(error_id))["status"] == "resolved"


async def test_a_mixed_batch_spends_one_call_per_group_and_checks_them_all(env: Env) -> None:
    ids = await mixed(env)
    start = await used(env)  # reads the org's limits once; they stay cached
    allocation = await env.client.put("/v1/usage/allocation", json={"allocated": start + 2})
    assert allocation.status_code == 200
    sent_before = env.org.api_used
    refused = await env.client.post("/v1/resync", json={"error_ids": ids, "request_id": "m-1"})
    assert refused.status_code == 429
    assert "needs 3 Salesforce API calls" in refused.json()["error"]["message"]
    assert env.org.api_used == sent_before

    await env.client.put("/v1/usage/allocation", json={"allocated": start + 3})
    result = await env.resync(ids, "m-2")
    assert result["salesforce_calls"] == 3  # one update, one upsert per object
    assert [o["status"] for o in result["outcomes"]] == ["synced"] * 4
    assert env.org.api_used == sent_before + 3 and await used(env) == start + 3
    assert len(held_by(env, "c-302")) == 1 and len(held_by(env, "l-304")) == 1


async def test_errors_that_share_a_record_send_it_once(env: Env) -> None:
    item = by_external_id("Contact", "c-400", {"LastName": "Kato", "Email": "kato@example.org"},
                          errors=[LOCKED, {"statusCode": "DUPLICATES_DETECTED",
                                           "message": "Use one of these records?"}])  # fmt: skip
    ids = (await env.ingest([item]))["error_ids"]
    assert len(ids) == 2
    # two copies of one external id in one upsert would both be refused by Salesforce
    result = await env.resync(ids, "shared-1")
    assert result["salesforce_calls"] == 1
    assert [o["status"] for o in result["outcomes"]] == ["synced", "synced"]
    assert len(held_by(env, "c-400")) == 1


async def test_a_record_without_id_or_external_id_is_skipped(env: Env) -> None:
    item = by_external_id("Contact", "c-500", {"LastName": "Mori"})
    del item["salesforce"]["external_id"]
    (error_id,) = (await env.ingest([item]))["error_ids"]
    result = await env.resync([error_id], "no-identity")
    assert result["salesforce_calls"] == 0
    (outcome,) = result["outcomes"]
    assert outcome["status"] == "skipped"
    assert "neither a Salesforce id nor an external id" in outcome["message"]
    assert (await env.detail(error_id))["attempts"] == 1


async def test_a_later_call_refused_keeps_what_the_first_call_did(env: Env) -> None:
    ids = await mixed(env)
    # one call left before the org blocks calls (10% past its 15,000, see simorg/app.py)
    env.org.api_used = 16500 - 1
    result = await env.resync(ids, "partial-1")
    status = {o["error_id"]: o for o in result["outcomes"]}
    assert [status[i]["status"] for i in (ids[0], ids[2])] == ["synced", "synced"]
    refused, after = status[ids[1]], status[ids[3]]
    assert refused["status"] == after["status"] == "skipped"
    assert "Salesforce refused it" in refused["message"]
    assert "an earlier part of this resync failed" in after["message"]
    assert result["salesforce_calls"] == 2  # the refused request was sent too
    assert (await env.detail(ids[0]))["status"] == "resolved"
    assert (await env.detail(ids[1]))["attempts"] == 1
    # the request is done: a retry replays it, and the rest goes in a new request
    assert (await env.resync(ids, "partial-1"))["replayed"] is True
    env.org.api_used = 0
    rest = await env.resync([ids[1], ids[3]], "partial-2")
    assert [o["status"] for o in rest["outcomes"]] == ["synced", "synced"]


class TimeoutOnSecondPatch(httpx.AsyncBaseTransport):
    """Between the service and the org: the second PATCH never gets an answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.patches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == 2:
                raise httpx.ReadTimeout("no answer", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_later_call_without_answer_is_reported_unknown(
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> None:
    env = await start_env(tmp_path, target=ledger_target, size=20, wrap=TimeoutOnSecondPatch)
    try:
        ids = await mixed(env)
        result = await env.resync(ids, "unknown-1")
        status = {o["error_id"]: o for o in result["outcomes"]}
        assert status[ids[0]]["status"] == status[ids[2]]["status"] == "synced"
        assert "whether it was applied is unknown" in status[ids[1]]["message"]
        assert "an earlier part of this resync failed" in status[ids[3]]["message"]
        assert (await env.resync(ids, "unknown-1"))["replayed"] is True
    finally:
        await close_env(env)
