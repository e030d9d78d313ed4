"""``GET /v1/doctor``: the service's health checks, each green / yellow / red with a fix.

The checks that need Salesforce run here, through the one connector, so every call is
counted in the usage ledger like any other. Object describes (for the integration
user's access to what open errors mention) are cached for :data:`DESCRIBE_TTL`, so
running the doctor again soon costs one ``/limits`` and one versions call. A check that
cannot run because an earlier one failed (no sign-in) says so in yellow. Each finding
and fix is a list of phrases (:mod:`tui.core.doctor_words`): codes a console puts in its
own language, with their English kept for API clients.
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
from tui.core.doctor_models import DoctorCheck, DoctorReport
from tui.core.doctor_words import check, say
from tui.core.models import RetryStatus
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


def _waiting(id: str) -> DoctorCheck:
    """A check that cannot run until the sign-in works."""
    return check(id, "yellow", say("not_checked"), say("signin.first"))


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
            checks = [check("service", "green", say("service.answers", version=__version__))]
            try:
                limits, signin_checks = await self._signin_and_limits()
                checks += signin_checks
                if signin_checks[0].status != "red":
                    checks.append(await self._api_version())
                    checks += await self._access()
                else:
                    checks += [_waiting("api_version"), _waiting("access")]
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
        signed_in = check("signin", "green", say("signin.ok"))
        try:
            limits = await self._connector.limits()
        except (SignInError, SessionExpired) as exc:
            refused = say("signin.refused", detail=str(exc))
            return None, [check("signin", "red", refused, say("signin.fix")), _waiting("limits")]
        except SalesforceNotFound as exc:
            wanted = self._connector.api_version
            found = say("limits.not_found", version=wanted, detail=str(exc))
            return None, [signed_in, check("limits", "red", found, say("limits.see_api_version"))]
        except SalesforceProtocolError as exc:
            found = say("limits.unreadable", detail=str(exc))
            return None, [signed_in, check("limits", "red", found, say("limits.check_domain"))]
        except RequestLimitExceeded as exc:
            found = say("limits.refused", detail=str(exc))
            return None, [signed_in, check("limits", "red", found, say("limits.wait_window"))]
        except SalesforceBusy as exc:
            found = say("limits.busy", detail=str(exc))
            return None, [signed_in, check("limits", "yellow", found, say("run_again_soon"))]
        except SalesforceError as exc:
            unreachable = say("signin.unreachable", detail=str(exc))
            return None, [
                check("signin", "red", unreachable, say("signin.fix")),
                _waiting("limits"),
            ]
        await self._usage.record_limits(UsageLimits(limits.max, limits.used, self._clock()))
        found = say("limits.ok", remaining=limits.remaining, max=limits.max)
        return limits, [signed_in, check("limits", "green", found)]

    async def _api_version(self) -> DoctorCheck:
        wanted = self._connector.api_version
        try:
            served = await self._connector.versions()
        except SalesforceError as exc:
            found = say("api_version.unlisted", detail=str(exc))
            return check("api_version", "yellow", found, say("run_again_later"))
        numbers = sorted(int(float(v)) for v in served if _is_version(v))
        mine = int(float(wanted.lstrip("v")))
        newest = numbers[-1] if numbers else mine
        if mine not in numbers:
            found = (
                say("api_version.not_served", version=wanted, oldest=numbers[0], newest=newest)
                if numbers
                else say("api_version.none_listed", version=wanted)
            )
            return check("api_version", "red", found, say("api_version.set", newest=newest))
        if newest - mine >= OLD_VERSION_RELEASES:
            found = say("api_version.old", version=wanted, newest=newest)
            return check("api_version", "yellow", found, say("api_version.move", newest=newest))
        found = say("api_version.ok", version=wanted, newest=newest)
        return check("api_version", "green", found)

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
            for sobject, fields, count in cur.rows:
                names = mentioned[sobject]
                for name in orjson.loads(fields or "[]"):
                    if isinstance(name, str) and _FIELD_NAME.fullmatch(name):
                        names[name] = names.get(name, 0) + count
        return mentioned

    async def _access(self) -> list[DoctorCheck]:
        mentioned = await self._mentioned()
        if not mentioned:
            return [check("access", "green", say("access.none"))]
        return [await self._object_access(o, mentioned[o]) for o in sorted(mentioned)]

    async def _object_access(self, sobject: str, fields: dict[str, int]) -> DoctorCheck:
        try:
            described = await self._describe(sobject)
        except SalesforceError as exc:
            found = say("access.undescribed", object=sobject, detail=str(exc))
            return check("access", "yellow", found, say("run_again_later"), sobject)
        if described is None:
            fix = say("access.grant_read_edit", object=sobject)
            return check("access", "red", say("access.unseen", object=sobject), fix, sobject)
        if described.get("updateable") is False:
            fix = say("access.grant_edit", object=sobject)
            return check(
                "access", "red", say("access.object_read_only", object=sobject), fix, sobject
            )
        known = {f.get("name"): f for f in described["fields"] if isinstance(f, dict)}
        hidden = [name for name in sorted(fields) if name not in known]
        read_only = [n for n in sorted(fields) if n in known and not _writable(known[n])]
        if not hidden and not read_only:
            found = say("access.ok", object=sobject, count=len(fields))
            return check("access", "green", found, subject=sobject)
        parts = [say("access.field_read_only", field=n, count=fields[n]) for n in read_only]
        parts += [say("access.field_hidden", field=n, count=fields[n]) for n in hidden]
        names = [f"{sobject}.{n}" for n in read_only + hidden]
        return check("access", "red", parts, say("access.field_security", fields=names), sobject)

    # -- the service's own state ----------------------------------------------------

    async def _headroom(self, limits: OrgLimits | None) -> DoctorCheck:
        used, allocated = await self._usage.used(), await self._usage.allocated()
        found = [say("headroom.used", used=used, allocated=allocated)]
        if limits is not None:
            found.append(say("headroom.org_left", remaining=limits.remaining, max=limits.max))
        raise_it = say("headroom.raise")
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
            return check("retry_policy", "green", say("retry.off"))
        plan = (
            say(
                "retry.plan",
                every=status.every_minutes,
                attempts=status.max_attempts,
                nightly_at=status.nightly_at,
                types=list(status.types),
            )
            if status.types
            else say(
                "retry.plan_no_type",
                every=status.every_minutes,
                attempts=status.max_attempts,
                nightly_at=status.nightly_at,
            )
        )
        if status.paused:
            paused = (
                say(
                    "retry.paused_since",
                    since=f"{status.paused_since:%Y-%m-%d %H:%M}",
                    ceiling=status.ceiling_percent,
                )
                if status.paused_since
                else say("retry.paused", ceiling=status.ceiling_percent)
            )
            return check("retry_policy", "yellow", [paused, plan], say("retry.raise_ceiling"))
        if not status.types:
            return check("retry_policy", "yellow", say("retry.no_type"), say("retry.choose_types"))
        return check("retry_policy", "green", [say("retry.on"), plan])

    async def _notifications(self, send_test: bool) -> list[DoctorCheck]:
        settings = await load_settings(self._ledger)
        if not settings.enabled:
            return [check("notifications", "green", say("notify.off"))]
        enabled = [c for c in ("email", "webhook") if getattr(settings, c).enabled]
        if not enabled:
            return [
                check("notifications", "yellow", say("notify.no_channel"), say("notify.enable_one"))
            ]
        status = await self._notifier.status()
        return [await self._channel(c, status.deliveries, send_test) for c in enabled]

    async def _channel(self, channel: str, deliveries: list[Any], send_test: bool) -> DoctorCheck:
        fix = say(f"notify.check_{channel}")
        if send_test:
            try:
                result = await self._notifier.test_send(channel)  # type: ignore[arg-type]
            except NotConfigured as exc:
                return check("notifications", "red", say(f"notify.{exc.reason}"), fix, channel)
            if result.ok:
                found = say("notify.test_sent", detail=result.detail)
                return check("notifications", "green", found, subject=channel)
            found = say("notify.test_failed", detail=result.detail)
            return check("notifications", "red", found, fix, channel)
        if not self._notifier.channels.configured(channel):  # type: ignore[arg-type]
            found = say(f"notify.unconfigured_{channel}")
            return check("notifications", "red", found, fix, channel)
        last = next((d for d in deliveries if d.channel == channel), None)
        if last is not None and last.status == "failed":
            found = say("notify.last_failed", detail=last.error)
            return check("notifications", "red", found, fix, channel)
        found = say(f"notify.last_{last.status}" if last else "notify.nothing_sent")
        return check("notifications", "green", found, subject=channel)


def _writable(described_field: dict[str, Any]) -> bool:
    return bool(described_field.get("updateable") or described_field.get("createable"))


def _is_version(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
