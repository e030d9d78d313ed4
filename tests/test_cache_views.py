"""Views that cost a page: keyset and offset pages, positions, the per-record table, plans."""

from __future__ import annotations

import random
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from tests.test_cache import row
from tui.core.catalog import load_catalog
from tui.core.models import ERROR_TYPES
from tui.core.subtype_order import subtype_name
from tui.data.cache import Cache, ViewFilter
from tui.data.values import SORT_COLUMNS, SubtypeNames, ViewOrder

FILTERS = (
    ViewFilter(),
    ViewFilter(status=None),
    ViewFilter(status="resolved"),
    ViewFilter(type=ERROR_TYPES[0]),
    ViewFilter(type=ERROR_TYPES[1], status=None),
    ViewFilter(record_id="r3"),
)


def sample_rows(n: int, seed: int = 7) -> list[list]:
    """Rows with many ties on every sort column (few names, types, days, attempts)."""
    rnd = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        kind = rnd.choice(ERROR_TYPES[:4])
        rows.append(
            row(
                i,
                type=kind,
                subtype=f"{kind}.s{rnd.randint(1, 3)}",
                record=f"r{rnd.randint(1, 40)}",
                object_type=rnd.choice(("contact", "account")),
                name=rnd.choice(("Aiko", "Ben", "Chie")),
                status=rnd.choice(("open", "open", "open", "resolved")),
                last_seen=f"2025-06-{rnd.randint(1, 9):02d}T00:00:00Z",
                attempts=rnd.randint(1, 4),
            )
        )
    return rows


async def filled(tmp_path: Path, rows: list[list], *, bulk: bool) -> Cache:
    cache = await Cache.open(tmp_path / f"views-{bulk}.sqlite3")
    if bulk:
        cache.bulk_threshold = 10
        await cache.apply_changes([list(r) for r in rows], len(rows))
        await cache.finish_changes()
    else:
        for start in range(0, len(rows), 50):  # incremental pages keep the tables up to date
            page = rows[start : start + 50]
            await cache.apply_changes([list(r) for r in page], start + len(page))
    return cache


@pytest.fixture(params=[False, True], ids=["incremental", "bulk"])
async def cache(request, tmp_path: Path):
    c = await filled(tmp_path, sample_rows(600), bulk=request.param)
    yield c
    await c.close()


async def test_pages_by_offset_keyset_and_from_the_end_equal_the_whole_view(cache: Cache) -> None:
    for f in FILTERS:
        for sort in SORT_COLUMNS:
            for descending in (True, False):
                order = ViewOrder(sort, descending)  # type: ignore[arg-type]
                every = list(await cache.view_ids(f, sort, descending))  # type: ignore[arg-type]
                total = await cache.count(f)
                assert total == len(every)
                page = 37
                walked, after = [], None
                while chunk := await cache.view_page(f, order, limit=page, after=after):
                    assert len(chunk) <= page
                    walked += [r.id for r in chunk]
                    after = chunk[-1]
                assert walked == every, (f, order)
                for offset in (0, 1, total // 2, total // 2 + 1, max(0, total - 5), total):
                    got = await cache.view_page(f, order, offset=offset, limit=page, total=total)
                    assert [r.id for r in got] == every[offset : offset + page], (f, order, offset)
                if total > 10:
                    pivot = (await cache.view_page(f, order, offset=total - 3, limit=1))[0]
                    got = await cache.view_page(f, order, limit=page, before=pivot)
                    assert [r.id for r in got] == every[max(0, total - 3 - page) : total - 3]
                    for at in (0, total // 3, total - 1):
                        assert await cache.position(f, order, every[at]) == at
                        past = await cache.position(f, order, every[at], within=max(1, at))
                        assert past == (None if at else 0)


async def test_position_and_in_view_for_an_error_outside_the_view(cache: Cache) -> None:
    resolved = list(await cache.view_ids(ViewFilter(status="resolved")))
    assert await cache.position(ViewFilter(), ViewOrder(), resolved[0]) is None
    opened = list(await cache.view_ids(ViewFilter()))
    assert await cache.in_view(ViewFilter(), [resolved[0], opened[0], 10**9]) == {opened[0]}


def brute_records(rows: list[list], type_code: str) -> list[tuple]:
    """Open errors per record of one type, the slow obvious way, in the view's order."""
    latest = {r[0]: r for r in rows}
    groups: dict[tuple[str, str], list[list]] = {}
    for r in latest.values():
        if r[16] == "open" and r[2] == type_code:
            groups.setdefault((r[4], r[5]), []).append(r)
    out = [(ot, rid, len(errs), max(e[14] for e in errs)) for (ot, rid), errs in groups.items()]
    return sorted(out, key=lambda t: (t[3], t[0], t[1]), reverse=True)


@pytest.mark.parametrize("bulk", [False, True], ids=["incremental", "bulk"])
async def test_record_table_follows_changes_and_equals_grouping_the_errors(
    tmp_path: Path, bulk: bool
) -> None:
    rows = sample_rows(400)
    cache = await filled(tmp_path, rows, bulk=bulk)
    try:
        rnd = random.Random(3)
        changes = []
        for n, r in enumerate(rnd.sample(rows, 80)):  # resolve, reopen and move errors
            change = list(r)
            change[1] = 10_000 + n
            change[16] = "resolved" if change[16] == "open" else "open"
            change[5] = f"r{rnd.randint(1, 45)}"
            change[14] = "2025-06-20T00:00:00Z"
            changes.append(change)
        await cache.apply_changes([list(c) for c in changes], 20_000)
        everything = rows + changes
        for type_code in ERROR_TYPES[:4]:
            f = ViewFilter(type=type_code)
            expected = brute_records(everything, type_code)
            got = await cache.affected_records(f, limit=10_000)
            assert [(r.object_type, r.record_id, r.errors, r.last_seen) for r in got] == expected
            assert await cache.affected_count(f) == len(expected)
            page = await cache.affected_records(f, offset=5, limit=7)
            assert [(r.object_type, r.record_id) for r in page] == [e[:2] for e in expected[5:12]]
            # the same answer from the errors themselves (a filter the table does not serve)
            grouped = await cache.affected_records(
                ViewFilter(type=type_code, text="00Q"), limit=10_000
            )
            assert grouped == got
    finally:
        await cache.close()


async def test_view_pages_walk_an_index_and_never_sort_the_table(cache: Cache) -> None:
    """Each page query reads along an index in view order (no temp b-tree for ORDER BY)."""
    statements: list[str] = []
    await cache._r.set_trace_callback(statements.append)
    orders = [ViewOrder(s, d) for s in SORT_COLUMNS for d in (True, False)]  # type: ignore[arg-type]
    for order in orders:
        for f in (ViewFilter(), ViewFilter(type=ERROR_TYPES[0]), ViewFilter(status=None)):
            first = await cache.view_page(f, order, limit=20)
            await cache.view_page(f, order, limit=20, after=first[-1])
            await cache.view_page(f, order, limit=20, before=first[-1])
            await cache.view_page(f, order, offset=500, limit=20, total=await cache.count(f))
    await cache._r.set_trace_callback(None)
    pages = [s for s in statements if s.startswith("SELECT") and "LIMIT" in s]
    assert len(pages) >= len(orders) * 3 * 4
    with sqlite3.connect(cache.path) as conn:
        for sql in pages:
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "TEMP B-TREE" not in plan, (sql, plan)


async def test_a_records_view_reads_its_few_rows_by_the_records_index(cache: Cache) -> None:
    """Enter on a row narrows to its record: its rows are found by the record and then
    sorted, in every order. Left to itself SQLite walked the last-seen index of every
    open error for them (1,000,000 errors: 2.4 s for 2 rows)."""
    statements: list[str] = []
    f = ViewFilter(record_id="r3")
    await cache._r.set_trace_callback(statements.append)
    for sort in SORT_COLUMNS:
        for descending in (True, False):
            order = ViewOrder(sort, descending)  # type: ignore[arg-type]
            first = await cache.view_page(f, order, limit=5)
            assert first and {r.record_id for r in first} == {"r3"}
            await cache.view_page(f, order, limit=5, after=first[-1])
    await cache._r.set_trace_callback(None)
    pages = [s for s in statements if s.startswith("SELECT") and "LIMIT" in s]
    assert len(pages) >= len(SORT_COLUMNS) * 2 * 2
    with sqlite3.connect(cache.path) as conn:
        for sql in pages:
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "INDEX errors_record" in plan, (sql, plan)


def _plans(path: Path, statements: list[str]) -> list[str]:
    """The query plans of the page queries among ``statements``."""
    pages = [s for s in statements if s.startswith("SELECT id") and "LIMIT" in s]
    with sqlite3.connect(path) as conn:
        return [
            " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}")) for sql in pages
        ]


@pytest.mark.parametrize("few", [5000, 10], ids=["few", "many"])
async def test_a_status_few_errors_have_is_found_by_status_not_along_the_sort(
    cache: Cache, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """Resolved or ignored errors, when few (an admin ignored a handful among 1,000,000),
    are found by their status and sorted; walked along the sort's index, a page looked
    at every error for them (0.15-0.44 s). Many are walked in view order, as open ones."""
    from tui.data import cache_order

    monkeypatch.setattr(cache_order, "FEW", few)
    f = ViewFilter(status="resolved")
    total = await cache.count(f)
    assert 10 < total <= 5000
    statements: list[str] = []
    await cache._r.set_trace_callback(statements.append)
    for sort in SORT_COLUMNS:
        for descending in (True, False):
            order = ViewOrder(sort, descending)  # type: ignore[arg-type]
            walked, after = [], None
            while chunk := await cache.view_page(f, order, limit=40, after=after):
                walked += [r.id for r in chunk]
                after = chunk[-1]
            assert walked == list(await cache.view_ids(f, sort, descending)), order
    await cache._r.set_trace_callback(None)
    by_status = ["INDEX errors_status_seen" in plan for plan in _plans(cache.path, statements)]
    assert len(by_status) >= len(SORT_COLUMNS) * 2 * 2
    assert all(by_status) if few == 5000 else not any(by_status)


async def test_an_empty_views_page_is_not_looked_for(cache: Cache) -> None:
    """No error is ignored: the view's count is 0, and its page is not looked for along
    a sort index that holds none of it (1,000,000 errors: 0.15-0.44 s for nothing)."""
    f = ViewFilter(status="ignored")
    total = await cache.count(f)
    assert total == 0
    statements: list[str] = []
    await cache._r.set_trace_callback(statements.append)
    assert await cache.view_page(f, ViewOrder("last_seen", True), limit=20, total=total) == []
    await cache._r.set_trace_callback(None)
    assert [s for s in statements if s.startswith("SELECT")] == []


def named_rows(n: int, seed: int = 11) -> list[list]:
    """Rows of the catalog's own subtypes (their names differ from their codes' order)."""
    rnd = random.Random(seed)
    codes = load_catalog().subtype_codes
    rows = []
    for i in range(1, n + 1):
        code = rnd.choice(codes)
        rows.append(
            row(
                i,
                type=code.split(".")[0],
                subtype=code,
                record=f"r{rnd.randint(1, 40)}",
                status=rnd.choice(("open", "open", "resolved")),
            )
        )
    return rows


def name_key(code: str, names: SubtypeNames) -> str:
    """What the Error column shows for ``code``, as the names are compared."""
    return unicodedata.normalize("NFKC", subtype_name(code, names.lang, names.cells)).casefold()


@pytest.mark.parametrize(
    "names", [SubtypeNames("en", 18), SubtypeNames("ja", 14), SubtypeNames("ja")], ids=str
)
async def test_a_subtype_sort_follows_the_names_shown_page_by_page_along_indexes(
    tmp_path: Path, names: SubtypeNames
) -> None:
    rows = named_rows(700)
    cache = await filled(tmp_path, rows, bulk=False)
    try:
        subtype_of = {r[0]: r[3] for r in rows}
        assert sorted(subtype_of.values()) != sorted(
            subtype_of.values(), key=lambda c: name_key(c, names)
        )
        statements: list[str] = []
        await cache._r.set_trace_callback(statements.append)
        filters = (ViewFilter(), ViewFilter(status=None), ViewFilter(type="picklist"),
                   ViewFilter(record_id="r3"))  # fmt: skip
        for f in filters:
            for descending in (False, True):
                order = ViewOrder("subtype", descending, names)
                every = list(await cache.view_ids(f, "subtype", descending, names=names))
                keys = [name_key(subtype_of[i], names) for i in every]
                assert keys == sorted(keys, reverse=descending), (f, order)
                assert len(every) == await cache.count(f)
                walked, after = [], None
                while chunk := await cache.view_page(f, order, limit=23, after=after):
                    walked += [r.id for r in chunk]
                    after = chunk[-1]
                assert walked == every, (f, order)
                total = len(every)
                for offset in (0, total // 2, max(0, total - 5)):
                    got = await cache.view_page(f, order, offset=offset, limit=23, total=total)
                    assert [r.id for r in got] == every[offset : offset + 23], (f, order, offset)
                for at in (0, total // 2, total - 1):
                    assert await cache.position(f, order, every[at]) == at
        await cache._r.set_trace_callback(None)
        # a subtype the cache did not hold yet takes its place in the order at once
        late = row(10_000, type="other", subtype="other.unknown")
        await cache.apply_changes([late], 10_000)
        every = list(await cache.view_ids(ViewFilter(), "subtype", False, names=names))
        assert 10_000 in every
        keys = [name_key(subtype_of.get(i, "other.unknown"), names) for i in every]
        assert keys == sorted(keys)
        pages = [s for s in statements if s.startswith("SELECT") and "LIMIT" in s]
        with sqlite3.connect(cache.path) as conn:
            for sql in pages:
                if "record_id = " in sql:  # a record's few rows are sorted, as in every order
                    continue
                plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
                assert "TEMP B-TREE" not in plan, (sql, plan)
                assert "SCAN errors" not in plan, (sql, plan)
    finally:
        await cache.close()
