"""Alert mode at scale: what one notifier round costs when it compares the causes.

Prints, on a copy of the demo ledger with its causes indexed: entering alert mode (the
baseline that records every cause), a quiet round (nothing changed), and a round
while the newest errors fall in the rule's window (each cause with recent errors
counted), each the median of 5 in ms, against a reference measured in the same run
on the same file: ``SELECT count(*) FROM errors WHERE status = 'open'``. No time is
asserted.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ledger, median_ms, parse_size

from tui.core.notify_models import NotificationSettings
from tui.service.causes import CauseIndex
from tui.service.ledger import Ledger
from tui.service.notify.cause_alerts import CauseAlerts, detect


async def main(size: int) -> None:
    source = ledger(size)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copyfile(source, copy)
        book = Ledger(copy)
        await book.open()
        try:
            await CauseIndex(book, lambda: datetime.now(UTC)).catch_up()
            async with book.reader.execute("SELECT max(first_seen) FROM errors") as cur:
                (newest,) = await cur.fetchone()  # type: ignore[misc]
            quiet = datetime.now(UTC) + timedelta(days=1)  # no error in any window
            busy = datetime.fromisoformat(newest) + timedelta(minutes=1)
            settings = NotificationSettings(frequency="alerts", alert_minutes=60)
            alerts = CauseAlerts()

            async def reference() -> None:
                async with book.reader.execute(
                    "SELECT count(*) FROM errors WHERE status = 'open'"
                ) as cur:
                    await cur.fetchone()

            async def baseline() -> None:
                async with book.transaction() as conn:
                    await CauseAlerts.forget(conn)
                    await alerts.baseline(conn, quiet, settings)

            async def round_at(now: datetime) -> None:
                async with book.transaction() as conn:
                    await detect(conn, now, settings)

            ref, _ = await median_ms(reference, runs=5)
            print(f"reference (count of open errors): {ref:.1f} ms")
            took, _ = await median_ms(baseline, runs=5)
            async with book.reader.execute("SELECT count(*) FROM notify_causes") as cur:
                (causes,) = await cur.fetchone()  # type: ignore[misc]
            print(f"entering alert mode ({causes:,} causes): {took:.1f} ms = {took / ref:.3f}x")
            took, _ = await median_ms(lambda: round_at(quiet), runs=5)
            print(f"a quiet round: {took:.1f} ms = {took / ref:.3f}x reference")
            async with book.reader.execute(
                "SELECT count(*), count(DISTINCT cause) FROM error_causes WHERE first_seen >= ?",
                ((busy - timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),),
            ) as cur:
                (recent, recent_causes) = await cur.fetchone()  # type: ignore[misc]
            took, _ = await median_ms(lambda: round_at(busy), runs=5)
            print(
                f"a round with {recent:,} errors of {recent_causes:,} causes in the window: "
                f"{took:.1f} ms = {took / ref:.3f}x reference"
            )
        finally:
            await book.close()


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
