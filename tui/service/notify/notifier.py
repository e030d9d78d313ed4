"""The notifier: one :meth:`Notifier.tick` decides what to say and delivers what is due.

A round, under one lock (the background loop and tests never overlap):

1. *produce*, in one ledger transaction: read the watermarks, compose what is due
   (an immediate batch, a digest, a usage alert), queue it in the outbox per channel
   and advance the watermarks. Commit. A crash before the commit leaves nothing; after
   it, the messages are in the outbox.
2. *deliver*: send every due outbox row once, mark it sent, or note the failure and
   when to try again.

Immediate messages are debounced: errors that arrive together make one message,
sent once no new error came for 20 s, or 45 s after the first unannounced one was
noticed, whichever is first (:class:`.schedule.Debounce`). With the loop's default 5 s
interval that is within a minute of the first error.

With notifications off the watermark follows the newest error, so turning them on
announces what comes next, not the backlog. In alert mode (:mod:`.cause_alerts`) it
follows the newest error too: that mode speaks of causes, not of each new error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from tui.core.notify_models import Channel, NotificationSettings, NotificationStatus, TestSendResult
from tui.service.db import Connection
from tui.service.ledger import Ledger
from tui.service.notify import compose
from tui.service.notify.cause_alerts import CauseAlerts
from tui.service.notify.channels import CHANNELS, Channels
from tui.service.notify.delivery import DeliveryError, Outgoing
from tui.service.notify.digest import max_error_id, summarize
from tui.service.notify.mutes import Mutes
from tui.service.notify.outbox import Message, Outbox
from tui.service.notify.schedule import (
    Debounce,
    is_digest,
    latest_slot,
    next_slot,
    schedule_key,
)
from tui.service.notify.settings import load_settings
from tui.service.notify.state import DigestState, NotifyState, load_state, save_state
from tui.service.notify.text import Text
from tui.service.notify.usage_alerts import UsageFigures, crossing
from tui.service.rounds import failed_round, leave_if_stopping
from tui.service.usage import UsageLedger

PRUNE_EVERY = timedelta(days=1)
DELIVERIES_SHOWN = 20
log = logging.getLogger("synchealth.notify")


class NotConfigured(Exception):
    """A test send on a channel that cannot send; the message says what to configure.

    ``reason`` names the case as a code (the doctor's phrase ``notify.<reason>``).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Notifier:
    def __init__(
        self,
        ledger: Ledger,
        usage: UsageLedger,
        channels: Channels,
        clock: Callable[[], datetime],
        org_name: Callable[[], Awaitable[str]],
        interval: float | None = 5.0,
        catch_up_causes: Callable[[], Awaitable[int]] | None = None,
        may_run: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._ledger = ledger
        self._usage = usage
        self.channels = channels
        self._clock = clock
        self._org_name = org_name
        self._interval = interval
        self._outbox = Outbox(ledger)
        self._catch_up_causes = catch_up_causes
        #: Whether this replica holds the notifier's lease (tui/service/lease.py).
        self._may_run = may_run
        self._alerts = CauseAlerts()
        self.mutes = Mutes(ledger, clock)
        self._lock = asyncio.Lock()
        self._debounce = Debounce()
        self._pruned_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # -- life -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the background loop is on."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Close test sends a stopped service left open; start the loop if it has an interval."""
        await self._outbox.abandon_tests()
        if self._interval is not None and self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="synchealth-notifier")

    async def stop(self, grace: float = 30.0) -> None:
        """Let a round in progress finish (up to ``grace`` seconds), then end the loop."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            _, running = await asyncio.wait({task}, timeout=grace)
            if running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.channels.aclose()

    async def _run(self) -> None:
        assert self._interval is not None
        while not self._stopping.is_set():
            try:
                if self._may_run is None or await self._may_run():
                    await self.tick()
            except Exception:  # one bad round must not end notifications for good
                failed_round(log, f"a notifier round failed; trying again in {self._interval:g} s")
            leave_if_stopping()  # a cancel the round swallowed (rounds.py)
            with contextlib.suppress(TimeoutError):  # not wait_for: see jobs.py
                async with asyncio.timeout(self._interval):
                    await self._stopping.wait()

    # -- one round --------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> None:
        """Compose and queue what is due, then deliver what is due, at ``now``."""
        async with self._lock:
            now = now or self._clock()
            settings = await load_settings(self._ledger)
            usage = None
            if settings.enabled:
                usage = UsageFigures(await self._usage.used(), await self._usage.allocated())
                if settings.frequency == "alerts" and self._catch_up_causes is not None:
                    await self._catch_up_causes()  # the cause totals alert mode compares with
            await self._produce(now, settings, usage)
            await self._deliver(now)
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                await self._outbox.prune(now)
                await self.mutes.prune(now)
                self._pruned_at = now

    async def _produce(
        self, now: datetime, settings: NotificationSettings, usage: UsageFigures | None
    ) -> None:
        if not settings.enabled or usage is None:
            self._debounce.reset()
            off = NotifyState(announced_id=await max_error_id(self._ledger.reader))
            if await load_state(self._ledger.reader) == off:
                return  # nothing to write: no write lock every round while notifications are off
        org = await self._org_name()
        announced_now = False
        async with self._ledger.transaction() as conn:
            old = await load_state(conn)
            top = await max_error_id(conn)
            if not settings.enabled or usage is None:
                new = NotifyState(announced_id=top)
                messages: list[Message] = []
            else:
                new, messages = await self._compose(conn, now, settings, usage, old, top, org)
                announced_now = (new.announced_id or 0) > (old.announced_id or 0)
            for message in messages:
                await self._queue(conn, message, settings, now)
            if old.alerts and not new.alerts:
                await CauseAlerts.forget(conn)
                self._alerts.reset()
            await save_state(conn, old, new)
        if announced_now or not settings.enabled or settings.frequency != "immediate":
            self._debounce.reset()

    async def _compose(
        self,
        conn: Connection,
        now: datetime,
        settings: NotificationSettings,
        usage: UsageFigures,
        old: NotifyState,
        top: int,
        org: str,
    ) -> tuple[NotifyState, list[Message]]:
        text = Text(settings.lang)
        announced = top if old.announced_id is None else old.announced_id
        state, messages = old.but(announced_id=announced), []
        if settings.frequency == "immediate":
            state = state.but(digest=None)
            if self._immediate_due(now, announced, top):
                summary = await summarize(conn, announced, top)
                messages.append(compose.immediate(text, org, summary, usage))
                state = state.but(announced_id=top)
        elif settings.frequency == "alerts":
            state = state.but(digest=None, announced_id=top)
            state, alerts = await self._alert_round(conn, now, settings, state, text, org)
            messages += alerts
        else:
            state, digest = self._digest_due(now, settings, state)
            if digest is not None:
                summary = await summarize(conn, announced, top)
                kind: Literal["daily", "weekly"] = (
                    "weekly" if settings.frequency == "weekly" else "daily"
                )
                zone = settings.timezone
                messages.append(compose.digest(text, org, kind, summary, usage, digest, zone))
                state = state.but(announced_id=top)
        if settings.usage_alerts:
            change = crossing(usage.percent, old.usage_level, settings.usage_thresholds)
            if change is not None:
                messages.append(compose.usage_change(text, org, change, usage))
                state = state.but(usage_level=change.level)
        else:
            state = state.but(usage_level=0)
        if settings.frequency != "alerts":
            state = state.but(alerts=False)
        return state, messages

    async def _alert_round(
        self,
        conn: Connection,
        now: datetime,
        settings: NotificationSettings,
        state: NotifyState,
        text: Text,
        org: str,
    ) -> tuple[NotifyState, list[Message]]:
        if not state.alerts:
            await self._alerts.baseline(conn, now, settings)
            return state.but(alerts=True), []
        muted = await self.mutes.muted(conn, now)
        changes = await self._alerts.round(conn, now, settings, muted)
        return state, [compose.cause_alert(text, org, changes, settings)] if changes else []

    def _immediate_due(self, now: datetime, announced: int, top: int) -> bool:
        """Debounce: true once the new errors have been quiet, or waited, long enough."""
        if top <= announced:
            self._debounce.reset()
            return False
        return self._debounce.due(top, now)

    @staticmethod
    def _digest_due(
        now: datetime, settings: NotificationSettings, state: NotifyState
    ) -> tuple[NotifyState, datetime | None]:
        """The state after this round, and the start of the period to digest if one is due.

        However many slots passed (the service was down for days), one digest is sent.
        A new or changed schedule starts from its latest slot without sending.
        """
        key, latest = schedule_key(settings), latest_slot(now, settings)
        digest = state.digest
        if digest is None or digest.key != key:
            since = now if digest is None else digest.since
            return state.but(digest=DigestState(key, latest, since)), None
        if latest <= digest.slot:
            return state, None
        return state.but(digest=DigestState(key, latest, now)), digest.since

    async def announce(self, kind: str, facts: dict[str, Any]) -> None:
        """Queue a one-off notice (automatic retries paused or resumed) on the channels
        the settings turn on; nothing while notifications are off."""
        settings = await load_settings(self._ledger)
        if not settings.enabled:
            return
        message = compose.retries_change(Text(settings.lang), await self._org_name(), kind, facts)
        async with self._lock, self._ledger.transaction() as conn:
            await self._queue(conn, message, settings, self._clock())

    async def _queue(
        self,
        conn: Connection,
        message: Message,
        settings: NotificationSettings,
        now: datetime,
    ) -> None:
        for channel in CHANNELS:
            on = settings.email.enabled if channel == "email" else settings.webhook.enabled
            if not on:
                continue
            problem = "" if self.channels.configured(channel) else self.channels.missing(channel)
            recipients = settings.email.recipients if channel == "email" else []
            await Outbox.add(conn, message, channel, recipients, now, problem)

    async def _deliver(self, now: datetime) -> None:
        unreachable: set[Channel] = set()
        for row in await self._outbox.due(now):
            if row.channel in unreachable:
                continue
            row_id = row.outgoing.delivery_id
            try:
                sent = await self.channels.send(row.channel, row.outgoing)
            except DeliveryError as exc:
                retry = await self._outbox.failed(
                    row_id, row.attempts, now, exc.message, exc.permanent
                )
                log.warning(
                    "notification %d (%s by %s) failed, %s: %s",
                    row_id,
                    row.outgoing.kind,
                    row.channel,
                    f"next try at {retry:%H:%M:%S}" if retry else "giving up",
                    exc.message,
                )
                if not exc.permanent:
                    unreachable.add(row.channel)
                continue
            await self._outbox.sent(row_id, now, sent.warning)
            log.info("notification %d (%s by %s) sent", row_id, row.outgoing.kind, row.channel)

    # -- API ------------------------------------------------------------------------

    async def status(self) -> NotificationStatus:
        settings = await load_settings(self._ledger)
        state = await load_state(self._ledger.reader)
        return NotificationStatus(
            channels=self.channels.status(),
            next_digest_at=self._next_digest(settings, state),
            deliveries=await self._outbox.recent(DELIVERIES_SHOWN),
        )

    def _next_digest(self, settings: NotificationSettings, state: NotifyState) -> datetime | None:
        if not settings.enabled or not is_digest(settings):
            return None
        digest = state.digest
        if digest is not None and digest.key == schedule_key(settings):
            return next_slot(digest.slot, settings)
        return next_slot(self._clock(), settings)

    async def test_send(self, channel: Channel) -> TestSendResult:
        """Send a test now, once, whatever the settings' on/off; the exact outcome."""
        if not self.channels.configured(channel):
            raise NotConfigured(self.channels.missing(channel), f"unconfigured_{channel}")
        settings = await load_settings(self._ledger)
        recipients = settings.email.recipients if channel == "email" else []
        if channel == "email" and not recipients:
            raise NotConfigured(
                "email has no recipients yet: add at least one address to email.recipients "
                "in the notification settings",
                "no_recipients",
            )
        now = self._clock()
        text = Text(settings.lang)
        message = compose.trial_message(text, await self._org_name(), channel, settings)
        row_id = await self._outbox.record_test(message, channel, recipients, now)
        outgoing = Outgoing(
            row_id, "test", message.subject, message.body, now, message.data, tuple(recipients)
        )
        try:
            sent = await self.channels.send(channel, outgoing)
        except DeliveryError as exc:
            await self._outbox.close_test(row_id, now, False, exc.message)
            return TestSendResult(channel=channel, ok=False, detail=exc.message, delivery_id=row_id)
        await self._outbox.close_test(row_id, now, True, sent.warning)
        detail = f"{sent.detail}; {sent.warning}" if sent.warning else sent.detail
        return TestSendResult(channel=channel, ok=True, detail=detail, delivery_id=row_id)
