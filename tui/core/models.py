"""Shapes shared by the service, its API and the client.

The service answers with these models; the client parses them. Hot paths (the
change feed, the cache, the grid) move plain tuples in the order of
``ERROR_COLUMNS`` instead of model instances, because building a pydantic object
per row would cost more than everything else together at a million rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from tui.core.limits import JOB_MAX_IDS, MAX_ID, RESYNC_MAX_IDS

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


class SyncError(BaseModel):
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


class Attempt(BaseModel):
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


class EngineRequestState(BaseModel):
    """Where an error's newest request to the sync engine stands (engine-mode resync)."""

    request_id: str
    state: Literal["waiting", "answered", "expired"]
    created: datetime
    expires: datetime
    answered: datetime | None = None
    outcome: Literal["failed", "synced"] | None = None


#: Retried automatically by default: the integration's own checks and Salesforce-side causes.
DEFAULT_RETRY_TYPES: tuple[ErrorType, ...] = ("association", "custom_code", "permissions", "other")


def _whole(value: Any) -> Any:
    """12.0 is the whole number 12, as JSON Schema's ``integer`` says; 12.5 stays refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A whole number in a request body: JSON's 12 or 12.0, never true, "12" or 12.5.
Whole = Annotated[int, BeforeValidator(_whole)]
_HHMM_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
_HHMM = re.compile(_HHMM_PATTERN)
HHMM: JsonDict = {"pattern": _HHMM_PATTERN}


class RetryPolicy(BaseModel):
    """When open errors are resynced without anyone pressing a key."""

    model_config = ConfigDict(extra="forbid")

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
        if not _HHMM.match(value):
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


class NextRetry(BaseModel):
    """When an error is retried automatically next, or why it is not."""

    at: datetime | None = None
    reason: Literal[
        "scheduled", "off", "resolved", "ignored", "type_not_retried", "paused_for_budget"
    ]


class IgnoreState(BaseModel):
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


class ErrorPage(BaseModel):
    """A page of the change feed, in ``ERROR_COLUMNS`` order, oldest change first."""

    columns: list[str]
    rows: list[list[Any]]
    next_cursor: int
    has_more: bool
    remaining: int | None = Field(None, description="With count=1: rows after this page.")


class HourBucket(BaseModel):
    hour: datetime
    calls: int


class Usage(BaseModel):
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


class AllocationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allocated: Whole = Field(ge=0, description="At most the org's salesforce_limit.")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    org_name: str
    mode: Literal["simulated", "live"]
    time: datetime
    resync_mode: Literal["direct", "engine"] = Field(
        "direct",
        description="direct: a resync re-sends the newest reported values to Salesforce; "
        "engine: it asks the sync engine to re-read the record from the CRM and sync it.",
    )


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DeliveryKind = Literal[
    "immediate",
    "daily",
    "weekly",
    "usage_alert",
    "usage_recovered",
    "retries_paused",
    "retries_resumed",
    "cause_alert",
    "test",
]
Channel = Literal["email", "webhook"]

MAX_RECIPIENTS = 50
MAX_THRESHOLDS = 5
#: Alert mode's rule (dual-write's): a cause grows fast at N new errors in M minutes.
ALERT_ERRORS_MAX = 100_000
ALERT_MINUTES_MAX = 24 * 60
#: The longest a cause can be muted: 90 days.
MUTE_MINUTES_MAX = 90 * 24 * 60
_ADDRESS_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_ADDRESS = re.compile(_ADDRESS_PATTERN)
#: JSON Schema of an address: what the document promises is taken (spaces are trimmed too).
_ADDRESS_SCHEMA = Annotated[
    str, Field(json_schema_extra={"pattern": _ADDRESS_PATTERN, "maxLength": 254})
]


def is_email_address(text: str) -> bool:
    """A plain ``name@example.com`` address (no display name), at most 254 characters."""
    return len(text) <= 254 and _ADDRESS.match(text) is not None


class EmailChannel(BaseModel):
    """Email on or off and who gets it; the SMTP server is service configuration."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # on needs someone to tell (the validator below)
            "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
            "then": {"properties": {"recipients": {"minItems": 1}}, "required": ["recipients"]},
        },
    )

    enabled: bool = False
    recipients: list[_ADDRESS_SCHEMA] = Field(default_factory=list, max_length=MAX_RECIPIENTS)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for raw in value:
            address = raw.strip()
            if not is_email_address(address):
                raise ValueError(f"{raw!r} is not an email address like name@example.com")
            seen.setdefault(address.lower(), address)
        return list(seen.values())

    @model_validator(mode="after")
    def _someone_to_tell(self) -> EmailChannel:
        if self.enabled and not self.recipients:
            raise ValueError("email is on but has no recipients; add at least one address")
        return self


class WebhookChannel(BaseModel):
    """The webhook on or off; its URL is a secret of the service configuration."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False


class NotificationSettings(BaseModel):
    """When and how the service tells people about sync errors and API usage."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    frequency: Frequency = "daily"
    digest_time: str = Field(
        "09:00", description="HH:MM, local time of `timezone`.", json_schema_extra=HHMM
    )
    digest_weekday: Weekday = Field("mon", description="Day of the weekly digest.")
    timezone: str = Field(
        "UTC",
        description="IANA time zone name, e.g. Asia/Tokyo.",
        json_schema_extra={"enum": list[JsonValue](sorted(available_timezones()))},
    )
    lang: Literal["en", "ja"] = "en"
    email: EmailChannel = Field(default_factory=EmailChannel)
    webhook: WebhookChannel = Field(default_factory=WebhookChannel)
    usage_alerts: bool = True
    usage_thresholds: list[
        Annotated[Whole, Field(json_schema_extra={"minimum": 1, "maximum": 100})]
    ] = Field(
        default_factory=lambda: [75, 90],
        description="Percent of the allocation; 1 to 100, each once, at most 5 (kept sorted).",
        json_schema_extra={"minItems": 1, "maxItems": MAX_THRESHOLDS, "uniqueItems": True},
    )
    alert_errors: int = Field(
        10,
        ge=1,
        le=ALERT_ERRORS_MAX,
        description="Alert mode: a cause grows fast at this many new errors in alert_minutes.",
    )
    alert_minutes: int = Field(
        10, ge=1, le=ALERT_MINUTES_MAX, description="Alert mode: the window of alert_errors."
    )

    @field_validator("digest_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"use HH:MM on a 24-hour clock, e.g. 09:00 or 18:30 (got {value!r})")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory
            raise ValueError(
                f"{value!r} is not an IANA time zone; use a name like Asia/Tokyo or UTC"
            ) from None
        return value

    @field_validator("usage_thresholds")
    @classmethod
    def _thresholds(cls, value: list[int]) -> list[int]:
        if not 1 <= len(value) <= MAX_THRESHOLDS:
            raise ValueError(f"give from 1 to {MAX_THRESHOLDS} thresholds, got {len(value)}")
        if any(not 1 <= v <= 100 for v in value):
            raise ValueError(f"each threshold is a percent from 1 to 100, got {value}")
        if len(set(value)) < len(value):
            raise ValueError(f"give each threshold once, got {value}")
        return sorted(value)


class ChannelStatus(BaseModel):
    """Whether the service can send on a channel, and where to (never a secret)."""

    configured: bool
    target: str = Field(description="e.g. 'smtp.example.com:587 STARTTLS as bot@x', a host.")


class Delivery(BaseModel):
    """One message on one channel, as the outbox knows it."""

    id: int
    kind: DeliveryKind
    channel: Channel
    status: Literal["pending", "sent", "failed"]
    subject: str
    created: datetime
    attempts: int
    last_attempt: datetime | None = None
    next_attempt: datetime | None = None
    error: str = ""


class NotificationStatus(BaseModel):
    channels: dict[str, ChannelStatus] = Field(description='Keys "email" and "webhook".')
    next_digest_at: datetime | None = None
    deliveries: list[Delivery] = Field(description="Newest first, at most 20.")


class TestSendRequest(BaseModel):
    __test__ = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid")

    channel: Channel


class TestSendResult(BaseModel):
    __test__ = False  # not a pytest test class

    channel: str
    ok: bool
    detail: str = Field(description="What happened, or the exact failure.")
    delivery_id: int | None = None


ErrorId = Annotated[int, Field(ge=0, le=MAX_ID), BeforeValidator(_whole)]
#: What the document promises a request_id or batch_id may be (a UUID is best): printable
#: ASCII, not blank. The service also takes other printable text (:func:`_printable`).
TEXT_ID_SCHEMA: JsonDict = {"pattern": "^[!-~](?:[ -~]{0,198}[!-~])?$"}
_REQUEST_ID = Field(
    min_length=1,
    max_length=200,
    json_schema_extra=TEXT_ID_SCHEMA,
    description="Makes the request safe to retry: a UUID is best.",
)


def _printable(value: str) -> str:
    if not value.strip() or not value.isprintable():
        raise ValueError(
            "request_id must be a non-empty string (a UUID is best) of at most 200 "
            "printable characters (no NUL or other control characters); it makes the "
            "request safe to retry"
        )
    return value


class ResyncRequest(BaseModel):
    """The body of ``POST /v1/resync``."""

    model_config = ConfigDict(extra="forbid")

    error_ids: list[ErrorId] = Field(min_length=1, max_length=RESYNC_MAX_IDS)
    request_id: str = _REQUEST_ID

    _request_id = field_validator("request_id")(_printable)


class ResyncOutcome(BaseModel):
    error_id: int
    status: Literal["synced", "failed", "skipped", "requested"] = Field(
        description="requested: handed to the sync engine (engine mode), see engine_request_id."
    )
    type: ErrorType | None = None
    subtype: str | None = None
    sf_code: str = ""
    message: str = ""
    engine_request_id: str | None = None


class ResyncJobRequest(BaseModel):
    """The body of ``POST /v1/resync/jobs``."""

    model_config = ConfigDict(extra="forbid")

    error_ids: list[ErrorId] = Field(min_length=1, max_length=JOB_MAX_IDS)
    request_id: str = _REQUEST_ID

    _request_id = field_validator("request_id")(_printable)


class JobOutcome(BaseModel):
    """What became of one error of a resync job."""

    error_id: int
    status: Literal["synced", "failed", "skipped", "requested", "unknown", "cancelled"] = Field(
        description="unknown: cut off while being sent, not sent again; cancelled: not sent."
    )
    type: ErrorType | None = None
    subtype: str | None = None
    sf_code: str = ""
    message: str = ""
    engine_request_id: str | None = None


class JobCounts(BaseModel):
    pending: int
    sending: int
    synced: int
    failed: int
    skipped: int
    unknown: int
    cancelled: int
    requested: int = 0


class ResyncJob(BaseModel):
    """A resync job's progress (``POST``/``GET /v1/resync/jobs``)."""

    job_id: str
    request_id: str
    created: datetime
    state: Literal["running", "done", "cancelled"]
    total: int
    done: int = Field(description="Errors with an outcome.")
    counts: JobCounts
    salesforce_calls: int
    waiting: str | None = Field(None, description="Why the job waits, while it waits.")
    wait_until: datetime | None = Field(None, description="Until when it waits, if known.")
    finished: datetime | None = None
    outcomes: list[JobOutcome] = Field(default_factory=list)
    next_cursor: int = Field(0, description="Pass as cursor for the next page of outcomes.")
    replayed: bool = False


class ResyncJobList(BaseModel):
    jobs: list[ResyncJob]


class EngineRecord(BaseModel):
    """The Salesforce side of a record to sync, as last reported."""

    object: str
    id: str | None = None
    external_id: dict[str, str] | None = None


class EngineRequest(BaseModel):
    """A record the sync engine should re-read from the CRM and sync, then report."""

    request_id: str
    object_type: str
    record_id: str
    direction: str
    salesforce: EngineRecord
    error_ids: list[int]
    created: datetime
    expires: datetime
    lease_until: datetime | None = None


class EngineRequestPage(BaseModel):
    """The answer to ``GET /v1/engine/requests?lease=SECONDS``: the requests now leased."""

    requests: list[EngineRequest]
    lease_until: datetime


class ResyncResult(BaseModel):
    request_id: str
    outcomes: list[ResyncOutcome]
    salesforce_calls: int
    replayed: bool = Field(False, description="True when this request_id was already done.")


class ApiError(BaseModel):
    """The body of every non-2xx answer: ``{"error": {"code", "message"}}``."""

    code: str
    message: str


class IngestRejection(BaseModel):
    """An item of a reported batch that was refused, and why."""

    index: int = Field(description="Position of the item in the batch, from 0.")
    reason: str


class IngestUnchanged(BaseModel):
    """A reported success that changed nothing (not an error), and why."""

    index: int = Field(description="Position of the item in the batch, from 0.")
    code: Literal["unknown_record", "older_than_failure", "nothing_open"]
    reason: str


class IngestRequestNote(BaseModel):
    """An item whose request_id was not taken as an engine request's answer, and why."""

    index: int = Field(description="Position of the item in the batch, from 0.")
    request_id: str
    code: Literal["unknown_request", "request_expired", "request_answered"]
    reason: str


class IngestResult(BaseModel):
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


CheckStatus = Literal["green", "yellow", "red"]


class DoctorRequest(BaseModel):
    """The body of ``POST /v1/doctor``."""

    model_config = ConfigDict(extra="forbid")

    send_test: bool = Field(description="Send a test message on each enabled channel.")


PhraseValue = str | int | list[str]


class Phrase(BaseModel):
    """One sentence of the doctor as a stable code and its parameters (docs/api.md lists
    them), so a client says it in its own language; ``found`` and ``fix`` are the English."""

    code: str = Field(description="A key of the doctor's phrases, e.g. 'access.read_only'.")
    params: dict[str, PhraseValue] = Field(
        default_factory=dict,
        description="The values the sentence names; 'count' picks the plural form, "
        "'types' lists catalog type codes.",
    )


class DoctorCheck(BaseModel):
    """One health check of ``synchealth doctor`` (docs/api.md, GET /v1/doctor)."""

    id: str = Field(
        description="service | signin | api_version | limits | access | headroom | "
        "retry_policy | notifications | cache"
    )
    subject: str = Field("", description="What the check is about, e.g. 'Contact' for access.")
    status: CheckStatus
    found: str = Field(description="What the check found, in one sentence.")
    fix: str = Field("", description="What to do about it; empty when green.")
    found_codes: list[Phrase] = Field(
        default_factory=list,
        description="The finding as phrases; found is their English joined by '; '.",
    )
    fix_codes: list[Phrase] = Field(
        default_factory=list, description="The fix as phrases; empty when there is none."
    )


class DoctorReport(BaseModel):
    version: str = Field(description="The service's version.")
    as_of: datetime
    checks: list[DoctorCheck]
    salesforce_calls: int = Field(description="Salesforce calls this run made (describes cached).")


class KindObjectCalls(BaseModel):
    kind: str = Field(
        description="limits | versions | describe | update | upsert | other | unrecorded"
    )
    object: str = Field(description="The sObject, '' for calls about none.")
    calls: int


class NamedCalls(BaseModel):
    name: str
    calls: int


class UsageBreakdown(BaseModel):
    """Where the integration's calls of the rolling 24 h went (GET /v1/usage/breakdown)."""

    total: int = Field(description="The same figure as Usage.used.")
    by_kind: list[NamedCalls] = Field(description="Most calls first.")
    by_object: list[NamedCalls] = Field(description="Most calls first; '' is no object.")
    rows: list[KindObjectCalls] = Field(description="Kind and object together, most first.")
    as_of: datetime


#: The header a client names its user and host in ("alice@ops-laptop"), for the history.
ACTOR_HEADER = "X-Synchealth-Actor"


class HistoryEntry(BaseModel):
    """One resync or engine report, as ``GET /v1/history`` lists it."""

    id: int = Field(description="Grows with every entry; the cursor of the next page.")
    at: str = Field(description="When it happened (ISO-8601 UTC).")
    kind: Literal["resync", "report", "ignore", "unignore", "reopen"]
    ref: str | None = Field(None, description="The resync's request_id or the report's batch_id.")
    actor: str = Field(description="Who: user@host of the client, else its network address.")
    state: Literal["done", "refused", "interrupted"] = "done"
    errors: int = Field(description="Errors the request named or the report recorded.")
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    created: int = Field(0, description="Reports: new errors among them.")
    repeated: int = Field(0, description="Reports: known errors that failed again.")
    rejected: int = Field(0, description="Reports: items refused.")
    salesforce_calls: int = 0
    message: str = Field("", description="Why a resync was refused or interrupted.")
    error_ids: list[int] = Field(default_factory=list, description="The errors it touched.")
    reason: str = Field("", description="Ignores: the reason given.")
    expires_at: str | None = Field(None, description="Ignores: until when (None: until unignored).")
    cause: str | None = Field(None, description="Ignores of a whole cause: its key.")
    why: Literal["expired", "new_cause"] | None = Field(
        None,
        description="Reopens: the ignore's expiry passed, or the error failed with a new cause.",
    )


class HistoryPage(BaseModel):
    """``GET /v1/history``: entries newest first; pass ``next_cursor`` for older ones."""

    entries: list[HistoryEntry]
    next_cursor: int | None = None
    has_more: bool = False


class CauseSummary(BaseModel):
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


class CausePage(BaseModel):
    causes: list[CauseSummary] = Field(description="Most open errors first.")
    total: int = Field(description="Causes with open errors.")


class CauseErrors(BaseModel):
    cause: str
    error_ids: list[int] = Field(description="The cause's open errors, by id.")


# -- ignores (POST /v1/ignores, docs/api.md) ---------------------------------------------


CauseKey = Annotated[
    str, Field(pattern="^[0-9a-f]{16}$", description="A cause key (GET /v1/causes).")
]


class IgnoreRequest(BaseModel):
    """Ignore errors (by id) or the open errors of a cause, with a reason. Name either
    ``error_ids`` or ``cause``; give ``expires_at`` (in the future), ``days``, or neither
    (until unignored). tui/service/ignores.py checks it and says what is wrong."""

    request_id: str = _REQUEST_ID
    error_ids: list[ErrorId] | None = Field(None, min_length=1, max_length=JOB_MAX_IDS)
    cause: CauseKey | None = None
    reason: str = Field(min_length=1, max_length=500, json_schema_extra={"pattern": r"\S"})
    expires_at: datetime | None = Field(None, description="Reopen then; None: until unignored.")
    days: int | None = Field(
        None,
        ge=1,
        le=3660,
        description="Instead of expires_at: reopen this many days after the service "
        "got the request, by the service's clock.",
    )


class IgnoreResult(BaseModel):
    """What an ignore or unignore did."""

    request_id: str | None = Field(description="None for DELETE /v1/ignores/{ignore_id}.")
    ignore_id: int | None = Field(None, description="The ignore made (None for an unignore).")
    changed: list[int] = Field(description="Errors ignored (or unignored) by this request.")
    unchanged: list[int] = Field(
        description="Errors named that were not open (ignore) or not ignored (unignore)."
    )
    replayed: bool = False


class UnignoreRequest(BaseModel):
    """Unignore errors (by id) or the ignored errors of a cause (one of the two)."""

    request_id: str = _REQUEST_ID
    error_ids: list[ErrorId] | None = Field(None, min_length=1, max_length=JOB_MAX_IDS)
    cause: CauseKey | None = None


class IgnoreSummary(BaseModel):
    """An ignore that still holds errors."""

    ignore_id: int
    at: datetime
    actor: str
    reason: str
    expires_at: datetime | None = None
    cause: str | None = None
    errors: int = Field(description="Errors it still keeps ignored.")


class IgnoreList(BaseModel):
    """``GET /v1/ignores``: the ignores in force, newest first."""

    ignores: list[IgnoreSummary]


# -- daily figures (GET /v1/trends) ------------------------------------------------


class TrendDay(BaseModel):
    day: date = Field(description="A UTC day.")
    new: int = Field(description="Errors first seen that day.")
    resolved: int
    recurring: int = Field(description="Resolved errors failing again that day.")
    open: int = Field(description="Errors still open at the end of the day.")


class TrendTotals(BaseModel):
    """Everything counted since the figures began; ``open`` is the open count now."""

    new: int
    resolved: int
    recurring: int
    open: int


class TrendPage(BaseModel):
    """``GET /v1/trends``: one series (all errors, a type or a cause), oldest day first."""

    type: str | None = None
    cause: str | None = None
    days: list[TrendDay]
    totals: TrendTotals


class TypeTrends(BaseModel):
    """``GET /v1/trends/types``: new errors per day of each type (the cards' sparklines)."""

    days: list[date] = Field(description="Oldest first.")
    new: dict[str, list[int]] = Field(description="Type -> new errors on each of ``days``.")


class CauseMute(BaseModel):
    """A cause whose alerts are held back until ``until``."""

    cause: str
    until: datetime
    muted_at: datetime
    actor: str = Field(description="Who muted it: X-Synchealth-Actor, else the client's address.")


class CauseMuteList(BaseModel):
    mutes: list[CauseMute] = Field(description="Mutes not yet expired, the soonest to end first.")


class CauseMuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=1, le=MUTE_MINUTES_MAX, description="How long: 1 minute to 90 days.")
