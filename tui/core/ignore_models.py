"""Shapes of the ignores API (``POST /v1/ignores``, docs/api.md): ignore errors or a
cause for a while, unignore them, list what is ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
)

from tui.core.limits import JOB_MAX_IDS
from tui.core.resync_models import REQUEST_ID, ErrorId

CauseKey = Annotated[
    str, Field(pattern="^[0-9a-f]{16}$", description="A cause key (GET /v1/causes).")
]


class IgnoreRequest(BaseModel):
    """Ignore errors (by id) or the open errors of a cause, with a reason. Name either
    ``error_ids`` or ``cause``; give ``expires_at`` (in the future), ``days``, or neither
    (until unignored). tui/service/ignores.py checks it and says what is wrong."""

    request_id: str = REQUEST_ID
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

    request_id: str = REQUEST_ID
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
