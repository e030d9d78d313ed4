"""Where a first fill's time goes, part by part, on the first N rows of the demo ledger.

For chunks of several sizes, in one run: the service answering ``GET /v1/snapshot``
(the request through the in-process transport, SQLite writing the JSON), the console
reading its header and trailer (``parse_snapshot``), decoding the rows (``ChunkRows``:
orjson per page line, column order and checks, ``fields`` joined) and storing them
(``Cache.snapshot_store``: aiosqlite + executemany into the index-free table). The
console's fill decodes inside the store, in the writer's thread; here the two are
timed apart, one after the other. The reference is SQLite's own ``executemany`` of the same
rows (read from the ledger as tuples, reading untimed) into a bare table, 20,000 to a
transaction as in ``cache_fill.py``, in the same run; each part is printed as a ratio
of it. Chunks of 5,000 are stored one and four to a transaction (the console's fill:
``tui.data.fill.CHUNKS_PER_COMMIT``).

    python bench/fill_parts.py [--size N] [--rows 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from _common import DEFAULT_SIZE, executemany_reference, ledger, workdir

from tui.data.cache import Cache
from tui.data.fill import ChunkRows
from tui.data.snapshot import parse_snapshot
from tui.embedded import start_embedded


async def parts(
    embedded: object, target: Path, rows: int, chunk: int, per_commit: int
) -> dict[str, float]:
    """Seconds of each part of a fill of ``rows`` rows in chunks of ``chunk``, ``per_commit``
    chunks to a transaction, run one after another (no overlap, unlike the console's fill)."""
    import httpx

    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    cache = await Cache.open(target)
    http = httpx.AsyncClient(
        transport=embedded.transport,  # type: ignore[attr-defined]
        base_url=embedded.base_url,  # type: ignore[attr-defined]
    )
    spent = dict.fromkeys(("service", "trailer", "rows", "store"), 0.0)
    after, stored = 0, 0
    try:
        async with cache.snapshot_store(per_commit) as store:
            while stored < rows:
                t0 = time.perf_counter()
                answer = await http.get("/v1/snapshot", params={"after": after, "limit": chunk})
                body = answer.content
                t1 = time.perf_counter()
                got = parse_snapshot(body)
                t2 = time.perf_counter()
                ordered = list(ChunkRows(got))
                t3 = time.perf_counter()
                last = not got.has_more or stored + len(ordered) >= rows
                await store.put(ordered, got.last_id, got.cursor, done=last)
                t4 = time.perf_counter()
                for name, took in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    spent[name] += took
                stored += len(ordered)
                after = got.last_id
                if last:
                    break
    finally:
        await http.aclose()
        await cache.close()
        for leftover in target.parent.glob(target.name + "*"):
            leftover.unlink()
    return spent


async def main(size: int, rows: int) -> None:
    ledger_path = ledger(size)
    root = workdir(size)
    embedded = await start_embedded(size)
    try:
        for chunk, per_commit in ((2_000, 1), (5_000, 1), (5_000, 4), (20_000, 1)):
            ref = executemany_reference(ledger_path, root / "parts-reference.sqlite3", limit=rows)
            got = await parts(embedded, root / "parts.sqlite3", rows, chunk, per_commit)
            total = sum(got.values())
            print(
                f"chunk {chunk:>6,}, {per_commit} a commit: reference executemany {ref:.2f} s "
                f"({rows / ref:,.0f}/s); all parts {total:.2f} s = {ref / total:.2f}x its rate"
            )
            for name, seconds in got.items():
                print(f"    {name:<8} {seconds:6.2f} s = {seconds / ref:5.2f}x the reference")
    finally:
        await embedded.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    asyncio.run(main(args.size, args.rows))
