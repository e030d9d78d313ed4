"""Causes in the service: a cause key kept per error, totals per cause, ``GET /v1/causes``.

The key (tui/core/causes.py) is kept in ``error_causes``, brought up to date from the
change feed's ``seq``: every change to an error gives it a new seq, so
:meth:`CauseIndex.catch_up` only reads the errors changed since it last ran (the
highest seq done is ``meta.causes_seq``). Each changed error moves the totals of its
old and new cause by one (``cause_totals``, and ``cause_records`` for the records), so a
page of causes reads a few rows whatever the ledger's size. A ledger from before causes
existed is indexed by the first run, in batches, and its totals are summed once. The
service runs the catch-up after every report and resync and before answering.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tui.core.causes import cause_key, cause_template
from tui.service import trends
from tui.service.db import Connection, WriteLock, upsert
from tui.service.ledger import SET_META, Ledger, iso

BATCH = 5000
#: ``meta`` key set once the first index's totals are summed.
SUMMED = "causes_summed"
#: A cause seen again keeps its earliest first_seen and sample, its latest last_seen
#: (CASE, not min()/max(): SQLite has no LEAST, PostgreSQL's min() is an aggregate only).
_KEEP_FIRST = ", ".join(
    f"{c} = CASE WHEN excluded.{c} {op} cause_totals.{c} "
    f"THEN excluded.{c} ELSE cause_totals.{c} END"
    for c, op in (("first_seen", "<"), ("last_seen", ">"), ("sample_error_id", "<"))
)
_SET_CAUSE = upsert(
    "error_causes", ("error_id", "cause", "seq", "open", "record_id", "first_seen"), ("error_id",)
)
PAGE_MAX = 500
_CHANGED = (
    "SELECT id, seq, type, subtype, sf_object, message, status, record_id, first_seen, "
    "last_seen FROM errors WHERE seq > ? ORDER BY seq LIMIT ?"
)


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
        self._one = asyncio.Lock()

    async def catch_up(self) -> int:
        """Bring causes and totals up to every error changed since the last run; how many.

        Under the causes lock alone (tui/service/db/base.py, ``WriteLock``): it writes
        only the cause index's tables and reads the errors by seq, which commit in
        order, so ingest need not wait for it. The first run sums totals from the
        errors themselves, so it holds the ledger's lock as well.

        One catch-up at a time in a process, and the keys are made under the lock once
        the rows are known to be this run's: every report runs a catch-up, and when
        each made the keys of the same rows before finding that another had done them,
        N reports in flight cost N times the work (3 replicas, 30 reports in flight:
        the catch-up was 60% of a replica's CPU, bench/README.md).
        """
        async with self._one:
            return await self._catch_up()

    async def _catch_up(self) -> int:
        done = 0
        first_run = await self._first_index()
        while True:
            since = int(await self._ledger.meta("causes_seq") or 0)
            async with self._ledger.reader.execute(_CHANGED, (since, BATCH)) as cur:
                rows = list(await cur.fetchall())
            if not rows:
                break
            async with self._ledger.transaction(("causes",)) as conn:
                if int(await self._ledger.meta("causes_seq", conn) or 0) != since:
                    continue  # another replica's catch-up did these rows meanwhile
                # in a thread: a batch's keys are ~0.2 s of Python, which would hold the
                # loop (the embedded service shares the console's) for all of it
                keys = await asyncio.to_thread(_keys_of, rows)
                if first_run:
                    await self._write_keys(conn, rows, keys)
                else:
                    # Read in the transaction: a backfill may have just been written.
                    ready = await self._ledger.meta("trends_ready", conn) == trends.COUNTED
                    await self._apply_changes(conn, rows, keys, ready)
                await conn.execute(
                    SET_META,
                    ("causes_seq", str(rows[-1][1])),
                )
            done += len(rows)
        if first_run:
            async with self._ledger.transaction(("ledger", "causes")) as conn:
                await _sum_totals(conn)
                await conn.execute(SET_META, (SUMMED, "1"))
        await self._trends_kept(await self._ledger.meta("trends_ready") == trends.COUNTED)
        return done

    async def _first_index(self) -> bool:
        """Whether this run is (or goes on with) the first index, which writes keys alone
        and sums the totals at its end. A first index stopped half way (the console quit
        a minute into a new demo ledger) goes on as one: taking the rest change by change
        cost 50 times as much (1,000,000 errors: ~550 errors/s, against ~10,000/s).
        Until the totals are summed the daily figures are not counted either, so they
        are counted from the errors afterwards in both cases."""
        if await self._ledger.meta(SUMMED) == "1":
            return False
        if int(await self._ledger.meta("causes_seq") or 0) == 0:
            return True
        return await self._ledger.meta("trends_ready") != trends.COUNTED

    async def _trends_kept(self, ready: bool) -> None:
        """Count the figures of a ledger that has none yet; prune them once a day."""
        today = self._clock().date()
        if ready and await self._ledger.meta("trends_pruned") == today.isoformat():
            return
        # a backfill counts the errors themselves: no ledger write may land meanwhile
        locks: tuple[WriteLock, ...] = ("causes",) if ready else ("ledger", "causes")
        async with self._ledger.transaction(locks) as conn:
            if not ready:
                done = await self._ledger.meta("causes_seq", conn)
                async with conn.execute("SELECT COALESCE(MAX(seq), 0) FROM errors") as cur:
                    (last,) = await cur.fetchone()  # type: ignore[misc]
                if int(done or 0) != last:
                    return  # an error changed since: the next catch-up counts them all
                await trends.backfill(conn)
            await trends.prune(conn, today)
            await conn.executemany(
                SET_META,
                [("trends_ready", trends.COUNTED), ("trends_pruned", today.isoformat())],
            )

    @staticmethod
    async def _write_keys(conn: Connection, rows: Sequence[Any], keys: Sequence[str]) -> None:
        await conn.insert_rows(
            _SET_CAUSE,
            [
                (i, cause, seq, trends.state_of(status), rec, first)
                for (i, seq, _, _, _, _, status, rec, first, _), cause in zip(
                    rows, keys, strict=True
                )
            ],
        )

    async def _apply_changes(
        self, conn: Connection, rows: Sequence[Any], keys: Sequence[str], count_trends: bool
    ) -> None:
        """Write the new keys, move the totals of the old and new causes and (once they
        are counted) the daily figures."""
        ids = [row[0] for row in rows]
        marks = ",".join("?" * len(ids))
        async with conn.execute(
            f"SELECT error_id, cause, open, record_id FROM error_causes WHERE error_id IN "
            f"({marks})",
            ids,
        ) as cur:
            before = {r[0]: r[1:] for r in await cur.fetchall()}
        opened: Counter[str] = Counter()
        per_record: Counter[tuple[str, str]] = Counter()
        seen: dict[str, tuple[Any, ...]] = {}
        tally = trends.TrendTally()
        today = self._clock().date().isoformat()
        old_types = (
            await _types_of(conn, {old[0] for old in before.values()}) if count_trends else {}
        )
        for (i, _, type_, sub, obj, _, status, rec, first, last), cause in zip(
            rows, keys, strict=True
        ):
            old = before.get(i)
            if count_trends:
                tally.change(
                    None
                    if old is None
                    else trends.ErrorState(old_types.get(old[0], type_), old[0], old[1]),
                    trends.ErrorState(type_, cause, trends.state_of(status)),
                    first[:10],
                    last[:10],
                    today,
                )
            if old is not None and old[1] == trends.OPEN:
                opened[old[0]] -= 1
                per_record[(old[0], old[2])] -= 1
            if status == "open":
                opened[cause] += 1
                per_record[(cause, rec)] += 1
            known = seen.get(cause)
            seen[cause] = (
                type_, sub, obj,
                min(first, known[3]) if known else first,
                max(last, known[4]) if known else last,
                min(i, known[5]) if known else i,
            )  # fmt: skip
        await self._write_keys(conn, rows, keys)
        await tally.write(conn)
        records = await _move_records(conn, per_record)
        await conn.insert_rows(
            "INSERT INTO cause_totals(cause, type, subtype, sf_object, open_errors, records, "
            "first_seen, last_seen, sample_error_id) VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?) "
            f"ON CONFLICT(cause) DO UPDATE SET {_KEEP_FIRST}",
            [(cause, *facts) for cause, facts in seen.items()],
        )
        await conn.executemany(
            "UPDATE cause_totals SET open_errors = open_errors + ?, records = records + ? "
            "WHERE cause = ?",
            [(opened[c], records[c], c) for c in set(opened) | set(records)],
        )

    async def page(self, limit: int, offset: int) -> tuple[list[Cause], int]:
        """Causes with open errors, most open errors first; and how many there are."""
        await self.catch_up()
        reader = self._ledger.reader
        async with reader.execute("SELECT count(*) FROM cause_totals WHERE open_errors > 0") as cur:
            (total,) = await cur.fetchone()  # type: ignore[misc]
        async with reader.execute(
            "SELECT cause, type, subtype, sf_object, open_errors, records, first_seen, "
            "last_seen, sample_error_id FROM cause_totals WHERE open_errors > 0 "
            "ORDER BY open_errors DESC, cause LIMIT ? OFFSET ?",
            (limit, offset),
        ) as cur:
            chosen = await cur.fetchall()
        samples = await self._messages([row[8] for row in chosen])
        day_ago = iso(self._clock() - timedelta(hours=24))
        causes = []
        for key, type_, sub, obj, n, records, first, last, sample in chosen:
            async with reader.execute(
                "SELECT count(*) FROM error_causes WHERE cause = ? AND open = 1 "
                "AND first_seen >= ?",
                (key, day_ago),
            ) as cur:
                (new,) = await cur.fetchone()  # type: ignore[misc]
            message = samples.get(sample, "")
            causes.append(
                Cause(key, type_, sub, obj, n, records, first, last,
                      cause_template(message), message, sample, new)
            )  # fmt: skip
        return causes, total

    async def open_error_ids(self, cause: str) -> list[int] | None:
        """The open errors of ``cause``, by id; None when no error has that cause."""
        await self.catch_up()
        async with self._ledger.reader.execute(
            "SELECT error_id, open FROM error_causes WHERE cause = ? ORDER BY error_id",
            (cause,),
        ) as cur:
            rows = await cur.fetchall()
        if not rows:
            return None
        return [error_id for error_id, state in rows if state == trends.OPEN]

    async def _messages(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self._ledger.reader.execute(
            f"SELECT id, message FROM errors WHERE id IN ({marks})", ids
        ) as cur:
            return dict(await cur.fetchall())


def _keys_of(rows: Sequence[Any]) -> list[str]:
    return [cause_key(sub, obj, msg) for _, _, _, sub, obj, msg, *_ in rows]


async def _types_of(conn: Connection, causes: set[str]) -> dict[str, str]:
    """The type of each of ``causes`` (the subtype in a cause key names it)."""
    found: dict[str, str] = {}
    keys = list(causes)
    for start in range(0, len(keys), 800):
        chunk = keys[start : start + 800]
        async with conn.execute(
            f"SELECT cause, type FROM cause_totals WHERE cause IN ({','.join('?' * len(chunk))})",
            chunk,
        ) as cur:
            found.update(dict(await cur.fetchall()))
    return found


async def _move_records(conn: Connection, per_record: Counter[tuple[str, str]]) -> Counter[str]:
    """Apply open-error deltas per (cause, record); how each cause's record count moves."""
    pairs = [pair for pair, delta in per_record.items() if delta]
    old: dict[tuple[str, str], int] = {}
    for start in range(0, len(pairs), 400):  # 800 parameters a query
        chunk = pairs[start : start + 400]
        values = ",".join("(?, ?)" for _ in chunk)
        async with conn.execute(
            "SELECT cause, record_id, open_errors FROM cause_records "
            f"WHERE (cause, record_id) IN (VALUES {values})",
            [part for pair in chunk for part in pair],
        ) as cur:
            old.update({(c, r): n for c, r, n in await cur.fetchall()})
    moved: Counter[str] = Counter()
    rows = []
    for pair in pairs:
        before = old.get(pair, 0)
        after = max(before + per_record[pair], 0)
        rows.append((*pair, after))
        moved[pair[0]] += (after > 0) - (before > 0)
    await conn.insert_rows(
        "INSERT INTO cause_records(cause, record_id, open_errors) VALUES (?, ?, ?) "
        "ON CONFLICT(cause, record_id) DO UPDATE SET open_errors = excluded.open_errors",
        rows,
    )
    return moved


async def _sum_totals(conn: Connection) -> None:
    """The totals of a ledger indexed for the first time, summed in one pass."""
    await conn.execute("DELETE FROM cause_records")
    await conn.execute("DELETE FROM cause_totals")
    await conn.execute(
        "INSERT INTO cause_records(cause, record_id, open_errors) "
        "SELECT cause, record_id, count(*) FROM error_causes WHERE open = 1 "
        "GROUP BY cause, record_id"
    )
    await conn.execute(
        "INSERT INTO cause_totals(cause, type, subtype, sf_object, open_errors, records, "
        "first_seen, last_seen, sample_error_id) "
        "SELECT c.cause, min(e.type), min(e.subtype), min(e.sf_object), "
        "sum(CASE WHEN c.open = 1 THEN 1 ELSE 0 END), 0, min(e.first_seen), "
        "max(e.last_seen), min(e.id) FROM error_causes c JOIN errors e ON e.id = c.error_id "
        "GROUP BY c.cause"
    )
    await conn.execute(
        "UPDATE cause_totals SET records = (SELECT count(*) FROM cause_records r "
        "WHERE r.cause = cause_totals.cause AND r.open_errors > 0)"
    )
