"""Query latency on the filled console cache (tui.data.cache.Cache), median of several runs.

Target (DESIGN.md section 7): per-type counts (errors and affected records) <= 50 ms.

    python bench/queries.py [--size N]
"""

from __future__ import annotations

import asyncio

from _common import filled_cache, median_ms, parse_size

from tui.data.cache import Cache, ViewFilter
from tui.data.values import ViewOrder


def ms_fast(name: str) -> bool:
    """Queries answered from the totals table or by primary key get more runs."""
    return name.startswith(
        ("type_counts", "subtype_counts", "count(type", "count(subtype", "affected_count", "rows(")
    )


async def main(size: int) -> None:
    cache = await Cache.open(await filled_cache(size))
    try:
        types = await cache.type_counts()
        busiest = max(types, key=lambda c: c.errors)
        subtypes = await cache.subtype_counts(busiest.type)
        ids = await cache.view_ids(ViewFilter())
        middle = len(ids) // 2
        page = ids[middle : middle + 100]
        by_type = ViewFilter(type=busiest.type)
        by_subtype = ViewFilter(type=busiest.type, subtype=subtypes[0].subtype)
        text = ViewFilter(text="acme")
        total = len(ids)
        deep = (await cache.view_page(ViewFilter(), offset=middle, limit=1, total=total))[0]
        by_attempts = ViewOrder("attempts")
        near = (await cache.view_page(ViewFilter(), offset=10_000, limit=1))[0]

        cases = [
            ("type_counts (8 types, errors+records)", cache.type_counts, "rows"),
            (f"subtype_counts({busiest.type})", lambda: cache.subtype_counts(busiest.type), "rows"),
            (f"count(type={busiest.type})", lambda: cache.count(by_type), "value"),
            (f"count(subtype={subtypes[0].subtype})", lambda: cache.count(by_subtype), "value"),
            (f"affected_count(type={busiest.type})",
             lambda: cache.affected_count(by_type), "value"),
            ("view_ids(open, last_seen desc)", lambda: cache.view_ids(ViewFilter()), "len"),
            (f"view_ids(type={busiest.type}, attempts)",
             lambda: cache.view_ids(by_type, "attempts"), "len"),
            ("rows(100 ids, middle of the view)", lambda: cache.rows(page), "len"),
            ("view_page(open) first 50", lambda: cache.view_page(ViewFilter(), limit=50), "len"),
            ("view_page(open) 50 after the middle row (keyset)",
             lambda: cache.view_page(ViewFilter(), limit=50, after=deep), "len"),
            ("view_page(open) 50 at offset total-60 (from end)",
             lambda: cache.view_page(ViewFilter(), offset=total - 60, limit=50, total=total),
             "len"),
            (f"view_page(type={busiest.type}, attempts) first 50",
             lambda: cache.view_page(by_type, by_attempts, limit=50), "len"),
            ("view_page(type=other, record_name) first 50",
             lambda: cache.view_page(ViewFilter(type="other"), ViewOrder("record_name"),
                                     limit=50), "len"),
            ("position(row 10,000, last_seen)",
             lambda: cache.position(ViewFilter(), ViewOrder(), near.id), "value"),
            ("affected_records(open) first page (200)",
             lambda: cache.affected_records(ViewFilter()), "len"),
            (f"affected_records(type={busiest.type}) first page",
             lambda: cache.affected_records(by_type), "len"),
            ("count(text='acme')", lambda: cache.count(text), "value"),
        ]  # fmt: skip
        print(f"{size:,} errors in the ledger; {sum(c.errors for c in types):,} open in the cache")
        print(f"{'query':<46} {'median ms':>10} {'result':>12}")
        for name, job, kind in cases:
            runs = 9 if ms_fast(name) else 3
            ms, result = await median_ms(job, runs)
            shown = result if kind == "value" else len(result)
            print(f"{name:<46} {ms:>10.2f} {shown:>12,}")
    finally:
        await cache.close()


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
