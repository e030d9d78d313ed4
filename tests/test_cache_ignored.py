"""The cache's ignored errors: counted apart from the open ones (the cards' "+N ignored"),
by a page of changes and by a first fill in bulk mode, and shown by the ignored view."""

from __future__ import annotations

from pathlib import Path

from test_cache import row

from tui.data.cache import Cache, ViewFilter


def counts(found: list) -> dict[str, tuple[int, int, int]]:
    return {c.type: (c.errors, c.records, c.ignored) for c in found if c.errors or c.ignored}


async def test_ignored_errors_leave_the_open_counts_and_come_back(tmp_path: Path) -> None:
    cache = await Cache.open(tmp_path / "cache.sqlite3")
    try:
        first = [row(1, record="a"), row(2, record="b"), row(3, type="duplicate", record="a")]
        await cache.apply_changes([list(r) for r in first], cursor=3)
        assert counts(await cache.type_counts()) == {"picklist": (2, 2, 0), "duplicate": (1, 1, 0)}
        ignored = [row(1, seq=4, record="a", status="ignored"),
                   row(3, seq=5, type="duplicate", record="a", status="ignored")]  # fmt: skip
        await cache.apply_changes([list(r) for r in ignored], cursor=5)
        assert counts(await cache.type_counts()) == {"picklist": (1, 1, 1), "duplicate": (0, 0, 1)}
        assert await cache.count(ViewFilter(status="ignored")) == 2
        assert await cache.count(ViewFilter()) == 1
        back = [row(1, seq=6, record="a")]  # expired or unignored: open again
        await cache.apply_changes([list(r) for r in back], cursor=6)
        assert counts(await cache.type_counts()) == {"picklist": (2, 2, 0), "duplicate": (0, 0, 1)}
    finally:
        await cache.close()


async def test_a_bulk_first_fill_counts_the_ignored_errors(tmp_path: Path) -> None:
    cache = await Cache.open(tmp_path / "cache.sqlite3")
    cache.bulk_threshold = 10
    try:
        rows = [row(n, record=f"r{n}", status="ignored" if n % 4 == 0 else "open")
                for n in range(1, 41)]  # fmt: skip
        await cache.apply_changes([list(r) for r in rows], cursor=40)
        assert cache.filling
        await cache.finish_changes()
        assert counts(await cache.type_counts()) == {"picklist": (30, 30, 10)}
        assert await cache.count(ViewFilter(status="ignored")) == 10
    finally:
        await cache.close()
