"""The grid narrowed to one cause (issue 15: enter in the causes view), on a copy of the
filled console cache.

The busiest cause (most open errors of one subtype and object) is keyed once in the
console (``Cache.key_causes``: the rows the feed brought without a key), then its view
is counted and paged along the cause index. The reference, in the same run on the same
file: the narrowing the console had before, the subtype with a text of the message
(``count`` and first page of ``ViewFilter(subtype=..., text=...)``).

    python bench/cause_view.py [--size N]
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time

from _common import filled_cache, median_ms, parse_size, workdir

from tui.core.causes import cause_key, cause_template
from tui.data.cache import Cache, ViewFilter
from tui.data.values import CauseRef


async def main(size: int) -> None:
    source = await filled_cache(size)
    path = workdir(size) / "cause-view.sqlite3"
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sub, obj, message, n = conn.execute(
        "SELECT subtype, sf_object, min(message), count(*) AS n FROM errors "
        "WHERE status = 'open' GROUP BY subtype, sf_object ORDER BY n DESC LIMIT 1"
    ).fetchone()
    conn.close()
    shutil.copyfile(source, path)
    shape = cause_template(message).splitlines()[0]
    ref = CauseRef(cause_key(sub, obj, message), sub, obj, shape)
    by_cause = ViewFilter(type=sub.split(".")[0], cause=ref)
    old_way = ViewFilter(subtype=sub, text=shape.split("<")[0].strip()[:40])
    cache = await Cache.open(path)
    try:
        started = time.perf_counter()
        keyed = await cache.key_causes(ref)
        first_key = (time.perf_counter() - started) * 1000
        again_ms, _ = await median_ms(lambda: cache.key_causes(ref), 5)
        count_ms, count = await median_ms(lambda: cache.count(by_cause), 5)
        page_ms, _ = await median_ms(lambda: cache.view_page(by_cause, limit=50), 5)
        ref_count_ms, ref_count = await median_ms(lambda: cache.count(old_way), 5)
        ref_page_ms, _ = await median_ms(lambda: cache.view_page(old_way, limit=50), 5)
    finally:
        await cache.close()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    print(f"cause: {obj} {sub} “{shape}”: {count:,} open errors ({n:,} open in subtype+object)")
    print(
        f"reference: subtype + text {old_way.text!r}: count {ref_count:,} in "
        f"{ref_count_ms:.1f} ms, first page of 50 in {ref_page_ms:.1f} ms"
    )
    print(
        f"first keying of the cause's rows: {keyed:,} rows in {first_key:,.0f} ms "
        f"= {first_key / ref_count_ms:.1f}x the reference count (once per row the feed brings)"
    )
    print(f"keying again (nothing to key): {again_ms:.2f} ms = {again_ms / ref_count_ms:.3f}x")
    print(f"count of the cause: {count_ms:.2f} ms = {count_ms / ref_count_ms:.3f}x the reference")
    print(f"first page of 50: {page_ms:.2f} ms = {page_ms / ref_page_ms:.3f}x the reference page")


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
