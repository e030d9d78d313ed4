"""The console's HTTP client of the Sync Health API (docs/api.md).

Every failure becomes a ``ServiceError`` subclass (a :class:`~tui.data.problem.Problem`):
its kind gives the lead sentence in the session's language, its detail the technical
sentence. Idempotent calls (GET, PUT, and POST /v1/resync, which is idempotent on
its request_id) are retried a few times with a short exponential backoff when the
service cannot be reached or answers a 5xx of its own. A 5xx that reports a Salesforce
outcome (``salesforce_*`` codes) is an answer, not a fault, and is never retried; nor is
503 ``database_unavailable``: the service is up and said so after waiting for its
database (or knowing it away), and retrying only kept the console from saying it
(issue 14).
The token never appears in a message. The exceptions, and what a failed answer means,
are in ``tui/data/client_errors.py``.

A little over ~400 lines on purpose: one short method per endpoint, all sharing the
retry, timeout and decoding rules of ``_request``; its failures already live in
``client_errors``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from tui.core.audit_models import AuditPage, HistoryPage
from tui.core.doctor_models import DoctorReport
from tui.core.ignore_models import IgnoreList, IgnoreResult
from tui.core.lang import counted
from tui.core.models import (
    ACTOR_HEADER,
    CauseErrors,
    CausePage,
    Health,
    IngestResult,
    RetryPolicy,
    RetryStatus,
    SyncErrorDetail,
    Usage,
    UsageBreakdown,
)
from tui.core.notify_models import (
    CauseMute,
    CauseMuteList,
    Channel,
    NotificationSettings,
    NotificationStatus,
    TestSendResult,
)
from tui.core.resync_models import ResyncJob, ResyncJobList, ResyncResult
from tui.core.trend_models import TrendPage, TypeTrends
from tui.data.actor import actor_name
from tui.data.client_errors import (
    BadResponse,
    RetryListener,
    ServiceError,
    ServiceRejected,
    ServiceUnavailable,
    check_service_url,
    decoded,
    failure_of,
    transport_reason,
)
from tui.data.snapshot import (
    SNAPSHOT_HEADER,
    SnapshotChunk,
    check_database,
    parse_snapshot,
    parse_snapshot_database,
)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the change feed, decoded with orjson (no per-row models)."""

    columns: list[str]
    rows: list[list[Any]]
    next_cursor: int
    has_more: bool
    #: Rows the feed holds after this page, when asked for (``count=True``).
    remaining: int | None = None


_RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: 5xx codes that are the service's answer, not a fault a retry may get past.
_ANSWERS = ("salesforce_", "database_unavailable")
#: Seconds a look at health waits: the service answers it without its database.
HEALTH_LOOK_TIMEOUT = 2.0
#: A test send waits for the SMTP server or webhook to answer, so it may take long.
TEST_SEND_TIMEOUT = 60.0

_M = TypeVar("_M", bound=BaseModel)


class ServiceClient:
    """Async client of one Sync Health service. Close it with ``aclose()``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.2,
        actor: str | None = None,
        retry_listeners: list[RetryListener] | None = None,
    ) -> None:
        headers = {
            "Accept": "application/json",
            "User-Agent": "synchealth",
            ACTOR_HEADER: actor or actor_name(),  # who, in the service's history
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = check_service_url(base_url)
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        #: Each is called before a retry (``RetryListener``).
        self.retry_listeners: list[RetryListener] = (
            [] if retry_listeners is None else retry_listeners
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing ------------------------------------------------------------------------

    def _where(self) -> str:
        return f"the Sync Health service at {self.base_url}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        retry: bool = True,
        timeout: float | None = None,
        decode: Callable[[httpx.Response, str], Any] | None = None,
    ) -> Any:
        """Send (with retries unless ``retry`` is false); the body of a 2xx answer, decoded
        as JSON or by ``decode``."""
        content = None if json is None else orjson.dumps(json)
        headers = {"Content-Type": "application/json"} if content is not None else None
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, content=content, params=params, headers=headers, **extra
                )
            except httpx.TimeoutException:
                failure: ServiceError = ServiceUnavailable(
                    f"The service is slow (no answer in {timeout or self.timeout:g} s from "
                    f"{self.base_url}).",
                    code="slow",
                )
            except httpx.TransportError as exc:
                failure = ServiceUnavailable(
                    f"Cannot reach {self._where()}: {transport_reason(exc)}."
                )
            else:
                if response.is_success:
                    return (decode or decoded)(response, self._where())
                failure = failure_of(response, self._where())
                if response.status_code not in _RETRY_STATUSES or failure.code.startswith(_ANSWERS):
                    raise failure
            attempt += 1
            if not retry or attempt > self.retries:
                raise failure
            for listener in list(self.retry_listeners):
                listener(failure, attempt, self.retries)
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))

    async def _model(self, model: type[_M], method: str, path: str, **kw: Any) -> _M:
        body = await self._request(method, path, **kw)
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise BadResponse(
                f"{self._where()} answered {path} with data in an unexpected shape "
                f"({counted(exc.error_count(), 'problem')}, first: {exc.errors()[0]['msg']}).",
            ) from exc

    # -- the API -------------------------------------------------------------------------

    async def health(self) -> Health:
        return await self._model(Health, "GET", "/v1/health")

    async def look_at_health(self) -> Health:
        """Health once, no retry, a short timeout: the console's frequent look."""
        return await self._model(
            Health, "GET", "/v1/health", retry=False, timeout=HEALTH_LOOK_TIMEOUT
        )

    async def usage(self) -> Usage:
        return await self._model(Usage, "GET", "/v1/usage")

    async def causes(self, limit: int = 50, offset: int = 0) -> CausePage:
        return await self._model(
            CausePage, "GET", "/v1/causes", params={"limit": limit, "offset": offset}
        )

    async def cause_errors(self, cause: str) -> CauseErrors:
        return await self._model(CauseErrors, "GET", f"/v1/causes/{cause}")

    async def cause_mutes(self) -> CauseMuteList:
        return await self._model(CauseMuteList, "GET", "/v1/notifications/mutes")

    async def mute_cause(self, cause: str, minutes: int) -> CauseMute:
        return await self._model(
            CauseMute, "PUT", f"/v1/notifications/mutes/{cause}", json={"minutes": minutes}
        )

    async def unmute_cause(self, cause: str) -> CauseMuteList:
        return await self._model(CauseMuteList, "DELETE", f"/v1/notifications/mutes/{cause}")

    async def usage_breakdown(self) -> UsageBreakdown:
        return await self._model(UsageBreakdown, "GET", "/v1/usage/breakdown")

    async def trends(
        self,
        days: int = 30,
        type: str | None = None,
        cause: str | None = None,
        end: date | None = None,
    ) -> TrendPage:
        params: dict[str, str | int] = {"days": days}
        if end is not None:
            params["end"] = end.isoformat()
        if type is not None:
            params["type"] = type
        if cause is not None:
            params["cause"] = cause
        return await self._model(TrendPage, "GET", "/v1/trends", params=params)

    async def type_trends(self, days: int = 30, end: date | None = None) -> TypeTrends:
        params: dict[str, str | int] = {"days": days}
        if end is not None:
            params["end"] = end.isoformat()
        return await self._model(TypeTrends, "GET", "/v1/trends/types", params=params)

    async def set_allocation(self, allocated: int) -> Usage:
        return await self._model(
            Usage, "PUT", "/v1/usage/allocation", json={"allocated": allocated}
        )

    async def changes(self, cursor: int, limit: int = 10000, *, count: bool = False) -> FeedPage:
        """A page of the change feed; with ``count``, also how many rows come after it."""
        params = {"cursor": cursor, "limit": limit} | ({"count": 1} if count else {})
        body = await self._request("GET", "/v1/errors", params=params)
        try:
            remaining = body.get("remaining") if count else None
            page = FeedPage(
                columns=body["columns"],
                rows=body["rows"],
                next_cursor=int(body["next_cursor"]),
                has_more=bool(body["has_more"]),
                remaining=None if remaining is None else int(remaining),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadResponse(
                f"{self._where()} sent a page of changes without the expected keys ({exc})."
            ) from exc
        if not isinstance(page.rows, list) or not isinstance(page.columns, list):
            raise BadResponse(f"{self._where()} sent a page of changes that is not a list.")
        return page

    async def snapshot(
        self,
        after: int,
        limit: int,
        *,
        before: int | None = None,
        count: bool = False,
        database: bool = False,
    ) -> SnapshotChunk:
        """Up to ``limit`` errors with ids above ``after`` (and below ``before``) (``GET
        /v1/snapshot``, with ``database`` as a SQLite database: ``/v1/snapshot/database``);
        with ``count``, how many there are above ``after``."""
        params = {"after": after, "limit": limit}
        params |= ({} if before is None else {"before": before}) | ({"count": 1} if count else {})
        path, decode = (
            ("/v1/snapshot/database", _database) if database else ("/v1/snapshot", _snapshot)
        )
        chunk: SnapshotChunk = await self._request("GET", path, params=params, decode=decode)
        if database:
            try:
                await asyncio.to_thread(check_database, chunk)
            except ValueError as exc:
                raise BadResponse(_unreadable(self._where(), exc)) from exc
        return chunk

    async def error(self, error_id: int) -> SyncErrorDetail | None:
        """One error with its history; None when the service has no such error."""
        try:
            return await self._model(SyncErrorDetail, "GET", f"/v1/errors/{int(error_id)}")
        except ServiceRejected as exc:
            if exc.status == 404:
                return None
            raise

    async def resync(self, error_ids: list[int], request_id: str) -> ResyncResult:
        return await self._model(
            ResyncResult,
            "POST",
            "/v1/resync",
            json={"error_ids": list(error_ids), "request_id": request_id},
        )

    async def ignore(
        self,
        request_id: str,
        reason: str,
        *,
        error_ids: Sequence[int] | None = None,
        cause: str | None = None,
        expires_at: datetime | None = None,
        days: int | None = None,
    ) -> IgnoreResult:
        """Ignore errors or a cause (safe to retry: the service keys it on ``request_id``);
        until ``expires_at`` (aware) or for ``days`` by the service's clock, else until
        unignored."""
        body: dict[str, Any] = {"request_id": request_id, "reason": reason,
                                "expires_at": expires_at, "days": days}  # fmt: skip
        body.update({"error_ids": list(error_ids)} if error_ids is not None else {"cause": cause})
        return await self._model(IgnoreResult, "POST", "/v1/ignores", json=body)

    async def unignore(
        self, request_id: str, *, error_ids: Sequence[int] | None = None, cause: str | None = None
    ) -> IgnoreResult:
        body: dict[str, Any] = {"request_id": request_id}
        body.update({"error_ids": list(error_ids)} if error_ids is not None else {"cause": cause})
        return await self._model(IgnoreResult, "POST", "/v1/unignore", json=body)

    async def ignores(self, limit: int = 100) -> IgnoreList:
        return await self._model(IgnoreList, "GET", "/v1/ignores", params={"limit": limit})

    async def start_job(self, error_ids: list[int], request_id: str) -> ResyncJob:
        """Start a resync job (safe to retry: the service keys it on ``request_id``)."""
        return await self._model(
            ResyncJob,
            "POST",
            "/v1/resync/jobs",
            json={"error_ids": list(error_ids), "request_id": request_id},
        )

    async def job(self, job_id: str, cursor: int = 0, limit: int = 0) -> ResyncJob:
        return await self._model(
            ResyncJob, "GET", f"/v1/resync/jobs/{job_id}", params={"cursor": cursor, "limit": limit}
        )

    async def jobs(self) -> list[ResyncJob]:
        return (await self._model(ResyncJobList, "GET", "/v1/resync/jobs")).jobs

    async def ingest(
        self, items: Sequence[Any], batch_id: str | None = None, timeout: float = 120.0
    ) -> IngestResult:
        """Report failed records (``POST /v1/errors``); at most 1,000 items.

        Retried only with a ``batch_id``: the service applies a batch_id once, so a
        retry after a lost answer cannot count the same failures twice.
        """
        body: dict[str, Any] = {"errors": list(items)}
        if batch_id is not None:
            body["batch_id"] = batch_id
        return await self._model(
            IngestResult,
            "POST",
            "/v1/errors",
            json=body,
            retry=batch_id is not None,
            timeout=timeout,
        )

    async def history(self, cursor: int | None = None, limit: int = 50) -> HistoryPage:
        """The audit trail, newest first (every kind: ``all=1``); ``cursor`` pages back."""
        params = {"limit": limit, "all": 1} | ({"cursor": cursor} if cursor else {})
        return await self._model(HistoryPage, "GET", "/v1/history", params=params)

    async def audit(self, cursor: int = 0, limit: int = 500) -> AuditPage:
        """The audit trail after ``cursor``, oldest first (GET /v1/audit)."""
        params = {"cursor": cursor, "limit": limit}
        return await self._model(AuditPage, "GET", "/v1/audit", params=params)

    async def retry_policy(self) -> RetryStatus:
        return await self._model(RetryStatus, "GET", "/v1/retries")

    async def set_retry_policy(self, policy: RetryPolicy) -> RetryStatus:
        return await self._model(
            RetryStatus, "PUT", "/v1/retries", json=policy.model_dump(mode="json")
        )

    async def notifications(self) -> NotificationSettings:
        return await self._model(NotificationSettings, "GET", "/v1/notifications")

    async def set_notifications(self, settings: NotificationSettings) -> NotificationSettings:
        return await self._model(
            NotificationSettings, "PUT", "/v1/notifications", json=settings.model_dump(mode="json")
        )

    async def notification_status(self) -> NotificationStatus:
        return await self._model(NotificationStatus, "GET", "/v1/notifications/status")

    async def test_notification(self, channel: Channel) -> TestSendResult:
        """Send a test message now; never retried, since a retry could send it twice."""
        return await self._model(
            TestSendResult,
            "POST",
            "/v1/notifications/test",
            json={"channel": channel},
            retry=False,
            timeout=TEST_SEND_TIMEOUT,
        )

    async def doctor(self, send_test: bool = False) -> DoctorReport:
        """The service's health checks; with ``send_test`` a test message on each enabled
        channel too (then never retried, since a retry could send it twice)."""
        if not send_test:
            return await self._model(DoctorReport, "GET", "/v1/doctor", timeout=TEST_SEND_TIMEOUT)
        return await self._model(
            DoctorReport,
            "POST",
            "/v1/doctor",
            json={"send_test": True},
            retry=False,
            timeout=2 * TEST_SEND_TIMEOUT,
        )


def _unreadable(where: str, exc: ValueError) -> str:
    return f"{where} sent a snapshot of errors that cannot be read: {exc}."


def _snapshot(response: httpx.Response, where: str) -> SnapshotChunk:
    try:
        return parse_snapshot(response.content)
    except ValueError as exc:
        raise BadResponse(_unreadable(where, exc)) from exc


def _database(response: httpx.Response, where: str) -> SnapshotChunk:
    try:
        return parse_snapshot_database(response.headers.get(SNAPSHOT_HEADER), response.content)
    except ValueError as exc:
        raise BadResponse(_unreadable(where, exc)) from exc
