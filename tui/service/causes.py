"""Causes in the service: a cause key kept per error, and ``GET /v1/causes``.

The key (tui/data/causes.py) is kept in ``error_causes``, brought up to date from the
change feed's ``seq``: every change to an error gives it a new seq, so
:meth:`CauseIndex.catch_up` only reads the errors changed since it last ran (the
highest seq done is ``meta.causes_seq``). The service runs it after every report and
resync and before answering ``/v1/causes``; a ledger from before causes existed is
indexed by the first run, in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tui.data.causes import cause_key, cause_template
from tui.service.ledger import Ledger, iso

BATCH = 5000
PAGE_MAX = 500


@dataclass(frozen=True, slots=True)
class Cause:
    cause: str
    type: str
    subtype: str
    sf_object: str
    open_errors: int
    records: int
    first_seen: str
    last_seen: str
    template: str
    sample_message: str
    sample_error_id: int
    new_24h: int


class CauseIndex:
    def __init__(self, ledger: Ledger, clock: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._clock = clock

    async def catch_up(self) -> int:
        """Compute the cause of every error changed since the last run; how many."""
        done = 0
        while True:
            since = int(await self._ledger.meta("causes_seq") or 0)
            async with self._ledger.reader.execute(
                "SELECT id, seq, subtype, sf_object, message FROM errors WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (since, BATCH),
            ) as cur:
                rows = await cur.fetchall()
            if not rows:
                return done
            async with self._ledger.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO error_causes(error_id, cause, seq) VALUES (?, ?, ?) "
                    "ON CONFLICT(error_id) DO UPDATE SET cause = excluded.cause, "
                    "seq = excluded.seq",
                    [(i, cause_key(sub, obj, msg), seq) for i, seq, sub, obj, msg in rows],
                )
                await conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('causes_seq', ?)",
                    (str(rows[-1][1]),),
                )
            done += len(rows)

    async def page(self, limit: int, offset: int) -> tuple[list[Cause], int]:
        """Causes with open errors, most open errors first; and how many there are."""
        await self.catch_up()
        query = (
            "SELECT c.cause, e.type, e.subtype, e.sf_object, count(*), "
            "count(DISTINCT e.record_id), min(e.first_seen), max(e.last_seen), min(e.id), "
            "sum(e.first_seen >= ?) "
            "FROM error_causes c JOIN errors e ON e.id = c.error_id WHERE e.status = 'open' "
            "GROUP BY c.cause ORDER BY count(*) DESC, c.cause"
        )
        day_ago = iso(self._clock() - timedelta(hours=24))
        async with self._ledger.reader.execute(query, (day_ago,)) as cur:
            groups = await cur.fetchall()
        chosen = groups[offset : offset + limit]
        samples = await self._messages([row[8] for row in chosen])
        causes = [
            Cause(key, type_, sub, obj, n, records, first, last,
                  cause_template(samples[sample]), samples[sample], sample, new)
            for key, type_, sub, obj, n, records, first, last, sample, new in chosen
        ]  # fmt: skip
        return causes, len(groups)

    async def open_error_ids(self, cause: str) -> list[int] | None:
        """The open errors of ``cause``, by id; None when no error has that cause."""
        await self.catch_up()
        async with self._ledger.reader.execute(
            "SELECT e.id, e.status FROM error_causes c JOIN errors e ON e.id = c.error_id "
            "WHERE c.cause = ? ORDER BY e.id",
            (cause,),
        ) as cur:
            rows = await cur.fetchall()
        if not rows:
            return None
        return [error_id for error_id, status in rows if status == "open"]

    async def _messages(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self._ledger.reader.execute(
            f"SELECT id, message FROM errors WHERE id IN ({marks})", ids
        ) as cur:
            return dict(await cur.fetchall())
