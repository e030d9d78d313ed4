"""The demo generator: deterministic, complete, and consistent with the simulated org.

SQLite only: the generator writes the embedded demo's SQLite ledger by design (the
ledger tests copy it into PostgreSQL with pg_harness.copy_into)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from tui.core.catalog import load_catalog
from tui.core.classify import classify
from tui.embedded import build_demo_ledger
from tui.service.migrations import SCHEMA_VERSION
from tui.service.salesforce import SalesforceConnector, StaticToken
from tui.simorg import demo
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.demo_cases import CASES

NOW = datetime(2025, 6, 16, 3, 30, tzinfo=UTC)
TOKEN = "00Dsim!demo"


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "ledger.db"
    build_demo_ledger(path, 2000, seed=7, now=NOW)
    return path


def test_same_seed_same_rows_other_seed_other_rows(ledger: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.db"
    other = tmp_path / "other.db"
    build_demo_ledger(again, 2000, seed=7, now=NOW)
    build_demo_ledger(other, 2000, seed=8, now=NOW)
    for table in ("errors", "attempts", "usage_hourly", "settings", "meta"):
        sql = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert rows(ledger, sql) == rows(again, sql), table
    assert rows(ledger, "SELECT * FROM errors") != rows(other, "SELECT * FROM errors")


def test_every_subtype_is_present_and_classified_as_the_classifier_does(ledger: Path) -> None:
    catalog_codes = {s.code for t in load_catalog().types for s in t.subtypes}
    assert len(CASES) == 32 and set(CASES) == catalog_codes
    found = rows(ledger, "SELECT type, subtype, sf_code, message, fields FROM errors")
    assert {r[1] for r in found} == set(CASES)
    for type_, subtype, code, message, fields in found:
        c = classify({"statusCode": code, "message": message, "fields": orjson.loads(fields)})
        assert (c.type, c.subtype) == (type_, subtype), (code, message)


def test_columns_times_and_settings(ledger: Path) -> None:
    errors = rows(ledger, "SELECT * FROM errors ORDER BY id")
    assert [r[0] for r in errors] == list(range(1, 2001))
    assert all(r[0] == r[1] for r in errors)  # seq in id order
    assert all(value is not None and value != "" for r in errors for value in r)
    low = (NOW - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    high = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(low <= r[13] <= r[14] < high for r in errors)
    assert {r[15] for r in errors} == {1, 2, 3, 4, 5}
    statuses = [r[16] for r in errors]
    assert 0.05 < statuses.count("resolved") / len(statuses) < 0.25
    assert {r[4] for r in errors} == {"contact", "company", "deal", "task"}
    assert {r[7] for r in errors} == {"Lead", "Contact", "Account", "Opportunity", "Task"}
    assert any("株式会社" in r[6] for r in errors) and any(r[6].isascii() for r in errors)
    records = {r[5] for r in errors}
    assert len(records) < len(errors)  # some records have several errors

    history = dict(rows(ledger, "SELECT error_id, COUNT(*) FROM attempts GROUP BY error_id"))
    for r in errors:
        assert history[r[0]] == r[15] + (r[16] == "resolved")

    meta = dict(rows(ledger, "SELECT key, value FROM meta"))
    assert meta == {
        "schema_version": str(SCHEMA_VERSION),
        "org_name": "Sakura Trading KK",
        "mode": "simulated",
        "next_seq": "2001",
    }
    settings = {k: orjson.loads(v) for k, v in rows(ledger, "SELECT key, value FROM settings")}
    assert settings["allocated"] == 5000
    assert settings["notifications"]["enabled"] is False
    assert settings["notifications"]["frequency"] == "daily"
    usage = rows(ledger, "SELECT hour, calls FROM usage_hourly ORDER BY hour")
    assert len(usage) == 24 and usage[-1][0] == "2025-06-16T03:00:00Z"
    assert 0.6 * 5000 <= sum(c for _, c in usage) <= 0.8 * 5000
    by_hour = dict(usage)
    assert (
        by_hour["2025-06-16T01:00:00Z"] > 2 * by_hour["2025-06-15T17:00:00Z"]
    )  # 10:00 vs 02:00 JST
    assert rows(ledger, "PRAGMA journal_mode") == [("wal",)]


async def test_resync_through_the_org_fixes_some_and_fails_the_rest_alike(ledger: Path) -> None:
    found = rows(
        ledger,
        "SELECT id, subtype, sf_code, message, fields, payload FROM errors "
        "WHERE status = 'open' ORDER BY id",
    )
    app = create_simorg(demo_org_state(7), access_token=TOKEN)
    sf = SalesforceConnector(
        "https://sim.test", StaticToken(TOKEN), transport=httpx.ASGITransport(app=app)
    )
    send, outcomes = [], {}
    for error_id, subtype, code, message, fields, payload in found:
        body = orjson.loads(payload)
        checks = body.get("checks", {})
        if any(ok is False for ok in checks.values()):
            assert code.startswith("SYNC_")
            outcomes[error_id] = False
        else:
            send.append((error_id, subtype, code, message, orjson.loads(fields), body["record"]))
    results = await sf.update([s[-1] for s in send])
    await sf.aclose()
    for (error_id, subtype, code, message, fields, _), result in zip(send, results, strict=True):
        outcomes[error_id] = result.success
        if not result.success:
            error = result.errors[0]
            assert (error["statusCode"], error["message"], error["fields"]) == (
                code,
                message,
                fields,
            )
            assert classify(error).subtype == subtype
    fixed = sum(outcomes.values()) / len(outcomes)
    assert 0.4 <= fixed <= 0.6
    by_subtype: dict[str, set[bool]] = {}
    for error_id, subtype, *_ in found:
        by_subtype.setdefault(subtype, set()).add(outcomes[error_id])
    assert all(seen == {True, False} for seen in by_subtype.values())


def test_large_demo_keeps_history_only_for_the_newest(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(demo, "HISTORY_ROWS_FOR", 100)
    path = tmp_path / "big.db"
    summary = build_demo_ledger(path, 500, seed=3, now=NOW)
    ids = [r[0] for r in rows(path, "SELECT DISTINCT error_id FROM attempts ORDER BY 1")]
    assert ids == list(range(401, 501))
    assert summary.errors == 500 and summary.open + summary.resolved == 500
    assert summary.attempts_rows == rows(path, "SELECT COUNT(*) FROM attempts")[0][0]
    assert sum(summary.by_subtype.values()) == 500


def test_refuses_a_ledger_that_already_has_errors(ledger: Path) -> None:
    with pytest.raises(ValueError, match="already holds errors"):
        build_demo_ledger(ledger, 10, now=NOW)
