"""Direct resyncs send the record as last reported, and the history keeps what was sent
when (issue 10, point 2); a version-2 ledger upgrades to version 3 (tests/data has the
version-2 schema as it shipped). Real app, real ledger (on each engine; the upgrade on
SQLite alone, where version-2 ledgers exist), the simulated org behind the real
connector."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_ingest import T0, Clock, Env, close_env, email_item, open_env, start_env

from tui.service.db import PostgresTarget
from tui.service.migrations import SCHEMA_VERSION
from tui.simorg.demo import demo_org_state

V2_SCHEMA = Path(__file__).parent / "data" / "ledger_schema_v2.sql"


@pytest.fixture
async def env(tmp_path: Path, ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    e = await start_env(tmp_path, target=ledger_target)
    yield e
    await close_env(e)


def history_sent(detail: dict) -> list[tuple[str, str | None]]:
    """(outcome, Email sent) of each entry of an error's history."""
    return [(h["outcome"], (h["sent"] or {}).get("Email")) for h in detail["history"]]


async def test_a_newer_report_is_what_the_next_resync_sends(env: Env) -> None:
    bad = email_item(env, email="jane@@example.com")
    (error_id,) = (await env.ingest([bad]))["error_ids"]
    first = await env.resync([error_id], "direct-1")
    assert first["outcomes"][0]["status"] == "failed"
    # the admin fixes the address in the CRM; the engine's next attempt reports it
    env.clock.now = T0 + timedelta(minutes=10)
    fixed = email_item(env, email="jane.doe@example.com", occurred_at="2025-03-10T12:35:00Z")
    assert (await env.ingest([fixed]))["error_ids"] == [error_id]
    second = await env.resync([error_id], "direct-2")
    assert second["outcomes"][0]["status"] == "synced"
    sf_id = bad["salesforce"]["id"]
    assert env.org.written[sf_id[:15]]["Email"] == "jane.doe@example.com"
    detail = await env.detail(error_id)
    assert detail["status"] == "resolved"
    assert history_sent(detail) == [
        ("failed", None),
        ("failed", "jane@@example.com"),
        ("failed", None),
        ("synced", "jane.doe@example.com"),
    ]
    assert detail["history"][3]["sent"]["Id"] == sf_id
    assert detail["history"][3]["request_id"] == "direct-2"


async def test_a_newer_report_of_another_cause_replaces_the_records_payload(env: Env) -> None:
    email = email_item(env, email="jane@@example.com")
    (email_error,) = (await env.ingest([email]))["error_ids"]
    later = email_item(
        env,
        email="jane.doe@example.com",
        occurred_at="2025-03-10T12:20:00Z",
        errors=[{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                 "message": "Lead Source: bad value for restricted picklist field: Web Form",
                 "fields": ["LeadSource"]}],
    )  # fmt: skip
    (picklist_error,) = (await env.ingest([later]))["error_ids"]
    assert picklist_error != email_error
    result = await env.resync([email_error], "direct-other-cause")
    assert result["outcomes"][0]["status"] == "synced"
    assert history_sent(await env.detail(email_error))[-1] == ("synced", "jane.doe@example.com")


async def test_a_late_report_of_another_cause_does_not_replace_the_payload(env: Env) -> None:
    email = email_item(env, email="jane.doe@example.com", occurred_at="2025-03-10T12:20:00Z")
    (email_error,) = (await env.ingest([email]))["error_ids"]
    late = email_item(
        env,
        email="jane@@example.com",
        occurred_at="2025-03-10T12:00:00Z",
        errors=[{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                 "message": "bad value for restricted picklist field: Web Form",
                 "fields": ["LeadSource"]}],
    )  # fmt: skip
    await env.ingest([late])
    await env.resync([email_error], "direct-late")
    assert history_sent(await env.detail(email_error))[-1][1] == "jane.doe@example.com"


def _version_2_ledger(db: Path, sf_id: str) -> None:
    """A ledger as version 2 wrote it: one open error with its first attempt."""
    with sqlite3.connect(db) as conn:
        conn.executescript(V2_SCHEMA.read_text("utf-8"))
        conn.execute("INSERT INTO meta VALUES ('schema_version', '2'), ('mode', 'simulated')")
        record = {"attributes": {"type": "Contact"}, "Id": sf_id, "Email": "aiko.tanaka@example.jp"}
        payload = json.dumps({"record": record, "checks": {}})
        conn.execute(
            "INSERT INTO errors VALUES (1, 1, 'property_value', 'property_value.invalid_email', "
            "'contact', '9001', 'Aiko Tanaka', 'Contact', ?, 'to_salesforce', "
            "'INVALID_EMAIL_ADDRESS', 'Email: invalid email address: aiko@@example.jp', "
            "'[\"Email\"]', '2025-03-01T08:00:00Z', '2025-03-01T08:00:00Z', 1, 'open', ?)",
            (sf_id, payload),
        )
        conn.execute(
            "INSERT INTO attempts VALUES (1, '2025-03-01T08:00:00Z', 'failed', "
            "'INVALID_EMAIL_ADDRESS', 'Email: invalid email address: aiko@@example.jp', NULL)"
        )


async def test_a_version_2_ledger_upgrades_to_version_3_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.sqlite3"
    org = demo_org_state(7)
    probe = Env(None, None, org, Clock(T0), db)  # type: ignore[arg-type]
    sf_id = probe.live("Contact", 5)
    _version_2_ledger(db, sf_id)
    with sqlite3.connect(db) as conn:
        assert "sent" not in {r[1] for r in conn.execute("PRAGMA table_info(attempts)")}
    env = await open_env(db, org, Clock(T0))
    try:
        with sqlite3.connect(db) as conn:
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            assert version.fetchone() == (str(SCHEMA_VERSION),) == ("7",)
            assert "sent" in {r[1] for r in conn.execute("PRAGMA table_info(attempts)")}
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            assert "engine_requests" in tables
        before = await env.detail(1)
        assert before["status"] == "open" and before["history"][0]["sent"] is None
        result = await env.resync([1], "after-upgrade")
        assert result["outcomes"][0]["status"] == "synced"
        after = await env.detail(1)
        assert history_sent(after) == [("failed", None), ("synced", "aiko.tanaka@example.jp")]
    finally:
        await close_env(env)
    reopened = await open_env(db, org, Clock(T0))  # a second open finds nothing to do
    try:
        assert len((await reopened.detail(1))["history"]) == 2
    finally:
        await close_env(reopened)
