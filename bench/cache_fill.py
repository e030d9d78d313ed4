"""Filling an empty console cache from the in-process service, then a second refresh.

Issue 11: first fill >= 100,000 errors/s from the embedded service (SQLite's own
executemany rate, measured in the same run, is the reference), RSS < 200 MB during the
fill and after; a later refresh moves only the changes. Prints the phases (snapshot rows
stored; secondary indexes and totals; trigram index), the same rows inserted by a bare
``executemany`` into an index-free copy of the cache's table, and the peak RSS of the
process (service and console in one) in each phase, sampled every 20 ms with psutil.

    python bench/cache_fill.py [--size N] [--no-search]

The reference runs just before and just after the fill, so a change of the machine's
load during the run shows as two different reference figures.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from pathlib import Path

import psutil
from _common import ledger, parse_size, workdir

from tui.core.models import ERROR_COLUMNS
from tui.data.cache import Cache
from tui.data.cache_schema import SCHEMA
from tui.data.client import ServiceClient
from tui.data.session import DataSession
from tui.embedded import start_embedded
from tui.service.ledger import FEED_COLUMNS


class PeakRss:
    """The largest RSS seen since the last ``take()``, sampled in a thread."""

    def __init__(self) -> None:
        self._process, self._peak, self._stop = psutil.Process(), 0, threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def take(self) -> float:
        peak = max(self._peak, self._process.memory_info().rss)
        self._peak = 0
        return peak / 2**20

    def stop(self) -> None:
        self._stop.set()


def executemany_reference(ledger_path: Path, target: Path, chunk: int = 20_000) -> float:
    """Seconds SQLite's own ``executemany`` takes to insert the ledger's rows into an
    index-free ``errors`` table like the cache's (the reading of the ledger not timed)."""
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    source = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    out = sqlite3.connect(target, isolation_level=None)
    out.execute("PRAGMA journal_mode = WAL")
    out.execute("PRAGMA synchronous = NORMAL")
    out.execute(SCHEMA.split(";")[1])  # CREATE TABLE errors
    insert = (
        f"INSERT INTO errors ({', '.join(ERROR_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(ERROR_COLUMNS))})"
    )
    spent = 0.0
    rows = source.execute(f"SELECT {FEED_COLUMNS} FROM errors ORDER BY id")
    while page := rows.fetchmany(chunk):
        started = time.perf_counter()
        out.execute("BEGIN")
        out.executemany(insert, page)
        out.execute("COMMIT")
        spent += time.perf_counter() - started
    source.close()
    out.close()
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    return spent


async def main(size: int, search_too: bool) -> None:
    ledger_path = ledger(size)
    path = workdir(size) / "fill-bench.sqlite3"
    before = executemany_reference(ledger_path, path.with_name("fill-reference.sqlite3"))
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    rss = PeakRss()
    embedded = await start_embedded(size)
    started_rss = rss.take()
    try:
        session = DataSession(
            ServiceClient(embedded.base_url, None, transport=embedded.transport),
            await Cache.open(path),
        )
        last_page: list[float] = []
        rows_rss: list[float] = [0.0]

        def on_fill(_progress: object) -> None:
            last_page.append(time.perf_counter())
            rows_rss[0] = max(rows_rss[0], rss.take())

        session.on_fill = on_fill
        try:
            started = time.perf_counter()
            result = await session.refresh()
            seconds = time.perf_counter() - started
            pages_rss = rss.take()
            indexed = time.perf_counter()
            if search_too:
                await session.build_search_index()
            search = time.perf_counter() - indexed
            search_rss = rss.take()
            rows_at = last_page[-1] - started if last_page else seconds
            started = time.perf_counter()
            again = await session.refresh()
            again_seconds = time.perf_counter() - started
        finally:
            await session.close()
    finally:
        await embedded.aclose()
        rss.stop()
    after = executemany_reference(ledger_path, path.with_name("fill-reference.sqlite3"))
    reference = (before + after) / 2
    n = result.changed
    print(f"rows:    {n:,} stored in {rows_at:.2f} s = {n / rows_at:,.0f} errors/s")
    print(
        f"         SQLite's own executemany of the same rows, before and after the fill: "
        f"{before:.2f} s and {after:.2f} s = {n / reference:,.0f}/s on average; the fill's "
        f"rows/s = {reference / rows_at:.2f}x of it "
        "(the issue's 100,000/s = 0.51x of the 195,000/s it measured)"
    )
    print(f"indexes: secondary indexes and totals {seconds - rows_at:.2f} s")
    if search_too:
        print(f"search:  trigram index {search:.2f} s")
    builds = "every build" if search_too else "the index build (no trigram index)"
    print(f"total:   {n / (seconds + search):,.0f} errors/s counting {builds}")
    print(
        f"memory:  peak RSS after start {started_rss:.0f} MB, storing rows {rows_rss[0]:.0f} "
        f"MB, building indexes {pages_rss:.0f} MB, trigram build {search_rss:.0f} MB "
        "(service and console in one process; target < 200 MB)"
    )
    print(f"refresh: {again.changed:,} rows moved in {again_seconds * 1000:.1f} ms")
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()


if __name__ == "__main__":
    no_search = "--no-search" in sys.argv
    if no_search:
        sys.argv.remove("--no-search")
    asyncio.run(main(parse_size(__doc__), not no_search))
