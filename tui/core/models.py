"""Shapes shared by the service, its API and the client.

The service answers with these models; the client parses them. Hot paths (the
change feed, the cache, the grid) move plain tuples in the order of
``ERROR_COLUMNS`` instead of model instances, because building a pydantic object
per row would cost more than everything else together at a million rows.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic.config import JsonDict

ErrorType = Literal[
    "association",
    "custom_code",
    "duplicate",
    "permissions",
    "picklist",
    "field_mapping",
    "property_value",
    "other",
]

#: The eight error types in the order the console shows their cards.
ERROR_TYPES: tuple[ErrorType, ...] = (
    "association",
    "custom_code",
    "duplicate",
    "permissions",
    "picklist",
    "field_mapping",
    "property_value",
    "other",
)

Direction = Literal["to_salesforce", "from_salesforce"]
ErrorStatus = Literal["open", "resolved", "ignored"]
Frequency = Literal["immediate", "daily", "weekly", "alerts"]

#: Column order of an error row in the change feed (``GET /v1/errors``) and in
#: the client's cache. ``fields`` travels as a list of field API names.
ERROR_COLUMNS: tuple[str, ...] = (
    "id",
    "seq",
    "type",
    "subtype",
    "object_type",
    "record_id",
    "record_name",
    "sf_object",
    "sf_id",
    "direction",
    "sf_code",
    "message",
    "fields",
    "first_seen",
    "last_seen",
    "attempts",
    "status",
)
#: Column order of a row in the change feed and the snapshot: ``ERROR_COLUMNS`` and the
#: error's cause key (tui/core/causes.py), null while the service's cause index has not
#: reached the row's latest change (the console then computes it when it needs it).
FEED_ROW_COLUMNS: tuple[str, ...] = (*ERROR_COLUMNS, "cause")


class _ApiModel(BaseModel):
    """The API's models build their validators on first use, not at import: the console's
    first screen reads few of them; building all at import cost ~10 ms CPU of its start."""

    model_config = ConfigDict(defer_build=True)


class SyncError(_ApiModel):
    """One sync error as the ledger knows it: a record that failed one way."""

    id: int
    seq: int = Field(description="Change sequence: grows every time the row changes.")
    type: ErrorType
    subtype: str = Field(description="Stable subtype code, e.g. 'picklist.restricted_value'.")
    object_type: str = Field(description="CRM object: contact, company, deal or task.")
    record_id: str
    record_name: str
    sf_object: str = Field(description="Salesforce object API name, e.g. Lead.")
    sf_id: str | None = None
    direction: Direction = "to_salesforce"
    sf_code: str = ""
    message: str = ""
    fields: list[str] = Field(default_factory=list)
    first_seen: datetime
    last_seen: datetime
    attempts: int = 1
    status: ErrorStatus = "open"


class Attempt(_ApiModel):
    """One try at syncing a record: a failure, a resync, or the sync engine's success."""

    at: datetime
    outcome: Literal["failed", "synced", "resolved", "requested", "expired"] = Field(
        description="resolved: the sync engine reported the record synced; requested: a "
        "resync asked the sync engine to sync it; expired: the engine never answered."
    )
    sf_code: str = ""
    message: str = ""
    request_id: str | None = None
    sent: dict[str, Any] | None = Field(
        None, description="The record a direct resync sent to Salesforce, as sent."
    )


class EngineRequestState(_ApiModel):
    """Where an error's newest request to the sync engine stands (engine-mode resync)."""

    request_id: str
    state: Literal["waiting", "answered", "expired"]
    created: datetime
    expires: datetime
    answered: datetime | None = None
    outcome: Literal["failed", "synced"] | None = None


#: Retried automatically by default: the integration's own checks and Salesforce-side causes.
DEFAULT_RETRY_TYPES: tuple[ErrorType, ...] = ("association", "custom_code", "permissions", "other")


def whole(value: Any) -> Any:
    """12.0 is the whole number 12, as JSON Schema's ``integer`` says; 12.5 stays refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A whole number in a request body: JSON's 12 or 12.0, never true, "12" or 12.5.
Whole = Annotated[int, BeforeValidator(whole)]
_HHMM_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
#: A time of day as HH:MM on a 24-hour clock (the pattern, and its JSON Schema below).
HHMM_TIME = re.compile(_HHMM_PATTERN)
HHMM: JsonDict = {"pattern": _HHMM_PATTERN}


class RetryPolicy(_ApiModel):
    """When open errors are resynced without anyone pressing a key."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    enabled: bool = False
    every_minutes: Whole = Field(20, ge=5, le=1440, description="Between attempts, at first.")
    max_attempts: Whole = Field(10, ge=1, le=100, description="Then once a night.")
    nightly_at: str = Field(
        "02:00", description="HH:MM UTC of the nightly retry.", json_schema_extra=HHMM
    )
    types: list[ErrorType] = Field(default_factory=lambda: list(DEFAULT_RETRY_TYPES))
    ceiling_percent: Whole = Field(
        75, ge=1, le=100, description="Retries pause at this share of the allocation."
    )

    @field_validator("nightly_at")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not HHMM_TIME.match(value):
            raise ValueError(f"use HH:MM on a 24-hour clock, e.g. 02:00 (got {value!r})")
        return value

    @field_validator("types")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class RetryStatus(RetryPolicy):
    """The policy with where retries stand (``GET /v1/retries``)."""

    paused: bool = Field(False, description="True while usage is at or above the ceiling.")
    paused_since: datetime | None = None


class NextRetry(_ApiModel):
    """When an error is retried automatically next, or why it is not."""

    at: datetime | None = None
    reason: Literal[
        "scheduled", "off", "resolved", "ignored", "type_not_retried", "paused_for_budget"
    ]


class IgnoreState(_ApiModel):
    """An ignored error's ignore: who, why, and until when (docs/api.md, /v1/ignores)."""

    ignore_id: int
    at: datetime
    actor: str
    reason: str
    expires_at: datetime | None = Field(None, description="None: until unignored.")


class SyncErrorDetail(SyncError):
    history: list[Attempt] = Field(default_factory=list)
    next_retry: NextRetry | None = Field(
        None, description="The next automatic retry (docs/api.md, /v1/retries), or why none."
    )
    engine_request: EngineRequestState | None = Field(
        None, description="The newest request to the sync engine for this error, if any."
    )
    ignore: IgnoreState | None = Field(
        None, description="Why and until when the error is ignored, while it is."
    )


class ErrorPage(_ApiModel):
    """A page of the change feed, in ``ERROR_COLUMNS`` order, oldest change first."""

    columns: list[str]
    rows: list[list[Any]]
    next_cursor: int
    has_more: bool
    remaining: int | None = Field(None, description="With count=1: rows after this page.")


class HourBucket(_ApiModel):
    hour: datetime
    calls: int


class Usage(_ApiModel):
    used: int = Field(description="The integration's Salesforce calls in the rolling 24 h.")
    allocated: int = Field(description="Calls the admin allotted to the integration per 24 h.")
    salesforce_limit: int = Field(description="DailyApiRequests.Max of the org.")
    org_used: int = Field(description="DailyApiRequests Max - Remaining, all clients of the org.")
    hourly: list[HourBucket] = Field(description="24 buckets, oldest first.")
    as_of: datetime
    limits_as_of: datetime | None = Field(
        None, description="When Salesforce last reported salesforce_limit and org_used."
    )
    limits_error: str | None = Field(
        None, description="Why the Salesforce figures may be old (last refresh failed)."
    )
    retries_paused: bool = Field(
        False, description="Automatic retries are paused: usage is at their ceiling."
    )


class AllocationUpdate(_ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    allocated: Whole = Field(ge=0, description="At most the org's salesforce_limit.")


class Health(_ApiModel):
    status: Literal["ok", "degraded"]
    version: str
    org_name: str = Field(
        description="Empty in the answer to a request without a valid token (health needs "
        "none), and while the database is away to one whose token cannot be checked."
    )
    mode: Literal["simulated", "live"]
    time: datetime
    resync_mode: Literal["direct", "engine"] = Field(
        "direct",
        description="direct: a resync re-sends the newest reported values to Salesforce; "
        "engine: it asks the sync engine to re-read the record from the CRM and sync it.",
    )
    replica: str = Field("", description="This service process: host:pid:random.")
    runs: list[Literal["notifier", "retries", "jobs"]] = Field(
        default_factory=list,
        description="What must run once across replicas that this one runs now (holds "
        "the lease of); on SQLite, one process, all of it.",
    )
    database: Literal["ok", "unavailable"] = Field(
        "ok",
        description="unavailable: this process is up but cannot reach its ledger's "
        "database; the other endpoints answer 503 database_unavailable meanwhile.",
    )
    problem: str | None = Field(
        None, description="Why status is degraded, for a person (the database first)."
    )


class ApiError(_ApiModel):
    """The body of every non-2xx answer: ``{"error": {"code", "message"}}``."""

    code: str
    message: str


class IngestRejection(_ApiModel):
    """An item of a reported batch that was refused, and why."""

    index: int = Field(description="Position of the item in the batch, from 0.")
    reason: str


class IngestUnchanged(_ApiModel):
    """A reported success that changed nothing (not an error), and why."""

    index: int = Field(description="Position of the item in the batch, from 0.")
    code: Literal["unknown_record", "older_than_failure", "nothing_open"]
    reason: str


class IngestRequestNote(_ApiModel):
    """An item whose request_id was not taken as an engine request's answer, and why."""

    index: int = Field(description="Position of the item in the batch, from 0.")
    request_id: str
    code: Literal["unknown_request", "request_expired", "request_answered"]
    reason: str


class IngestResult(_ApiModel):
    """The answer to ``POST /v1/errors``: what became of a batch of reported failures."""

    accepted: int = Field(description="Items recorded.")
    created: int = Field(description="New errors (rows) among them.")
    repeated: int = Field(description="Known errors that failed again (attempts + 1).")
    resolved: int = Field(0, description="Open errors resolved by reported successes.")
    rejected: list[IngestRejection] = Field(default_factory=list)
    unchanged: list[IngestUnchanged] = Field(
        default_factory=list, description="Reported successes that resolved nothing, and why."
    )
    request_notes: list[IngestRequestNote] = Field(
        default_factory=list,
        description="Items whose request_id answered no waiting engine request (they are "
        "recorded all the same).",
    )
    error_ids: list[int] = Field(default_factory=list, description="Errors touched, in order.")
    batch_id: str | None = None
    replayed: bool = Field(False, description="True when this batch_id was already applied.")


class KindObjectCalls(_ApiModel):
    kind: str = Field(
        description="limits | versions | describe | update | upsert | other | unrecorded"
    )
    object: str = Field(description="The sObject, '' for calls about none.")
    calls: int


class NamedCalls(_ApiModel):
    name: str
    calls: int


class UsageBreakdown(_ApiModel):
    """Where the integration's calls of the rolling 24 h went (GET /v1/usage/breakdown)."""

    total: int = Field(description="The same figure as Usage.used.")
    by_kind: list[NamedCalls] = Field(description="Most calls first.")
    by_object: list[NamedCalls] = Field(description="Most calls first; '' is no object.")
    rows: list[KindObjectCalls] = Field(description="Kind and object together, most first.")
    as_of: datetime


#: The header a client names its user and host in ("alice@ops-laptop"), for the history.
ACTOR_HEADER = "X-Synchealth-Actor"


class CauseSummary(_ApiModel):
    """Errors of one subtype and object whose messages differ only by ids, values, names
    and numbers (tui/core/causes.py)."""

    cause: str = Field(description="16 hex digits; stable for the same subtype, object, shape.")
    type: str
    subtype: str
    sf_object: str
    open_errors: int
    records: int = Field(description="Distinct CRM records among the open errors.")
    first_seen: datetime
    last_seen: datetime
    template: str = Field(description="The message's shape: <value>, <id>, <n>... for details.")
    sample_message: str
    sample_error_id: int
    new_24h: int = Field(description="Open errors of the cause first seen in the last 24 h.")


class CausePage(_ApiModel):
    causes: list[CauseSummary] = Field(description="Most open errors first.")
    total: int = Field(description="Causes with open errors.")


class CauseErrors(_ApiModel):
    cause: str
    error_ids: list[int] = Field(description="The cause's open errors, by id.")
