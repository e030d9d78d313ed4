"""What the sync engine reports, written to the ledger: failures (new errors, or repeats
of known ones, an ignored error staying ignored while its cause is the same), successes
that resolve errors, and the batches already applied.

Each function runs inside a transaction of ``Ledger.transaction`` on its connection
(``tui/service/ingest.py`` opens it), so a batch is applied whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from tui.core.causes import cause_key
from tui.service.db import Connection, Row
from tui.service.ledger import SERVICE_ACTOR, Ledger, end_ignores, iso, last_seq, store_next_seq

#: Every error of each record of the ``k`` table of :func:`_record_queries` (the record
#: index's prefix): a record has a few, one per subtype it ever failed with.
_RECORD_ERRORS = (
    "SELECT k.o, k.r, k.d, e.subtype, e.id, e.last_seen, e.status FROM k JOIN errors e "
    "ON e.object_type = k.o AND e.record_id = k.r AND e.direction = k.d"
)

_INSERT_ERROR = (
    "INSERT INTO errors(id, seq, type, subtype, object_type, record_id, record_name, "
    "sf_object, sf_id, direction, sf_code, message, fields, first_seen, last_seen, "
    "attempts, status, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'open', ?)"
)


_LAST_SEQ_AND_ID: tuple[str, list[Any]] = (
    "SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(id), 0) FROM errors",
    [],
)

#: A repeat counts an attempt; a newer one (the flag) also takes the report's facts.
_REPEAT_ERROR = (
    "UPDATE errors SET seq = ?1, attempts = attempts + 1, "
    + ", ".join(
        f"{column} = CASE WHEN ?2 = 1 THEN {value} ELSE {column} END"
        for column, value in (
            ("record_name", "?3"), ("sf_object", "?4"), ("sf_id", "COALESCE(?5, sf_id)"),
            ("sf_code", "?6"), ("message", "?7"), ("fields", "?8"), ("payload", "?9"),
            ("last_seen", "?10"), ("status", "?12"),
        )
    )
    + " WHERE id = ?11"
)  # fmt: skip


#: A newer report of a record is what a resync of any of its open errors sends.
_SAME_RECORD_PAYLOAD = (
    "UPDATE errors SET payload = ?1 WHERE object_type = ?2 AND record_id = ?3 "
    "AND direction = ?4 AND subtype != ?5 AND status != 'resolved' AND last_seen <= ?6"
)


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A reported batch already applied (``POST /v1/errors`` with a batch_id)."""

    batch_id: str
    digest: str
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """One failure of one record, as the sync engine reported it (see ``record_failures``).

    Not the API's ``SyncError`` (tui/core/models.py) nor the console's ``ErrorRow``: a
    report has no id, seq, attempts or status yet (the ledger gives them, or finds the
    error it repeats), and it carries what those lack: the record sent and when it failed.
    """

    type: str
    subtype: str
    object_type: str
    record_id: str
    record_name: str
    sf_object: str
    sf_id: str | None
    direction: str
    sf_code: str
    message: str
    fields: list[str]
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Success:
    """A record the sync engine reports as synced (see ``record_success``)."""

    object_type: str
    record_id: str
    direction: str
    at: datetime
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class SuccessOutcome:
    """What a reported success did: the errors it resolved, or why it changed nothing."""

    resolved: list[int]
    unchanged: str | None  # unknown_record | older_than_failure | nothing_open


async def record_failures(conn: Connection, failures: Iterable[Failure]) -> list[tuple[int, bool]]:
    """Inside a transaction: record each failure; ``(error id, created)`` for each.

    A failure repeats an error when the CRM record, direction and subtype are the
    same: that error (the open one, else the newest, which reopens) gets
    ``attempts + 1``, a new seq and an attempt row. A failure no later than the
    error's ``last_seen`` (reported late) only counts as an attempt; a newer one
    also replaces the error's Salesforce facts, payload and status. Anything else
    is a new error, whose id is above every earlier one. The payload is the record
    as last reported, so a report also becomes the payload of the record's other
    open errors (other subtypes) last seen no later than it.

    An ignored error that fails again stays ignored while the failure has the cause
    it was ignored with; a failure of another cause reopens it (history: ``reopen``).
    """
    failures = list(failures)
    # the last seq and id, and the errors of the batch's records: one round trip
    top, *answers = await conn.fetch_together([_LAST_SEQ_AND_ID, *_record_queries(failures)])
    seq, next_id = top[0]
    known, unresolved = _known_records(answers)
    ignored = await _ignored_causes(conn, [found[0] for found in known.values()])
    reopened: list[int] = []
    # A record's report becomes the payload of its other open errors: only a record
    # with an unresolved error, or failing twice in this batch, can have one.
    in_batch = Counter((f.object_type, f.record_id, f.direction) for f in failures)
    inserts, updates, attempts, newest = [], [], [], []
    out: list[tuple[int, bool]] = []
    for f in failures:
        seq += 1
        key = (f.object_type, f.record_id, f.direction, f.subtype)
        at = iso(f.at)
        fields = orjson.dumps(f.fields).decode()
        payload = orjson.dumps(f.payload).decode()
        found = known.get(key)
        if found is None:
            next_id += 1
            error_id, created = next_id, True
            inserts.append(
                (error_id, seq, f.type, f.subtype, f.object_type, f.record_id,
                 f.record_name, f.sf_object, f.sf_id, f.direction, f.sf_code, f.message,
                 fields, at, at, payload)
            )  # fmt: skip
            known[key] = (error_id, at)
        else:
            (error_id, last_seen), created = found, False
            newer = at >= last_seen
            status = "open"
            if newer and error_id in ignored:
                if ignored[error_id] == cause_key(f.subtype, f.sf_object, f.message):
                    status = "ignored"
                else:
                    del ignored[error_id]
                    reopened.append(error_id)
            updates.append(
                (seq, newer, f.record_name, f.sf_object, f.sf_id, f.sf_code, f.message,
                 fields, payload, at, error_id, status)
            )  # fmt: skip
            if newer:
                known[key] = (error_id, at)
        attempts.append((error_id, at, f.sf_code, f.message))
        record = (f.object_type, f.record_id, f.direction)
        if record in unresolved or in_batch[record] > 1:
            newest.append((payload, *record, f.subtype, at))
        out.append((error_id, created))
    # Rows are created before any update, and updates run in report order, so a
    # row created and repeated within one batch ends with the later seq.
    await conn.insert_rows(_INSERT_ERROR, inserts)
    await conn.executemany(_REPEAT_ERROR, updates)
    await conn.executemany(_SAME_RECORD_PAYLOAD, newest)
    await conn.insert_rows(
        "INSERT INTO attempts(error_id, at, outcome, sf_code, message, request_id) "
        "VALUES (?, ?, 'failed', ?, ?, NULL)",
        attempts,
    )
    await store_next_seq(conn, seq)
    if reopened:
        await end_ignores(conn, reopened)
        summary = {"errors": len(reopened), "why": "new_cause", "error_ids": reopened}
        latest = max(f.at for f in failures)
        await Ledger.add_history(conn, latest, "reopen", None, SERVICE_ACTOR, summary)
    return out


async def record_success(conn: Connection, success: Success) -> SuccessOutcome:
    """Inside a transaction: resolve every open (or ignored) error of the record and
    direction.

    A success older than the record's newest failure changes nothing: the record
    failed after it. A resolved error's ``last_seen`` becomes the success's time,
    so a failure that happened before it and is reported late does not reopen it.
    """
    async with conn.execute(
        "SELECT id, status, last_seen FROM errors "
        "WHERE object_type = ? AND record_id = ? AND direction = ?",
        (success.object_type, success.record_id, success.direction),
    ) as cur:
        found = await cur.fetchall()
    at = iso(success.at)
    if not found:
        return SuccessOutcome([], "unknown_record")
    if at < max(last_seen for _, _, last_seen in found):
        return SuccessOutcome([], "older_than_failure")
    open_ids = [error_id for error_id, status, _ in found if status != "resolved"]
    if not open_ids:
        return SuccessOutcome([], "nothing_open")
    await end_ignores(conn, open_ids)
    seq = await last_seq(conn)
    updates = [(seq + n, at, error_id) for n, error_id in enumerate(open_ids, 1)]
    await conn.executemany(
        "UPDATE errors SET seq = ?, status = 'resolved', last_seen = ?, "
        "attempts = attempts + 1 WHERE id = ?",
        updates,
    )
    await conn.insert_rows(
        "INSERT INTO attempts(error_id, at, outcome, sf_code, message, request_id) "
        "VALUES (?, ?, 'resolved', '', '', ?)",
        [(error_id, at, success.request_id) for error_id in open_ids],
    )
    await store_next_seq(conn, seq + len(open_ids))
    return SuccessOutcome(open_ids, None)


async def stored_batch(conn: Connection, batch_id: str) -> StoredBatch | None:
    """A batch already applied. Read first on the reader (a replay is answered before
    its items are judged), then on the writer inside the transaction that would apply
    it again, so two posts of one batch cannot both be applied."""
    async with conn.execute(
        "SELECT digest, result FROM ingest_batches WHERE batch_id = ?", (batch_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else StoredBatch(batch_id, row[0], orjson.loads(row[1]))


async def store_batch(
    conn: Connection,
    batch_id: str,
    digest: str,
    result: dict[str, Any],
    now: datetime,
) -> None:
    await conn.send(
        "INSERT INTO ingest_batches(batch_id, created, digest, result) VALUES (?, ?, ?, ?)",
        (batch_id, iso(now), digest, orjson.dumps(result).decode()),
    )


def _record_queries(failures: Sequence[Failure]) -> list[tuple[str, list[Any]]]:
    """The queries of every error of the failures' records (object, record, direction):
    one per 500 records (the record index's prefix) instead of one per failure."""
    records = list(dict.fromkeys((f.object_type, f.record_id, f.direction) for f in failures))
    out = []
    for start in range(0, len(records), 500):
        chunk = records[start : start + 500]
        values = ", ".join(["(?, ?, ?)"] * len(chunk))
        out.append((f"WITH k(o, r, d) AS (VALUES {values}) {_RECORD_ERRORS}",
                    [v for key in chunk for v in key]))  # fmt: skip
    return out


def _known_records(
    answers: Sequence[Sequence[Row]],
) -> tuple[dict[tuple[str, str, str, str], tuple[int, str]], set[tuple[str, str, str]]]:
    """From the answers of :func:`_record_queries`: the error each distinct failure key
    repeats, if any: key -> (id, last_seen), the open one, else the newest; and the
    records (object, record, direction) with an unresolved error."""
    best: dict[tuple[str, str, str, str], tuple[bool, int, str]] = {}
    unresolved: set[tuple[str, str, str]] = set()
    for rows in answers:
        for o, r, d, sub, error_id, last_seen, status in rows:
            rank = (status != "resolved", error_id, last_seen)
            if status != "resolved":
                unresolved.add((o, r, d))
            if rank > best.get((o, r, d, sub), (False, 0, "")):
                best[(o, r, d, sub)] = rank
    return {key: (error_id, seen) for key, (_, error_id, seen) in best.items()}, unresolved


async def _ignored_causes(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """The cause each of ``ids`` that is ignored was ignored with."""
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT error_id, cause FROM ignored_errors WHERE error_id IN ({marks})", chunk
        ) as cur:
            found.update({error_id: cause for error_id, cause in await cur.fetchall()})
    return found
