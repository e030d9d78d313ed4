"""Alert mode: speak only when a cause changes state.

For each cause the notifier keeps (table ``notify_causes``) whether it had open errors
and whether it was growing fast when it last looked. A round compares that with the
cause totals (tui/service/causes.py):

- **new**: a cause with open errors the notifier had not seen, or had seen cleared
  (then it is *back*);
- **growing fast**: at least ``alert_errors`` errors of the cause first seen in the
  last ``alert_minutes`` (dual-write's rule); it stops growing fast, without a
  message, once fewer than half that many are;
- **cleared**: a cause whose open errors fell back to zero and stayed there for
  ``alert_minutes``, so a cause whose last error is fixed while the next one fails
  does not flap between cleared and back.

Changes are debounced like immediate messages (:class:`.schedule.Debounce`): the
errors of one bad deploy arrive over seconds, and a new cause that then grows fast
is one message, not two. Changes of a muted cause are recorded without a word.
Each change has a key (what, the cause, and the seq or error id that made it); the
outbox remembers the keys it queued, so one change is never announced twice.

Entering alert mode records every cause as it is, silently: what comes next is
announced, not the backlog. Leaving it forgets the record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tui.core.causes import cause_template
from tui.core.notify_models import NotificationSettings
from tui.service.db import Connection, upsert
from tui.service.ledger import iso
from tui.service.notify.outbox import Outbox
from tui.service.notify.schedule import Debounce

_CANDIDATES = (
    "SELECT t.cause, t.type, t.subtype, t.sf_object, t.open_errors, t.sample_error_id, "
    "n.open, n.surging, n.cleared_at, n.zero_since FROM cause_totals t "
    "LEFT JOIN notify_causes n ON n.cause = t.cause "
    "WHERE CASE WHEN t.open_errors > 0 THEN 1 ELSE 0 END != coalesce(n.open, 0) "
    "OR t.last_seen >= ? OR n.surging = 1 "
    "OR n.zero_since IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class CauseChange:
    """What happened to one cause since the notifier last looked, with its facts."""

    cause: str
    type: str
    subtype: str
    sf_object: str
    open_errors: int
    recent: int  # errors first seen in the last alert_minutes
    opened: bool  # new, or back after it cleared
    back_from: str | None  # when it had cleared, for a cause that is back
    surge: bool
    cleared: bool
    keys: tuple[str, ...]
    sample_error_id: int
    template: str = ""


@dataclass(frozen=True, slots=True)
class _Seen:
    """A row of ``notify_causes`` as this round leaves it."""

    cause: str
    open: bool  # stays true until the cause's clear is announced
    surging: bool
    cleared_at: str | None
    zero_since: str | None  # open, but no open error since then: a clear to come


async def _one(conn: Connection, sql: str, *args: Any) -> tuple[Any, ...]:
    async with conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    assert row is not None
    return tuple(row)


async def detect(
    conn: Connection, now: datetime, settings: NotificationSettings, announce: bool = True
) -> tuple[list[CauseChange], list[_Seen]]:
    """The announceable changes of every cause, and the rows of ``notify_causes`` that move.

    Without ``announce`` (the baseline) only the rows: the keys are not looked up."""
    window = timedelta(minutes=settings.alert_minutes)
    since = iso(now - window)
    async with conn.execute(_CANDIDATES, (since,)) as cur:
        rows = await cur.fetchall()
    changes: list[CauseChange] = []
    moved: list[_Seen] = []
    for row in rows:
        cause, type_, sub, obj, open_errors, sample, was_open, was_surging, cleared_at = row[:9]
        zero_since = row[9]
        is_open = open_errors > 0
        if was_open and not is_open:
            # ignored errors are set aside, not fixed: while any is held, no "cleared"
            (held,) = await _one(
                conn, "SELECT count(*) FROM ignored_errors WHERE cause = ? LIMIT 1", cause
            )
            is_open = held > 0
        recent, first_recent = 0, None
        if is_open:
            recent, first_recent = await _one(
                conn,
                "SELECT count(*), min(error_id) FROM error_causes "
                "WHERE cause = ? AND open IN (-1, 0, 1) AND first_seen >= ?",
                cause,
                since,
            )
        rule = 2 * recent if was_surging else recent  # half the rule ends a surge
        surging = is_open and rule >= settings.alert_errors
        opened, cleared = is_open and not was_open, False
        if was_open and not is_open:
            zero_since = zero_since or iso(now)
            cleared = now - datetime.fromisoformat(zero_since) >= window
        else:
            zero_since = None
        surge = surging and not was_surging
        seen = _Seen(
            cause,
            is_open or (bool(was_open) and not cleared),
            surging,
            iso(now) if cleared else cleared_at,
            None if cleared else zero_since,
        )
        if (seen.open, seen.surging, seen.zero_since) != (
            bool(was_open),
            bool(was_surging),
            row[9],
        ):
            moved.append(seen)
        if not announce or not (opened or surge or cleared):
            continue
        keys: list[str] = []
        if opened:
            (seq,) = await _one(
                conn, "SELECT min(seq) FROM error_causes WHERE cause = ? AND open = 1", cause
            )
            keys.append(f"open:{cause}:{seq}")
        if surge:
            keys.append(f"surge:{cause}:{first_recent}")
        if cleared:
            (seq,) = await _one(conn, "SELECT max(seq) FROM error_causes WHERE cause = ?", cause)
            keys.append(f"cleared:{cause}:{seq}")
        back = cleared_at if opened and was_open is not None else None
        changes.append(
            CauseChange(cause, type_, sub, obj, open_errors, recent, opened, back,
                        surge, cleared, tuple(keys), sample)
        )  # fmt: skip
    return changes, moved


async def _record(conn: Connection, moved: list[_Seen]) -> None:
    await conn.executemany(
        upsert(
            "notify_causes", ("cause", "open", "surging", "cleared_at", "zero_since"), ("cause",)
        ),
        [(s.cause, s.open, s.surging, s.cleared_at, s.zero_since) for s in moved],
    )


async def _with_templates(conn: Connection, changes: list[CauseChange]) -> list[CauseChange]:
    """The changes with the shape of their sample message (what the cause is)."""
    out = []
    for change in changes:
        async with conn.execute(
            "SELECT message FROM errors WHERE id = ?", (change.sample_error_id,)
        ) as cur:
            row = await cur.fetchone()
        out.append(replace(change, template=cause_template(row[0]) if row else ""))
    return out


class CauseAlerts:
    """One per notifier: the debounce memory of alert mode (the rest is in the ledger)."""

    def __init__(self) -> None:
        self._debounce = Debounce()

    @staticmethod
    async def forget(conn: Connection) -> None:
        """Leaving alert mode: the next time it starts from the causes as they are then."""
        await conn.execute("DELETE FROM notify_causes")

    async def baseline(
        self, conn: Connection, now: datetime, settings: NotificationSettings
    ) -> None:
        """Entering alert mode: record every cause as it is, announcing nothing."""
        self._debounce.reset()
        _, moved = await detect(conn, now, settings, announce=False)
        await _record(conn, moved)

    def reset(self) -> None:
        self._debounce.reset()

    async def round(
        self,
        conn: Connection,
        now: datetime,
        settings: NotificationSettings,
        muted: set[str],
    ) -> list[CauseChange]:
        """The changes to announce now (already recorded as announced), or none yet."""
        changes, moved = await detect(conn, now, settings)
        loud = [c for c in changes if c.cause not in muted]
        if not loud:
            self._debounce.reset()
            await _record(conn, moved)  # surges that ended, changes of muted causes
            return []
        keys = frozenset(k for c in loud for k in c.keys)
        if not self._debounce.due(keys, now):
            return []
        self._debounce.reset()
        await _record(conn, moved)
        fresh = await Outbox.fresh_keys(conn, keys)
        loud = [c for c in loud if set(c.keys) & fresh]
        await Outbox.remember_keys(conn, fresh, now)
        return await _with_templates(conn, loud)
