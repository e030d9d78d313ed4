"""Failures reported by the sync engine (``POST /v1/errors``): check, classify, record.

A batch is ``{"errors": [item, ...], "batch_id": "..."}``; each item is one record
that failed (:class:`ErrorReport`) or, with ``"outcome": "synced"``, one that synced
(:class:`SyncedReport`), which resolves the record's open errors. Items are judged
one by one: an invalid item is refused with a reason that names the field, the valid
ones are kept.

Each item's Salesforce errors are classified with :func:`tui.core.classify.classify`.
Errors of one item that fall in the same subtype make one row (the first one's code
and message, the fields of all of them); errors of different subtypes make one row
each, because each needs its own fix. All rows of a batch go to the ledger in one
transaction, in item order (:meth:`Ledger.record_failures`,
:meth:`Ledger.record_success`), where a repeat of a known error counts
an attempt instead of adding a row.

A ``batch_id`` makes a post safe to retry: the first post stores its answer, a
second post of the same items answers it again (``replayed``) and changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
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
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tui.core.classify import classify
from tui.core.models import TEXT_ID_SCHEMA, Direction
from tui.service.engine import ANSWER_NOTES, answer_request
from tui.service.ledger import Failure, Ledger, Success

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
_TEXT_ID = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


class IngestRefused(Exception):
    """The whole batch was refused; ``status``/``code``/``message`` go to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value) or not value.strip():
            raise ValueError(f"must be {what}, got {_show(value)}")
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
    StrictStr, _matching(_TEXT_ID, "1 to 255 characters without control characters")
]
RequestRef = Annotated[
    StrictStr, _matching(_TEXT_ID, "an engine request id from GET /v1/engine/requests")
]
Message = Annotated[StrictStr, _capped(MAX_MESSAGE)]
Name = Annotated[StrictStr, _capped(MAX_NAME)]
FieldName = Annotated[StrictStr, Field(max_length=MAX_NAME)]


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(
            "must be an ISO-8601 time in a string, such as 2026-11-29T01:02:03Z, "
            f"got {_show(value)}"
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
                f"has fields.{ext.field} = {_show(self.fields[ext.field])}, which differs from "
                f"external_id.value {_show(ext.value)}; send one value"
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
        where = f"the key {_show(loc[-2])} of {_path(loc[:-2])}"
    else:
        where = _path(loc)
    subject = where or "the item"
    if kind == "missing":
        return f"{subject} is missing"
    if kind == "extra_forbidden":
        return f"{subject} is not a known key"
    if kind in _EXPECTED:
        return f"{subject} must be {_EXPECTED[kind]}, got {_show(err.get('input'))}"
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        return f"{where} {text}" if where else text
    if kind == "literal_error":
        allowed = msg.removeprefix("Input should be ")
        return f"{subject} must be {allowed}, got {_show(err['input'])}"
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
        c = classify({"statusCode": error.code, "message": error.message, "fields": error.fields})
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
        or not _TEXT_ID.fullmatch(batch_id)
    ):
        raise IngestRefused(
            422,
            "invalid_batch",
            f"batch_id must be a non-blank string of at most {MAX_BATCH_ID} characters "
            f"without control characters, got {_show(batch_id)}.",
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
        raise _BadOutcome(f"outcome must be 'failed' or 'synced', got {_show(outcome)}")
    return ErrorReport.model_validate(raw, context={"now": now})


async def _record(
    conn: Any, steps: list[tuple[int, ErrorReport | SyncedReport]], now: datetime
) -> dict[str, Any]:
    """Apply the items in order: runs of failures at once, each success on its own."""
    error_ids: list[int] = []
    created = repeated = resolved = 0
    unchanged: list[dict[str, Any]] = []
    request_notes: list[dict[str, Any]] = []
    failures: list[Failure] = []

    async def flush() -> None:
        nonlocal created, repeated
        outcomes = await Ledger.record_failures(conn, failures)
        created += sum(made for _, made in outcomes)
        repeated += sum(not made for _, made in outcomes)
        error_ids.extend(error_id for error_id, _ in outcomes)
        failures.clear()

    for index, report in steps:
        if report.request_id is not None:
            answered = "failed" if isinstance(report, ErrorReport) else "synced"
            code = await answer_request(conn, report.request_id, answered, now)
            if code is not None:
                request_notes.append({"index": index, "request_id": report.request_id,
                                      "code": code, "reason": ANSWER_NOTES[code]})  # fmt: skip
        if isinstance(report, ErrorReport):
            failures += failures_of(report, now)
            continue
        if failures:
            await flush()
        done = await Ledger.record_success(conn, report.success())
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


async def ingest(ledger: Ledger, body: Any, now: datetime) -> dict[str, Any]:
    """Judge, classify and record one batch; the ``IngestResult`` as a dict."""
    items, batch_id = read_batch(body)
    rejected: list[dict[str, Any]] = []
    steps: list[tuple[int, ErrorReport | SyncedReport]] = []
    for index, raw in enumerate(items):
        try:
            steps.append((index, _judge(raw, now)))
        except ValidationError as exc:
            rejected.append({"index": index, "reason": reason_of(exc)})
        except _BadOutcome as exc:
            rejected.append({"index": index, "reason": str(exc)})
    digest = _digest(items) if batch_id is not None else ""
    async with ledger.transaction() as conn:
        if batch_id is not None:
            stored = await Ledger.batch(conn, batch_id)
            if stored is not None:
                if stored.digest != digest:
                    raise IngestRefused(
                        409,
                        "batch_id_reused",
                        "This batch_id was already used for a batch with other items; nothing "
                        "was recorded. Give each batch its own batch_id (for example a hash of "
                        "its items).",
                    )
                return {**stored.result, "replayed": True}
        result = {
            "accepted": len(items) - len(rejected),
            **await _record(conn, steps, now),
            "rejected": rejected,
            "batch_id": batch_id,
            "replayed": False,
        }
        if batch_id is not None:
            await Ledger.store_batch(conn, batch_id, digest, result, now)
    return result
