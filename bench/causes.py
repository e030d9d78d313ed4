"""Causes at scale: indexing a ledger's errors into causes, and one ``/v1/causes`` page.

Prints, on a copy of the demo ledger: the first full index (``CauseIndex.catch_up``
from seq 0, errors/s), a catch-up after 1,000 errors changed, and the median time of a
causes page (50 causes) against a reference measured in the same run on the same file:
``SELECT count(*) FROM errors WHERE status = 'open'`` (the cheapest full look at the
open errors). No time is asserted.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import ledger, median_ms, parse_size

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
            print(f"first index: {indexed:,} errors in {first:.1f} s ({indexed / first:,.0f}/s)")
            async with book.transaction() as conn:  # 1,000 errors change (seq moves on)
                await conn.execute(
                    "UPDATE errors SET seq = seq + 10000000, attempts = attempts + 1 "
                    "WHERE id IN (SELECT id FROM errors ORDER BY id LIMIT 1000)"
                )
            started = time.perf_counter()
            again = await index.catch_up()
            print(
                f"catch-up after {again:,} changes: {(time.perf_counter() - started) * 1000:.0f} ms"
            )

            async def reference() -> None:
                async with book.reader.execute(
                    "SELECT count(*) FROM errors WHERE status = 'open'"
                ) as cur:
                    await cur.fetchone()

            async def page() -> None:
                await index.page(50, 0)

            ref, _ = await median_ms(reference, runs=5)
            took, _ = await median_ms(page, runs=5)
            _, total = await index.page(50, 0)
            print(f"reference (count of open errors): {ref:.0f} ms")
            print(
                f"causes page (50 of {total:,} causes): {took:.0f} ms = {took / ref:.3f}x reference"
            )
        finally:
            await book.close()


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
