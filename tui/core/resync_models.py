"""Shapes of the resync API: requests and outcomes, resync jobs, engine requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic.config import JsonDict

from tui.core.limits import JOB_MAX_IDS, MAX_ID, RESYNC_MAX_IDS
from tui.core.models import ErrorType, whole

ErrorId = Annotated[int, Field(ge=0, le=MAX_ID), BeforeValidator(whole)]
#: What the document promises a request_id or batch_id may be (a UUID is best): printable
#: ASCII, not blank. The service also takes other printable text (:func:`_printable`).
TEXT_ID_SCHEMA: JsonDict = {"pattern": "^[!-~](?:[ -~]{0,198}[!-~])?$"}
REQUEST_ID = Field(
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
    request_id: str = REQUEST_ID

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
    request_id: str = REQUEST_ID

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
