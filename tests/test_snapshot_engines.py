"""``GET /v1/snapshot`` on both engines: every error by id, with the feed's columns, as
the change feed has them (the console's first fill reads nothing else)."""

from __future__ import annotations

from pathlib import Path

import orjson
from pg_harness import demo_ledger

from tui.core.models import FEED_ROW_COLUMNS
from tui.service.db import PostgresTarget
from tui.service.ledger import Ledger
from tui.service.snapshot import snapshot_lines


async def test_the_snapshot_streams_every_row_as_the_feed_has_it(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    await demo_ledger(ledger_target, tmp_path, 120)
    ledger = Ledger(ledger_target)
    await ledger.open()
    try:
        lines = [orjson.loads(line) async for line in snapshot_lines(ledger.db, 0, 100)]
        feed, _, _ = await ledger.feed(0, 1000)
    finally:
        await ledger.close()
    header, trailer = lines[0], lines[-1]
    rows = [row for line in lines[1:-1] for row in line]
    assert header["columns"] == list(FEED_ROW_COLUMNS)
    assert [r[0] for r in rows] == sorted(r[0] for r in feed)[:100]
    assert trailer == {"end": True, "last_id": rows[-1][0], "has_more": True}
    by_id = {row[0]: row for row in feed}
    fields = FEED_ROW_COLUMNS.index("fields")
    for row in rows:  # the same values as the feed's, fields as a list
        feed_row = list(by_id[row[0]])
        assert isinstance(row[fields], list)
        assert row[:fields] == feed_row[:fields]
