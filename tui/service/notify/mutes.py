"""Muted causes (table ``notify_mutes``): alert mode says nothing of a muted cause until
the mute ends. The state changes a muted cause goes through are still recorded, so
the end of a mute does not replay them; the next change after it is announced.

A mute of a cause that is already muted replaces it (the new duration counts from
now). Expired mutes are left out of every answer and deleted by :meth:`Mutes.prune`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from tui.core.notify_models import MUTE_MINUTES_MAX, CauseMute
from tui.service.db import Connection, upsert
from tui.service.ledger import Ledger, iso

_CAUSE = re.compile(r"[0-9a-f]{16}")


class MuteRefused(Exception):
    """A mute or unmute the service will not do; ``status`` is the HTTP answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def check_cause(cause: str) -> str:
    """``cause`` if it has the shape of a cause key (16 lowercase hex digits); else no
    error can have it: 404, as ``GET /v1/causes/{cause}`` answers."""
    if not _CAUSE.fullmatch(cause):
        raise MuteRefused(
            404,
            "not_found",
            f"No error has the cause {cause[:40]!r}: a cause is 16 hex digits, as "
            "GET /v1/causes lists them.",
        )
    return cause


class Mutes:
    def __init__(self, ledger: Ledger, clock: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._clock = clock

    async def active(
        self, conn: Connection | None = None, now: datetime | None = None
    ) -> list[CauseMute]:
        """The mutes not yet expired at ``now``, the soonest to end first."""
        async with (conn or self._ledger.reader).execute(
            "SELECT cause, until, muted_at, actor FROM notify_mutes WHERE until > ? "
            "ORDER BY until, cause",
            (iso(now or self._clock()),),
        ) as cur:
            rows = await cur.fetchall()
        return [
            CauseMute(cause=c, until=datetime.fromisoformat(u), muted_at=m, actor=a)
            for c, u, m, a in rows
        ]

    async def muted(self, conn: Connection, now: datetime) -> set[str]:
        return {mute.cause for mute in await self.active(conn, now)}

    async def mute(self, cause: str, minutes: int, actor: str) -> CauseMute:
        """Mute ``cause`` for ``minutes`` from now; MuteRefused if no error has it."""
        check_cause(cause)
        if not 1 <= minutes <= MUTE_MINUTES_MAX:
            raise MuteRefused(
                422, "invalid_mute", f"minutes: mute for 1 to {MUTE_MINUTES_MAX} (90 days)."
            )
        now = self._clock()
        until = now + timedelta(minutes=minutes)
        async with self._ledger.transaction() as conn:
            async with conn.execute("SELECT 1 FROM cause_totals WHERE cause = ?", (cause,)) as cur:
                known = await cur.fetchone()
            if known is None:
                raise MuteRefused(404, "not_found", f"No error has the cause {cause!r}.")
            await conn.execute(
                upsert("notify_mutes", ("cause", "until", "muted_at", "actor"), ("cause",)),
                (cause, iso(until), iso(now), actor),
            )
        return CauseMute(cause=cause, until=until, muted_at=now, actor=actor)

    async def unmute(self, cause: str) -> None:
        """End the mute of ``cause`` now; MuteRefused when it is not muted."""
        check_cause(cause)
        async with self._ledger.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM notify_mutes WHERE cause = ? AND until > ?",
                (cause, iso(self._clock())),
            )
            if cur.rowcount == 0:
                raise MuteRefused(404, "not_muted", f"The cause {cause!r} is not muted.")

    async def prune(self, now: datetime) -> int:
        async with self._ledger.transaction() as conn:
            cur = await conn.execute("DELETE FROM notify_mutes WHERE until <= ?", (iso(now),))
            return cur.rowcount
