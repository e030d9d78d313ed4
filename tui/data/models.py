"""Shapes shared by the service, its API and the client.

The service answers with these models; the client parses them. Hot paths (the
change feed, the cache, the grid) move plain tuples in the order of
``ERROR_COLUMNS`` instead of model instances, because building a pydantic object
per row would cost more than everything else together at a million rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
ErrorStatus = Literal["open", "resolved"]
Frequency = Literal["immediate", "daily", "weekly"]

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
    """One try at syncing a record: the first failure or a resync."""

    at: datetime
    outcome: Literal["failed", "synced"]
    sf_code: str = ""
    message: str = ""
    request_id: str | None = None


class SyncErrorDetail(SyncError):
    history: list[Attempt] = Field(default_factory=list)


class ErrorPage(BaseModel):
    """A page of the change feed, in ``ERROR_COLUMNS`` order, oldest change first."""

    columns: list[str]
    rows: list[list]
    next_cursor: int
    has_more: bool


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


class AllocationUpdate(BaseModel):
    allocated: int


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    org_name: str
    mode: Literal["simulated", "live"]
    time: datetime


class NotificationSettings(BaseModel):
    enabled: bool = False
    frequency: Frequency = "daily"
    channels: list[str] = Field(default_factory=lambda: ["email"])


class ResyncRequest(BaseModel):
    error_ids: list[int]
    request_id: str


class ResyncOutcome(BaseModel):
    error_id: int
    status: Literal["synced", "failed", "skipped"]
    type: ErrorType | None = None
    subtype: str | None = None
    sf_code: str = ""
    message: str = ""


class ResyncResult(BaseModel):
    request_id: str
    outcomes: list[ResyncOutcome]
    salesforce_calls: int
    replayed: bool = Field(False, description="True when this request_id was already done.")


class ApiError(BaseModel):
    """The body of every non-2xx answer: ``{"error": {"code", "message"}}``."""

    code: str
    message: str
