"""The text filter's trigram index: same rows as LIKE, kept with every change, interruptible."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from tests.test_cache import row
from tui.data.cache import Cache, QueryInterrupted, ViewFilter
from tui.data.cache_schema import INDEXES
from tui.data.cache_sql import where
from tui.data.values import ViewOrder

WORDS = ("Acme", "ACME Trading", "ローソン 渋谷店", "100% Orange", "a_b", "Beta", "渋谷")
NEEDLES = ("acme", "ACM", "cme t", "ローソン", "渋谷店", "0% O", "a_b", "eta", "00Q", "CODE", "zzz")


def rows_with_words(n: int, seed: int = 11) -> list[list]:
    rnd = random.Random(seed)
    return [
        row(
            i,
            name=f"{rnd.choice(WORDS)} {i}",
            message=rnd.choice(("bad value", "文字列が長すぎます", "Acme said no", "x")),
            record=f"r{i % 37}",
            status=rnd.choice(("open", "open", "resolved")),
            sf_id=rnd.choice((None, f"00Q{i:012d}")),
        )
        for i in range(1, n + 1)
    ]


async def like_ids(cache: Cache, f: ViewFilter) -> list[int]:
    """The same view matched with LIKE only (the index left out)."""
    cond, params = where(f)
    with sqlite3.connect(cache.path) as conn:
        got = conn.execute(f"SELECT id FROM errors WHERE {cond} ORDER BY id", params)
        return [r[0] for r in got]


@pytest.mark.parametrize("bulk", [False, True], ids=["incremental", "bulk-then-built"])
async def test_index_finds_what_like_finds_and_follows_changes(tmp_path: Path, bulk: bool) -> None:
    rows = rows_with_words(700)
    cache = await Cache.open(tmp_path / "c.sqlite3")
    try:
        if bulk:
            cache.bulk_threshold = 10
            await cache.apply_changes([list(r) for r in rows], 700)
            await cache.finish_changes()
            assert not cache.search_ready  # until built, the filter matches with LIKE
            await cache.build_search_index()
        else:
            for start in range(0, 700, 100):
                await cache.apply_changes([list(r) for r in rows[start : start + 100]], start)
        assert cache.search_ready
        # renames, new messages and resolutions arrive through the feed
        changed = []
        for r in random.Random(5).sample(rows, 120):
            r = list(r)
            r[6] = "Renamed Acme " + r[6][-3:]
            r[11] = "now mentions 渋谷"
            r[16] = "open"
            changed.append(r)
        await cache.apply_changes(changed, 800)
        await cache.apply_changes([list(r) for r in rows_with_words(20, seed=99)], 900)
        for needle in NEEDLES:
            for f in (ViewFilter(text=needle), ViewFilter(text=needle, status=None)):
                expected = await like_ids(cache, f)
                assert list(await cache.view_ids(f, "id", False)) == expected, needle
                assert await cache.count(f) == len(expected), needle
                page = await cache.view_page(f, ViewOrder("record_name"), limit=25)
                assert {r.id for r in page} <= set(expected)
                assert len(page) == min(25, len(expected))
        renamed = sum(1 for r in changed if r[0] > 20)  # ids 1-20 came once more, unrenamed
        assert await cache.count(ViewFilter(text="Renamed Acme")) == renamed > 0
    finally:
        await cache.close()


async def test_a_superseded_text_query_is_interrupted(tmp_path: Path) -> None:
    """A long text count on the searcher stops when a newer keystroke interrupts it."""
    path = tmp_path / "big.sqlite3"
    cache = await Cache.open(path)
    await cache.close()
    with sqlite3.connect(path) as conn:  # a large cache, written straight into the file
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'fts'")  # LIKE only
        for name in INDEXES:  # a quick write; the count reads the table anyway
            conn.execute(f"DROP INDEX {name}")
        rnd = random.Random(1)
        conn.executemany(
            "INSERT INTO errors VALUES (?, ?, 'other', 'other.unknown', 'contact', ?, ?, "
            "'Lead', NULL, 'to_salesforce', 'X', ?, '', '2025-01-01', '2025-01-02', 1, 'open', "
            "NULL)",
            (
                (i, i, f"r{i}", f"name {rnd.random()}", f"message {rnd.random()} " * 4)
                for i in range(1, 300_001)
            ),
        )
    cache = await Cache.open(path)
    try:
        slow = ViewFilter(text="q", status=None)  # LIKE over 300,000 rows: far over 50 ms
        task = asyncio.ensure_future(cache.count(slow))
        await asyncio.sleep(0.05)
        assert not task.done()
        await cache.interrupt_search()
        with pytest.raises(QueryInterrupted):
            await task
        # the searcher answers the next query, and the reader was never touched
        assert await cache.count(ViewFilter(text="name 0.5", status=None)) > 0
        assert await cache.row_count() == 300_000
    finally:
        await cache.close()
