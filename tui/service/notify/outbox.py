"""The outbox: every message, per channel, persisted before anyone tries to send it.

A message is queued in the same transaction that advances the notifier's
watermarks (:meth:`Outbox.add` takes that transaction's connection), so a crash
either keeps both or neither. Delivery then works on rows: a row is marked sent
only after the receiver accepted it. The one window left: the receiver accepted
but the process died before the row was marked; that row is sent again at the
next start (at least once, never zero times). The Message-ID / ``delivery_id``
stays the same, so a receiver can drop the repeat.

Alert mode's state changes carry keys (tui/service/notify/cause_alerts.py); the
outbox keeps the keys it queued (``notify_alert_keys``) as long as the rows, so the
same change is never queued twice, even if the rest of the notifier's state is lost.

A failed attempt is retried after :data:`BACKOFF`; after :data:`MAX_ATTEMPTS`
attempts, or at once for a permanent failure, the row is ``failed`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from tui.core.notify_models import Channel, Delivery
from tui.service.db import Connection
from tui.service.ledger import Ledger, iso
from tui.service.notify.delivery import Outgoing

#: Waits before the 2nd, 3rd, ... attempt.
BACKOFF: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
#: Sent and failed rows older than this are dropped.
KEEP = timedelta(days=90)

_COLUMNS = (
    "id, kind, channel, status, subject, created, attempts, last_attempt, next_attempt, error"
)


@dataclass(frozen=True, slots=True)
class Message:
    """What the notifier composed: the same text goes to every channel."""

    kind: str
    subject: str
    body: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    """A pending outbox row: what to send and how often it was tried."""

    channel: Channel
    attempts: int
    outgoing: Outgoing


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _delivery(
    row_id: int,
    kind: str,
    channel: str,
    status: str,
    subject: str,
    created: str,
    attempts: int,
    last_attempt: str | None,
    next_attempt: str | None,
    error: str,
) -> Delivery:
    return Delivery.model_validate(
        {
            "id": row_id,
            "kind": kind,
            "channel": channel,
            "status": status,
            "subject": subject,
            "created": created,
            "attempts": attempts,
            "last_attempt": _time(last_attempt),
            "next_attempt": _time(next_attempt),
            "error": error,
        }
    )


class Outbox:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @staticmethod
    async def add(
        conn: Connection,
        message: Message,
        channel: Channel,
        recipients: list[str],
        now: datetime,
        problem: str = "",
    ) -> int:
        """Queue ``message`` on ``channel`` inside ``conn``'s transaction.

        With a ``problem`` (the channel cannot send at all) the row is recorded as
        failed right away, so the delivery log shows why nothing arrived.
        """
        status, next_attempt = ("failed", None) if problem else ("pending", iso(now))
        cur = await conn.execute(
            "INSERT INTO notify_outbox(kind, channel, status, subject, body, data, recipients, "
            "created, attempts, next_attempt, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) "
            "RETURNING id",
            (
                message.kind,
                channel,
                status,
                message.subject,
                message.body,
                orjson.dumps(message.data).decode(),
                orjson.dumps(recipients).decode(),
                iso(now),
                next_attempt,
                problem,
            ),
        )
        return int(cur.rows[0][0])

    @staticmethod
    async def fresh_keys(conn: Connection, keys: frozenset[str]) -> frozenset[str]:
        """The ``keys`` not queued before."""
        if not keys:
            return keys
        known: set[str] = set()
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            async with conn.execute(
                f"SELECT key FROM notify_alert_keys WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            ) as cur:
                known.update(key for (key,) in await cur.fetchall())
        return keys - known

    @staticmethod
    async def remember_keys(conn: Connection, keys: frozenset[str], now: datetime) -> None:
        await conn.executemany(
            "INSERT INTO notify_alert_keys(key, created) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(key, iso(now)) for key in sorted(keys)],
        )

    async def due(self, now: datetime, limit: int = 100) -> list[Row]:
        """Pending rows whose next attempt is due, oldest first."""
        async with self._ledger.reader.execute(
            "SELECT id, kind, channel, subject, body, data, recipients, created, attempts "
            "FROM notify_outbox WHERE status = 'pending' AND next_attempt <= ? "
            "ORDER BY id LIMIT ?",
            (iso(now), limit),
        ) as cur:
            rows = await cur.fetchall()
        return [
            Row(
                channel=channel,
                attempts=attempts,
                outgoing=Outgoing(
                    delivery_id=row_id,
                    kind=kind,
                    subject=subject,
                    body=body,
                    created=datetime.fromisoformat(created),
                    data=orjson.loads(data),
                    recipients=tuple(orjson.loads(recipients)),
                ),
            )
            for row_id, kind, channel, subject, body, data, recipients, created, attempts in rows
        ]

    async def sent(self, row_id: int, now: datetime, warning: str = "") -> None:
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "UPDATE notify_outbox SET status = 'sent', attempts = attempts + 1, "
                "last_attempt = ?, next_attempt = NULL, error = ? WHERE id = ?",
                (iso(now), warning, row_id),
            )

    async def failed(
        self, row_id: int, attempts_before: int, now: datetime, error: str, permanent: bool
    ) -> datetime | None:
        """Record a failed attempt; the time of the next one, or None when it gives up."""
        attempts = attempts_before + 1
        retry = None if permanent or attempts >= MAX_ATTEMPTS else now + BACKOFF[attempts - 1]
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "UPDATE notify_outbox SET status = ?, attempts = ?, last_attempt = ?, "
                "next_attempt = ?, error = ? WHERE id = ?",
                (
                    "failed" if retry is None else "pending",
                    attempts,
                    iso(now),
                    None if retry is None else iso(retry),
                    error,
                    row_id,
                ),
            )
        return retry

    async def record_test(
        self, message: Message, channel: Channel, recipients: list[str], now: datetime
    ) -> int:
        """A test send's row, written before the one attempt; it is never retried."""
        async with self._ledger.transaction() as conn:
            row_id = await self.add(conn, message, channel, recipients, now)
            await conn.execute(
                "UPDATE notify_outbox SET next_attempt = NULL WHERE id = ?", (row_id,)
            )
        return row_id

    async def close_test(self, row_id: int, now: datetime, ok: bool, note: str) -> None:
        async with self._ledger.transaction() as conn:
            await conn.execute(
                "UPDATE notify_outbox SET status = ?, attempts = 1, last_attempt = ?, error = ? "
                "WHERE id = ?",
                ("sent" if ok else "failed", iso(now), note, row_id),
            )

    async def abandon_tests(self) -> int:
        """Test sends a stopped service left open become failed (tests are never retried)."""
        async with self._ledger.transaction() as conn:
            cur = await conn.execute(
                "UPDATE notify_outbox SET status = 'failed', "
                "error = 'the service stopped before the test finished' "
                "WHERE kind = 'test' AND status = 'pending'"
            )
            return cur.rowcount

    async def prune(self, now: datetime) -> int:
        async with self._ledger.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM notify_outbox WHERE status != 'pending' AND created < ?",
                (iso(now - KEEP),),
            )
            await conn.execute(
                "DELETE FROM notify_alert_keys WHERE created < ?", (iso(now - KEEP),)
            )
            return cur.rowcount

    async def recent(self, limit: int = 20) -> list[Delivery]:
        """The newest deliveries first, as the API shows them."""
        async with self._ledger.reader.execute(
            f"SELECT {_COLUMNS} FROM notify_outbox ORDER BY id DESC LIMIT ?", (limit,)
        ) as cur:
            rows = await cur.fetchall()
        return [_delivery(*row) for row in rows]
