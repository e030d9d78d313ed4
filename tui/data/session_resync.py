"""Resyncs from a ``DataSession``: batches written down before they are sent, replayed
only when the user agreed, resync jobs followed to their end."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.limits import RECORDS_PER_CALL, RESYNC_MAX_IDS
from tui.data.client_errors import (
    BadResponse,
    ServiceRejected,
    ServiceUnauthorized,
    ServiceUnavailable,
)
from tui.data.session_feed import FeedPulls

if TYPE_CHECKING:
    from tui.core.resync_models import ResyncResult

#: Errors per resync request (the article's limit).
BATCH_SIZE = RESYNC_MAX_IDS
#: Cache meta key of the resync job this console started (its request_id).
JOB_META = "resync_job"


@dataclass(frozen=True, slots=True)
class ResyncPlan:
    errors: int
    batches: int
    calls: int
    allocation_left: int | None
    #: The service asks the sync engine instead of sending to Salesforce (engine mode).
    engine: bool = False


@dataclass(frozen=True, slots=True)
class ResyncProgress:
    batch: int
    batches: int
    done: int
    total: int
    #: Why a resync job waits (the allocation, a Salesforce refusal), while it waits.
    waiting: str | None = None


@dataclass(frozen=True, slots=True)
class ResyncSummary:
    requested: int
    synced: int
    failed: int
    skipped: int
    calls: int
    failures_by_subtype: dict[str, int]
    refused: str | None
    #: Errors of batches the service reported as interrupted (outcome unknown; not re-sent).
    interrupted: int = 0
    #: Errors handed to the sync engine (engine mode): they resolve when it reports back.
    engine: int = 0
    #: Errors of batches that got no answer: kept, to be offered again (``replay_pending``).
    kept: int = 0


@dataclass
class _Tally:
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    calls: int = 0
    interrupted: int = 0
    engine: int = 0
    kept: int = 0
    refused: str | None = None

    def __post_init__(self) -> None:
        self.failures: Counter[str] = Counter()

    def add(self, result: ResyncResult) -> None:
        self.calls += result.salesforce_calls
        for outcome in result.outcomes:
            if outcome.status == "synced":
                self.synced += 1
            elif outcome.status == "requested":
                self.engine += 1
            elif outcome.status == "failed":
                self.failed += 1
                self.failures[outcome.subtype or "other.unknown"] += 1
            else:
                self.skipped += 1


class Resyncs(FeedPulls):
    """Sending errors back to Salesforce through the service."""

    def resync_plan(self, n: int) -> ResyncPlan:
        """Batches, Salesforce calls and the allocation left after resyncing ``n`` errors
        as one job (200 errors per batch, one Salesforce call each)."""
        batches = math.ceil(max(n, 0) / RECORDS_PER_CALL)
        engine = self.resync_mode == "engine"
        calls = 0 if engine else batches
        usage = self._usage
        left = None if usage is None else usage.allocated - usage.used - calls
        return ResyncPlan(n, batches, calls, left, engine)

    async def resync(
        self,
        ids: Sequence[int],
        progress: Callable[[ResyncProgress], None] | None = None,
    ) -> ResyncSummary:
        """Resync in batches of 100. Errors of a pending batch are left out: only
        ``replay_pending`` sends them (with their first request_id), never a new id."""
        async with self._resync_lock:
            pending = await self.cache.pending()
            handled = {i for _, batch in pending for i in batch}
            fresh = list(dict.fromkeys(i for i in ids if i not in handled))
            work: list[tuple[str | None, list[int]]] = [
                (None, fresh[i : i + BATCH_SIZE]) for i in range(0, len(fresh), BATCH_SIZE)
            ]
            return await self._run(work, progress)

    async def resync_job(
        self,
        ids: Sequence[int],
        progress: Callable[[ResyncProgress], None] | None = None,
        poll: float = 0.5,
    ) -> ResyncSummary:
        """Send ``ids`` as one resync job and follow it to its end.

        The request_id is written to the cache before the job is posted, so a console
        closed meanwhile finds the same job again when reopened (:meth:`open_job`).
        """
        request_id = str(uuid.uuid4())
        await self.cache.set_meta(JOB_META, {"request_id": request_id})
        job = await self.client.start_job(list(dict.fromkeys(ids)), request_id)
        return await self.follow_job(job.job_id, progress, poll)

    async def open_job(self) -> str | None:
        """The running job this console started (also before it was closed), if any."""
        mine = await self.cache.get_meta(JOB_META)
        if not mine:
            return None
        for job in await self.client.jobs():
            if job.request_id == mine.get("request_id"):
                if job.state == "running":
                    return job.job_id
                break
        await self.cache.set_meta(JOB_META, {})
        return None

    async def follow_job(
        self,
        job_id: str,
        progress: Callable[[ResyncProgress], None] | None = None,
        poll: float = 0.5,
    ) -> ResyncSummary:
        """Report a job's progress until it ends; its summary; then refresh."""
        while True:
            job = await self.client.job(job_id)
            if progress is not None:
                batches = max(1, math.ceil(job.total / RECORDS_PER_CALL))
                batch = min(batches, math.ceil(job.done / RECORDS_PER_CALL))
                progress(ResyncProgress(batch, batches, job.done, job.total, job.waiting))
            if job.state != "running":
                break
            await asyncio.sleep(poll)
        failures: Counter[str] = Counter()
        cursor = 0
        while True:
            page = await self.client.job(job_id, cursor, 10000)
            failures.update(o.subtype or "other.unknown" for o in page.outcomes
                            if o.status == "failed")  # fmt: skip
            if len(page.outcomes) < 10000:
                break
            cursor = page.next_cursor
        await self.cache.set_meta(JOB_META, {})
        await self._update()
        counts = job.counts
        return ResyncSummary(
            requested=job.total,
            synced=counts.synced,
            failed=counts.failed,
            skipped=counts.skipped + counts.cancelled,
            calls=job.salesforce_calls,
            failures_by_subtype=dict(failures),
            refused=None,
            interrupted=counts.unknown,
            engine=counts.requested,
        )

    async def pending_resync(self) -> list[int]:
        """Error ids of the batches sent without an answer, to show before any replay."""
        return [i for _, batch in await self.cache.pending() for i in batch]

    async def replay_pending(
        self, progress: Callable[[ResyncProgress], None] | None = None
    ) -> ResyncSummary:
        """Send the pending batches again with their own request_ids (the user agreed)."""
        async with self._resync_lock:
            pending = await self.cache.pending()
            return await self._run([(rid, b) for rid, b in pending], progress)

    async def drop_pending(self) -> int:
        """Forget the pending batches without sending them; the errors they held."""
        pending = await self.cache.pending()
        for request_id, _ in pending:
            await self.cache.drop_pending(request_id)
        return sum(len(batch) for _, batch in pending)

    async def _run(
        self,
        work: list[tuple[str | None, list[int]]],
        progress: Callable[[ResyncProgress], None] | None,
    ) -> ResyncSummary:
        tally = _Tally()
        total = sum(len(batch) for _, batch in work)
        done = 0
        for number, (request_id, batch) in enumerate(work, 1):
            if tally.refused is not None:
                tally.skipped += len(batch)
            else:
                await self._send(request_id, batch, tally)
            done += len(batch)
            if progress is not None:
                progress(ResyncProgress(number, len(work), done, total))
        await self._update()
        return ResyncSummary(
            requested=total,
            synced=tally.synced,
            failed=tally.failed,
            skipped=tally.skipped,
            calls=tally.calls,
            failures_by_subtype=dict(tally.failures),
            refused=tally.refused,
            interrupted=tally.interrupted,
            engine=tally.engine,
            kept=tally.kept,
        )

    async def _send(self, request_id: str | None, batch: list[int], tally: _Tally) -> None:
        """Send one batch (written down first); outcomes and refusals go to ``tally``."""
        if request_id is None:
            request_id = str(uuid.uuid4())
            await self.cache.add_pending(request_id, batch)
        try:
            result = await self.client.resync(batch, request_id)
        except ServiceRejected as exc:
            tally.skipped += len(batch)
            if exc.code == "resync_in_progress":  # another replica is sending it: not settled
                tally.kept += len(batch)
                tally.refused = exc.message
                return
            await self.cache.drop_pending(request_id)
            if exc.code == "resync_interrupted" or (exc.status == 409 and not exc.code):
                tally.interrupted += len(batch)
            else:
                tally.refused = exc.message
        except ServiceUnauthorized as exc:
            await self.cache.drop_pending(request_id)
            tally.skipped += len(batch)
            tally.refused = exc.message
        except ServiceUnavailable as exc:
            tally.skipped += len(batch)
            tally.refused = exc.message
            if exc.status is not None and exc.code:
                # the service answered (its own error, or Salesforce's): settled, never replayed
                await self.cache.drop_pending(request_id)
                if exc.code in ("salesforce_unavailable", "salesforce_bad_answer"):
                    tally.interrupted += len(batch)
            else:
                # no answer (timeout, connection lost, a proxy's 5xx): outcome unknown;
                # kept, and offered to the user again before anything is re-sent
                tally.kept += len(batch)
        except BadResponse as exc:
            tally.skipped += len(batch)
            tally.kept += len(batch)
            tally.refused = exc.message  # kept pending: a replay reads the stored result
        else:
            await self.cache.drop_pending(request_id)
            tally.add(result)
