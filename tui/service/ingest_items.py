"""The items of ``POST /v1/errors`` and their checks: a record that failed
(:class:`ErrorReport`), one that synced (:class:`SyncedReport`), the batch
(:class:`IngestBatch`) and the limits each field keeps to. ``tui/service/ingest.py``
judges and records them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tui.core.models import Direction
from tui.core.resync_models import TEXT_ID_SCHEMA
from tui.service.ledger_reports import (
    Success,
)

MAX_ITEMS = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_MESSAGE = 4000
MAX_NAME = 255
MAX_ERRORS_PER_ITEM = 50
MAX_RECORD_FIELDS = 1000
MAX_CHECKS = 20
MAX_BATCH_ID = 200
#: How far ahead of the service's clock an ``occurred_at`` may be (clock skew).
FUTURE_TOLERANCE = timedelta(minutes=5)

_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_LOWER_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TOKEN = re.compile(r"[^\s\x00-\x1f\x7f]{1,255}")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
TEXT_ID = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


class IngestRefused(Exception):
    """The whole batch was refused; ``status``/``code``/``message`` go to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def shown(value: Any) -> str:
    """A value as a reason quotes it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value) or not value.strip():
            raise ValueError(f"must be {what}, got {shown(value)}")
        return value

    return AfterValidator(check)


def _capped(limit: int) -> AfterValidator:
    """Text from Salesforce or the CRM is kept, cut to ``limit`` characters."""
    return AfterValidator(lambda value: value if len(value) <= limit else value[: limit - 1] + "…")


ApiName = Annotated[
    StrictStr,
    _matching(_API_NAME, "a Salesforce API name (a letter, then letters, digits or _)"),
]
SalesforceId = Annotated[
    StrictStr, _matching(_SF_ID, "a Salesforce id of 15 or 18 letters and digits")
]
ObjectType = Annotated[
    StrictStr, _matching(_LOWER_NAME, "a lowercase name such as contact, company, deal or task")
]
CheckName = Annotated[StrictStr, _matching(_LOWER_NAME, "a lowercase name such as account_synced")]
RecordId = Annotated[
    StrictStr, _matching(_TOKEN, "1 to 255 characters without spaces or control characters")
]
ErrorCode = Annotated[
    StrictStr, _matching(_CODE, "an error code such as FIELD_CUSTOM_VALIDATION_EXCEPTION")
]
ExternalIdValue = Annotated[
    StrictStr, _matching(TEXT_ID, "1 to 255 characters without control characters")
]
RequestRef = Annotated[
    StrictStr, _matching(TEXT_ID, "an engine request id from GET /v1/engine/requests")
]
Message = Annotated[StrictStr, _capped(MAX_MESSAGE)]
Name = Annotated[StrictStr, _capped(MAX_NAME)]
FieldName = Annotated[StrictStr, Field(max_length=MAX_NAME)]


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(
            "must be an ISO-8601 time in a string, such as 2026-11-29T01:02:03Z, "
            f"got {shown(value)}"
        )
    return value


def _not_ahead(value: datetime, info: ValidationInfo) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"is {value.isoformat()}, which is outside the years 1 to 9999 once turned into UTC"
        ) from None
    now = (info.context or {}).get("now")
    if now is not None and value > now + FUTURE_TOLERANCE:
        raise ValueError(
            f"is {value:%Y-%m-%dT%H:%M:%SZ}, ahead of the service's clock "
            f"({now:%Y-%m-%dT%H:%M:%SZ}); check the sync engine's clock and time zone"
        )
    return value


OccurredAt = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_not_ahead)]


def _null_as(empty: Any) -> Any:
    """Salesforce's own keys may be null; that means empty."""
    return lambda value: empty if value is None else value


class ReportedError(BaseModel):
    """One Salesforce error: ``statusCode`` (sObject Collections) or ``errorCode`` (REST)."""

    model_config = ConfigDict(extra="ignore")  # Salesforce adds keys (duplicateResult...)

    statusCode: ErrorCode | None = None  # Salesforce's own key names
    errorCode: ErrorCode | None = None
    message: Annotated[Message, BeforeValidator(_null_as(""))] = ""
    fields: Annotated[list[FieldName], BeforeValidator(_null_as([]))] = Field(
        default_factory=list, max_length=100
    )

    @model_validator(mode="after")
    def _has_a_code(self) -> ReportedError:
        if self.statusCode is None and self.errorCode is None:
            raise ValueError("needs a statusCode (sObject Collections) or errorCode (REST API)")
        return self

    @property
    def code(self) -> str:
        return self.statusCode or self.errorCode or ""


class CollectionsResult(BaseModel):
    """A failed record's entry of an sObject Collections answer, as Salesforce sent it."""

    model_config = ConfigDict(extra="ignore")  # upsert results carry "created"

    id: SalesforceId | None = None
    success: StrictBool
    errors: list[ReportedError] = Field(default_factory=list, max_length=MAX_ERRORS_PER_ITEM)

    @model_validator(mode="after")
    def _failed(self) -> CollectionsResult:
        if self.success:
            raise ValueError("has success true: a record that synced is no error; send failures")
        if not self.errors:
            raise ValueError("has no errors: a failed result lists why it failed")
        return self


class ExternalId(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: ApiName
    value: ExternalIdValue


class SalesforceRecord(BaseModel):
    """The Salesforce side of the record: what a resync sends, and where."""

    model_config = ConfigDict(extra="forbid")

    object: ApiName
    id: SalesforceId | None = None
    external_id: ExternalId | None = None
    fields: dict[ApiName, JsonValue] = Field(default_factory=dict, max_length=MAX_RECORD_FIELDS)

    @field_validator("fields")
    @classmethod
    def _no_identity(cls, fields: dict[str, Any]) -> dict[str, Any]:
        for key in fields:
            if key.lower() in ("id", "attributes"):
                raise ValueError(
                    f"must not hold {key!r}: the record id goes in salesforce.id and the "
                    "object in salesforce.object"
                )
        return fields

    @model_validator(mode="after")
    def _one_external_value(self) -> SalesforceRecord:
        ext = self.external_id
        if ext is not None and ext.field in self.fields and self.fields[ext.field] != ext.value:
            raise ValueError(
                f"has fields.{ext.field} = {shown(self.fields[ext.field])}, which differs from "
                f"external_id.value {shown(ext.value)}; send one value"
            )
        return self


class ErrorReport(BaseModel):
    """One record that failed to sync, as the sync engine reports it (docs/api.md)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["failed"] = "failed"
    object_type: ObjectType
    record_id: RecordId
    record_name: Name = ""
    direction: Direction = "to_salesforce"
    occurred_at: OccurredAt | None = None
    salesforce: SalesforceRecord
    errors: list[ReportedError] | None = Field(None, min_length=1, max_length=MAX_ERRORS_PER_ITEM)
    result: CollectionsResult | None = None
    checks: dict[CheckName, StrictBool] = Field(default_factory=dict, max_length=MAX_CHECKS)
    request_id: RequestRef | None = None  # the engine request this item answers

    @model_validator(mode="after")
    def _errors_or_result(self) -> ErrorReport:
        if (self.errors is None) == (self.result is None):
            raise ValueError(
                "the item needs either errors (the Salesforce errors) or result (the failed "
                "sObject Collections result), not both"
                if self.errors is not None
                else "the item needs errors (the Salesforce errors) or result (the failed "
                "sObject Collections result)"
            )
        return self

    @property
    def reported_errors(self) -> list[ReportedError]:
        return self.errors if self.errors is not None else self.result.errors  # type: ignore[union-attr]

    @property
    def sf_id(self) -> str | None:
        return self.salesforce.id or (self.result.id if self.result is not None else None)


class SyncedReport(BaseModel):
    """A record the sync engine synced (``"outcome": "synced"``): its open errors resolve.

    ``occurred_at`` is required: a success only counts when it is not older than the
    record's newest failure.
    """

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["synced"]
    object_type: ObjectType
    record_id: RecordId
    record_name: Name = ""
    direction: Direction = "to_salesforce"
    occurred_at: OccurredAt
    salesforce: SalesforceRecord | None = None
    request_id: RequestRef | None = None  # the engine request this item answers

    def success(self) -> Success:
        return Success(
            self.object_type, self.record_id, self.direction, self.occurred_at, self.request_id
        )


#: Why a reported success changed nothing, for the answer's ``unchanged`` list.
UNCHANGED_REASONS = {
    "unknown_record": "no sync error is known for this record and direction; nothing to resolve",
    "older_than_failure": "the record failed after this success (a newer failure is "
    "recorded), so its errors stay open",
    "nothing_open": "every error of this record and direction is already resolved",
}


class IngestBatch(BaseModel):
    """The body of ``POST /v1/errors`` (for the OpenAPI document; items are judged one by one)."""

    model_config = ConfigDict(extra="forbid")

    errors: list[ErrorReport | SyncedReport] = Field(min_length=1, max_length=MAX_ITEMS)
    batch_id: str | None = Field(None, max_length=MAX_BATCH_ID, json_schema_extra=TEXT_ID_SCHEMA)
