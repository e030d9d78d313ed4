"""The console's cache: mirror, counts, queries, damaged and locked files."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from tui.core.models import ERROR_TYPES
from tui.data.cache import Cache, CacheError, ViewFilter
from tui.data.values import ViewOrder


def row(
    id: int,
    *,
    seq: int | None = None,
    type: str = "picklist",
    subtype: str | None = None,
    record: str = "r1",
    object_type: str = "contact",
    name: str = "Aiko Tanaka",
    message: str = "bad value",
    status: str = "open",
    last_seen: str = "2025-06-01T00:00:00Z",
    sf_id: str | None = "00Q000000000001",
    attempts: int = 1,
) -> list:
    return [
        id, seq if seq is not None else id, type, subtype or f"{type}.restricted_value",
        object_type, record, name, "Lead", sf_id, "to_salesforce", "SOME_CODE", message,
        ["LeadSource", "Status"], "2025-05-01T00:00:00Z", last_seen, attempts, status,
    ]  # fmt: skip


def brute_counts(rows: list[list]) -> dict[str, tuple[int, int]]:
    """Open errors and distinct records per type, the slow obvious way."""
    latest = {r[0]: r for r in rows}
    errors: dict[str, int] = defaultdict(int)
    records: dict[str, set] = defaultdict(set)
    for r in latest.values():
        if r[16] == "open":
            errors[r[2]] += 1
            records[r[2]].add((r[4], r[5]))
    return {t: (errors[t], len(records[t])) for t in ERROR_TYPES}


@pytest.fixture
async def cache(tmp_path: Path):
    c = await Cache.open(tmp_path / "cache.sqlite3")
    yield c
    await c.close()


async def test_type_counts_follow_incremental_changes(cache: Cache) -> None:
    first = [
        row(1, type="picklist", record="a"),
        row(2, type="picklist", record="a"),
        row(3, type="picklist", record="b"),
        row(4, type="duplicate", record="a"),
        row(5, type="permissions", record="c", status="resolved"),
    ]
    await cache.apply_changes([list(r) for r in first], cursor=5)
    counts = {c.type: (c.errors, c.records) for c in await cache.type_counts()}
    assert [c.type for c in await cache.type_counts()] == list(ERROR_TYPES)
    assert counts == brute_counts(first)
    assert counts["picklist"] == (3, 2)
    assert await cache.cursor() == 5

    # a resolved error leaves the open counts; a reopened one and a new record join them
    second = [
        row(1, seq=6, type="picklist", record="a", status="resolved"),
        row(5, seq=7, type="permissions", record="c"),
        row(6, seq=8, type="picklist", record="a", object_type="company"),
    ]
    await cache.apply_changes([list(r) for r in second], cursor=8)
    counts = {c.type: (c.errors, c.records) for c in await cache.type_counts()}
    assert counts == brute_counts(first + second)
    assert counts["picklist"] == (3, 3)  # contact a, contact b, company a
    assert counts["permissions"] == (1, 1)
    assert await cache.count(ViewFilter()) == 5
    assert await cache.count(ViewFilter(status=None)) == 6
    assert await cache.affected_count(ViewFilter(type="picklist")) == 3
    assert await cache.cursor() == 8


async def test_bulk_fill_gives_the_same_counts_as_incremental(tmp_path: Path) -> None:
    rows = [
        row(
            i,
            type=ERROR_TYPES[i % 8],
            record=f"r{i % 37}",
            status="resolved" if i % 5 == 0 else "open",
            subtype=f"{ERROR_TYPES[i % 8]}.s{i % 3}",
        )
        for i in range(1, 3001)
    ]  # fmt: skip
    bulk = await Cache.open(tmp_path / "bulk.sqlite3")
    bulk.bulk_threshold = 1000
    slow = await Cache.open(tmp_path / "slow.sqlite3")
    try:
        for start in range(0, 3000, 1000):
            await bulk.apply_changes([list(r) for r in rows[start : start + 1000]], start + 1000)
            await slow.apply_changes([list(r) for r in rows[start : start + 1000]], start + 1000)
        await bulk.finish_changes()
        await slow.finish_changes()
        expected = brute_counts(rows)
        for c in (bulk, slow):
            assert {t.type: (t.errors, t.records) for t in await c.type_counts()} == expected
            assert await c.subtype_counts("picklist") == await slow.subtype_counts("picklist")
        open_records = {(r[4], r[5]) for r in rows if r[16] == "open"}
        for c in (bulk, slow):
            assert await c.affected_count(ViewFilter()) == len(open_records)
            assert await c.count(ViewFilter()) == sum(r[16] == "open" for r in rows)
        subs = await bulk.subtype_counts("picklist")
        assert sum(s.errors for s in subs) == expected["picklist"][0]
        assert all(s.subtype.startswith("picklist.") for s in subs)
        # after the bulk fill, changes are incremental again and stay right
        change = [
            row(8, seq=4000, type="picklist", record="r8", status="resolved", subtype="picklist.s2")
        ]
        await bulk.apply_changes([list(r) for r in change], 4000)
        assert {t.type: (t.errors, t.records) for t in await bulk.type_counts()} == brute_counts(
            rows + change
        )
    finally:
        await bulk.close()
        await slow.close()


async def test_an_interrupted_bulk_fill_goes_on_in_bulk_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    c = await Cache.open(path)
    c.bulk_threshold = 10
    rows = [row(i, record=f"r{i}") for i in range(1, 31)]
    await c.apply_changes([list(r) for r in rows[:20]], 20)
    await c.close()  # killed before finish_changes
    c = await Cache.open(path)
    try:
        assert c.filling and await c.cursor() == 20
        # while it fills, cards and grid agree: nothing counted, nothing listed
        assert (await c.type_counts())[ERROR_TYPES.index("picklist")].errors == 0
        assert await c.count(ViewFilter()) == 0 and not await c.view_page(ViewFilter())
        assert await c.row_count() == 20
        await c.apply_changes([list(r) for r in rows[20:]], 30)  # the rest, still in bulk
        await c.finish_changes()
        assert not c.filling
        assert (await c.type_counts())[ERROR_TYPES.index("picklist")].errors == 30
        assert len(await c.view_ids(ViewFilter())) == 30
    finally:
        await c.close()


async def test_filters_sorts_and_literal_text_search(cache: Cache) -> None:
    rows = [
        row(1, name="100% Orange", last_seen="2025-06-03T00:00:00Z", attempts=3),
        row(2, name="1000 Orange", last_seen="2025-06-02T00:00:00Z", attempts=1),
        row(3, name="a_b Trading", message="x", type="duplicate", last_seen="2025-06-05T00:00:00Z"),
        row(4, name="aXb Trading", message="y", type="duplicate", status="resolved"),
        row(5, name="Someone", message="FIELD_integrity [Email]", record="r9", sf_id=None),
        row(6, name="ローソン 渋谷店", message="文字列が長すぎます", record="r9"),
    ]
    await cache.apply_changes([list(r) for r in rows], 6)
    assert list(await cache.view_ids(ViewFilter(text="0%"))) == [1]
    assert list(await cache.view_ids(ViewFilter(text="a_b", status=None))) == [3]
    assert list(await cache.view_ids(ViewFilter(text="ORANGE"), "id", False)) == [1, 2]
    assert list(await cache.view_ids(ViewFilter(text="長すぎ"))) == [6]
    assert list(await cache.view_ids(ViewFilter(text="00Q000000000001", type="duplicate"))) == [3]
    assert await cache.count(ViewFilter(text="[email]")) == 1
    # default sort: last seen, newest first; ties by id in the same direction
    assert list(await cache.view_ids(ViewFilter())) == [3, 1, 2, 6, 5]
    assert list(await cache.view_ids(ViewFilter(), descending=False)) == [5, 6, 2, 1, 3]
    assert (await cache.view_ids(ViewFilter(), sort="attempts"))[0] == 1
    assert list(await cache.view_ids(ViewFilter(status="resolved"))) == [4]
    assert list(await cache.view_ids(ViewFilter(record_id="r9"), "id", False)) == [5, 6]
    assert list(await cache.view_ids(ViewFilter(subtype="duplicate.restricted_value"))) == [3]
    assert await cache.count(ViewFilter(type="duplicate")) == 1
    assert await cache.count(ViewFilter(type="duplicate", status=None)) == 2
    with pytest.raises(ValueError):
        await cache.view_ids(ViewFilter(), sort="message; DROP TABLE errors")  # type: ignore[arg-type]

    got = await cache.rows([5, 1, 99])
    assert set(got) == {1, 5}
    assert got[5].sf_id is None and got[1].fields == ("LeadSource", "Status")
    assert got[1].record_name == "100% Orange"
    assert (await cache.error(6)).message == "文字列が長すぎます"  # type: ignore[union-attr]
    assert await cache.error(99) is None


async def test_affected_records(cache: Cache) -> None:
    rows = [
        row(1, record="a", name="A", last_seen="2025-06-01T00:00:00Z"),
        row(2, record="a", name="A", last_seen="2025-06-04T00:00:00Z"),
        row(3, record="b", name="Beta Corp", last_seen="2025-06-03T00:00:00Z"),
        row(4, record="c", name="C", type="duplicate"),
        row(5, record="b", name="Beta Corp", status="resolved"),
    ]
    await cache.apply_changes([list(r) for r in rows], 5)
    f = ViewFilter(type="picklist")
    assert await cache.affected_count(f) == 2
    assert await cache.affected_count(ViewFilter(type="picklist", text="BETA")) == 1
    records = await cache.affected_records(f)
    assert [(r.record_id, r.errors, r.last_seen) for r in records] == [
        ("a", 2, "2025-06-04T00:00:00Z"),
        ("b", 1, "2025-06-03T00:00:00Z"),
    ]
    assert [r.record_id for r in await cache.affected_records(f, offset=1, limit=1)] == ["b"]
    assert await cache.error_ids_for_records(f, ["a", "c"]) == [1, 2]
    assert await cache.error_ids_for_records(ViewFilter(status=None), ["b"]) == [3, 5]
    assert await cache.error_ids_for_records(f, []) == []


async def test_meta_and_pending_batches_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    c = await Cache.open(path)
    await c.set_meta("usage", {"used": 3})
    await c.add_pending("req-1", [1, 2, 3])
    await c.add_pending("req-2", [4])
    await c.drop_pending("req-2")
    await c.close()
    c = await Cache.open(path)
    try:
        assert await c.get_meta("usage") == {"used": 3}
        assert await c.get_meta("nothing") is None
        assert await c.pending() == [("req-1", [1, 2, 3])]
    finally:
        await c.close()


async def test_garbage_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    garbage = b"this is not a database at all\n" * 200
    path.write_bytes(garbage)
    c = await Cache.open(path)
    try:
        aside = list(tmp_path.glob("cache.sqlite3.corrupt-*"))
        assert len(aside) == 1 and aside[0].read_bytes() == garbage
        assert c.notice is not None and str(aside[0]) in c.notice
        await c.apply_changes([row(1)], 1)
        assert await c.count(ViewFilter()) == 1
    finally:
        await c.close()


async def test_damaged_pages_are_found_on_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file too big to check at every open: the failed read leaves the marker."""
    monkeypatch.setattr("tui.data.cache_file.CHECK_AT_OPEN_LIMIT", 0)
    path = tmp_path / "cache.sqlite3"
    c = await Cache.open(path)
    await c.apply_changes([row(i, record=f"r{i}", message="m" * 500) for i in range(1, 400)], 400)
    await c.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = [  # the errors table's rows, not the schema (dbstat: SQLite's page map)
            n
            for (n,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'errors' AND pagetype = 'leaf'"
            )
        ]
    data = bytearray(path.read_bytes())
    for page in leaves:
        offset = (page - 1) * size
        data[offset : offset + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    c = await Cache.open(path)
    try:
        with pytest.raises(CacheError, match="damaged"):  # the rows' pages, read for a page
            await c.view_page(ViewFilter(), ViewOrder("record_name"), limit=1000)
    finally:
        await c.close()
    c = await Cache.open(path)  # the marker left by the failed query triggers a check
    try:
        assert c.notice is not None and "moved to" in c.notice
        assert await c.count(ViewFilter()) == 0
    finally:
        await c.close()


async def test_locked_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    await (await Cache.open(path)).close()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE IF NOT EXISTS other (x)")
        with pytest.raises(CacheError, match="locked by another program"):
            await Cache.open(path, busy_timeout=0.2)
        assert path.exists() and not list(tmp_path.glob("*.corrupt-*"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_older_schema_version_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    c = await Cache.open(path)
    await c.apply_changes([row(1)], 1)
    await c.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    c = await Cache.open(path)
    try:
        assert await c.count(ViewFilter(status=None)) == 0
        assert await c.cursor() == 0
    finally:
        await c.close()
