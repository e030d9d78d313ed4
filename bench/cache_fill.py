"""Filling an empty console cache from the in-process service, then a second refresh.

Target (DESIGN.md section 7): >= 50,000 errors/s; issue 11: >= 100,000 errors/s, RSS
< 200 MB during the fill; a later refresh moves only the changes. Prints the phases: the
change feed pages stored, the index/totals build, the trigram index build, peak RSS.

    python bench/cache_fill.py [--size N]
"""

from __future__ import annotations

import asyncio
import resource
import time

from _common import ledger, parse_size, workdir

from tui.data.cache import Cache
from tui.data.client import ServiceClient
from tui.data.session import DataSession
from tui.embedded import start_embedded


async def main(size: int) -> None:
    ledger(size)
    path = workdir(size) / "fill-bench.sqlite3"
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    embedded = await start_embedded(size)
    try:
        session = DataSession(
            ServiceClient(embedded.base_url, None, transport=embedded.transport),
            await Cache.open(path),
        )
        last_page: list[float] = []
        session.on_fill = lambda _progress: last_page.append(time.perf_counter())
        try:
            started = time.perf_counter()
            result = await session.refresh()
            seconds = time.perf_counter() - started
            indexed = time.perf_counter()
            await session.build_search_index()
            search = time.perf_counter() - indexed
            pages = last_page[-1] - started if last_page else seconds
            print(
                f"fill:    {result.changed:,} rows in {seconds:.2f} s = "
                f"{result.changed / seconds:,.0f} errors/s (target >= 100,000); of which "
                f"pages stored {pages:.2f} s ({result.changed / pages:,.0f}/s), "
                f"indexes + totals {seconds - pages:.2f} s"
            )
            print(f"search:  trigram index of {result.changed:,} rows in {search:.2f} s")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"memory:  peak RSS {peak:.0f} MB (service and console in one process)")
            started = time.perf_counter()
            again = await session.refresh()
            seconds = time.perf_counter() - started
        finally:
            await session.close()
    finally:
        await embedded.aclose()
    print(
        f"refresh: {again.changed:,} rows moved in {seconds * 1000:.1f} ms (online={again.online})"
    )
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
