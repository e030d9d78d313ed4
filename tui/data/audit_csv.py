"""The audit trail as CSV (``synchealth export --audit``).

One line per entry, oldest first, in machine columns (the API's names). Text cells are
always quoted and numbers never are, so the export's block rule (tui/data/export.py:
``escape_block``) finds every cell a spreadsheet would run as a formula, and the file is
written as the error export is (a temporary file renamed over the target). An entry
holds no secret: tokens appear by name only, and the notification settings hold no
webhook URL or SMTP password (those are service configuration).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import orjson

from tui.core.audit_models import HistoryEntry
from tui.data.export import write_target

AUDIT_COLUMNS: tuple[str, ...] = (
    "id", "at", "kind", "action", "ref", "actor", "state", "errors", "synced", "failed",
    "skipped", "unknown", "cancelled", "created", "repeated", "rejected", "salesforce_calls",
    "changes", "reason", "expires_at", "message",
)  # fmt: skip
#: Entries per block handed to the writer.
BLOCK = 500


def changes_cell(entry: HistoryEntry) -> str:
    """``field: old -> new`` for each change, values as JSON, joined by ``; ``."""
    return "; ".join(
        f"{c.field}: {orjson.dumps(c.old).decode()} -> {orjson.dumps(c.new).decode()}"
        for c in entry.changes
    )


def _cells(entry: HistoryEntry) -> list[str | int]:
    known = entry.model_dump()
    known["changes"] = changes_cell(entry)
    return [
        value if isinstance(value := known[column], int) else str(value or "")
        for column in AUDIT_COLUMNS
    ]


def blocks(entries: Sequence[HistoryEntry]) -> Iterator[tuple[bytes, int]]:
    for start in range(0, len(entries), BLOCK):
        chunk = entries[start : start + BLOCK]
        out = io.StringIO(newline="")
        writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerows(_cells(entry) for entry in chunk)
        yield out.getvalue().encode("utf-8"), len(chunk)


async def write_audit(
    target: Path | BinaryIO, entries: Sequence[HistoryEntry], *, bom: bool = False
) -> int:
    """Write ``entries`` to a file (replaced only when complete) or a stream; lines written."""
    return await write_target(
        target, blocks(entries), bom=bom, progress=None, header_row=AUDIT_COLUMNS
    )
