"""Automatic retries: open errors of chosen types resynced on a schedule, within budget.

The policy (``GET``/``PUT /v1/retries``, settings key ``retry_policy``) follows
HubSpot's: an error is retried ``every_minutes`` after its last attempt until it has
``max_attempts`` attempts, then once a night at ``nightly_at`` (UTC). Only the error
types in ``types`` are retried: by default the integration's own checks (association:
waiting for the account, owner not synced) and causes fixed on the Salesforce side
(custom code, permissions, other: validation rules, flows, locks, sharing), which a
later attempt may get past; data values (picklist, property value, field mapping,
duplicate) need a fix in the CRM first, so retrying them only spends calls.

Retries stop while the integration's 24-hour use is at or above ``ceiling_percent`` of
the allocation, and go on when it falls below; the change is kept in settings
(``retry_state``), shown on ``GET /v1/usage`` and announced by a notification. One
round (:meth:`RetryWorker.tick`) sends the due errors, oldest attempt first, in
resyncs of 200, no more than the calls left under the ceiling. The policy is off
until an admin turns it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from tui.core.limits import RECORDS_PER_CALL
from tui.core.models import NextRetry, RetryPolicy, RetryStatus
from tui.service import history
from tui.service.db.dialect import json_list_values
from tui.service.ledger import Ledger, iso
from tui.service.resync import ResyncRefused
from tui.service.rounds import failed_round, leave_if_stopping
from tui.service.usage import UsageLedger

log = logging.getLogger(__name__)
#: Who the history names for the service's own retries.
RETRY_ACTOR = "automatic retries"

POLICY_KEY = "retry_policy"
STATE_KEY = "retry_state"


async def load_policy(ledger: Ledger) -> RetryPolicy:
    stored = await ledger.setting(POLICY_KEY)
    return RetryPolicy() if stored is None else RetryPolicy.model_validate(stored)


async def load_state(ledger: Ledger) -> dict[str, Any]:
    return await ledger.setting(STATE_KEY) or {"paused": False, "since": None}


def last_nightly(policy: RetryPolicy, now: datetime) -> datetime:
    """The latest nightly slot at or before ``now``."""
    hour, minute = map(int, policy.nightly_at.split(":"))
    slot = datetime.combine(now.date(), time(hour, minute), tzinfo=now.tzinfo)
    return slot if slot <= now else slot - timedelta(days=1)


def next_retry(
    policy: RetryPolicy, paused: bool, status: str, type_: str, attempts: int, last_seen: datetime
) -> NextRetry:
    """One error's next automatic retry, or why there is none."""
    if not policy.enabled:
        return NextRetry(reason="off")
    if status != "open":
        return NextRetry(reason="ignored" if status == "ignored" else "resolved")
    if type_ not in policy.types:
        return NextRetry(reason="type_not_retried")
    if attempts < policy.max_attempts:
        at = last_seen + timedelta(minutes=policy.every_minutes)
    else:
        at = last_nightly(policy, last_seen) + timedelta(days=1)
    return NextRetry(at=at, reason="paused_for_budget" if paused else "scheduled")


class RetryWorker:
    """Runs retry rounds every ``interval`` seconds (None: only when ``tick`` is called)."""

    def __init__(
        self,
        ledger: Ledger,
        usage: UsageLedger,
        resync: Callable[[str, Sequence[int]], Awaitable[dict[str, Any]]],
        clock: Callable[[], datetime],
        announce: Callable[[str, dict[str, Any]], Awaitable[None]],
        interval: float | None,
        before_round: Callable[[], Awaitable[Any]] | None = None,
        may_run: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._ledger = ledger
        self._usage = usage
        self._resync = resync
        self._clock = clock
        self._announce = announce  # (kind, facts): a paused/resumed notification
        self._interval = interval
        #: Runs first in every round (the service's: reopen ignores that expired).
        self._before_round = before_round
        #: Whether this replica holds the retries' lease (tui/service/lease.py).
        self._may_run = may_run
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval is not None and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retries")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        assert self._interval is not None
        while True:
            try:
                if self._may_run is None or await self._may_run():
                    await self.tick()
            except Exception:  # a round that failed is logged; the next one tries again
                failed_round(log, "automatic retry round failed")
            leave_if_stopping()  # a cancel the round swallowed (rounds.py)
            await asyncio.sleep(self._interval)

    async def status(self) -> RetryStatus:
        policy, state = await load_policy(self._ledger), await load_state(self._ledger)
        return RetryStatus(
            **policy.model_dump(), paused=state["paused"], paused_since=state.get("since")
        )

    async def next_for(self, row: dict[str, Any]) -> NextRetry:
        policy, state = await load_policy(self._ledger), await load_state(self._ledger)
        last_seen = datetime.fromisoformat(row["last_seen"].replace("Z", "+00:00"))
        return next_retry(
            policy, state["paused"], row["status"], row["type"], row["attempts"], last_seen
        )

    async def tick(self) -> int:
        """One round: pause or resume by the budget, then retry what is due; errors sent."""
        if self._before_round is not None:
            await self._before_round()
        policy = await load_policy(self._ledger)
        if not policy.enabled:
            await self._set_paused(False, None)
            return 0
        room = await self._room(policy)
        if room <= 0:
            return 0
        now = self._clock()
        due = await self._due(policy, now, room * RECORDS_PER_CALL)
        sent = 0
        for start in range(0, len(due), RECORDS_PER_CALL):
            chunk = due[start : start + RECORDS_PER_CALL]
            request_id = f"retry-{iso(now)}-{start // RECORDS_PER_CALL}"
            try:
                result = await self._resync(request_id, chunk)
            except ResyncRefused as exc:
                log.warning("automatic retry stopped: %s", exc.message)
                break
            summary = history.resync_summary(result)
            await history.record(self._ledger, now, "resync", request_id, RETRY_ACTOR, summary)
            sent += len(chunk)
            if await self._room(policy) <= 0:
                break
        return sent

    async def _room(self, policy: RetryPolicy) -> int:
        """Calls left under the ceiling; pauses or resumes (and says so) as it changes."""
        used, allocated = await self._usage.used(), await self._usage.allocated()
        ceiling = allocated * policy.ceiling_percent / 100
        paused = used >= ceiling
        facts = {"used": used, "allocated": allocated, "ceiling_percent": policy.ceiling_percent}
        await self._set_paused(paused, facts)
        return 0 if paused else math.ceil(ceiling - used)

    async def _set_paused(self, paused: bool, facts: dict[str, Any] | None) -> None:
        state = await load_state(self._ledger)
        if state["paused"] == paused:
            return
        since = iso(self._clock()) if paused else None
        await self._ledger.set_setting(STATE_KEY, {"paused": paused, "since": since})
        if facts is not None:
            await self._announce("retries_paused" if paused else "retries_resumed", facts)

    async def _due(self, policy: RetryPolicy, now: datetime, limit: int) -> list[int]:
        """Open errors of the policy's types whose retry is due, oldest attempt first;
        none that a running resync job holds or that waits for the sync engine."""
        if not policy.types:
            return []
        marks = ",".join("?" * len(policy.types))
        soon = iso(now - timedelta(minutes=policy.every_minutes))
        night = iso(last_nightly(policy, now))
        reader = self._ledger.reader
        items, value = json_list_values(reader.dialect, "r.error_ids")
        async with reader.execute(
            "SELECT id FROM errors WHERE status = 'open' "
            f"AND type IN ({marks}) "
            "AND ((attempts < ? AND last_seen <= ?) OR (attempts >= ? AND last_seen < ?)) "
            "AND id NOT IN (SELECT i.error_id FROM resync_job_items i JOIN resync_jobs j "
            "ON j.job_id = i.job_id WHERE j.state = 'running' "
            "AND i.state IN ('pending', 'sending')) "
            f"AND id NOT IN (SELECT {value} FROM engine_requests r, {items} "
            "WHERE r.state = 'waiting') "
            "ORDER BY last_seen, id LIMIT ?",
            (*policy.types, policy.max_attempts, soon, policy.max_attempts, night, limit),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]
