"""Ignoring errors, with a reason and maybe an expiry (``/v1/ignores``, docs/api.md).

An ignored error has the status ``ignored`` (so it leaves the open counts and is never
retried automatically) and a row in ``ignored_errors`` naming its ignore and the cause
it had then. It reopens when the ignore expires (:meth:`Ignores.expire`, run before the
change feed, the causes and every retry round are read), when it is unignored, or when
the record fails again with another cause (``record_failures`` in
``tui/service/ledger_reports.py``); a success resolves it as it would an open error.
Every ignore, unignore and reopen is a history row. A request_id makes an ignore or
unignore safe to retry: the same body answers the stored result again, another body
under the same id is refused.

A little over ~400 lines on purpose: an ignore, an unignore and the expiry sweep each
run as one transaction over the same tables and request_id record; the checks of a
request sit beside them so every refusal is decided before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tui.core.causes import cause_key
from tui.core.lang import counted
from tui.core.limits import JOB_MAX_IDS
from tui.service.causes import CauseIndex
from tui.service.db import Connection, upsert
from tui.service.ledger import SERVICE_ACTOR, Ledger, iso

MAX_IGNORE_IDS = JOB_MAX_IDS  # as many as a resync job takes
#: GET /v1/ignores answers at most this many.
MAX_LISTED = 1000
REASON_MAX = 500
#: An expiry further away than this is surely a typo (or the year 9999).
MAX_DAYS = 3660
EXPIRY_MAX = timedelta(days=MAX_DAYS)
_CAUSE = re.compile(r"[0-9a-f]{16}")
_SHOWN_UNKNOWN = 5


class IgnoreRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class IgnoreAsk:
    """A checked ignore or unignore request."""

    request_id: str
    error_ids: list[int] | None
    cause: str | None
    reason: str = ""
    expires_at: datetime | None = None
    #: The expiry as asked: a time, or a number of days from when the service got it.
    asked: str | int | None = None

    def digest(self, kind: str) -> str:
        """The request's facts as asked (a retry a day later is still the same request)."""
        facts = [kind, self.error_ids, self.cause, self.reason, self.asked]
        return hashlib.sha256(orjson.dumps(facts)).hexdigest()


def _refuse(code: str, message: str, status: int = 422) -> IgnoreRefused:
    return IgnoreRefused(status, code, message)


def parse_ask(body: Any, now: datetime, *, ignore: bool) -> IgnoreAsk:
    """The request in ``body``, or :class:`IgnoreRefused` saying what is wrong with it."""
    example = (
        '{"request_id": "<uuid>", "error_ids": [1, 2], "reason": "known, fixed in the CRM '
        'next week", "expires_at": "2026-12-31T00:00:00Z"}'
        if ignore
        else '{"request_id": "<uuid>", "error_ids": [1, 2]}'
    )
    if not isinstance(body, dict):
        raise _refuse("invalid_ignore", f"Send a JSON object, for example {example}.")
    request_id = body.get("request_id")
    if (
        not isinstance(request_id, str)
        or not 1 <= len(request_id.strip()) <= 200
        or not request_id.isprintable()
    ):
        raise _refuse(
            "invalid_ignore",
            "request_id must be a non-empty string (a UUID is best) of at most 200 printable "
            "characters; it makes the request safe to retry.",
        )
    ids, cause = body.get("error_ids"), body.get("cause")
    if (ids is None) == (cause is None):
        raise _refuse(
            "invalid_ignore", f"Name either error_ids or a cause (not both), for example {example}."
        )
    if cause is not None and (not isinstance(cause, str) or not _CAUSE.fullmatch(cause)):
        raise _refuse(
            "invalid_ignore",
            f"cause must be a cause key of 16 hex digits (GET /v1/causes), got {cause!r}.",
        )
    if ids is not None:
        ids = _checked_ids(ids)
    if not ignore:
        return IgnoreAsk(request_id, ids, cause)
    reason = _checked_reason(body.get("reason"))
    asked, days = body.get("expires_at"), body.get("days")
    if days is not None:
        if asked is not None:
            raise _refuse("invalid_expiry", "Give expires_at or days, not both.")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise _refuse(
                "invalid_expiry",
                f"days must be a whole number of days from 1 to {MAX_DAYS:,}, got {days!r}.",
            )
        return IgnoreAsk(request_id, ids, cause, reason, now + timedelta(days=days), days)
    expires = _checked_expiry(asked, now)
    return IgnoreAsk(request_id, ids, cause, reason, expires, None if expires is None else asked)


def _checked_ids(ids: Any) -> list[int]:
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**63 for i in ids
    ):
        raise _refuse("invalid_ignore", "error_ids must be a list of error ids (whole numbers).")
    unique: list[int] = list(dict.fromkeys(ids))
    if not 1 <= len(unique) <= MAX_IGNORE_IDS:
        raise _refuse(
            "too_many_errors" if unique else "invalid_ignore",
            f"One request takes from 1 to {MAX_IGNORE_IDS:,} error ids, got {len(unique):,}; "
            "send more as further requests, or name their cause.",
        )
    return unique


def _checked_reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise _refuse(
            "missing_reason",
            "An ignore needs a reason (why these errors can wait), so whoever looks next knows.",
        )
    text: str = reason.strip()
    if len(text) > REASON_MAX or not all(ch.isprintable() for ch in text):
        raise _refuse(
            "invalid_reason",
            f"The reason must be at most {REASON_MAX} printable characters (no control "
            "characters).",
        )
    return text


def _checked_expiry(raw: Any, now: datetime) -> datetime | None:
    if raw is None:
        return None
    moment = None
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise _refuse(
            "invalid_expiry",
            f"expires_at must be an ISO-8601 time with its zone, such as 2026-12-31T00:00:00Z, "
            f"or null (until unignored); got {raw!r}.",
        )
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise _refuse(
            "expiry_in_past",
            f"expires_at {iso(moment)} is not in the future (it is now {iso(now)}); nothing "
            "was ignored.",
        )
    if moment - now > EXPIRY_MAX:
        raise _refuse(
            "invalid_expiry", "expires_at is more than ten years away; leave it null instead."
        )
    return moment


#: What an ignore or unignore answers (``IgnoreResult`` as a dict).
Answer = dict[str, Any]


class Ignores:
    def __init__(self, ledger: Ledger, causes: CauseIndex, clock: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._causes = causes
        self._clock = clock

    async def ignore(self, body: Any, actor: str) -> dict[str, Any]:
        async def step(conn: Connection, ask: IgnoreAsk, now: datetime) -> Answer:
            rows = await self._targets(conn, ask, ignored_only=False)
            expires = None if ask.expires_at is None else iso(ask.expires_at)
            cur = await conn.execute(
                "INSERT INTO ignores(created, actor, reason, expires_at, cause) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (iso(now), actor, ask.reason, expires, ask.cause),
            )
            ignore_id = cur.rows[0][0]
            live = [r for r in rows if r[1] != "resolved"]
            await conn.executemany(
                upsert(
                    "ignored_errors",
                    ("error_id", "ignore_id", "cause", "expires_at"),
                    ("error_id",),
                ),
                [(r[0], ignore_id, cause_key(r[2], r[3], r[4]), expires) for r in live],
            )
            await Ledger.set_status(conn, [r[0] for r in live if r[1] == "open"], "ignored")
            result = self._result(ask.request_id, ignore_id, rows, live)
            summary = {"errors": len(live), "reason": ask.reason, "expires_at": expires,
                       "cause": ask.cause, "error_ids": result["changed"]}  # fmt: skip
            await Ledger.add_history(conn, now, "ignore", ask.request_id, actor, summary)
            return result

        return await self._once(body, "ignore", step)

    async def unignore(self, body: Any, actor: str) -> dict[str, Any]:
        async def step(conn: Connection, ask: IgnoreAsk, now: datetime) -> Answer:
            rows = await self._targets(conn, ask, ignored_only=True)
            live = [r for r in rows if r[1] == "ignored"]
            await self._reopen(conn, [r[0] for r in live], "unignore", ask.request_id, actor, now)
            return self._result(ask.request_id, None, rows, live)

        return await self._once(body, "unignore", step)

    async def _once(
        self,
        body: Any,
        kind: str,
        step: Callable[[Connection, IgnoreAsk, datetime], Awaitable[Answer]],
    ) -> Answer:
        """Check ``body``, answer a known request_id from its stored result, else run
        ``step`` in one transaction and store what it answers (the causes caught up around
        it, so a cause names its errors of now)."""
        now = self._clock()
        ask = parse_ask(body, now, ignore=kind == "ignore")
        digest = ask.digest(kind)
        stored = await self._stored(self._ledger.reader, ask.request_id, digest)
        if stored is not None:
            return stored
        if ask.cause is not None:
            await self._causes.catch_up()
        async with self._ledger.transaction() as conn:
            again = await self._stored(conn, ask.request_id, digest)
            if again is not None:
                return again
            result = await step(conn, ask, now)
            await self._store(conn, ask.request_id, digest, result, now)
        await self._causes.catch_up()
        return result

    async def unignore_all_of(self, ignore_id: int, actor: str) -> dict[str, Any]:
        """``DELETE /v1/ignores/{id}``: every error the ignore still holds reopens."""
        async with self._ledger.reader.execute(
            "SELECT 1 FROM ignores WHERE id = ?", (ignore_id,)
        ) as cur:
            if await cur.fetchone() is None:
                raise _refuse("not_found", f"No ignore has the id {ignore_id}.", 404)
        async with self._ledger.transaction() as conn:
            async with conn.execute(
                "SELECT error_id FROM ignored_errors WHERE ignore_id = ? ORDER BY error_id",
                (ignore_id,),
            ) as cur:
                ids = [r[0] for r in await cur.fetchall()]
            await self._reopen(conn, ids, "unignore", None, actor, self._clock())
        await self._causes.catch_up()
        return {"request_id": None, "ignore_id": ignore_id, "changed": ids, "unchanged": [],
                "replayed": False}  # fmt: skip

    async def expire(self) -> int:
        """Reopen the errors whose ignore has expired; how many."""
        now = iso(self._clock())
        async with self._ledger.reader.execute(
            "SELECT 1 FROM ignored_errors WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT 1",
            (now,),
        ) as cur:
            if await cur.fetchone() is None:
                return 0
        async with self._ledger.transaction() as conn:
            async with conn.execute(
                "SELECT error_id FROM ignored_errors WHERE expires_at IS NOT NULL "
                "AND expires_at <= ? ORDER BY error_id",
                (now,),
            ) as cur:
                ids = [r[0] for r in await cur.fetchall()]
            await self._reopen(conn, ids, "reopen", None, SERVICE_ACTOR, self._clock(),
                               why="expired")  # fmt: skip
        await self._causes.catch_up()
        return len(ids)

    async def active(self, limit: int) -> list[dict[str, Any]]:
        """Ignores that still hold errors, newest first."""
        async with self._ledger.reader.execute(
            "SELECT i.id, i.created, i.actor, i.reason, i.expires_at, i.cause, count(*) "
            "FROM ignores i JOIN ignored_errors g ON g.ignore_id = i.id "
            "GROUP BY i.id ORDER BY i.id DESC LIMIT ?",
            (limit,),
        ) as cur:
            rows = await cur.fetchall()
        keys = ("ignore_id", "at", "actor", "reason", "expires_at", "cause", "errors")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    async def state_of(self, error_id: int) -> dict[str, Any] | None:
        """The ignore that holds ``error_id``, if one does (the error's detail)."""
        async with self._ledger.reader.execute(
            "SELECT i.id, i.created, i.actor, i.reason, i.expires_at FROM ignored_errors g "
            "JOIN ignores i ON i.id = g.ignore_id WHERE g.error_id = ?",
            (error_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return dict(zip(("ignore_id", "at", "actor", "reason", "expires_at"), row, strict=True))

    # -- steps -------------------------------------------------------------------------

    @staticmethod
    async def _targets(
        conn: Connection, ask: IgnoreAsk, *, ignored_only: bool
    ) -> list[tuple[Any, ...]]:
        """(id, status, subtype, sf_object, message) of the errors the request names, read
        inside the transaction that changes them (the causes caught up before it)."""
        if ask.error_ids is not None:
            rows = await Ignores._rows(conn, ask.error_ids)
            unknown = [i for i in ask.error_ids if i not in {r[0] for r in rows}]
            if unknown:
                shown = ", ".join(str(i) for i in unknown[:_SHOWN_UNKNOWN])
                more = len(unknown) - _SHOWN_UNKNOWN
                tail = f" and {counted(more, 'other')}" if more > 0 else ""
                raise _refuse(
                    "unknown_errors",
                    f"No sync error has the id {shown}{tail}; nothing was changed.",
                    404,
                )
            return rows
        assert ask.cause is not None
        if ignored_only:
            query = (
                "SELECT e.id, e.status, e.subtype, e.sf_object, e.message FROM ignored_errors g "
                "JOIN errors e ON e.id = g.error_id WHERE g.cause = ? ORDER BY e.id"
            )
        else:
            query = (
                "SELECT e.id, e.status, e.subtype, e.sf_object, e.message FROM error_causes c "
                "JOIN errors e ON e.id = c.error_id WHERE c.cause = ? "
                "AND e.status != 'resolved' ORDER BY e.id"
            )
        async with conn.execute(query, (ask.cause,)) as cur:
            rows = [tuple(r) for r in await cur.fetchall()]
        if not rows and not await Ignores._cause_known(conn, ask.cause):
            raise _refuse("not_found", f"No error has the cause {ask.cause}.", 404)
        return rows

    @staticmethod
    async def _rows(conn: Connection, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            async with conn.execute(
                f"SELECT id, status, subtype, sf_object, message FROM errors WHERE id IN ({marks})",
                chunk,
            ) as cur:
                rows.extend(tuple(r) for r in await cur.fetchall())
        order = {error_id: n for n, error_id in enumerate(ids)}
        return sorted(rows, key=lambda r: order[r[0]])

    @staticmethod
    async def _cause_known(conn: Connection, cause: str) -> bool:
        async with conn.execute(
            "SELECT 1 FROM error_causes WHERE cause = ? LIMIT 1", (cause,)
        ) as cur:
            return await cur.fetchone() is not None

    @staticmethod
    async def _reopen(
        conn: Connection, ids: list[int], kind: str, ref: str | None, actor: str,
        now: datetime, why: str | None = None,
    ) -> None:  # fmt: skip
        """Inside a transaction: ``ids`` (ignored) become open, in the history as ``kind``."""
        if not ids:
            return
        await conn.executemany(
            "DELETE FROM ignored_errors WHERE error_id = ?", [(error_id,) for error_id in ids]
        )
        await Ledger.set_status(conn, ids, "open")
        summary: dict[str, Any] = {"errors": len(ids), "error_ids": ids}
        if why is not None:
            summary["why"] = why
        await Ledger.add_history(conn, now, kind, ref, actor, summary)

    @staticmethod
    def _result(
        request_id: str,
        ignore_id: int | None,
        rows: list[tuple[Any, ...]],
        live: list[tuple[Any, ...]],
    ) -> dict[str, Any]:
        changed = {r[0] for r in live}
        return {
            "request_id": request_id,
            "ignore_id": ignore_id,
            "changed": [r[0] for r in rows if r[0] in changed],
            "unchanged": [r[0] for r in rows if r[0] not in changed],
            "replayed": False,
        }

    @staticmethod
    async def _stored(conn: Connection, request_id: str, digest: str) -> dict[str, Any] | None:
        async with conn.execute(
            "SELECT digest, result FROM ignore_requests WHERE request_id = ?", (request_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        if row[0] != digest:
            raise _refuse(
                "request_id_reused",
                "This request_id was already used for a different request. Use a new "
                "request_id for a new ignore or unignore.",
                409,
            )
        return {**orjson.loads(row[1]), "replayed": True}

    @staticmethod
    async def _store(
        conn: Connection, request_id: str, digest: str, result: dict[str, Any],
        now: datetime,
    ) -> None:  # fmt: skip
        await conn.execute(
            "INSERT INTO ignore_requests(request_id, created, digest, result) VALUES (?, ?, ?, ?)",
            (request_id, iso(now), digest, orjson.dumps(result).decode()),
        )
