"""``GET /v1/doctor``: the service's health checks, each green / yellow / red with a fix.

The checks that need Salesforce run here, through the one connector, so every call is
counted in the usage ledger like any other. Object describes (for the integration
user's access to what open errors mention) are cached for :data:`DESCRIBE_TTL`, so
running the doctor again soon costs one ``/limits`` and one versions call. A check that
cannot run because an earlier one failed (no sign-in) says so in yellow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from tui import __version__
from tui.core.models import CheckStatus, DoctorCheck, DoctorReport, RetryStatus
from tui.service.callcount import counting
from tui.service.ledger import Ledger
from tui.service.notify.notifier import NotConfigured, Notifier
from tui.service.notify.settings import load_settings
from tui.service.salesforce import SalesforceConnector
from tui.service.salesforce_answers import OrgLimits
from tui.service.salesforce_errors import (
    RequestLimitExceeded,
    SalesforceBusy,
    SalesforceError,
    SalesforceNotFound,
    SalesforceProtocolError,
    SessionExpired,
    SignInError,
)
from tui.service.usage import OrgLimits as UsageLimits
from tui.service.usage import UsageLedger

#: How long an object's describe is reused before Salesforce is asked again.
DESCRIBE_TTL = timedelta(hours=1)
#: Share of a budget (the allocation, the org's daily limit) from which headroom is yellow.
HEADROOM_WARN = 0.8
#: Versions older than the org's newest by this many releases (three a year) are yellow.
OLD_VERSION_RELEASES = 9
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_NEEDS_SIGNIN = "not checked: Salesforce sign-in failed"
_FIX_SIGNIN_FIRST = "fix the Salesforce sign-in first, then run the doctor again"


def check(
    id: str, status: CheckStatus, found: str, fix: str = "", subject: str = ""
) -> DoctorCheck:
    return DoctorCheck(id=id, subject=subject, status=status, found=found, fix=fix)


@dataclass(frozen=True, slots=True)
class _Described:
    at: datetime
    body: dict[str, Any] | None


class Doctor:
    """Runs the checks; keeps the describe cache between runs."""

    def __init__(
        self,
        ledger: Ledger,
        usage: UsageLedger,
        connector: SalesforceConnector,
        notifier: Notifier,
        clock: Callable[[], datetime],
        note_limit_info: Callable[[], None],
        retry_status: Callable[[], Awaitable[RetryStatus]],
    ) -> None:
        self._ledger = ledger
        self._usage = usage
        self._connector = connector
        self._notifier = notifier
        self._clock = clock
        self._note_limit_info = note_limit_info
        self._retry_status = retry_status
        self._described: dict[str, _Described] = {}

    async def run(self, send_test: bool = False) -> DoctorReport:
        with counting() as calls:
            checks = [check("service", "green", f"the Sync Health service {__version__} answers")]
            try:
                limits, signin_checks = await self._signin_and_limits()
                checks += signin_checks
                if signin_checks[0].status != "red":
                    checks.append(await self._api_version())
                    checks += await self._access()
                else:
                    checks.append(check("api_version", "yellow", _NEEDS_SIGNIN, _FIX_SIGNIN_FIRST))
                    checks.append(check("access", "yellow", _NEEDS_SIGNIN, _FIX_SIGNIN_FIRST))
            finally:
                self._note_limit_info()
            checks.append(await self._headroom(limits))
            checks.append(await self._retries())
            checks += await self._notifications(send_test)
        return DoctorReport(
            version=__version__, as_of=self._clock(), checks=checks, salesforce_calls=calls[0]
        )

    # -- Salesforce ------------------------------------------------------------------

    async def _signin_and_limits(self) -> tuple[OrgLimits | None, list[DoctorCheck]]:
        """Sign-in is proven by the first authorised call, ``/limits``."""
        try:
            limits = await self._connector.limits()
        except (SignInError, SessionExpired) as exc:
            return None, [
                check("signin", "red", f"Salesforce refused the sign-in: {exc}", _signin_fix()),
                check("limits", "yellow", _NEEDS_SIGNIN, _FIX_SIGNIN_FIRST),
            ]
        except SalesforceNotFound as exc:
            wanted = self._connector.api_version
            return None, [
                check("signin", "green", "signed in to Salesforce"),
                check(
                    "limits",
                    "red",
                    f"the org has no limits resource at {wanted}: {exc}",
                    "see the API version check",
                ),
            ]
        except SalesforceProtocolError as exc:
            return None, [
                check("signin", "green", "signed in to Salesforce"),
                check(
                    "limits",
                    "red",
                    f"the org's limits cannot be read: {exc}",
                    "check that the instance URL is the org's My Domain address and that "
                    "the integration user has the API Enabled permission",
                ),
            ]
        except RequestLimitExceeded as exc:
            return None, [
                check("signin", "green", "signed in to Salesforce"),
                check(
                    "limits",
                    "red",
                    f"Salesforce refuses calls: {exc}",
                    "wait for the 24-hour window to free calls, or ask Salesforce for a "
                    "higher limit",
                ),
            ]
        except SalesforceBusy as exc:
            return None, [
                check("signin", "green", "signed in to Salesforce"),
                check("limits", "yellow", str(exc), "run the doctor again in a minute"),
            ]
        except SalesforceError as exc:
            return None, [
                check("signin", "red", f"Salesforce cannot be reached: {exc}", _signin_fix()),
                check("limits", "yellow", _NEEDS_SIGNIN, _FIX_SIGNIN_FIRST),
            ]
        await self._usage.record_limits(UsageLimits(limits.max, limits.used, self._clock()))
        found = f"DailyApiRequests: {limits.remaining:,} of {limits.max:,} calls remaining"
        return limits, [
            check("signin", "green", "signed in to Salesforce"),
            check("limits", "green", found),
        ]

    async def _api_version(self) -> DoctorCheck:
        wanted = self._connector.api_version
        try:
            served = await self._connector.versions()
        except SalesforceError as exc:
            return check(
                "api_version",
                "yellow",
                f"the org's API versions could not be listed: {exc}",
                "run the doctor again later",
            )
        numbers = sorted(int(float(v)) for v in served if _is_version(v))
        mine = int(float(wanted.lstrip("v")))
        newest = numbers[-1] if numbers else mine
        if mine not in numbers:
            return check(
                "api_version",
                "red",
                f"the org does not serve {wanted} (it serves v{numbers[0]}.0 to v{newest}.0)"
                if numbers
                else f"the org lists no API versions, so {wanted} cannot be confirmed",
                f"set api_version to v{newest}.0 in the service's profile",
            )
        if newest - mine >= OLD_VERSION_RELEASES:
            return check(
                "api_version",
                "yellow",
                f"{wanted} is served, but the org's newest is v{newest}.0: old versions are "
                "retired in time",
                f"move api_version to v{newest}.0 after testing it",
            )
        return check("api_version", "green", f"{wanted} is served (the org's newest: v{newest}.0)")

    async def _describe(self, sobject: str) -> dict[str, Any] | None:
        now = self._clock()
        cached = self._described.get(sobject)
        if cached is None or now - cached.at >= DESCRIBE_TTL:
            cached = _Described(now, await self._connector.describe(sobject))
            self._described[sobject] = cached
        return cached.body

    async def _mentioned(self) -> dict[str, dict[str, int]]:
        """Object -> field -> open errors that name it (an object with none maps to {})."""
        mentioned: dict[str, dict[str, int]] = defaultdict(dict)
        async with self._ledger.reader.execute(
            "SELECT sf_object, fields, count(*) FROM errors WHERE status = 'open' "
            "GROUP BY sf_object, fields"
        ) as cur:
            async for sobject, fields, count in cur:
                names = mentioned[sobject]
                for name in orjson.loads(fields or "[]"):
                    if isinstance(name, str) and _FIELD_NAME.fullmatch(name):
                        names[name] = names.get(name, 0) + count
        return mentioned

    async def _access(self) -> list[DoctorCheck]:
        mentioned = await self._mentioned()
        if not mentioned:
            return [check("access", "green", "no open errors name an object or field to check")]
        return [await self._object_access(o, mentioned[o]) for o in sorted(mentioned)]

    async def _object_access(self, sobject: str, fields: dict[str, int]) -> DoctorCheck:
        try:
            described = await self._describe(sobject)
        except SalesforceError as exc:
            return check(
                "access",
                "yellow",
                f"{sobject} could not be described: {exc}",
                "run the doctor again later",
                sobject,
            )
        if described is None:
            return check(
                "access",
                "red",
                f"the integration user cannot see {sobject} (its describe answers 404)",
                f"give the integration user's profile or permission set Read and Edit on {sobject}",
                sobject,
            )
        if described.get("updateable") is False:
            return check(
                "access",
                "red",
                f"the integration user may read but not edit {sobject}",
                f"give the integration user's profile or permission set Edit on {sobject}",
                sobject,
            )
        known = {f.get("name"): f for f in described["fields"] if isinstance(f, dict)}
        hidden = [name for name in sorted(fields) if name not in known]
        read_only = [n for n in sorted(fields) if n in known and not _writable(known[n])]
        if not hidden and not read_only:
            return check(
                "access",
                "green",
                f"{sobject} and the {len(fields)} field(s) its open errors name are editable",
                subject=sobject,
            )
        parts = [f"{name} is read-only ({fields[name]:,} open errors)" for name in read_only]
        parts += [f"{name} is not visible ({fields[name]:,} open errors)" for name in hidden]
        names = ", ".join(f"{sobject}.{n}" for n in read_only + hidden)
        return check(
            "access",
            "red",
            "; ".join(parts),
            f"in Setup, give the integration user Edit access to {names} in field-level "
            "security (a formula or system field cannot be written: stop syncing it)",
            sobject,
        )

    # -- the service's own state ----------------------------------------------------

    async def _headroom(self, limits: OrgLimits | None) -> DoctorCheck:
        used, allocated = await self._usage.used(), await self._usage.allocated()
        found = f"the integration used {used:,} of its {allocated:,} allocated calls in 24 h"
        if limits is not None:
            found += f"; the org has {limits.remaining:,} of {limits.max:,} left"
        raise_it = (
            "raise the allocation (the console's usage gauge, or PUT /v1/usage/allocation) "
            "or wait for the rolling 24-hour window to free calls"
        )
        org_share = limits.used / limits.max if limits and limits.max else 0.0
        share = used / allocated if allocated else (1.0 if used else 0.0)
        if share >= 1 or (limits is not None and limits.remaining <= 0):
            return check("headroom", "red", found, raise_it)
        if share >= HEADROOM_WARN or org_share >= HEADROOM_WARN:
            return check("headroom", "yellow", found, raise_it)
        return check("headroom", "green", found)

    async def _retries(self) -> DoctorCheck:
        status = await self._retry_status()
        if not status.enabled:
            return check("retry_policy", "green", "automatic retries are off")
        plan = (
            f"every {status.every_minutes} min up to {status.max_attempts} attempts, then "
            f"nightly at {status.nightly_at} UTC, for {', '.join(status.types) or 'no type'}"
        )
        if status.paused:
            since = (
                f" since {status.paused_since:%Y-%m-%d %H:%M} UTC" if status.paused_since else ""
            )
            return check(
                "retry_policy",
                "yellow",
                f"automatic retries are paused{since}: the integration's use is at or above "
                f"{status.ceiling_percent}% of the allocation ({plan})",
                "raise the allocation or the retries' ceiling (R in the console, PUT "
                "/v1/retries), or wait for the 24-hour window to free calls",
            )
        if not status.types:
            return check(
                "retry_policy",
                "yellow",
                "automatic retries are on but retry no error type",
                "choose the error types to retry (R in the console, PUT /v1/retries)",
            )
        return check("retry_policy", "green", f"automatic retries are on: {plan}")

    async def _notifications(self, send_test: bool) -> list[DoctorCheck]:
        settings = await load_settings(self._ledger)
        if not settings.enabled:
            return [check("notifications", "green", "notifications are off")]
        enabled = [c for c in ("email", "webhook") if getattr(settings, c).enabled]
        if not enabled:
            return [
                check(
                    "notifications",
                    "yellow",
                    "notifications are on, but no channel is enabled",
                    "enable email or the webhook in the notification settings",
                )
            ]
        status = await self._notifier.status()
        return [await self._channel(c, status.deliveries, send_test) for c in enabled]

    async def _channel(self, channel: str, deliveries: list[Any], send_test: bool) -> DoctorCheck:
        if send_test:
            try:
                result = await self._notifier.test_send(channel)  # type: ignore[arg-type]
            except NotConfigured as exc:
                return check("notifications", "red", f"{exc}", _configure(channel), channel)
            if result.ok:
                return check("notifications", "green", f"test sent: {result.detail}", "", channel)
            return check(
                "notifications",
                "red",
                f"the test send failed: {result.detail}",
                _configure(channel),
                channel,
            )
        if not self._notifier.channels.configured(channel):  # type: ignore[arg-type]
            missing = self._notifier.channels.missing(channel)  # type: ignore[arg-type]
            return check("notifications", "red", missing, _configure(channel), channel)
        last = next((d for d in deliveries if d.channel == channel), None)
        if last is not None and last.status == "failed":
            return check(
                "notifications",
                "red",
                f"the last message failed: {last.error}",
                _configure(channel),
                channel,
            )
        found = "configured" + (f"; last message {last.status}" if last else "; nothing sent yet")
        return check("notifications", "green", f"{found} (send a test to be sure)", "", channel)


def _writable(described_field: dict[str, Any]) -> bool:
    return bool(described_field.get("updateable") or described_field.get("createable"))


def _is_version(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _signin_fix() -> str:
    return (
        "check the org URL, the connected app's client id and secret (or the key for the "
        "JWT bearer flow) and that the integration user is active; docs/integrating.md "
        "lists each sign-in setting"
    )


def _configure(channel: str) -> str:
    if channel == "email":
        return "check smtp_host, smtp_sender and the recipients in the profile's [notify] table"
    return "check the webhook URL in the profile's [notify] table and that it answers"
