"""The audit trail: the ``history`` table (tui/service/history.py) with the kinds that
change how the service works beside what it did to errors.

Every change writes its row in the transaction that makes the change, so a change is
never without its row, nor a row without its change. A setting that is put again
unchanged writes no row. ``GET /v1/audit`` pages the rows oldest first after a cursor
(the last id seen), so a follower that keeps the cursor sees every row once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from tui.core.audit_models import AuditPage, Change, HistoryEntry
from tui.service.ledger import SET_SETTING, Ledger


def changes(old: Any, new: Any, field: str = "") -> list[Change]:
    """Each value that differs between ``old`` and ``new``; dicts are compared key by key
    (``email.recipients``), anything else as one value."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[Change] = []
        for key in dict.fromkeys([*old, *new]):
            found += changes(old.get(key), new.get(key), f"{field}.{key}" if field else key)
        return found
    return [] if old == new else [Change(field=field or "value", old=old, new=new)]


async def change_setting(
    ledger: Ledger,
    now: datetime,
    key: str,
    new: Any,
    *,
    before: Any,
    kind: str,
    actor: str,
    label: str = "",
) -> list[Change]:
    """Store the setting ``key`` and, when it changed, an audit row of kind ``kind``.

    ``before`` is the value in force while none is stored (the default); ``label`` names
    a setting that is a single value (``allocated``)."""
    async with ledger.transaction() as conn:
        async with conn.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        old = before if row is None else orjson.loads(row[0])
        found = changes(old, new, label)
        await conn.execute(SET_SETTING, (key, orjson.dumps(new).decode()))
        if found:
            summary = {"changes": [c.model_dump(mode="json") for c in found]}
            await Ledger.add_history(conn, now, kind, None, actor, summary)
    return found


async def job_counts(conn: Any, job_id: str) -> dict[str, int]:
    """A job's errors by state, and its calls, as an audit row counts them."""
    async with conn.execute(
        "SELECT state, COUNT(*) FROM resync_job_items WHERE job_id = ? GROUP BY state",
        (job_id,),
    ) as cur:
        by_state = {state: n for state, n in await cur.fetchall()}
    async with conn.execute(
        "SELECT total, calls FROM resync_jobs WHERE job_id = ?", (job_id,)
    ) as cur:
        total, calls = await cur.fetchone()
    counted = ("synced", "failed", "skipped", "unknown", "cancelled")
    return {"errors": total, "salesforce_calls": calls} | {s: by_state.get(s, 0) for s in counted}


async def job_row(
    conn: Any, now: datetime, job_id: str, action: str, actor: str, **extra: Any
) -> None:
    """Inside the job's transaction: the row of a job started, cancelled or finished."""
    summary = {"action": action, **await job_counts(conn, job_id), **extra}
    await Ledger.add_history(conn, now, "job", job_id, actor, summary)


def entry(row: Sequence[Any]) -> HistoryEntry:
    """A history row (id, at, kind, ref, actor, summary) as the API shows it."""
    i, at, kind, ref, actor, summary = row
    return HistoryEntry(id=i, at=at, kind=kind, ref=ref, actor=actor, **orjson.loads(summary))


async def page_after(ledger: Ledger, cursor: int, limit: int) -> AuditPage:
    """Up to ``limit`` entries after ``cursor``, oldest first."""
    async with ledger.reader.execute(
        "SELECT id, at, kind, ref, actor, summary FROM history WHERE id > ? ORDER BY id LIMIT ?",
        (cursor, limit + 1),
    ) as rows:
        found = list(await rows.fetchall())
    entries = [entry(row) for row in found[:limit]]
    return AuditPage(
        entries=entries,
        next_cursor=entries[-1].id if entries else cursor,
        has_more=len(found) > limit,
    )
