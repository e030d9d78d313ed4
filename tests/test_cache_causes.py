"""The cause filter on a real cache file: exactly the errors of one cause key.

Messages follow the Salesforce REST message of INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST
("Recurring Type: bad value for restricted picklist field: Fixed", tests/corpus,
NPSP issue 5409): one cause per field and object, whatever the value.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.test_cache import row
from tui.core.causes import cause_key
from tui.data.cache import Cache, ViewFilter
from tui.data.values import CauseRef, ViewOrder

SUB = "picklist.restricted_value"
SHAPE = "Recurring Type: bad value for restricted picklist field: <value>"


def on(sf_object: str, r: list) -> list:
    r[7] = sf_object
    return r


def picklist(i: int, sf_object: str, value: str, **kw: object) -> list:
    message = f"Recurring Type: bad value for restricted picklist field: {value}"
    return on(sf_object, row(i, subtype=SUB, message=message, record=f"r{i}", **kw))


def ref(sf_object: str) -> CauseRef:
    key = cause_key(SUB, sf_object, "Recurring Type: bad value for restricted picklist field: x")
    return CauseRef(key, SUB, sf_object, SHAPE)


async def test_a_cause_view_holds_exactly_the_errors_of_its_key(tmp_path: Path) -> None:
    cache = await Cache.open(tmp_path / "c.sqlite3")
    try:
        rows = [picklist(i, "Lead", f"V{i}") for i in range(1, 7)]
        rows += [picklist(i, "Contact", f"V{i}") for i in range(7, 10)]  # same shape, object
        rows.append(on("Lead", row(10, subtype=SUB, message="Recurring Type: bad value")))
        rows.append(picklist(11, "Lead", "Fixed", status="resolved"))
        await cache.apply_changes(rows, 11)
        lead = ViewFilter(type="picklist", cause=ref("Lead"))
        assert await cache.key_causes(lead.cause) == 8  # every Lead row of the subtype
        assert await cache.key_causes(lead.cause) == 0  # asked again: nothing to key
        assert await cache.count(lead) == 6
        assert await cache.count(ViewFilter(cause=ref("Lead"), status=None)) == 7
        page = await cache.view_page(lead, ViewOrder("record_name", False), limit=4)
        assert [r.id for r in page] == [1, 2, 3, 4]
        assert set(await cache.view_ids(lead)) == {1, 2, 3, 4, 5, 6}
        await cache.key_causes(ref("Contact"))
        assert await cache.count(ViewFilter(cause=ref("Contact"))) == 3

        # the feed brings a new error of the cause and changes another one's message
        await cache.apply_changes(
            [
                picklist(12, "Lead", "Monthly"),
                on("Lead", row(3, seq=13, subtype=SUB, message="Record Type ID: invalid")),
            ],
            13,
        )
        assert await cache.key_causes(lead.cause) == 2  # both replaced rows, keyed again
        assert set(await cache.view_ids(lead)) == {1, 2, 4, 5, 6, 12}
        assert await cache.affected_count(lead) == 6
    finally:
        await cache.close()


async def test_a_cause_page_and_count_read_the_cause_index(tmp_path: Path) -> None:
    path = tmp_path / "plan.sqlite3"
    cache = await Cache.open(path)
    try:
        cache.bulk_threshold = 10
        await cache.apply_changes([picklist(i, "Lead", f"V{i}") for i in range(1, 40)], 39)
        await cache.finish_changes()
        f = ViewFilter(type="picklist", cause=ref("Lead"))
        await cache.key_causes(f.cause)
        assert await cache.count(f) == 39
    finally:
        await cache.close()
    from tui.data.cache_sql import where

    cond, params = where(f)
    conn = sqlite3.connect(path)
    for sql in (
        f"SELECT id FROM errors INDEXED BY errors_cause WHERE {cond} "
        "ORDER BY last_seen DESC, id DESC LIMIT 10",
        f"SELECT count(*) FROM errors WHERE {cond}",
    ):
        plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "errors_cause" in plan and "TEMP B-TREE" not in plan, plan
        assert "COVERING INDEX" in plan or "LIMIT" in sql, plan
    conn.close()


async def test_a_cache_of_schema_5_is_created_again_with_cause_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    cache = await Cache.open(path)
    await cache.apply_changes([picklist(1, "Lead", "A")], 1)
    await cache.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    conn.execute("DROP INDEX errors_cause")
    conn.execute("ALTER TABLE errors DROP COLUMN cause")
    conn.commit()
    conn.close()
    cache = await Cache.open(path)  # an older file: made again, the service refills it
    try:
        assert await cache.cursor() == 0
        await cache.apply_changes([picklist(1, "Lead", "A")], 1)
        assert await cache.key_causes(ref("Lead")) == 1
        assert await cache.count(ViewFilter(cause=ref("Lead"))) == 1
    finally:
        await cache.close()


async def test_keying_a_cause_while_a_feed_page_is_stored_loses_neither(tmp_path: Path) -> None:
    """Both are transactions on the cache's one writer: the second waits for the first
    (it must not start inside it, nor roll it back on failing)."""
    cache = await Cache.open(tmp_path / "both.sqlite3")
    try:
        await cache.apply_changes([picklist(i, "Lead", f"V{i}") for i in range(1, 21)], 20)
        page = [picklist(i, "Lead", f"W{i}") for i in range(21, 61)]
        _, keyed = await asyncio.gather(
            cache.apply_changes(page, 60), cache.key_causes(ref("Lead"))
        )
        assert keyed in (20, 60) and await cache.cursor() == 60
        await cache.key_causes(ref("Lead"))
        assert await cache.count(ViewFilter(cause=ref("Lead"))) == 60
    finally:
        await cache.close()
