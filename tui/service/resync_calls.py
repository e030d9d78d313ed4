"""The records of a resync grouped into connector calls: one sObject Collections update
for the records with a Salesforce id, one upsert per object and external id field for
the others; a record several errors share goes out once, newest values winning."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.limits import RECORDS_PER_CALL
from tui.service.ledger import ResyncRow


def calls_needed(records: int) -> int:
    """Connector calls ``records`` records take (200 a call)."""
    return math.ceil(records / RECORDS_PER_CALL)


@dataclass(frozen=True, slots=True)
class SalesforceCall:
    """Records that go out together: an update by id, or an upsert on one external id."""

    upsert: tuple[str, str] | None  # (sobject, external id field); None: update by Id
    records: list[dict[str, Any]]
    rows: list[list[ResyncRow]]  # the errors each record stands for

    @property
    def calls(self) -> int:
        return calls_needed(len(self.records))


def record_identity(payload: dict[str, Any]) -> tuple[str, ...] | None:
    """What names the payload's record in Salesforce: its Id, or object + external id."""
    record = payload.get("record") or {}
    upsert = payload.get("upsert")
    if record.get("Id"):
        return ("Id", str(record["Id"]))
    if isinstance(upsert, dict) and record.get(upsert.get("field")) is not None:
        return (upsert["sobject"], upsert["field"], str(record[upsert["field"]]))
    return None


def plan_calls(rows: Sequence[ResyncRow]) -> list[SalesforceCall]:
    """Group the records of ``rows`` into connector calls, the update first.

    Errors of one record share one copy of it, merged oldest report first so the
    newest values win. Update records are ordered by object: Salesforce processes
    each run of one object as a chunk and allows 10 chunks per call.
    """
    merged: dict[tuple[str, ...], tuple[dict[str, Any], list[ResyncRow]]] = {}
    for row in sorted(rows, key=lambda r: r.last_seen):
        key = record_identity(row.payload)
        if key is None:
            raise ValueError(f"error {row.id} has no record identity to send it by")
        record, same = merged.setdefault(key, ({}, []))
        record.update(row.payload["record"])
        same.append(row)
    calls: dict[tuple[str, str] | None, SalesforceCall] = {}

    def order(entry: tuple[tuple[str, ...], Any]) -> tuple[bool, str]:
        key, (record, _) = entry
        return key[0] != "Id", str((record.get("attributes") or {}).get("type", ""))

    for key, (record, same) in sorted(merged.items(), key=order):
        target = None if key[0] == "Id" else (key[0], key[1])
        call = calls.setdefault(target, SalesforceCall(target, [], []))
        call.records.append(record)
        call.rows.append(same)
    return list(calls.values())


def sent_records(sf_calls: Sequence[SalesforceCall]) -> dict[int, dict[str, Any]]:
    """The record each error went out as (the history keeps what was sent when)."""
    return {
        row.id: record
        for call in sf_calls
        for record, rows in zip(call.records, call.rows, strict=True)
        for row in rows
    }
