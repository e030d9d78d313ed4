"""Failures reported by the sync engine (``POST /v1/errors``): check, classify, record.

A batch is ``{"errors": [item, ...], "batch_id": "..."}``; each item is one record
that failed (:class:`ErrorReport`) or, with ``"outcome": "synced"``, one that synced
(:class:`SyncedReport`), which resolves the record's open errors. Items are judged
one by one: an invalid item is refused with a reason that names the field, the valid
ones are kept.

Each item's Salesforce errors are classified with :func:`tui.core.classify.classify_facts`
(remembered: a repeated error is classified once).
Errors of one item that fall in the same subtype make one row (the first one's code
and message, the fields of all of them); errors of different subtypes make one row
each, because each needs its own fix. All rows of a batch go to the ledger in one
transaction, in item order (:func:`record_failures`,
:func:`record_success`), where a repeat of a known error counts
an attempt instead of adding a row.

A ``batch_id`` makes a post safe to retry: the first post stores its answer, a
second post of the same items answers it again (``replayed``) and changes nothing.

The items' shapes and the limits they keep to are in ``tui/service/ingest_items.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import orjson
from pydantic import (
    ValidationError,
)

from tui.core.classify import classify_facts
from tui.service.engine import ANSWER_NOTES, answer_request
from tui.service.ingest_items import (
    MAX_BATCH_ID,
    MAX_ITEMS,
    TEXT_ID,
    UNCHANGED_REASONS,
    ErrorReport,
    IngestRefused,
    SyncedReport,
    shown,
)
from tui.service.ledger import Ledger
from tui.service.ledger_reports import (
    Failure,
    StoredBatch,
    record_failures,
    record_success,
    store_batch,
    stored_batch,
)

# -- reasons ---------------------------------------------------------------------------

_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
}


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _say(err: Any) -> str:
    loc, kind, msg = tuple(err["loc"]), err["type"], err["msg"]
    if loc and loc[-1] == "[key]":
        where = f"the key {shown(loc[-2])} of {_path(loc[:-2])}"
    else:
        where = _path(loc)
    subject = where or "the item"
    if kind == "missing":
        return f"{subject} is missing"
    if kind == "extra_forbidden":
        return f"{subject} is not a known key"
    if kind in _EXPECTED:
        return f"{subject} must be {_EXPECTED[kind]}, got {shown(err.get('input'))}"
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        return f"{where} {text}" if where else text
    if kind == "literal_error":
        allowed = msg.removeprefix("Input should be ")
        return f"{subject} must be {allowed}, got {shown(err['input'])}"
    if kind == "timezone_aware":
        return f"{subject} needs a time zone, such as 2026-11-29T01:02:03Z"
    if kind.startswith(("datetime", "date_")):
        return f"{subject} must be an ISO-8601 time such as 2026-11-29T01:02:03Z ({msg})"
    return f"{subject}: {msg.replace('after validation, ', '')}"


def reason_of(exc: ValidationError) -> str:
    """Why an item was refused, naming the fields: one line a person can act on."""
    errors = exc.errors(include_url=False)
    text = "; ".join(_say(e) for e in errors[:3])
    if len(errors) > 3:
        text += f" (and {len(errors) - 3} more)"
    return text


# -- items -> ledger rows ----------------------------------------------------------------


def payload_of(report: ErrorReport) -> dict[str, Any]:
    """The ledger payload (docs/architecture.md): what a resync re-sends, and how.

    A record with a Salesforce id is updated by that id; one known only by an
    external id is upserted on that field (``"upsert"`` says where).
    """
    sf = report.salesforce
    record: dict[str, Any] = {"attributes": {"type": sf.object}}
    payload: dict[str, Any] = {"record": record, "checks": dict(report.checks)}
    if report.sf_id is not None:
        record["Id"] = report.sf_id
    elif sf.external_id is not None:
        record[sf.external_id.field] = sf.external_id.value
        payload["upsert"] = {"sobject": sf.object, "field": sf.external_id.field}
    record.update(sf.fields)
    return payload


def failures_of(report: ErrorReport, now: datetime) -> list[Failure]:
    """The ledger rows of one item: one per distinct subtype of its errors."""
    by_subtype: dict[str, Failure] = {}
    payload = payload_of(report)
    at = report.occurred_at or now
    for error in report.reported_errors:
        c = classify_facts(error.code, error.message, tuple(error.fields))
        known = by_subtype.get(c.subtype)
        if known is not None:
            known.fields.extend(f for f in c.fields if f not in known.fields)
            continue
        by_subtype[c.subtype] = Failure(
            type=c.type,
            subtype=c.subtype,
            object_type=report.object_type,
            record_id=report.record_id,
            record_name=report.record_name,
            sf_object=report.salesforce.object,
            sf_id=report.sf_id,
            direction=report.direction,
            sf_code=c.sf_code,
            message=c.message,
            fields=list(dict.fromkeys(c.fields)),
            payload=payload,
            at=at,
        )
    return list(by_subtype.values())


def read_batch(body: Any) -> tuple[list[Any], str | None]:
    """The items and batch_id of a decoded body, or :class:`IngestRefused`."""
    shape = 'Send {"errors": [item, ...]} with 1 to 1,000 items (docs/api.md, POST /v1/errors).'
    if not isinstance(body, dict) or "errors" not in body:
        raise IngestRefused(422, "invalid_batch", f"The body is not a batch. {shape}")
    unknown = sorted(set(body) - {"errors", "batch_id"})
    if unknown:
        raise IngestRefused(
            422,
            "invalid_batch",
            f"Unknown key {', '.join(map(repr, unknown))} in the batch; a batch has errors "
            "and, optionally, batch_id.",
        )
    items, batch_id = body["errors"], body.get("batch_id")
    if not isinstance(items, list) or not items:
        raise IngestRefused(422, "invalid_batch", f"errors must be a non-empty list. {shape}")
    if len(items) > MAX_ITEMS:
        raise IngestRefused(
            413,
            "too_many_items",
            f"A batch takes at most {MAX_ITEMS:,} items, got {len(items):,}; nothing was "
            "recorded. Send them as successive batches, each with its own batch_id.",
        )
    if batch_id is not None and (
        not isinstance(batch_id, str)
        or not batch_id.strip()
        or len(batch_id) > MAX_BATCH_ID
        or not TEXT_ID.fullmatch(batch_id)
    ):
        raise IngestRefused(
            422,
            "invalid_batch",
            f"batch_id must be a non-blank string of at most {MAX_BATCH_ID} characters "
            f"without control characters, got {shown(batch_id)}.",
        )
    return items, batch_id


def _digest(items: list[Any]) -> str:
    return hashlib.sha256(orjson.dumps(items, option=orjson.OPT_SORT_KEYS)).hexdigest()


class _BadOutcome(Exception):
    pass


def _judge(raw: Any, now: datetime) -> ErrorReport | SyncedReport:
    """The item as a failure or a success, by its ``outcome`` (failed when absent)."""
    outcome = raw.get("outcome", "failed") if isinstance(raw, dict) else "failed"
    if outcome == "synced":
        return SyncedReport.model_validate(raw, context={"now": now})
    if outcome != "failed":
        raise _BadOutcome(f"outcome must be 'failed' or 'synced', got {shown(outcome)}")
    return ErrorReport.model_validate(raw, context={"now": now})


#: An item judged: its index, the report, and (a failure's) its ledger rows.
_Step = tuple[int, ErrorReport | SyncedReport, list[Failure]]


async def _record(conn: Any, steps: list[_Step], now: datetime) -> dict[str, Any]:
    """Apply the items in order: runs of failures at once, each success on its own."""
    error_ids: list[int] = []
    created = repeated = resolved = 0
    unchanged: list[dict[str, Any]] = []
    request_notes: list[dict[str, Any]] = []
    failures: list[Failure] = []

    async def flush() -> None:
        nonlocal created, repeated
        outcomes = await record_failures(conn, failures)
        created += sum(made for _, made in outcomes)
        repeated += sum(not made for _, made in outcomes)
        error_ids.extend(error_id for error_id, _ in outcomes)
        failures.clear()

    for index, report, rows in steps:
        if report.request_id is not None:
            answered = "failed" if isinstance(report, ErrorReport) else "synced"
            code = await answer_request(conn, report.request_id, answered, now)
            if code is not None:
                request_notes.append({"index": index, "request_id": report.request_id,
                                      "code": code, "reason": ANSWER_NOTES[code]})  # fmt: skip
        if isinstance(report, ErrorReport):
            failures += rows
            continue
        if failures:
            await flush()
        done = await record_success(conn, report.success())
        resolved += len(done.resolved)
        error_ids.extend(done.resolved)
        if done.unchanged is not None:
            reason = UNCHANGED_REASONS[done.unchanged]
            unchanged.append({"index": index, "code": done.unchanged, "reason": reason})
    if failures:
        await flush()
    return {
        "created": created,
        "repeated": repeated,
        "resolved": resolved,
        "unchanged": unchanged,
        "request_notes": request_notes,
        "error_ids": error_ids,
    }


#: One thread judges and classifies the batches (pure work on the items): the event
#: loop stays free meanwhile to carry on the transaction that holds the ledger's lock
#: (on PostgreSQL every replica's writes wait for it), instead of running a whole
#: batch's validation between two of its statements.
_JUDGE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synchealth-ingest")


def _judge_all(items: list[Any], now: datetime) -> tuple[list[_Step], list[dict[str, Any]]]:
    """Each item judged and (a failure) classified; the steps, and the items refused."""
    rejected: list[dict[str, Any]] = []
    steps: list[_Step] = []
    for index, raw in enumerate(items):
        try:
            report = _judge(raw, now)
            rows = failures_of(report, now) if isinstance(report, ErrorReport) else []
            steps.append((index, report, rows))
        except ValidationError as exc:
            rejected.append({"index": index, "reason": reason_of(exc)})
        except _BadOutcome as exc:
            rejected.append({"index": index, "reason": str(exc)})
    return steps, rejected


def _replay(stored: StoredBatch | None, digest: str) -> dict[str, Any] | None:
    """The stored answer of a batch posted again, or None for a batch not seen yet;
    :class:`IngestRefused` when its batch_id was used for other items."""
    if stored is None:
        return None
    if stored.digest != digest:
        raise IngestRefused(
            409,
            "batch_id_reused",
            "This batch_id was already used for a batch with other items; nothing "
            "was recorded. Give each batch its own batch_id (for example a hash of "
            "its items).",
        )
    return {**stored.result, "replayed": True}


async def ingest(ledger: Ledger, body: Any, now: datetime) -> dict[str, Any]:
    """Judge, classify and record one batch; the ``IngestResult`` as a dict.

    A batch_id already applied is looked up first, on the reader: a replay (a sync
    engine retrying after a lost answer) is answered at once, its items not judged
    again. Judging and classifying come before the write transaction, in
    :data:`_JUDGE`'s thread, so the ledger's lock is held for its reads and writes
    only; inside it the batch_id is looked up again, which is what makes two posts of
    one batch at once apply it once."""
    items, batch_id = read_batch(body)
    digest = _digest(items) if batch_id is not None else ""
    if batch_id is not None:
        replay = _replay(await stored_batch(ledger.reader, batch_id), digest)
        if replay is not None:
            return replay
    steps, rejected = await asyncio.get_running_loop().run_in_executor(
        _JUDGE, _judge_all, items, now
    )
    async with ledger.transaction() as conn:
        if batch_id is not None:
            replay = _replay(await stored_batch(conn, batch_id), digest)
            if replay is not None:
                return replay
        result = {
            "accepted": len(items) - len(rejected),
            **await _record(conn, steps, now),
            "rejected": rejected,
            "batch_id": batch_id,
            "replayed": False,
        }
        if batch_id is not None:
            await store_batch(conn, batch_id, digest, result, now)
    return result
