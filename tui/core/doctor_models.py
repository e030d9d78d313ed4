"""Shapes of the doctor's answer (``GET/POST /v1/doctor``): checks, and their findings
and fixes as phrase codes a client says in its own language (docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
