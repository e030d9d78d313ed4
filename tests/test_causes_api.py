"""``GET /v1/causes``: reported errors grouped into causes, kept up to date as reports and
resyncs change them; the real service on a real ledger and the simulated org."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from pg_harness import demo_ledger, ledger_rows, ledger_write

from tests.notify_env import Clock, NotifyEnv
from tests.test_doctor_service import T0
from tui.core.causes import cause_key
from tui.service import causes
from tui.service.db import PostgresTarget

PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def tier_failure(n: int, value: str, sobject: str = "Contact") -> dict[str, Any]:
    return {
        "object_type": "contact",
        "record_id": f"crm-{n}",
        "record_name": f"Person {n}",
        "salesforce": {
            "object": sobject,
            "external_id": {"field": "CRM_Id__c", "value": f"crm-{n}"},
            "fields": {"LastName": f"P{n}", "Contact_Tier__c": value},
        },
        "errors": [
            {
                "statusCode": PICKLIST,
                "message": f"Contact Tier: bad value for restricted picklist field: {value}",
                "fields": ["Contact_Tier__c"],
            }
        ],
    }


async def report(env: NotifyEnv, *items: dict[str, Any]) -> list[int]:
    answer = await env.client.post("/v1/errors", json={"errors": list(items)})
    assert answer.status_code == 200, answer.text
    return answer.json()["error_ids"]


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget):
    e = await NotifyEnv(ledger_target, Clock(T0)).start()
    yield e
    await e.stop()


async def test_messages_that_differ_by_value_are_one_cause(env: NotifyEnv) -> None:
    ids = await report(
        env,
        tier_failure(1, "Diamond"),
        tier_failure(2, "ゴールド"),
        tier_failure(3, "Diamond"),
        env_failure_email := {
            "object_type": "contact",
            "record_id": "crm-9",
            "record_name": "Jane",
            "salesforce": {"object": "Contact", "fields": {"Email": "jane@@x.co"}},
            "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
                        "message": "Email: invalid email address: jane@@x.co"}],
        },
    )  # fmt: skip
    assert env_failure_email and len(ids) == 4
    body = (await env.client.get("/v1/causes")).json()
    assert body["total"] == 2
    tier, email = body["causes"]
    assert tier["open_errors"] == 3 and tier["records"] == 3
    assert tier["new_24h"] == 3  # first seen now
    assert tier["subtype"] == "picklist.restricted_value" and tier["sf_object"] == "Contact"
    assert tier["template"] == "Contact Tier: bad value for restricted picklist field: <value>"
    assert tier["sample_message"].startswith("Contact Tier: bad value")
    assert tier["sample_error_id"] == ids[0]
    assert email["open_errors"] == 1
    members = (await env.client.get(f"/v1/causes/{tier['cause']}")).json()
    assert members == {"cause": tier["cause"], "error_ids": ids[:3]}


async def test_the_grouping_follows_changes_incrementally(env: NotifyEnv) -> None:
    ids = await report(env, tier_failure(1, "Diamond"), tier_failure(2, "Iron"))
    first = (await env.client.get("/v1/causes")).json()["causes"][0]
    # what was indexed, and up to which change
    [(indexed,)] = await ledger_rows(env.db, "SELECT count(*) FROM error_causes")
    done = await causes_seq(env)
    assert indexed == 2
    # the record fails again with another value: same cause, no new row
    await report(env, tier_failure(1, "Platinum Plus"))
    again = (await env.client.get("/v1/causes")).json()
    assert again["total"] == 1 and again["causes"][0]["cause"] == first["cause"]
    newer = await causes_seq(env)
    assert newer > done
    # a resync that fails again (the org still refuses the value) changes the rows: the
    # index catches up on them and they stay in the same cause
    answer = await env.client.post(
        "/v1/resync", json={"error_ids": [ids[1]], "request_id": "retry-iron"}
    )
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["status"] == "failed"
    latest = await causes_seq(env)
    [(seq,)] = await ledger_rows(env.db, "SELECT max(seq) FROM errors")
    assert latest == seq > newer
    after = (await env.client.get(f"/v1/causes/{first['cause']}")).json()
    assert after["error_ids"] == ids


async def test_pages_and_bad_parameters(env: NotifyEnv) -> None:
    await report(env, *(tier_failure(n, "X", sobject) for n, sobject in
                        enumerate(("Contact", "Lead", "Contact"))))  # fmt: skip
    page = (await env.client.get("/v1/causes?limit=1&offset=1")).json()
    assert page["total"] == 2 and len(page["causes"]) == 1
    assert page["causes"][0]["sf_object"] == "Lead"
    bad = await env.client.get("/v1/causes?limit=0")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_parameter"
    missing = await env.client.get("/v1/causes/0123456789abcdef")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_a_ledger_from_before_causes_is_indexed_on_first_read(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    db = ledger_target
    await demo_ledger(db, tmp_path, 600, now=T0)
    await ledger_write(db, "DELETE FROM error_causes")
    [(open_errors,)] = await ledger_rows(db, "SELECT count(*) FROM errors WHERE status='open'")
    env = await NotifyEnv(db, Clock(T0)).start()
    try:
        body = (await env.client.get("/v1/causes?limit=500")).json()
    finally:
        await env.stop()
    assert sum(c["open_errors"] for c in body["causes"]) == open_errors
    assert body["total"] < 120


class _Stopped(Exception):
    """The process stopping half way through an index."""


async def test_a_first_index_stopped_half_way_goes_on_as_a_first_index(
    ledger_target: Path | PostgresTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console quit a minute into a new demo ledger: the next start goes on with the
    first index (keys alone, the totals summed at its end), not change by change, which
    cost 50 times as much at 1,000,000 errors; the totals come out exact."""
    from tui.service.ledger import Ledger

    db = ledger_target
    await demo_ledger(db, tmp_path, 600, now=T0)
    await ledger_write(db, "DELETE FROM error_causes")
    await ledger_write(
        db, "DELETE FROM meta WHERE key IN ('causes_seq', 'causes_summed', 'trends_ready')"
    )
    monkeypatch.setattr(causes, "BATCH", 100)
    made, keys_of = [], causes._keys_of

    def stopping_at_the_third_batch(rows: Any) -> list[str]:
        made.append(len(rows))
        if len(made) == 3:
            raise _Stopped
        return keys_of(rows)

    changed_one_by_one = []
    apply_changes = causes.CauseIndex._apply_changes

    async def spied(self: Any, *args: Any) -> None:
        changed_one_by_one.append(len(args[1]))
        await apply_changes(self, *args)

    monkeypatch.setattr(causes, "_keys_of", stopping_at_the_third_batch)
    monkeypatch.setattr(causes.CauseIndex, "_apply_changes", spied)
    ledger = Ledger(db)
    await ledger.open()
    try:
        with pytest.raises(_Stopped):
            await causes.CauseIndex(ledger, lambda: T0).catch_up()
        assert await ledger.meta("causes_seq") is not None  # two batches were kept
        monkeypatch.setattr(causes, "_keys_of", keys_of)
        assert await causes.CauseIndex(ledger, lambda: T0).catch_up() == 400
        assert changed_one_by_one == []
        assert await ledger.meta(causes.SUMMED) == "1"
        assert await ledger.meta("trends_ready") == causes.trends.COUNTED
    finally:
        await ledger.close()
    totals = await ledger_rows(db, "SELECT cause, open_errors, records FROM cause_totals")
    assert {c: (n, r) for c, n, r in totals if n} == await recount(db)


async def causes_seq(env: NotifyEnv) -> int:
    """The last change the cause index has caught up on."""
    [(value,)] = await ledger_rows(env.db, "SELECT value FROM meta WHERE key = 'causes_seq'")
    return int(value)


async def recount(db: Path | PostgresTarget) -> dict[str, tuple[int, int]]:
    """Open errors and records per cause, counted from scratch."""
    rows = await ledger_rows(
        db,
        "SELECT c.cause, count(*), count(DISTINCT e.record_id) FROM error_causes c "
        "JOIN errors e ON e.id = c.error_id WHERE e.status = 'open' GROUP BY c.cause",
    )
    return {cause: (n, records) for cause, n, records in rows}


async def test_totals_kept_change_by_change_match_a_recount(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    db = ledger_target
    await demo_ledger(db, tmp_path, 800, now=T0)
    env = await NotifyEnv(db, Clock(T0)).start()
    try:
        await env.client.get("/v1/causes")  # the first index
        rows = await ledger_rows(
            db, "SELECT id FROM errors WHERE status = 'open' AND sf_id IS NOT NULL "
            "ORDER BY id LIMIT 100"
        )  # fmt: skip
        ids = [r[0] for r in rows]
        answer = await env.client.post("/v1/resync", json={"error_ids": ids, "request_id": "r1"})
        outcomes = {o["status"] for o in answer.json()["outcomes"]}
        assert "synced" in outcomes  # some errors leave their causes
        await report(env, *(tier_failure(n, f"V{n}") for n in range(5)))
        await report(env, tier_failure(0, "again"))  # a repeat of a known error
        body = (await env.client.get("/v1/causes?limit=500")).json()
    finally:
        await env.stop()
    kept = {c["cause"]: (c["open_errors"], c["records"]) for c in body["causes"]}
    assert kept == await recount(db)
    assert body["total"] == len(kept)


async def feed_and_snapshot(env: NotifyEnv) -> tuple[dict[int, Any], dict[int, Any]]:
    """The cause column of every row, by id, as the change feed and the snapshot send it."""
    feed = (await env.client.get("/v1/errors", params={"limit": 10000})).json()
    at = feed["columns"].index("cause")
    lines = (await env.client.get("/v1/snapshot")).content.splitlines()
    header = orjson.loads(lines[0])
    snap = [r for line in lines[1:-1] for r in orjson.loads(line)]
    here = header["columns"].index("cause")
    return {r[0]: r[at] for r in feed["rows"]}, {r[0]: r[here] for r in snap}


async def test_the_feed_and_the_snapshot_carry_each_rows_cause_key(env: NotifyEnv) -> None:
    ids = await report(env, tier_failure(1, "Diamond"), tier_failure(2, "Gold", "Lead"))
    feed, snap = await feed_and_snapshot(env)
    other = "Contact Tier: bad value for restricted picklist field: Other"  # same shape
    expected = {
        ids[0]: cause_key("picklist.restricted_value", "Contact", other),
        ids[1]: cause_key("picklist.restricted_value", "Lead", other),
    }
    assert expected[ids[0]] != expected[ids[1]]
    assert feed == snap == expected
    causes = (await env.client.get("/v1/causes")).json()["causes"]
    assert {c["cause"] for c in causes} == set(expected.values())

    # changed after the cause index last ran: the row goes out without a key (null),
    # never with the key of its older message
    await ledger_write(
        env.db,
        "UPDATE errors SET message = 'Required fields are missing: [LastName]', "
        "seq = (SELECT max(seq) + 1 FROM errors) WHERE id = ?",
        [(ids[0],)],
    )
    feed, snap = await feed_and_snapshot(env)
    assert feed[ids[0]] is None and snap[ids[0]] is None
    assert feed[ids[1]] == snap[ids[1]] == expected[ids[1]]


async def test_reports_in_flight_together_make_each_key_once(
    env: NotifyEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every report runs a catch-up; those of reports in flight together must not each
    make the keys of the same rows (the replicas' load test: N reports in flight cost N
    times the work)."""
    made: list[str] = []

    def counted(subtype: str, sf_object: str, message: str) -> str:
        made.append(message)
        return cause_key(subtype, sf_object, message)

    monkeypatch.setattr(causes, "cause_key", counted)
    batches = [[tier_failure(b * 50 + n, f"V{b}-{n}") for n in range(50)] for b in range(8)]
    await asyncio.gather(*(report(env, *items) for items in batches))
    [(rows,)] = await ledger_rows(env.db, "SELECT count(*) FROM errors")
    assert rows == 400 and await causes_seq(env) == 400
    assert len(made) == rows  # each changed row keyed once, by one catch-up
    body = (await env.client.get("/v1/causes?limit=500")).json()
    kept = {c["cause"]: (c["open_errors"], c["records"]) for c in body["causes"]}
    assert kept == await recount(env.db)
