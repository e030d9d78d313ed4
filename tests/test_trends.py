"""Daily figures (``GET /v1/trends``): new, resolved, recurring and still open per day,
per type and per cause, moved as reports change errors; the 400-day window; the backfill
of a ledger from before trends. The real service on a real ledger, an injected clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pg_harness import ledger_rows, ledger_write

from tests.notify_env import Clock, NotifyEnv
from tests.test_causes_api import report, tier_failure
from tests.test_doctor_service import T0
from tui.service.db import PostgresTarget
from tui.service.ledger import iso
from tui.service.trends import KEEP_DAYS

DAY0 = T0.date().isoformat()


def synced(n: int, at: Any) -> dict[str, Any]:
    return {"outcome": "synced", "object_type": "contact", "record_id": f"crm-{n}",
            "occurred_at": iso(at)}  # fmt: skip


def at(item: dict[str, Any], moment: Any) -> dict[str, Any]:
    return {**item, "occurred_at": iso(moment)}


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget):
    e = await NotifyEnv(ledger_target, Clock(T0)).start()
    yield e
    await e.stop()


async def trends(env: NotifyEnv, **params: Any) -> dict[str, Any]:
    answer = await env.client.get("/v1/trends", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def by_day(body: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {d["day"]: (d["new"], d["resolved"], d["recurring"], d["open"]) for d in body["days"]}


async def test_new_resolved_recurring_and_still_open_per_day(env: NotifyEnv) -> None:
    await report(env, *(at(tier_failure(n, "Diamond"), T0) for n in (1, 2, 3)))
    env.clock.advance(days=1)
    day1 = env.clock().date().isoformat()
    await report(env, synced(1, env.clock()), synced(2, env.clock()))
    env.clock.advance(days=1)
    day2 = env.clock().date().isoformat()
    await report(env, at(tier_failure(1, "Diamond"), env.clock()))  # fails again
    body = await trends(env, days=3)
    assert [d["day"] for d in body["days"]] == [DAY0, day1, day2]
    assert by_day(body) == {DAY0: (3, 0, 0, 3), day1: (0, 2, 0, 1), day2: (0, 0, 1, 2)}
    assert body["totals"] == {"new": 3, "resolved": 2, "recurring": 1, "open": 2}
    cause = (await env.client.get("/v1/causes")).json()["causes"][0]["cause"]
    assert by_day(await trends(env, days=3, cause=cause)) == by_day(body)
    assert by_day(await trends(env, days=3, type="picklist")) == by_day(body)
    ended = await trends(env, days=2, end=day1)
    assert [d["day"] for d in ended["days"]] == [DAY0, day1]
    other = await trends(env, days=3, type="duplicate")
    assert other["totals"] == {"new": 0, "resolved": 0, "recurring": 0, "open": 0}


async def test_a_report_seen_twice_counts_once(env: NotifyEnv) -> None:
    item = at(tier_failure(1, "Diamond"), T0)
    await report(env, item)
    await trends(env)
    await report(env, item)  # the same failure again: an attempt, not a new error
    body = await trends(env, days=1)
    assert body["totals"] == {"new": 1, "resolved": 0, "recurring": 0, "open": 1}


async def test_types_give_the_cards_new_errors_per_day(env: NotifyEnv) -> None:
    await report(
        env, at(tier_failure(1, "A"), T0 - timedelta(days=1)), at(tier_failure(2, "B"), T0)
    )
    body = (await env.client.get("/v1/trends/types", params={"days": 3})).json()
    assert len(body["days"]) == 3 and body["days"][-1] == DAY0
    assert body["new"]["picklist"] == [0, 1, 1]
    assert body["new"]["duplicate"] == [0, 0, 0]


async def test_days_beyond_the_window_are_folded_not_lost(env: NotifyEnv) -> None:
    await report(env, at(tier_failure(1, "Diamond"), T0), at(tier_failure(2, "Gold"), T0))
    await trends(env)
    env.clock.advance(days=KEEP_DAYS + 5)
    today = env.clock().date().isoformat()
    await report(env, synced(1, env.clock()))
    body = await trends(env, days=KEEP_DAYS)
    assert len(body["days"]) == KEEP_DAYS and body["days"][-1]["day"] == today
    assert by_day(body)[today] == (0, 1, 0, 1)
    assert body["days"][0]["open"] == 2  # the old days' open count is kept
    assert body["totals"] == {"new": 2, "resolved": 1, "recurring": 0, "open": 1}
    days = {row[0] for row in await ledger_rows(env.db, "SELECT DISTINCT day FROM trend_days")}
    assert DAY0 not in days and "" in days
    kept = (env.clock().date() - timedelta(days=KEEP_DAYS)).isoformat()
    assert all(day == "" or day >= kept for day in days)


async def rewrite(db: Path | PostgresTarget, *statements: str) -> None:
    """``statements`` run on the ledger, as an older service left it."""
    for sql in statements:
        await ledger_write(db, sql)


async def test_a_ledger_from_before_trends_is_backfilled(
    ledger_target: Path | PostgresTarget,
) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    await report(env, *(at(tier_failure(n, "Diamond"), T0 - timedelta(days=2)) for n in (1, 2)))
    await report(env, synced(1, T0 - timedelta(days=1)))
    await report(env, at(tier_failure(1, "Diamond"), T0))
    expected = await trends(env, days=3)
    await env.stop()
    await rewrite(  # as version 3 left it: no figures
        env.db,
        "DELETE FROM trend_days",
        "DELETE FROM meta WHERE key LIKE 'trends_%'",
        "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
    )
    await env.start()
    try:
        assert await trends(env, days=3) == expected
        assert expected["totals"] == {"new": 2, "resolved": 1, "recurring": 1, "open": 2}
    finally:
        await env.stop()
    version = await ledger_rows(env.db, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert version == [("7",)]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"days": "0"}, 422, "'days' must be a whole number from 1 to 400"),
        ({"days": "401"}, 422, "'days'"),
        ({"days": "seven"}, 422, "'days'"),
        ({"type": "nonsense"}, 422, "'type' must be one of"),
        ({"cause": "not-hex"}, 422, "16 hex digits"),
        ({"cause": "0123456789abcdef"}, 404, "No error has the cause"),
        ({"end": "2025-3-1"}, 422, "'end' must be a day as YYYY-MM-DD"),
        ({"end": ""}, 422, "'end' must be a day as YYYY-MM-DD"),
        ({"end": "2025-W10-1"}, 422, "'end' must be a day as YYYY-MM-DD"),
        ({"end": "2025-02-30"}, 422, "'end' must be a day as YYYY-MM-DD"),
        ({"type": ""}, 422, "'type' must be one of"),
        ({"cause": ""}, 422, "16 hex digits"),
    ],
)
async def test_bad_parameters_are_refused_clearly(
    env: NotifyEnv, params: dict[str, str], status: int, words: str
) -> None:
    answer = await env.client.get("/v1/trends", params=params)
    assert answer.status_code == status
    assert words in answer.json()["error"]["message"]


async def test_a_cause_of_another_type_is_refused(env: NotifyEnv) -> None:
    await report(env, tier_failure(1, "Diamond"))
    cause = (await env.client.get("/v1/causes")).json()["causes"][0]["cause"]
    answer = await env.client.get("/v1/trends", params={"cause": cause, "type": "duplicate"})
    assert answer.status_code == 422
    assert "is of type 'picklist'" in answer.json()["error"]["message"]
    answer = await env.client.get("/v1/trends/types", params={"days": "-1"})
    assert answer.status_code == 422


async def test_days_before_year_one_or_to_come_are_answered(env: NotifyEnv) -> None:
    await report(env, at(tier_failure(1, "Diamond"), T0))
    early = await trends(env, days=30, end="0001-01-05")
    assert early["days"][0]["day"] == "0001-01-01" and len(early["days"]) == 5
    later = await trends(env, days=2, end="9999-12-31")
    assert later["days"][-1] == {"day": "9999-12-31", "new": 0, "resolved": 0, "recurring": 0,
                                 "open": 1}  # fmt: skip


async def test_an_open_error_whose_cause_changes_moves_only_the_open_counts(
    env: NotifyEnv,
) -> None:
    await report(env, at(tier_failure(1, "Diamond"), T0 - timedelta(hours=2)))
    first = (await env.client.get("/v1/causes")).json()["causes"][0]["cause"]
    await trends(env)
    again = at(tier_failure(1, "Diamond"), T0)
    again["errors"] = [{**again["errors"][0], "message": "Tier picklist refused the value Diamond"}]
    await report(env, again)
    second = (await env.client.get("/v1/causes")).json()["causes"][0]["cause"]
    assert second != first
    everything = await trends(env, days=1)
    assert everything["totals"] == {"new": 1, "resolved": 0, "recurring": 0, "open": 1}
    old = await trends(env, days=1, cause=first)
    new = await trends(env, days=1, cause=second)
    assert old["totals"] == {"new": 1, "resolved": 0, "recurring": 0, "open": 0}
    assert new["totals"] == {"new": 0, "resolved": 0, "recurring": 0, "open": 1}


async def error_ids(env: NotifyEnv) -> list[int]:
    body = (await env.client.get("/v1/errors", params={"limit": 100})).json()
    return sorted(row[0] for row in body["rows"])


async def post(env: NotifyEnv, path: str, request_id: str, **body: Any) -> None:
    answer = await env.client.post(path, json={"request_id": request_id, **body})
    assert answer.status_code == 200, answer.text


async def ignore_two_of_three(env: NotifyEnv) -> list[int]:
    """Three errors on day 0, the first two ignored on day 1; the clock then on day 2."""
    await report(env, *(at(tier_failure(n, "Diamond"), T0) for n in (1, 2, 3)))
    ids = await error_ids(env)
    env.clock.advance(days=1)
    await post(env, "/v1/ignores", "i1", error_ids=ids[:2], reason="CRM fix next week")
    env.clock.advance(days=1)
    return ids


async def test_ignoring_is_not_resolving_and_unignoring_is_not_recurring(env: NotifyEnv) -> None:
    ids = await ignore_two_of_three(env)
    day1 = (T0 + timedelta(days=1)).date().isoformat()
    day2 = env.clock().date().isoformat()
    await post(env, "/v1/unignore", "u1", error_ids=ids[:1])
    env.clock.advance(days=1)
    day3 = env.clock().date().isoformat()
    await report(env, synced(2, env.clock()))  # the record of the one still ignored syncs
    body = await trends(env, days=4)
    assert by_day(body) == {
        DAY0: (3, 0, 0, 3), day1: (0, 0, 0, 1), day2: (0, 0, 0, 2), day3: (0, 1, 0, 2)
    }  # fmt: skip
    assert body["totals"] == {"new": 3, "resolved": 1, "recurring": 0, "open": 2}
    cause = (await env.client.get("/v1/causes")).json()["causes"][0]["cause"]
    assert by_day(await trends(env, days=4, cause=cause)) == by_day(body)


async def test_figures_that_counted_ignored_as_resolved_are_counted_anew(
    ledger_target: Path | PostgresTarget,
) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    ids = await ignore_two_of_three(env)
    expected = await trends(env, days=3)
    await env.stop()
    await rewrite(  # as the first counting left it
        env.db,
        "UPDATE trend_days SET resolved = resolved + 2 WHERE day != ''",
        "UPDATE error_causes SET open = 0 WHERE open = -1",
        "UPDATE meta SET value = '1' WHERE key = 'trends_ready'",
    )
    await env.start()
    try:
        assert await trends(env, days=3) == expected
        assert expected["totals"] == {"new": 3, "resolved": 0, "recurring": 0, "open": 1}
        await post(env, "/v1/unignore", "u1", error_ids=ids[:2])  # back: not recurring
        body = await trends(env, days=3)
        assert body["totals"] == {"new": 3, "resolved": 0, "recurring": 0, "open": 3}
    finally:
        await env.stop()
