"""Shapes of the notifier's API: channels, settings, deliveries, a test send.

The console's notification settings screen edits ``NotificationSettings``; the
service checks and stores them (``PUT /v1/notifications``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)

from tui.core.models import HHMM, HHMM_TIME, Frequency, Whole

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
        if not HHMM_TIME.match(value):
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
