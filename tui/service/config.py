"""Settings of one Sync Health service instance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tui.core.apiversion import check_api_version
from tui.service.db import PostgresTarget
from tui.service.notify.smtp import SmtpServer
from tui.service.notify.webhook import check_webhook_url
from tui.service.sfauth_methods import SignIn


def utc_now() -> datetime:
    """The real clock: an aware UTC datetime."""
    return datetime.now(UTC)


class ServiceConfig(BaseModel):
    """What the service needs to run.

    The org is reached at ``org_url`` with ``org_token`` as the bearer; an
    ``org_transport`` (for example ``httpx.ASGITransport`` over the simulated org)
    replaces the network, the URL then only names the host in requests.
    ``api_token`` protects the service's own API; ``None`` means no check and is
    only acceptable on loopback (``synchealth serve`` enforces that).
    """

    # inputs stay out of validation errors: some of them are secrets
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, hide_input_in_errors=True)

    db_path: Path
    #: The ledger on PostgreSQL instead (``serve --db postgresql://...``); db_path unused.
    database: PostgresTarget | None = None
    org_url: str = "https://simulated-org.invalid"
    org_token: str | None = Field(None, repr=False)  # a secret: kept out of reprs
    org_transport: httpx.AsyncBaseTransport | None = None
    api_version: str = "v62.0"
    api_token: str | None = Field(None, repr=False)  # a secret: kept out of reprs
    org_name: str = Field("Salesforce org", description="Shown when the ledger names no org.")
    mode: Literal["simulated", "live"] = "live"
    limits_ttl: float = Field(300.0, ge=0, description="Seconds a /limits answer is trusted.")
    default_allocation: int = Field(5000, ge=0, description="Used until the admin sets one.")
    clock: Callable[[], datetime] = utc_now
    #: How the service signs in to Salesforce; when set, org_url and org_token are unused.
    sign_in: SignIn | None = None
    #: Extra CA bundle for TLS to Salesforce (TLS-inspecting proxies); never turns checks off.
    ca_file: Path | None = None
    #: Where notification email goes out (docs/notifications.md); None: email cannot send.
    smtp: SmtpServer | None = None
    #: The notification webhook (a secret: whoever has it can post); None: no webhook.
    webhook_url: SecretStr | None = None
    #: direct: a resync re-sends the newest reported values to Salesforce; engine: it
    #: becomes a request the sync engine takes (GET /v1/engine/requests) and answers.
    resync_mode: Literal["direct", "engine"] = "direct"
    #: How long an engine request waits for its answer before it expires.
    engine_request_ttl: timedelta = Field(timedelta(hours=24), gt=timedelta(0))
    #: Seconds a waiting resync job sleeps before it looks at the allocation again.
    job_recheck: float = Field(30.0, gt=0)
    #: Seconds between automatic retry rounds; None runs no loop (tests call tick()).
    retry_interval: float | None = Field(60.0, gt=0)
    #: Seconds between notifier rounds; None runs no background loop (tests call tick()).
    notify_interval: float | None = Field(5.0, gt=0)
    #: Seconds between a replica's heartbeats (tui/service/replicas.py).
    heartbeat: float = Field(5.0, gt=0)

    @field_validator("api_version")
    @classmethod
    def _api_version_is_enough(cls, value: str) -> str:
        return check_api_version(value)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_safe(cls, url: SecretStr | None) -> SecretStr | None:
        return None if url is None else SecretStr(check_webhook_url(url.get_secret_value()))

    @model_validator(mode="after")
    def _org_is_reachable(self) -> ServiceConfig:
        if self.org_transport is None and not self.org_token and self.sign_in is None:
            raise ValueError("an org access token is needed unless an org transport is given")
        if self.api_token is not None and not self.api_token.strip():
            raise ValueError("the API token must not be blank (use None for no token)")
        return self
