"""Replicas on one ledger: who owns a resync request, and when its owner is gone.

Every ``synchealth serve`` process is a replica with an id of its own (host, pid and
a random part). It writes a row in ``replicas`` when it starts and refreshes its
``heartbeat`` every :data:`HEARTBEAT` seconds; a resync request it writes 'started'
carries its id as ``owner``. A request stays 'started' while its owner's heartbeat
is fresh (it is being sent: another replica answers ``resync_in_progress``); once
the heartbeat is older than :data:`STALE_AFTER` heartbeats, every replica's next
sweep marks it 'interrupted' (what Salesforce received is unknown: it is never sent
again). The sweep is the same statement on every replica, so two replicas sweeping
at once do the same thing once.

Liveness is measured by the wall clock, never by the service's clock (which tests
move): it compares processes, not ledger time.

On a SQLite ledger there is one process, so at start every request left 'started'
belongs to a process that is gone and becomes 'interrupted' at once, as before
replicas existed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tui.service.db import Connection
from tui.service.ledger import Ledger, iso
from tui.service.rounds import failed_round, leave_if_stopping

log = logging.getLogger("synchealth.replicas")

#: Seconds between two heartbeats of a replica.
HEARTBEAT = 5.0
#: Heartbeats a replica may miss before its started requests are interrupted.
STALE_AFTER = 3


def new_replica_id() -> str:
    """Readable in a log (which host, which process) and unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def wall_now() -> datetime:
    return datetime.now(UTC)


async def interrupt_orphans(conn: Connection, me: str, alive_since: datetime | None) -> int:
    """Inside a transaction: 'started' requests whose owner is gone become 'interrupted'.

    The owner is gone when it is not ``me`` and its last heartbeat is before
    ``alive_since`` (None: every other replica is gone, one process on SQLite).
    Replicas whose heartbeat stopped are forgotten too. Returns the requests changed.
    """
    if alive_since is None:
        await conn.execute("DELETE FROM replicas WHERE replica_id != ?", (me,))
    else:
        await conn.execute("DELETE FROM replicas WHERE heartbeat < ?", (iso(alive_since),))
    cur = await conn.execute(
        "UPDATE resync_requests SET state = 'interrupted' WHERE state = 'started' "
        "AND (owner IS NULL OR owner NOT IN (SELECT replica_id FROM replicas))"
    )
    return cur.rowcount


class Replicas:
    """This replica's row, its heartbeat loop and the sweep of orphaned requests."""

    def __init__(
        self,
        ledger: Ledger,
        single_process: bool,
        heartbeat: float = HEARTBEAT,
        clock: Callable[[], datetime] = wall_now,
    ) -> None:
        self._ledger = ledger
        self._single = single_process
        self._heartbeat = heartbeat
        self._clock = clock
        self.replica_id = new_replica_id()
        self._task: asyncio.Task[None] | None = None

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self._heartbeat * STALE_AFTER)

    async def start(self) -> int:
        """Register, interrupt what dead replicas left 'started', start the heartbeat."""
        now = self._clock()
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "INSERT INTO replicas(replica_id, started, heartbeat) VALUES (?, ?, ?)",
                (self.replica_id, iso(now), iso(now)),
            )
            swept = await interrupt_orphans(
                conn, self.replica_id, None if self._single else now - self.stale_after
            )
        if swept:
            log.warning("%d resync request(s) left 'started' by a stopped replica are now "
                        "'interrupted'", swept)  # fmt: skip
        if self._task is None:
            self._task = asyncio.create_task(self._beat(), name="synchealth-heartbeat")
        return swept

    async def beat(self) -> int:
        """One heartbeat and sweep; the requests it interrupted."""
        now = self._clock()
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "INSERT INTO replicas(replica_id, started, heartbeat) VALUES (?, ?, ?) "
                "ON CONFLICT(replica_id) DO UPDATE SET heartbeat = excluded.heartbeat",
                (self.replica_id, iso(now), iso(now)),
            )
            return await interrupt_orphans(conn, self.replica_id, now - self.stale_after)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                swept = await self.beat()
            except Exception:  # the ledger is away: the next beat tries again
                failed_round(log, "heartbeat failed")
                continue
            leave_if_stopping()  # a cancel the round swallowed (rounds.py)
            if swept:
                log.warning("%d resync request(s) of a replica that stopped answering are "
                            "now 'interrupted'", swept)  # fmt: skip

    async def stop(self) -> None:
        """End the heartbeat; what this replica left 'started' is interrupted, its row goes."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "UPDATE resync_requests SET state = 'interrupted' WHERE state = 'started' "
                "AND owner = ?",
                (self.replica_id,),
            )
            await conn.execute("DELETE FROM replicas WHERE replica_id = ?", (self.replica_id,))
