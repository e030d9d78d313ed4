"""Shared set-up for the benchmarks: a demo ledger and a filled console cache, built once.

Both live under ``bench/out/n<size>/`` (gitignored) and are reused by later runs:
``data/demo-ledger.sqlite3`` is the service's ledger (``SYNCHEALTH_DATA_DIR`` points at
``data/``, so the embedded service finds it) and ``cache.sqlite3`` is a console cache
filled from that service. ``SYNCHEALTH_CACHE_DIR`` points at ``cache/`` so nothing
touches the user's own directories.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_SIZE = 1_000_000


def parse_size(doc: str | None) -> int:
    """``--size N`` from the command line (default 1,000,000)."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="errors in the ledger")
    return parser.parse_args().size


def workdir(size: int) -> Path:
    """``bench/out/n<size>/``, with the synchealth data and cache dirs pointed inside it."""
    root = OUT / f"n{size}"
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "cache").mkdir(parents=True, exist_ok=True)
    os.environ["SYNCHEALTH_DATA_DIR"] = str(root / "data")
    os.environ["SYNCHEALTH_CACHE_DIR"] = str(root / "cache")
    return root


def compile_package() -> None:
    """Write the ``tui`` package's bytecode, as ``pip install`` does. This environment sets
    PYTHONDONTWRITEBYTECODE, so a console started from the work tree would compile every
    module of its own at each start (importing the console and the service, 3 runs each
    at load ~12 on 2 cores: 12.1-14.2 s without bytecode, 8.2-11.1 s with), which no
    installed console does and the empty app (site-packages only) never pays."""
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parent.parent / "tui", quiet=1)


def ledger(size: int) -> Path:
    """The demo ledger of ``size`` errors (built on first use, ~18 s at 1,000,000)."""
    from tui.embedded import LEDGER_NAME, ensure_demo_ledger

    root = workdir(size)
    path = root / "data" / LEDGER_NAME
    if not path.exists():
        started = time.perf_counter()
        ensure_demo_ledger(size, root / "data")
        print(
            f"[setup] built the {size:,}-error demo ledger in {time.perf_counter() - started:.1f} s"
        )
    asyncio.run(_causes_caught_up(path))
    return path


async def _causes_caught_up(path: Path) -> None:
    """The service's cause index and daily figures over every error, as after a first
    start's minutes: a new demo ledger has none, and the first console on it keys every
    error in the background (~100 s of a core at 1,000,000), which a bench timing keys
    meanwhile would count as the console's."""
    from datetime import UTC, datetime

    from tui.service.causes import CauseIndex
    from tui.service.ledger import Ledger

    book = Ledger(path)
    await book.open()
    try:
        started = time.perf_counter()
        done = await CauseIndex(book, lambda: datetime.now(UTC)).catch_up()
        if done:
            took = time.perf_counter() - started
            print(f"[setup] the cause index caught up on {done:,} errors in {took:.1f} s")
    finally:
        await book.close()


async def fill(cache_path: Path, size: int) -> tuple[Any, float]:
    """Fill ``cache_path`` from the embedded service on the demo ledger: (result, seconds).

    The embedded service is started before the clock starts, so only the transfer
    (change feed pages, cache writes, index and totals build) is timed. The text
    filter's trigram index is built afterwards, as the console does, untimed here
    (``cache_fill.py`` times it).
    """
    from tui.data.cache import Cache
    from tui.data.client import ServiceClient
    from tui.data.session import DataSession
    from tui.embedded import start_embedded

    ledger(size)
    embedded = await start_embedded(size)
    try:
        cache = await Cache.open(cache_path)
        client = ServiceClient(embedded.base_url, None, transport=embedded.transport)
        session = DataSession(client, cache)
        try:
            started = time.perf_counter()
            result = await session.refresh()
            seconds = time.perf_counter() - started
            await session.build_search_index()
        finally:
            await session.close()
    finally:
        await embedded.aclose()
    if not result.online:
        raise SystemExit(f"the fill failed: {result.error}")
    return result, seconds


async def filled_cache(size: int) -> Path:
    """The console cache filled from the ``size``-error ledger (filled on first use)."""
    root = workdir(size)
    path = root / "cache.sqlite3"
    from tui.data.cache_schema import SCHEMA_VERSION

    done = root / f"cache.filled-v{SCHEMA_VERSION}"
    if not done.exists():
        for leftover in root.glob("cache.sqlite3*"):
            leftover.unlink()
        result, seconds = await fill(path, size)
        print(f"[setup] filled the cache with {result.changed:,} rows in {seconds:.1f} s")
        done.touch()
    return path


async def median_ms(job: Callable[[], Awaitable[Any]], runs: int = 7) -> tuple[float, Any]:
    """Median ms of ``runs`` awaits of ``job()`` (after one warm-up), and its result."""
    result = await job()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await job()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def executemany_reference(
    ledger_path: Path, target: Path, chunk: int = 20_000, limit: int | None = None
) -> float:
    """Seconds SQLite's own ``executemany`` takes to insert the ledger's rows (the first
    ``limit``, else all) into an index-free ``errors`` table like the cache's, ``chunk``
    rows per transaction (the reading of the ledger not timed)."""
    import sqlite3

    from tui.core.models import ERROR_COLUMNS
    from tui.data.cache_schema import SCHEMA
    from tui.service.ledger import FEED_COLUMNS

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
    rows = source.execute(
        f"SELECT {FEED_COLUMNS} FROM errors ORDER BY id"
        + ("" if limit is None else f" LIMIT {int(limit)}")
    )
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


def rss_mb() -> float:
    """This process's resident set size in MB."""
    try:
        import psutil
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise
    return psutil.Process().memory_info().rss / 2**20
