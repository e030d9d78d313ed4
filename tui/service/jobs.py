"""Resync jobs: up to 50,000 errors, resynced in the background, 200 per Salesforce call.

``POST /v1/resync/jobs`` stores the job and its errors, in chunks of 200 (one sObject
Collections call each when the records have Salesforce ids), and answers at once; a
worker task then works through the chunks, oldest job first. Each chunk is one
ordinary resync request (:class:`~tui.service.resync.ResyncEngine`, or in engine mode
:class:`~tui.service.engine.EngineQueue`) whose request_id
is ``<job_id>/<chunk>``, so the rules that keep a resync from being sent twice hold
for every chunk, across restarts:

- before a chunk goes out its errors are marked ``sending`` (a crash before the resync
  request is written leaves nothing sent: the chunk simply runs);
- the resync request is written ``started`` before the Salesforce call and ``done``
  with the ledger changes after it; a crash in between leaves it ``interrupted``, and
  its errors become ``unknown`` (never sent again: whether Salesforce applied them is
  unknown, as with ``POST /v1/resync``);
- a chunk whose request is ``done`` but whose errors are still ``sending`` (a crash
  right after the resync committed) takes the stored result, sending nothing.

Pacing: a chunk that would take the integration's 24-hour use over its allocation
is refused by the resync engine before anything is sent; the job then waits, saying
until when (the hour at which enough old calls leave the window), and tries again.
A Salesforce refusal of the whole call that changed nothing (its request limit,
concurrency limit, an expired session) waits :data:`REFUSAL_BACKOFF` and retries.

A little over ~400 lines on purpose: ``ResyncJobs`` is one worker whose start, chunks,
restart recovery and cancel share the same rows and locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from tui.core.limits import RECORDS_PER_CALL
from tui.service import audit, history
from tui.service.db.dialect import json_with
from tui.service.ledger import Ledger, iso
from tui.service.resync import ResyncRefused, outcome
from tui.service.resync_calls import calls_needed
from tui.service.rounds import failed_round, leave_if_stopping
from tui.service.usage import UsageLedger

log = logging.getLogger(__name__)

CHUNK = RECORDS_PER_CALL
#: How long a job waits after Salesforce refused a whole call without applying it.
REFUSAL_BACKOFF = timedelta(seconds=60)
#: Seconds a replica without the jobs' lease waits before it asks again (a try-lock),
#: and a chunk another replica is sending before it looks again (one row): the jobs of
#: a replica that died move to another within this, not ``recheck``.
LEASE_RETRY = 2.0
#: Refusals after which the chunk is tried again (nothing was applied).
_RETRY_CODES = {
    "salesforce_limit_exceeded",
    "salesforce_busy",
    "salesforce_session_expired",
    "salesforce_refused",
}
_STATES = (
    "pending", "sending", "synced", "failed", "skipped", "unknown", "cancelled", "requested"
)  # fmt: skip
#: A resync of one chunk: ``ResyncEngine.run`` (direct mode) or ``EngineQueue.resync``.
RunResync = Callable[[str, Sequence[int]], Awaitable[dict[str, Any]]]


class JobRefused(Exception):
    """The call was not carried out; ``status``/``code``/``message`` go to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _unknown(error_id: int, why: str) -> dict[str, Any]:
    return outcome(error_id, "unknown", message=why)


_CANCELLED = orjson.dumps(
    outcome(0, "cancelled", message="The job was cancelled before this error was sent; "
            "nothing was sent.")
).decode()  # fmt: skip


class ResyncJobs:
    def __init__(
        self,
        ledger: Ledger,
        usage: UsageLedger,
        resync: RunResync,
        clock: Callable[[], datetime],
        recheck: float = 30.0,
        may_run: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._ledger = ledger
        self._usage = usage
        self._resync = resync
        self._clock = clock
        self._recheck = recheck  # seconds a waiting job sleeps before it looks again
        #: Whether this replica holds the jobs' lease (tui/service/lease.py); a replica
        #: without it stores jobs but leaves their chunks to the holder.
        self._may_run = may_run
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: job -> when a chunk Salesforce refused may be tried again
        self._not_before: dict[str, datetime] = {}
        self._create_lock = asyncio.Lock()
        #: held while a chunk is on its way, so a cancel never races a chunk it would miss
        self._chunk_lock = asyncio.Lock()

    # -- life ------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name="resync-jobs")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look at the jobs again now (a new job, a cancel, a new allocation)."""
        self._wake.set()

    # -- the API ---------------------------------------------------------------

    async def create(
        self, request_id: str, error_ids: Sequence[int], actor: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """Store a job; (its view, True) or, for a request_id used before, (it, False).

        ``actor`` (who asked) names the job's chunks in the history."""
        ids = list(dict.fromkeys(error_ids))
        async with self._create_lock, self._ledger.transaction() as conn:
            async with conn.execute(
                "SELECT job_id FROM resync_jobs WHERE request_id = ?", (request_id,)
            ) as cur:
                known = await cur.fetchone()
            if known is not None:
                async with conn.execute(
                    "SELECT error_id FROM resync_job_items WHERE job_id = ?", (known[0],)
                ) as cur:
                    stored = sorted(r[0] for r in await cur.fetchall())
                if stored != sorted(ids):
                    raise JobRefused(
                        409,
                        "request_id_reused",
                        "This request_id was already used for a job with other errors. Use a "
                        "new request_id for a new job.",
                    )
                job_id = known[0]
                made = False
            else:
                await self._refuse_busy(conn, ids)
                job_id = f"job-{uuid.uuid4().hex}"
                await conn.execute(
                    "INSERT INTO resync_jobs(job_id, request_id, created, state, total, calls, "
                    "actor) VALUES (?, ?, ?, 'running', ?, 0, ?)",
                    (job_id, request_id, iso(self._clock()), len(ids), actor),
                )
                await conn.executemany(
                    "INSERT INTO resync_job_items(job_id, error_id, chunk, state) "
                    "VALUES (?, ?, ?, 'pending')",
                    [(job_id, error_id, n // CHUNK) for n, error_id in enumerate(ids)],
                )
                await audit.job_row(conn, self._clock(), job_id, "started", actor)
                made = True
        self.wake()
        return await self.view(job_id, 0, 0), made

    @staticmethod
    async def _refuse_busy(conn: Any, ids: list[int]) -> None:
        """409 when some of ``ids`` wait in a running job: they would be sent twice."""
        busy: list[tuple[int, str]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            async with conn.execute(
                "SELECT i.error_id, i.job_id FROM resync_job_items i JOIN resync_jobs j "
                "ON j.job_id = i.job_id WHERE j.state = 'running' "
                f"AND i.state IN ('pending', 'sending') AND i.error_id IN ({marks})",
                chunk,
            ) as cur:
                busy += await cur.fetchall()
        if busy:
            shown = ", ".join(str(error_id) for error_id, _ in busy[:5])
            more = f" and {len(busy) - 5:,} more" if len(busy) > 5 else ""
            raise JobRefused(
                409,
                "errors_in_running_job",
                f"{len(busy):,} of these errors are already in a running resync job "
                f"({busy[0][1]}): {shown}{more}. Nothing was started; wait for that job or "
                "cancel it, or leave those errors out.",
            )

    async def cancel(self, job_id: str, actor: str) -> dict[str, Any]:
        """Stop a running job: errors not yet sent become ``cancelled``; a chunk already
        on its way to Salesforce finishes first and keeps its outcomes."""
        async with self._chunk_lock, self._ledger.transaction() as conn:
            async with conn.execute(
                "SELECT state FROM resync_jobs WHERE job_id = ?", (job_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise JobRefused(404, "not_found", f"No resync job has the id {job_id!r}.")
            if row[0] == "running":
                await conn.execute(
                    "UPDATE resync_job_items SET state = 'cancelled', "
                    f"outcome = {json_with(conn.dialect, '?', 'error_id', 'error_id')} "
                    "WHERE job_id = ? AND state = 'pending'",
                    (_CANCELLED, job_id),
                )
                await conn.execute(
                    "UPDATE resync_jobs SET state = 'cancelled', waiting = NULL, "
                    "wait_until = NULL, finished = ? WHERE job_id = ?",
                    (iso(self._clock()), job_id),
                )
                await audit.job_row(conn, self._clock(), job_id, "cancelled", actor)
        self.wake()
        return await self.view(job_id, 0, 0)

    async def view(self, job_id: str, cursor: int, limit: int) -> dict[str, Any]:
        """A job's progress, and up to ``limit`` outcomes of error ids above ``cursor``."""
        reader = self._ledger.reader
        async with reader.execute(
            "SELECT job_id, request_id, created, state, total, calls, waiting, wait_until, "
            "finished FROM resync_jobs WHERE job_id = ?",
            (job_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise JobRefused(404, "not_found", f"No resync job has the id {job_id!r}.")
        async with reader.execute(
            "SELECT state, COUNT(*) FROM resync_job_items WHERE job_id = ? GROUP BY state",
            (job_id,),
        ) as cur:
            counts = dict.fromkeys(_STATES, 0) | {s: n for s, n in await cur.fetchall()}
        async with reader.execute(
            "SELECT error_id, outcome FROM resync_job_items WHERE job_id = ? AND error_id > ? "
            "AND outcome IS NOT NULL ORDER BY error_id LIMIT ?",
            (job_id, cursor, limit),
        ) as cur:
            found = list(await cur.fetchall())
        keys = ("job_id", "request_id", "created", "state", "total", "salesforce_calls",
                "waiting", "wait_until", "finished")  # fmt: skip
        return {
            **dict(zip(keys, row, strict=True)),
            "done": row[4] - counts["pending"] - counts["sending"],
            "counts": counts,
            "outcomes": [orjson.loads(o) for _, o in found],
            "next_cursor": found[-1][0] if found else cursor,
        }

    async def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest jobs, running ones first, without their outcomes."""
        async with self._ledger.reader.execute(
            "SELECT job_id FROM resync_jobs ORDER BY state != 'running', created DESC, "
            "rowid DESC LIMIT ?",
            (limit,),
        ) as cur:
            ids = [r[0] for r in await cur.fetchall()]
        return [await self.view(job_id, 0, 0) for job_id in ids]

    # -- the worker ------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            try:
                if self._may_run is None or await self._may_run():
                    pause = await self.step()
                else:
                    pause = min(self._recheck, LEASE_RETRY)
            except Exception:  # logged; the job is where it was, the next round goes on
                failed_round(log, "resync job round failed")
                pause = self._recheck
            leave_if_stopping()  # a cancel the round swallowed (rounds.py)
            if pause is None:
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 a wait_for whose wait had
            # just finished swallowed the cancel of stop(), which then waited forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()

    async def step(self) -> float | None:
        """Handle one chunk of the oldest job with work left; None to go on at once, else
        the seconds to wait (nothing to do, or the job waits for the allocation)."""
        job_id = await self._next_job()
        if job_id is None:  # a job posted to another replica wakes only that one
            return min(self._recheck, LEASE_RETRY)
        not_before = self._not_before.get(job_id)
        if not_before is not None:
            left = (not_before - self._clock()).total_seconds()
            if left > 0:
                return min(self._recheck, left)
            del self._not_before[job_id]
        async with self._chunk_lock:
            chunk = await self._next_chunk(job_id)
            if chunk is None:
                await self._finish(job_id)
                return None
            return await self._send_chunk(job_id, chunk)

    async def _next_job(self) -> str | None:
        async with self._ledger.reader.execute(
            "SELECT j.job_id FROM resync_jobs j WHERE j.state = 'running' OR EXISTS ("
            "SELECT 1 FROM resync_job_items i WHERE i.job_id = j.job_id "
            "AND i.state = 'sending') ORDER BY j.created, j.rowid LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def _next_chunk(self, job_id: str) -> tuple[int, list[int]] | None:
        """The chunk left ``sending`` by a crash, else the lowest chunk still pending."""
        for state in ("sending", "pending"):
            async with self._ledger.reader.execute(
                "SELECT MIN(chunk) FROM resync_job_items WHERE job_id = ? AND state = ?",
                (job_id, state),
            ) as cur:
                (chunk,) = await cur.fetchone()  # type: ignore[misc]
            if chunk is not None:
                async with self._ledger.reader.execute(
                    "SELECT error_id FROM resync_job_items WHERE job_id = ? AND chunk = ? "
                    "AND state IN ('pending', 'sending') ORDER BY rowid",
                    (job_id, chunk),
                ) as cur:
                    return chunk, [r[0] for r in await cur.fetchall()]
        return None

    async def _send_chunk(self, job_id: str, chunk: tuple[int, list[int]]) -> float | None:
        number, ids = chunk
        request_id = f"{job_id}/{number}"
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "UPDATE resync_job_items SET state = 'sending' WHERE job_id = ? AND chunk = ? "
                "AND state = 'pending'",
                (job_id, number),
            )
        stored = await self._ledger.request(request_id)
        if stored is not None and stored.state == "done" and stored.result is not None:
            result = stored.result  # committed before a crash: record it, send nothing
        elif stored is not None and stored.state == "started":
            # another replica's send still under way (it finishes it 'done'), or a dead
            # replica's that the heartbeat sweep turns 'interrupted' (tui/service/replicas.py):
            # looked at again as often as a lease, so the job goes on soon after the sweep
            return min(self._recheck, LEASE_RETRY)
        elif stored is not None:
            why = (
                "This error's part of the job was cut off while it was being sent (the "
                "service stopped, or Salesforce did not answer), so whether Salesforce "
                "applied it is unknown; it was not sent again. Refresh and resync it if it "
                "is still open."
            )
            result = {"outcomes": [_unknown(i, why) for i in ids], "salesforce_calls": 0}
        else:
            try:
                result = await self._resync(request_id, ids)
            except ResyncRefused as exc:
                return await self._refused(job_id, request_id, ids, exc)
            await self._remember(job_id, request_id, history.resync_summary(result))
        await self._record(job_id, result)
        return None

    async def _remember(self, job_id: str, request_id: str, summary: dict[str, Any]) -> None:
        """One history entry per chunk sent, under the name of whoever started the job."""
        async with self._ledger.reader.execute(
            "SELECT actor FROM resync_jobs WHERE job_id = ?", (job_id,)
        ) as cur:
            row = await cur.fetchone()
        actor = (row[0] if row else "") or "resync job"
        await history.record(self._ledger, self._clock(), "resync", request_id, actor, summary)

    async def _refused(
        self, job_id: str, request_id: str, ids: list[int], exc: ResyncRefused
    ) -> float | None:
        now = self._clock()
        if exc.code == "allocation_exceeded":
            until = await self._usage.room_at(calls_needed(len(ids)))
            if until is None:
                note = (
                    f"Waiting for the allocation: one batch needs up to "
                    f"{calls_needed(len(ids))} call(s), more than the allocation allows. "
                    "Raise the allocation."
                )
            else:
                note = f"Waiting for the allocation until {iso(until)}: {exc.message}"
            await self._wait(job_id, ids, note, until)
            if until is None:
                return self._recheck
            return max(1.0, min(self._recheck, (until - now).total_seconds()))
        if exc.code in _RETRY_CODES:
            until = self._not_before[job_id] = now + REFUSAL_BACKOFF
            await self._wait(job_id, ids, f"Waiting until {iso(until)}: {exc.message}", until)
            return min(self._recheck, REFUSAL_BACKOFF.total_seconds())
        await self._remember(
            job_id, request_id, history.refused_summary(ids, exc.code, exc.message)
        )
        await self._record(
            job_id, {"outcomes": [_unknown(i, exc.message) for i in ids], "salesforce_calls": 0}
        )
        return None

    async def _wait(self, job_id: str, ids: list[int], note: str, until: datetime | None) -> None:
        """Say why and until when; the chunk goes back to pending (nothing was sent)."""
        async with self._ledger.transaction() as conn:
            marks = ",".join("?" * len(ids))
            await conn.execute(
                "UPDATE resync_job_items SET state = 'pending' WHERE job_id = ? "
                f"AND state = 'sending' AND error_id IN ({marks})",
                (job_id, *ids),
            )
            await conn.execute(
                "UPDATE resync_jobs SET waiting = ?, wait_until = ? WHERE job_id = ?",
                (note, None if until is None else iso(until), job_id),
            )

    async def _record(self, job_id: str, result: dict[str, Any]) -> None:
        async with self._ledger.transaction() as conn:
            await conn.executemany(
                "UPDATE resync_job_items SET state = ?, outcome = ? WHERE job_id = ? "
                "AND error_id = ?",
                [(o["status"], orjson.dumps(o).decode(), job_id, o["error_id"])
                 for o in result["outcomes"]],
            )  # fmt: skip
            await conn.execute(
                "UPDATE resync_jobs SET calls = calls + ?, waiting = NULL, wait_until = NULL "
                "WHERE job_id = ?",
                (result["salesforce_calls"], job_id),
            )

    async def _finish(self, job_id: str) -> None:
        """The job is done; its audit row names whoever started it."""
        now = self._clock()
        async with self._ledger.transaction() as conn:
            async with conn.execute(
                "UPDATE resync_jobs SET state = 'done', finished = ? WHERE job_id = ? "
                "AND state = 'running'",
                (iso(now), job_id),
            ) as cur:
                finished = cur.rowcount == 1
            if finished:
                async with conn.execute(
                    "SELECT actor FROM resync_jobs WHERE job_id = ?", (job_id,)
                ) as cur:
                    row = await cur.fetchone()
                await audit.job_row(conn, now, job_id, "finished", row[0] if row else "")
