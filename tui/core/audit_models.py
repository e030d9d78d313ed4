"""The audit trail's entries, as ``GET /v1/history`` (newest first) and ``GET /v1/audit``
(oldest first, for followers) answer them (docs/api.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, JsonValue

#: What ``GET /v1/history`` lists without ``all=1``: the kinds a synchealth before the
#: audit trail (schema version 6) can read.
HISTORY_KINDS = ("resync", "report", "ignore", "unignore", "reopen")
#: Every kind of the audit trail.
AUDIT_KINDS = (
    *HISTORY_KINDS, "job", "allocation", "notifications", "retries", "mute", "unmute", "token",
)  # fmt: skip
Kind = Literal[
    "resync", "report", "ignore", "unignore", "reopen", "job", "allocation", "notifications",
    "retries", "mute", "unmute", "token",
]  # fmt: skip


class Change(BaseModel):
    """One setting changed: its name (dotted inside a group) and its values before and after."""

    field: str = Field(description="e.g. allocated, enabled, email.recipients")
    old: JsonValue = None
    new: JsonValue = None


class HistoryEntry(BaseModel):
    """One change: a resync, report, ignore, job, setting or token, with who and when."""

    id: int = Field(description="Grows with every entry; the cursor of the next page.")
    at: str = Field(description="When it happened (ISO-8601 UTC).")
    kind: Kind
    ref: str | None = Field(
        None,
        description="The resync's request_id, the report's batch_id, the job's id, the "
        "muted cause or the token's name.",
    )
    actor: str = Field(
        description="Who: the API token's name; without tokens user@host of the client, "
        "else its network address; cli:<user> for the tokens command; synchealth for the "
        "service itself."
    )
    state: Literal["done", "refused", "interrupted"] = "done"
    action: str = Field(
        "", description="Jobs: started | cancelled | finished; tokens: added | revoked."
    )
    errors: int = Field(0, description="Errors the request named or the report recorded.")
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = Field(0, description="Jobs: errors whose outcome is not known.")
    cancelled: int = Field(0, description="Jobs: errors not sent because it was cancelled.")
    created: int = Field(0, description="Reports: new errors among them.")
    repeated: int = Field(0, description="Reports: known errors that failed again.")
    rejected: int = Field(0, description="Reports: items refused.")
    salesforce_calls: int = 0
    message: str = Field("", description="Why a resync was refused or interrupted.")
    error_ids: list[int] = Field(default_factory=list, description="The errors it touched.")
    reason: str = Field("", description="Ignores: the reason given.")
    expires_at: str | None = Field(
        None, description="Ignores and mutes: until when (None: until unignored)."
    )
    cause: str | None = Field(None, description="Ignores of a whole cause: its key.")
    why: Literal["expired", "new_cause"] | None = Field(
        None,
        description="Reopens: the ignore's expiry passed, or the error failed with a new cause.",
    )
    changes: list[Change] = Field(
        default_factory=list, description="Settings: each value changed, old -> new."
    )


class HistoryPage(BaseModel):
    """``GET /v1/history``: entries newest first; pass ``next_cursor`` for older ones."""

    entries: list[HistoryEntry]
    next_cursor: int | None = None
    has_more: bool = False


class AuditPage(BaseModel):
    """``GET /v1/audit``: entries oldest first after the cursor; keep ``next_cursor`` and
    ask again for what comes later (like the change feed)."""

    entries: list[HistoryEntry]
    next_cursor: int = Field(description="The last entry's id, or the cursor sent.")
    has_more: bool = False
