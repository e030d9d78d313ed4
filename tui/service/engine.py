"""Engine-mode resyncs: requests to the sync engine to re-read a record and sync it.

In ``engine`` mode (``resync_mode`` in the service's profile) a resync sends nothing to
Salesforce: each record of the errors becomes one request in ``engine_requests``
(an error whose record already has a waiting request joins it). The sync engine's
workers take requests with ``GET /v1/engine/requests?lease=SECONDS``: a request is
leased to one worker until the lease ends, and offered again after that, so two
workers never hold the same request. The worker re-reads the record from the CRM,
syncs it, and reports the outcome as a normal ingest item carrying the
``request_id`` (:func:`answer_request`); ``POST /v1/engine/requests/{id}/release``
gives a request back early. A request not answered before it expires (24 hours by
default) becomes ``expired``, with an ``expired`` entry in its errors' history.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from tui.service.db import Connection
from tui.service.ledger import Ledger, iso
from tui.service.resync import NO_SUCH_ERROR, not_open, outcome, replay

MIN_LEASE = 1
MAX_LEASE = 3600
MAX_TAKE = 100

_REQUEST_COLUMNS = (
    "request_id, object_type, record_id, direction, error_ids, record, created, expires, "
    "state, lease_until, answered, outcome"
)

#: Why an ingest item's request_id was not taken as the request's answer.
ANSWER_NOTES = {
    "unknown_request": "no engine request has this request_id; the item was recorded as a "
    "report of its own",
    "request_expired": "this engine request had expired (it waited too long for an answer); "
    "the item was recorded as a report of its own",
    "request_answered": "this engine request was already answered; the item was recorded as "
    "a report of its own",
}


class EngineRefused(Exception):
    """The call was not carried out; ``status``/``code``/``message`` go to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _salesforce_of(sf_object: str, sf_id: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Where the record is in Salesforce, as last reported: object, id, external id."""
    out: dict[str, Any] = {"object": sf_object, "id": sf_id, "external_id": None}
    upsert = payload.get("upsert")
    record = payload.get("record") or {}
    if isinstance(upsert, dict) and record.get(upsert.get("field")) is not None:
        out["external_id"] = {"field": upsert["field"], "value": str(record[upsert["field"]])}
    return out


def _request_of(row: Sequence[Any]) -> dict[str, Any]:
    """An ``EngineRequest`` dict of an ``engine_requests`` row (``_REQUEST_COLUMNS``)."""
    return {
        "request_id": row[0],
        "object_type": row[1],
        "record_id": row[2],
        "direction": row[3],
        "error_ids": orjson.loads(row[4]),
        "salesforce": orjson.loads(row[5]),
        "created": row[6],
        "expires": row[7],
        "lease_until": row[9],
    }


async def expire_due(conn: Connection, now: datetime) -> int:
    """Inside a transaction: waiting requests past their expiry become ``expired``; the
    history entry is dated when each expired, whenever this runs."""
    async with conn.execute(
        "SELECT request_id, error_ids, expires FROM engine_requests WHERE state = 'waiting' "
        "AND expires <= ?",
        (iso(now),),
    ) as cur:
        due = list(await cur.fetchall())
    if not due:
        return 0
    await conn.executemany(
        "UPDATE engine_requests SET state = 'expired', lease_until = NULL WHERE request_id = ?",
        [(request_id,) for request_id, _, _ in due],
    )
    await conn.executemany(
        "INSERT INTO attempts(error_id, at, outcome, sf_code, message, request_id) "
        "VALUES (?, ?, 'expired', '', '', ?)",
        [(e, at, request_id) for request_id, ids, at in due for e in orjson.loads(ids)],
    )
    return len(due)


async def answer_request(
    conn: Connection, request_id: str, result: str, now: datetime
) -> str | None:
    """Inside a transaction: take an ingest item as the answer to ``request_id``.

    None when it was taken; else the code of :data:`ANSWER_NOTES` that says why not
    (the item itself is recorded either way: it is a true report of the record).
    """
    async with conn.execute(
        "SELECT state, expires FROM engine_requests WHERE request_id = ?", (request_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return "unknown_request"
    state, expires = row
    if state == "waiting" and expires <= iso(now):
        await expire_due(conn, now)
        state = "expired"
    if state != "waiting":
        return "request_expired" if state == "expired" else "request_answered"
    await conn.execute(
        "UPDATE engine_requests SET state = 'answered', answered = ?, outcome = ?, "
        "lease_until = NULL WHERE request_id = ?",
        (iso(now), result, request_id),
    )
    return None


class EngineQueue:
    def __init__(self, ledger: Ledger, clock: Callable[[], datetime], ttl: timedelta) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ttl = ttl
        self._lock = asyncio.Lock()

    async def resync(self, request_id: str, error_ids: Sequence[int]) -> dict[str, Any]:
        """An engine-mode resync: one request per record; the ``ResyncResult`` as a dict."""
        ids = list(dict.fromkeys(error_ids))
        async with self._lock:
            stored = await self._ledger.request(request_id)
            if stored is not None:
                return replay(stored.state, stored.error_ids, stored.result, ids)
            now = self._clock()
            async with self._ledger.transaction() as conn:
                await expire_due(conn, now)
                outcomes = await self._request(conn, ids, now)
                result = {
                    "request_id": request_id,
                    "outcomes": [outcomes[i] for i in ids],
                    "salesforce_calls": 0,
                    "replayed": False,
                }
                await Ledger.record_request(conn, request_id, ids, now)
                await Ledger.finish_request(conn, request_id, result)
            return result

    async def _request(
        self, conn: Connection, ids: list[int], now: datetime
    ) -> dict[int, dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        async with conn.execute(
            "SELECT id, status, object_type, record_id, direction, sf_object, sf_id, payload "
            f"FROM errors WHERE id IN ({marks})",
            ids,
        ) as cur:
            rows = {r[0]: r for r in await cur.fetchall()}
        outcomes: dict[int, dict[str, Any]] = {}
        records: dict[tuple[str, str, str], list[Sequence[Any]]] = {}
        for error_id in ids:
            row = rows.get(error_id)
            if row is None:
                outcomes[error_id] = outcome(error_id, "skipped", message=NO_SUCH_ERROR)
            elif row[1] != "open":
                outcomes[error_id] = outcome(error_id, "skipped", message=not_open(row[1]))
            else:
                records.setdefault((row[2], row[3], row[4]), []).append(row)
        at = iso(now)
        history: list[tuple[int, str, str]] = []
        for key, same in records.items():
            engine_id, joined = await self._request_for(conn, key, same, now)
            for entry in same:
                outcomes[entry[0]] = outcome(
                    entry[0],
                    "requested",
                    message=f"Sent to the sync engine as request {engine_id}: it re-reads the "
                    "record from the CRM and syncs it; the error resolves when the engine "
                    "reports the record synced.",
                    engine_request_id=engine_id,
                )
                if entry[0] in joined:  # asked again while waiting: one history entry
                    history.append((entry[0], at, engine_id))
        await conn.executemany(
            "INSERT INTO attempts(error_id, at, outcome, sf_code, message, request_id) "
            "VALUES (?, ?, 'requested', '', '', ?)",
            history,
        )
        return outcomes

    async def _request_for(
        self,
        conn: Connection,
        key: tuple[str, str, str],
        rows: list[Sequence[Any]],
        now: datetime,
    ) -> tuple[str, set[int]]:
        """The waiting request of the record, joined by ``rows``, else a new one; and the
        errors that were not in it before."""
        ids = [row[0] for row in rows]
        async with conn.execute(
            "SELECT request_id, error_ids FROM engine_requests WHERE object_type = ? "
            "AND record_id = ? AND direction = ? AND state = 'waiting'",
            key,
        ) as cur:
            waiting = await cur.fetchone()
        if waiting is not None:
            before = orjson.loads(waiting[1])
            joined = list(dict.fromkeys([*before, *ids]))
            await conn.execute(
                "UPDATE engine_requests SET error_ids = ? WHERE request_id = ?",
                (orjson.dumps(joined).decode(), waiting[0]),
            )
            return waiting[0], set(ids) - set(before)
        newest = rows[-1]
        record = _salesforce_of(newest[5], newest[6], orjson.loads(newest[7]))
        engine_id = f"er-{uuid.uuid4().hex}"
        await conn.execute(
            "INSERT INTO engine_requests(request_id, object_type, record_id, direction, "
            "error_ids, record, created, expires, state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting')",
            (engine_id, *key, orjson.dumps(ids).decode(), orjson.dumps(record).decode(),
             iso(now), iso(now + self._ttl)),
        )  # fmt: skip
        return engine_id, set(ids)

    async def lease(self, seconds: int, limit: int) -> dict[str, Any]:
        """Up to ``limit`` requests no worker holds, leased for ``seconds``, oldest first."""
        if not MIN_LEASE <= seconds <= MAX_LEASE:
            raise EngineRefused(
                422,
                "invalid_lease",
                f"lease must be from {MIN_LEASE} to {MAX_LEASE:,} seconds (an hour), got "
                f"{seconds:,}: long enough to sync the records taken, short enough that a "
                "worker that dies gives them back soon.",
            )
        now = self._clock()
        until = iso(now + timedelta(seconds=seconds))
        async with self._ledger.transaction() as conn:
            await expire_due(conn, now)
            async with conn.execute(
                f"SELECT {_REQUEST_COLUMNS} FROM engine_requests WHERE state = 'waiting' "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY created, rowid LIMIT ?",
                (iso(now), limit),
            ) as cur:
                rows = await cur.fetchall()
            await conn.executemany(
                "UPDATE engine_requests SET lease_until = ? WHERE request_id = ?",
                [(until, row[0]) for row in rows],
            )
        return {"requests": [_request_of(row) | {"lease_until": until} for row in rows],
                "lease_until": until}  # fmt: skip

    async def release(self, request_id: str) -> dict[str, Any]:
        """Give a leased request back, to be offered again at once."""
        async with self._ledger.transaction() as conn:
            await expire_due(conn, self._clock())
            async with conn.execute(
                f"SELECT {_REQUEST_COLUMNS} FROM engine_requests WHERE request_id = ?",
                (request_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise EngineRefused(
                    404, "not_found", f"No engine request has the id {request_id!r}."
                )
            if row[8] != "waiting":
                raise EngineRefused(
                    409,
                    "request_not_waiting",
                    f"This engine request is {row[8]}, so there is nothing to give back; "
                    "resync its errors again if they are still open.",
                )
            await conn.execute(
                "UPDATE engine_requests SET lease_until = NULL WHERE request_id = ?",
                (request_id,),
            )
        return _request_of(row) | {"lease_until": None}

    async def for_error(self, error_id: int) -> dict[str, Any] | None:
        """The newest request of ``error_id``, as ``EngineRequestState``, or None."""
        async with self._ledger.reader.execute(
            "SELECT r.request_id, r.state, r.created, r.expires, r.answered, r.outcome "
            "FROM attempts a JOIN engine_requests r ON r.request_id = a.request_id "
            "WHERE a.error_id = ? AND a.outcome = 'requested' ORDER BY a.rowid DESC LIMIT 1",
            (error_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        request_id, state, created, expires, answered, result = row
        if state == "waiting" and expires <= iso(self._clock()):
            state = "expired"  # not swept yet: the next lease or resync records it
        return {"request_id": request_id, "state": state, "created": created,
                "expires": expires, "answered": answered, "outcome": result}  # fmt: skip
