"""Filling an empty console cache from the in-process service, then a second refresh.

Target (DESIGN.md section 7): >= 50,000 errors/s; a later refresh moves only the changes.

    python bench/cache_fill.py [--size N]
"""

from __future__ import annotations

import asyncio
import time

from _common import fill, ledger, parse_size, workdir

from tui.data.cache import Cache
from tui.data.client import ServiceClient
from tui.data.embedded import start_embedded
from tui.data.session import DataSession


async def main(size: int) -> None:
    ledger(size)
    path = workdir(size) / "fill-bench.sqlite3"
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    result, seconds = await fill(path, size)
    print(
        f"fill:    {result.changed:,} rows in {seconds:.2f} s = "
        f"{result.changed / seconds:,.0f} errors/s (target >= 50,000)"
    )

    embedded = await start_embedded(size)
    try:
        session = DataSession(
            ServiceClient(embedded.base_url, None, transport=embedded.transport),
            await Cache.open(path),
        )
        try:
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
