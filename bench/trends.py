"""Daily figures at scale: counting a ledger's history once, keeping it, reading it.

Prints, on a copy of the demo ledger: the first catch-up (cause keys, then the backfill
of the daily figures from every error and attempt), the backfill alone, a catch-up
after 1,000 errors changed (figures moved change by change), and the median time of
``GET /v1/trends`` pages (400 days of all errors, of one type, of one cause; the cards'
30 days per type) against a reference measured in the same run on the same file:
``SELECT count(*) FROM errors`` (a bare SQLite count). No time is asserted.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import ledger, median_ms, parse_size

from tui.service import trends
from tui.service.causes import CauseIndex
from tui.service.ledger import Ledger


async def main(size: int) -> None:
    source = ledger(size)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copyfile(source, copy)
        book = Ledger(copy)
        await book.open()
        try:
            index = CauseIndex(book, lambda: datetime.now(UTC))
            started = time.perf_counter()
            indexed = await index.catch_up()
            first = time.perf_counter() - started
            print(f"first catch-up with the backfill: {indexed:,} errors in {first:.1f} s")
            started = time.perf_counter()
            async with book.transaction() as conn:
                await trends.backfill(conn)
            print(f"backfill alone: {time.perf_counter() - started:.1f} s")
            async with book.transaction() as conn:  # 1,000 errors resolve (seq moves on)
                await conn.execute(
                    "UPDATE errors SET seq = seq + 10000000, status = 'resolved' "
                    "WHERE id IN (SELECT id FROM errors WHERE status = 'open' ORDER BY id "
                    "LIMIT 1000)"
                )
            started = time.perf_counter()
            again = await index.catch_up()
            took = (time.perf_counter() - started) * 1000
            print(f"catch-up after {again:,} changes (causes and figures): {took:.0f} ms")

            reader = book.reader
            async with reader.execute("SELECT max(substr(last_seen, 1, 10)) FROM errors") as cur:
                (newest,) = await cur.fetchone()  # type: ignore[misc]
            end = datetime.fromisoformat(newest).date()
            async with reader.execute(
                "SELECT cause, type FROM cause_totals ORDER BY open_errors DESC LIMIT 1"
            ) as cur:
                cause, type_ = await cur.fetchone()  # type: ignore[misc]

            async def reference() -> None:
                async with reader.execute("SELECT count(*) FROM errors") as cur:
                    await cur.fetchone()

            ref, _ = await median_ms(reference, runs=5)
            print(f"reference (SELECT count(*) FROM errors): {ref:.1f} ms")
            pages = {
                "400 days, all errors": lambda: trends.trend_page(reader, end, 400, None, None),
                f"400 days, type {type_}": lambda: trends.trend_page(reader, end, 400, type_, None),
                "400 days, one cause": lambda: trends.trend_page(reader, end, 400, None, cause),
                "30 days per type (cards)": lambda: trends.type_trends(reader, end, 30),
            }
            for name, job in pages.items():
                took, _ = await median_ms(job, runs=5)
                print(f"trends page ({name}): {took:.1f} ms = {took / ref:.4f}x reference")
        finally:
            await book.close()


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
