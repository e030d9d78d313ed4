"""The ledger and the usage ledger on both engines: real SQLite files and a real
PostgreSQL (a schema per test, tests/pg_harness.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from clock import Clock
from pg_harness import ledger_rows, ledger_write

from tui.service.db import PostgresTarget
from tui.service.ledger import SCHEMA_VERSION, ErrorChange, Ledger, LedgerError
from tui.service.usage import OrgLimits, UsageLedger

T0 = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)


async def add_errors(ledger: Ledger, n: int, start_seq: int = 1) -> None:
    async with ledger.transaction() as conn:
        await conn.executemany(
            "INSERT INTO errors VALUES (?, ?, 'picklist', 'picklist.restricted_value', 'contact',"
            " ?, ?, 'Lead', NULL, 'to_salesforce', 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',"
            " 'bad value', ?, '2025-03-01T00:00:00Z', '2025-03-01T00:00:00Z', 1, 'open', ?)",
            [
                (i, start_seq + i - 1, f"c{i}", f"Name {i}", json.dumps(["LeadSource"]),
                 json.dumps({"record": {"attributes": {"type": "Lead"}}, "checks": {}}))
                for i in range(1, n + 1)
            ],
        )  # fmt: skip


@pytest.fixture
async def ledger(ledger_target: Path | PostgresTarget):
    led = Ledger(ledger_target)
    await led.open()
    yield led
    await led.close()


async def test_open_creates_schema_with_version(ledger: Ledger) -> None:
    assert await ledger.meta("schema_version") == str(SCHEMA_VERSION) == "7"
    if ledger.db.dialect == "sqlite":
        async with ledger.reader.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"


async def test_a_newer_schema_is_refused_with_a_clear_message(
    ledger_target: Path | PostgresTarget,
) -> None:
    """Two replicas of different versions on one database: the older one refuses."""
    led = Ledger(ledger_target)
    await led.open()
    await led.close()
    await ledger_write(ledger_target, "UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match="schema version 9, newer than this synchealth") as got:
        await Ledger(ledger_target).open()
    assert f"understands ({SCHEMA_VERSION})" in str(got.value)
    assert await ledger_rows(
        ledger_target, "SELECT value FROM meta WHERE key = 'schema_version'"
    ) == [("9",)]


async def test_feed_pages_by_seq_and_passes_fields_as_json(ledger: Ledger) -> None:
    await add_errors(ledger, 5)
    rows, cursor, more = await ledger.feed(0, 2)
    assert [r[0] for r in rows] == [1, 2] and cursor == 2 and more
    rows, cursor, more = await ledger.feed(cursor, 10)
    assert [r[0] for r in rows] == [3, 4, 5] and cursor == 5 and not more
    assert orjson.loads(orjson.dumps(rows))[0][12] == ["LeadSource"]
    assert await ledger.feed(5, 10) == ([], 5, False)


async def test_apply_changes_moves_rows_to_the_end_of_the_feed(ledger: Ledger) -> None:
    await add_errors(ledger, 3)
    change = ErrorChange(1, "synced", "picklist", "picklist.restricted_value", "X", "m", [])
    async with ledger.transaction() as conn:
        await Ledger.apply_changes(conn, [change], "r1", T0)
    rows, cursor, _ = await ledger.feed(0, 10)
    assert [r[0] for r in rows] == [2, 3, 1] and cursor == 4
    detail = await ledger.error(1)
    assert detail is not None and detail["status"] == "resolved" and detail["attempts"] == 2
    assert detail["history"] == [
        {"at": "2025-03-10T12:30:00Z", "outcome": "synced", "sf_code": "", "message": "",
         "request_id": "r1", "sent": None}
    ]  # fmt: skip


async def test_a_failed_transaction_changes_nothing(ledger: Ledger) -> None:
    await add_errors(ledger, 1)
    change = ErrorChange(1, "failed", "other", "other.unknown", "X", "m", [])
    with pytest.raises(RuntimeError):
        async with ledger.transaction() as conn:
            await Ledger.apply_changes(conn, [change], "r1", T0)
            raise RuntimeError("boom")
    detail = await ledger.error(1)
    assert detail is not None and detail["seq"] == 1 and detail["history"] == []


async def test_usage_is_a_rolling_window_of_24_hourly_buckets(ledger: Ledger) -> None:
    clock = Clock(T0 - timedelta(hours=30))
    usage = UsageLedger(ledger, clock)
    await usage.record_call()  # 30 h ago: outside the window
    clock.now = T0 - timedelta(hours=23)
    await usage.record_call()
    await usage.record_call()
    clock.now = T0
    await usage.record_call()
    hourly = await usage.hourly()
    assert len(hourly) == 24
    assert hourly[0] == (datetime(2025, 3, 9, 13, tzinfo=UTC), 2)
    assert hourly[-1] == (datetime(2025, 3, 10, 12, tzinfo=UTC), 1)
    assert sum(c for _, c in hourly[1:-1]) == 0
    assert await usage.used() == 3
    clock.now = T0 + timedelta(hours=1)
    assert await usage.used() == 1  # the calls of 23 h before T0 have left the window


async def test_allocation_defaults_then_persists(ledger: Ledger) -> None:
    usage = UsageLedger(ledger, Clock(T0), default_allocation=1234)
    assert await usage.allocated() == 1234
    await usage.set_allocated(99)
    assert await UsageLedger(ledger, Clock(T0)).allocated() == 99


async def test_limits_are_cached_refined_and_kept_when_salesforce_fails(ledger: Ledger) -> None:
    clock = Clock(T0)
    usage = UsageLedger(ledger, clock, ttl=300)
    fetches: list[datetime] = []

    async def fetch() -> OrgLimits:
        fetches.append(clock.now)
        return OrgLimits(15000, 100, clock.now)

    assert (await usage.limits(fetch)).limits == OrgLimits(15000, 100, T0)
    clock.now = T0 + timedelta(seconds=299)
    await usage.limits(fetch)
    assert len(fetches) == 1
    usage.note_limit_info(used=140, limit=15000)  # a Sforce-Limit-Info header, newer
    assert (await usage.limits(fetch)).limits.used == 140  # type: ignore[union-attr]

    async def down() -> OrgLimits:
        raise ConnectionError("connection refused")

    clock.now = T0 + timedelta(seconds=600)
    view = await usage.limits(down)
    assert view.limits is not None and view.limits.max == 15000
    assert view.error is not None and "connection refused" in view.error
    # a restarted service still knows the last limits from the ledger
    fresh = UsageLedger(ledger, clock)
    await fresh.load()
    assert (await fresh.limits(down)).limits == OrgLimits(15000, 100, T0)
