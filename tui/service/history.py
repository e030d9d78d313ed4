"""What happened, newest first: every resync, engine report, ignore, unignore and reopen
of an ignored error, with who did it; with ``all=1`` also the rest of the audit trail
(jobs, settings, mutes, tokens: tui/service/audit.py).

The service writes one ``history`` row (schema.sql) when a resync is done or refused and
when a report of the sync engine is recorded; replays of a known request_id or batch_id
did nothing and are not written again. ``GET /v1/history`` pages through the rows
newest first (docs/api.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request

from tui.core.audit_models import HISTORY_KINDS, HistoryPage
from tui.core.models import ACTOR_HEADER
from tui.service import audit
from tui.service.auth import TOKEN_SCOPE
from tui.service.ledger import Ledger

ACTOR_MAX = 120
#: Refusals of a request_id seen before: the first try is in the history already.
REPLAY_CODES = frozenset({"request_id_reused", "resync_in_progress", "resync_interrupted"})


def actor_of(request: Request) -> str:
    """Who sent ``request``: the name of the API token it came with; without tokens its
    actor header (printable, cut to ACTOR_MAX), else its network address."""
    token = request.scope.get(TOKEN_SCOPE)
    if isinstance(token, str):
        return token
    named = "".join(ch for ch in request.headers.get(ACTOR_HEADER, "") if ch.isprintable())
    if named.strip():
        return named.strip()[:ACTOR_MAX]
    return request.client.host if request.client else "unknown"


def resync_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The counts of a done resync (a ResyncResult as a dict)."""
    outcomes = result["outcomes"]
    counts = {status: 0 for status in ("synced", "failed", "skipped")}
    for outcome in outcomes:
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    return {
        "state": "done",
        "errors": len(outcomes),
        **counts,
        "salesforce_calls": result["salesforce_calls"],
        "error_ids": [outcome["error_id"] for outcome in outcomes],
    }


def refused_summary(error_ids: list[int], code: str, message: str) -> dict[str, Any]:
    """A resync the service refused: nothing, or (interrupted) an unknown part, was applied."""
    interrupted = code in ("salesforce_unavailable", "salesforce_bad_answer")
    return {
        "state": "interrupted" if interrupted else "refused",
        "errors": len(error_ids),
        "message": message,
        "error_ids": list(dict.fromkeys(error_ids)),
    }


def report_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The counts of a recorded report (an IngestResult as a dict)."""
    return {
        "state": "done",
        "errors": result["accepted"],
        "created": result["created"],
        "repeated": result["repeated"],
        "rejected": len(result.get("rejected") or []),
        "error_ids": list(result.get("error_ids") or []),
    }


async def record(
    ledger: Ledger, now: datetime, kind: str, ref: str | None, actor: str, summary: dict[str, Any]
) -> None:
    async with ledger.transaction() as conn:
        await Ledger.add_history(conn, now, kind, ref, actor, summary)


async def page(ledger: Ledger, cursor: int | None, limit: int, *, every: bool) -> HistoryPage:
    """Up to ``limit`` entries older than ``cursor`` (None: the newest), newest first; of
    the kinds an older console reads (HISTORY_KINDS) unless ``every``."""
    below = cursor if cursor is not None else 2**63 - 1
    kinds = "" if every else f" AND kind IN ({', '.join(repr(k) for k in HISTORY_KINDS)})"
    async with ledger.reader.execute(
        f"SELECT id, at, kind, ref, actor, summary FROM history WHERE id < ?{kinds} "
        "ORDER BY id DESC LIMIT ?",
        (below, limit + 1),
    ) as rows:
        found = list(await rows.fetchall())
    more = len(found) > limit
    entries = [audit.entry(row) for row in found[:limit]]
    return HistoryPage(entries=entries, next_cursor=entries[-1].id if more else None, has_more=more)
