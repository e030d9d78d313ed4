"""The first cause index as the console feels it: how long its event loop is held.

The embedded service runs on the console's event loop, so a catch-up of the cause index
that holds the loop holds every key. On a copy of the demo ledger with its causes and
daily figures cleared (a ledger from before causes, as a first start builds), this runs
``CauseIndex.catch_up`` from seq 0 while a ticker on the same loop asks to wake every
10 ms and records how late each wake came; the reference is the same ticker on the same
loop with nothing else running, in the same run. ``--before DIR``: the same in a
subprocess on the ``tui`` package of DIR (an export of an earlier commit), first.

``--resume``: the first catch-up is stopped half way first (a console quit a minute into
a new demo ledger), then the rest is timed.

    python bench/catch_up_loop.py [--size 200000] [--before DIR] [--resume]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TICK = 0.010
CLEARED = ("error_causes", "cause_totals", "cause_records", "trend_days")
CLEARED_META = ("causes_seq", "causes_summed", "trends_ready", "trends_pruned")


async def lateness(until: asyncio.Future[object] | None, seconds: float = 2.0) -> list[float]:
    """How late (s) each 10 ms wake came, until ``until`` is done (or for ``seconds``)."""
    late: list[float] = []
    ends = time.perf_counter() + seconds
    while (until is not None and not until.done()) or (
        until is None and time.perf_counter() < ends
    ):
        asked = time.perf_counter()
        await asyncio.sleep(TICK)
        late.append(time.perf_counter() - asked - TICK)
    return late


def figures(late: list[float]) -> str:
    ms = sorted(x * 1000 for x in late)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):6.1f}  p99 {p99:7.1f}  max {ms[-1]:7.1f} ms"


async def stopped_half_way(index: Any, ledger: Path) -> int:
    """A first catch-up cancelled once half the errors are keyed, as a console quit a
    minute into a new demo ledger leaves it; the seq it had reached."""
    with sqlite3.connect(ledger) as conn:
        (last,) = conn.execute("SELECT max(seq) FROM errors").fetchone()
    job = asyncio.ensure_future(index.catch_up())
    reached = 0
    while reached < last // 2 and not job.done():
        await asyncio.sleep(0.2)
        with sqlite3.connect(ledger) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'causes_seq'").fetchone()
        reached = int(row[0]) if row else 0
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job
    return reached


async def run(source: Path, resume: bool) -> None:
    from datetime import UTC, datetime

    from tui.service.causes import CauseIndex
    from tui.service.ledger import Ledger

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copyfile(source, copy)
        with sqlite3.connect(copy) as conn:  # a ledger from before causes
            for table in CLEARED:
                conn.execute(f"DELETE FROM {table}")
            conn.execute(
                f"DELETE FROM meta WHERE key IN ({','.join('?' * len(CLEARED_META))})",
                CLEARED_META,
            )
        book = Ledger(copy)
        await book.open()
        try:
            idle = await lateness(None)
            index = CauseIndex(book, lambda: datetime.now(UTC))
            if resume:
                print(f"  stopped at {await stopped_half_way(index, copy):,} errors")
            started = time.perf_counter()
            job = asyncio.ensure_future(index.catch_up())
            busy = await lateness(job)
            took = time.perf_counter() - started
            what = "the rest of the first catch-up" if resume else "first catch-up"
            print(f"  {what}: {await job:,} errors in {took:.1f} s")
            print(f"  ticker, idle loop:   {figures(idle)}")
            print(f"  ticker, catching up: {figures(busy)}")
        finally:
            await book.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000, help="errors in the demo ledger")
    parser.add_argument("--before", type=Path, help="an export of an earlier commit, run first")
    parser.add_argument("--resume", action="store_true",
                        help="stop the first catch-up half way, then time the rest")  # fmt: skip
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.code is not None:
        sys.path.insert(0, str(args.code))
    from _common import ledger

    source = ledger(args.size)
    if args.before is not None:
        print(f"before ({args.before}):", flush=True)
        here = [sys.executable, __file__, "--size", str(args.size), "--code", str(args.before)]
        here += ["--resume"] if args.resume else []
        subprocess.run(here, check=True)
    if args.code is None:
        print("now:", flush=True)
    asyncio.run(run(source, args.resume))


if __name__ == "__main__":
    main()
