"""The Sync Health service: ledger, usage, resync and the Starlette app (docs/api.md).

``SyncHealthService(config)`` owns the parts; ``.asgi`` is the app. Under uvicorn the
app's lifespan calls :meth:`SyncHealthService.start` / :meth:`~SyncHealthService.stop`;
in-process users (``httpx.ASGITransport`` runs no lifespan) call them directly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tui import __version__
from tui.core.invalid import explain
from tui.core.models import (
    ERROR_COLUMNS,
    AllocationUpdate,
    ApiError,
    CauseErrors,
    CauseMute,
    CauseMuteList,
    CauseMuteRequest,
    CausePage,
    CauseSummary,
    DoctorReport,
    EngineRequest,
    EngineRequestPage,
    ErrorPage,
    Health,
    HistoryPage,
    HourBucket,
    IngestResult,
    KindObjectCalls,
    NamedCalls,
    NotificationSettings,
    NotificationStatus,
    ResyncJob,
    ResyncJobList,
    ResyncJobRequest,
    ResyncRequest,
    ResyncResult,
    SyncErrorDetail,
    TestSendRequest,
    TestSendResult,
    Usage,
    UsageBreakdown,
)
from tui.service import callcount, history
from tui.service.auth import BearerAuth
from tui.service.causes import PAGE_MAX, CauseIndex
from tui.service.config import ServiceConfig
from tui.service.connect import open_connector
from tui.service.doctor import Doctor
from tui.service.engine import MAX_LEASE, MAX_TAKE, MIN_LEASE, EngineQueue, EngineRefused
from tui.service.ingest import MAX_BODY_BYTES, IngestBatch, IngestRefused, ingest
from tui.service.jobs import MAX_JOB_IDS, JobRefused, ResyncJobs
from tui.service.ledger import Ledger
from tui.service.notify.channels import Channels
from tui.service.notify.mutes import MuteRefused
from tui.service.notify.notifier import NotConfigured, Notifier
from tui.service.notify.settings import (
    SettingsError,
    load_settings,
    parse_settings,
    save_settings,
)
from tui.service.resync import MAX_IDS, ResyncEngine, ResyncRefused, note_call
from tui.service.retries import (
    POLICY_KEY,
    RetryPolicy,
    RetryPolicyError,
    RetryStatus,
    RetryWorker,
    parse_policy,
)
from tui.service.salesforce import call_kind
from tui.service.usage import OrgLimits, UsageLedger

log = logging.getLogger("tui.service")
FEED_DEFAULT_LIMIT = 1000
FEED_MAX_LIMIT = 10000
HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 500


class ApiProblem(Exception):
    """Answer ``status`` with ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, BaseModel):
            return content.model_dump_json().encode()
        return orjson.dumps(content)


def problem(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message}}, status, headers=headers)


class AnswerCrashes:
    """A bug in a handler is logged and answered as a JSON 500, and goes no further.

    Starlette's own last-resort handler answers too, but then re-raises, and uvicorn
    drops the connection: the client's next request on it would fail. Here nothing is
    re-raised unless the answer had already started.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            answer = problem(
                500,
                "internal_error",
                f"The Sync Health service failed on this request ({type(exc).__name__}); "
                "its log has the details.",
            )
            await answer(scope, receive, send)


async def _capped_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = ApiProblem(
        413,
        "body_too_large",
        f"The body is larger than {limit // 1024 // 1024} MB; nothing was recorded. Send "
        "smaller batches.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request, example: str, limit: int | None = None) -> Any:
    raw = await request.body() if limit is None else await _capped_body(request, limit)
    if not raw.strip():
        raise ApiProblem(
            422, "missing_body", f"The request needs a JSON body, for example {example}."
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiProblem(
            422, "invalid_json", f"The body is not valid JSON ({exc}); send for example {example}."
        ) from exc


#: The largest id SQLite stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1
_ASCII_INT = re.compile(r"-?[0-9]+")


def ascii_int(raw: str) -> int | None:
    """``raw`` as an int when it is ASCII digits (Python's int() also takes ١٢٣ and １２３)."""
    return int(raw) if _ASCII_INT.fullmatch(raw) else None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_int(raw)
    if value is None or not low <= value <= high:
        raise ApiProblem(
            422,
            "invalid_parameter",
            f"'{name}' must be a whole number from {low:,} to {high:,}, got {raw!r}.",
        )
    return value


async def _resync_body(request: Request, most: int, what: str) -> tuple[list[int], str]:
    """The error ids and request_id of a resync or job body, or a 422 that says why."""
    body = await _json_body(request, '{"error_ids": [1, 2], "request_id": "<uuid>"}')
    if not isinstance(body, dict):
        raise ApiProblem(
            422,
            "invalid_resync",
            'Send {"error_ids": [...], "request_id": "<uuid>"} as a JSON object.',
        )
    ids, request_id = body.get("error_ids"), body.get("request_id")
    if (
        not isinstance(request_id, str)
        or not 1 <= len(request_id.strip()) <= 200
        or not request_id.isprintable()
    ):
        raise ApiProblem(
            422,
            "invalid_resync",
            "request_id must be a non-empty string (a UUID is best) of at most 200 "
            "printable characters (no NUL or other control characters); it makes the "
            "request safe to retry.",
        )
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_ID for i in ids
    ):
        raise ApiProblem(
            422,
            "invalid_resync",
            f"error_ids must be a list of error ids (whole numbers from 0 to {MAX_ID}).",
        )
    if not 1 <= len(ids) <= most:
        more = (
            f"Send more as successive requests of at most {most}, or as one resync job "
            "(POST /v1/resync/jobs)."
            if what == "resync"
            else "Split them into jobs of at most 50,000."
        )
        raise ApiProblem(
            422,
            "too_many_errors" if ids else "invalid_resync",
            f"One {what} takes from 1 to {most:,} error ids, got {len(ids):,}. {more}",
        )
    return ids, request_id


@cache
def openapi_document() -> dict[str, Any]:
    """A small OpenAPI 3.1 description built from the API's pydantic models."""
    models: list[type[BaseModel]] = [
        Health,
        Usage,
        UsageBreakdown,
        AllocationUpdate,
        ErrorPage,
        SyncErrorDetail,
        ResyncRequest,
        ResyncResult,
        HistoryPage,
        ResyncJobRequest,
        ResyncJob,
        ResyncJobList,
        RetryPolicy,
        RetryStatus,
        IngestBatch,
        IngestResult,
        NotificationSettings,
        NotificationStatus,
        TestSendRequest,
        TestSendResult,
        DoctorReport,
        CausePage,
        CauseErrors,
        CauseMute,
        CauseMuteList,
        CauseMuteRequest,
        EngineRequestPage,
        EngineRequest,
        ApiError,
    ]
    _, schemas = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )

    def op(summary: str, answer: str, body: str | None = None, **extra: Any) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{answer}"}
        out: dict[str, Any] = {
            "summary": summary,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": ref}}},
                "default": {"description": "An error: {error: {code, message}}"},
            },
            **extra,
        }
        if body:
            schema = {"$ref": f"#/components/schemas/{body}"}
            out["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        return out

    def query(name: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": {"type": "integer"}}

    path_id = {"name": "error_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    path_cause = {"name": "cause", "in": "path", "required": True, "schema": {"type": "string"}}
    path_job = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    path_request = {
        "name": "request_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sync Health API", "version": __version__},
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/health": {"get": op("Service status, org and mode", "Health")},
            "/v1/usage": {"get": op("API call usage and limits", "Usage")},
            "/v1/usage/breakdown": {
                "get": op("The last 24 h of calls by kind and by object", "UsageBreakdown")
            },
            "/v1/usage/allocation": {
                "put": op("Set the integration's allocation", "Usage", "AllocationUpdate")
            },
            "/v1/errors": {
                "get": op(
                    "Change feed of errors",
                    "ErrorPage",
                    parameters=[query("cursor"), query("limit")],
                ),
                "post": op("Report failed records (a batch)", "IngestResult", "IngestBatch"),
            },
            "/v1/errors/{error_id}": {
                "get": op("One error with its history", "SyncErrorDetail", parameters=[path_id])
            },
            "/v1/resync": {"post": op("Resync up to 100 errors", "ResyncResult", "ResyncRequest")},
            "/v1/history": {
                "get": op(
                    "Recent resyncs and engine reports, newest first",
                    "HistoryPage",
                    parameters=[query("cursor"), query("limit")],
                )
            },
            "/v1/retries": {
                "get": op("The automatic retry policy and whether it is paused", "RetryStatus"),
                "put": op("Change the automatic retry policy", "RetryStatus", "RetryPolicy"),
            },
            "/v1/resync/jobs": {
                "post": op(
                    "Start a resync job of up to 50,000 errors", "ResyncJob", "ResyncJobRequest"
                ),
                "get": op("The newest resync jobs, running ones first", "ResyncJobList"),
            },
            "/v1/resync/jobs/{job_id}": {
                "get": op(
                    "A job's progress and outcomes",
                    "ResyncJob",
                    parameters=[path_job, query("cursor"), query("limit")],
                )
            },
            "/v1/resync/jobs/{job_id}/cancel": {
                "post": op("Cancel a resync job", "ResyncJob", parameters=[path_job])
            },
            "/v1/engine/requests": {
                "get": op(
                    "Lease engine-mode resync requests to a sync engine worker",
                    "EngineRequestPage",
                    parameters=[query("lease"), query("limit")],
                )
            },
            "/v1/engine/requests/{request_id}/release": {
                "post": op(
                    "Give a leased engine request back",
                    "EngineRequest",
                    parameters=[path_request],
                )
            },
            "/v1/notifications": {
                "get": op("Notification settings", "NotificationSettings"),
                "put": op(
                    "Change notification settings", "NotificationSettings", "NotificationSettings"
                ),
            },
            "/v1/notifications/status": {
                "get": op("Channels, next digest and last deliveries", "NotificationStatus")
            },
            "/v1/notifications/test": {
                "post": op("Send a test message now", "TestSendResult", "TestSendRequest")
            },
            "/v1/notifications/mutes": {
                "get": op("Causes whose alerts are muted, and until when", "CauseMuteList")
            },
            "/v1/notifications/mutes/{cause}": {
                "put": op(
                    "Mute the alerts of a cause for a time",
                    "CauseMute",
                    "CauseMuteRequest",
                    parameters=[path_cause],
                ),
                "delete": op("End the mute of a cause", "CauseMuteList", parameters=[path_cause]),
            },
            "/v1/causes": {
                "get": op(
                    "Causes with open errors, most first",
                    "CausePage",
                    parameters=[query("limit"), query("offset")],
                )
            },
            "/v1/causes/{cause}": {
                "get": op(
                    "The open errors of one cause",
                    "CauseErrors",
                    parameters=[{**path_id, "name": "cause", "schema": {"type": "string"}}],
                )
            },
            "/v1/doctor": {
                "get": op("Health checks, green / yellow / red with fixes", "DoctorReport"),
                "post": op("The health checks with a test send on each channel", "DoctorReport"),
            },
        },
    }


class SyncHealthService:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.ledger = Ledger(config.db_path)
        self.usage = UsageLedger(
            self.ledger, config.clock, config.limits_ttl, config.default_allocation
        )
        self.connector = open_connector(config, on_call=self._on_call)
        self.resync = ResyncEngine(
            self.ledger, self.usage, self.connector, config.clock, self._note_limit_info
        )
        self.engine = EngineQueue(self.ledger, config.clock, config.engine_request_ttl)
        run = self.engine.resync if config.resync_mode == "engine" else self.resync.run
        self.jobs = ResyncJobs(self.ledger, self.usage, run, config.clock, config.job_recheck)
        self.causes = CauseIndex(self.ledger, config.clock)
        self.notifier = Notifier(
            self.ledger,
            self.usage,
            Channels(config.smtp, config.webhook_url, config.ca_file),
            config.clock,
            self.org_name,
            config.notify_interval,
            self.causes.catch_up,
        )
        self.doctor = Doctor(
            self.ledger,
            self.usage,
            self.connector,
            self.notifier,
            config.clock,
            self._note_limit_info,
            lambda: self.retries.status(),
        )
        self.retries = RetryWorker(
            self.ledger, self.usage, run, config.clock, self.notifier.announce,
            config.retry_interval,
        )  # fmt: skip
        self._running = False
        self.asgi = self._build_app()

    # -- life --------------------------------------------------------------

    async def start(self) -> None:
        """Open the ledger; requests left 'started' by a dead process become 'interrupted'."""
        if self._running:
            return
        await self.ledger.open()
        await self.ledger.interrupt_started()
        await self.usage.load()
        await self.notifier.start()
        self.jobs.start()
        self.retries.start()
        self._running = True

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        try:
            await self.retries.stop()
            await self.jobs.stop()
            await self.notifier.stop()
            await self.usage.flush()
        finally:
            await self.connector.aclose()
            await self.ledger.close()

    # -- Salesforce plumbing -----------------------------------------------

    def _on_call(self) -> None:
        self.usage.count_call(*call_kind())
        note_call()
        callcount.note_call()

    def _note_limit_info(self) -> None:
        info = self.connector.limit_info
        if info is not None:
            self.usage.note_limit_info(used=info[0], limit=info[1])

    async def _fetch_limits(self) -> OrgLimits:
        try:
            limits = await self.connector.limits()
        finally:
            self._note_limit_info()
        return OrgLimits(limits.max, limits.used, self.config.clock())

    # -- answers -----------------------------------------------------------

    async def org_name(self) -> str:
        return await self.ledger.meta("org_name") or self.config.org_name

    async def usage_report(self) -> Usage:
        view = await self.usage.limits(self._fetch_limits)
        hourly = await self.usage.hourly()
        limits = view.limits
        error = view.error
        if limits is None and error is None:
            error = "Salesforce has not reported the org's limits yet."
        return Usage(
            used=sum(calls for _, calls in hourly),
            allocated=await self.usage.allocated(),
            salesforce_limit=limits.max if limits else 0,
            org_used=limits.used if limits else 0,
            hourly=[HourBucket(hour=hour, calls=calls) for hour, calls in hourly],
            as_of=self.config.clock(),
            limits_as_of=limits.as_of if limits else None,
            limits_error=error,
            retries_paused=(await self.retries.status()).paused,
        )

    # -- routes ------------------------------------------------------------

    async def _health(self, request: Request) -> JSON:
        return JSON(
            Health(
                status="degraded" if self.usage.last_error else "ok",
                version=__version__,
                org_name=await self.org_name(),
                mode=self.config.mode,
                time=self.config.clock().replace(microsecond=0),
                resync_mode=self.config.resync_mode,
            )
        )

    async def _get_usage(self, request: Request) -> JSON:
        return JSON(await self.usage_report())

    async def _get_usage_breakdown(self, request: Request) -> JSON:
        rows = await self.usage.breakdown()

        def summed(index: int) -> list[NamedCalls]:
            totals: dict[str, int] = {}
            for row in rows:
                totals[row[index]] = totals.get(row[index], 0) + row[2]
            ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
            return [NamedCalls(name=name, calls=calls) for name, calls in ordered]

        return JSON(
            UsageBreakdown(
                total=sum(r[2] for r in rows),
                by_kind=summed(0),
                by_object=summed(1),
                rows=[KindObjectCalls(kind=k, object=o, calls=c) for k, o, c in rows],
                as_of=self.config.clock(),
            )
        )

    async def _put_allocation(self, request: Request) -> JSON:
        body = await _json_body(request, '{"allocated": 5000}')
        value = body.get("allocated") if isinstance(body, dict) else None
        if not isinstance(body, dict) or "allocated" not in body:
            raise ApiProblem(
                422, "invalid_allocation", 'Send the allocation as {"allocated": <calls>}.'
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiProblem(
                422,
                "invalid_allocation",
                f"The allocation must be a whole number of API calls, got {value!r}.",
            )
        report = await self.usage_report()
        if report.limits_as_of is None:
            raise ApiProblem(
                503,
                "salesforce_limits_unknown",
                "The org's API limit is not known yet (Salesforce could not be reached), so "
                "the allocation cannot be checked. Try again when Salesforce answers.",
            )
        if not 0 <= value <= report.salesforce_limit:
            raise ApiProblem(
                422,
                "invalid_allocation",
                f"The allocation must be between 0 and the org's Salesforce limit of "
                f"{report.salesforce_limit:,} calls per 24 hours, got {value:,}.",
            )
        await self.usage.set_allocated(value)
        self.jobs.wake()
        return JSON(report.model_copy(update={"allocated": value}))

    async def _get_errors(self, request: Request) -> Response:
        cursor = _int_param(request, "cursor", 0, 0, 2**63 - 1)
        limit = _int_param(request, "limit", FEED_DEFAULT_LIMIT, 1, FEED_MAX_LIMIT)
        count = _int_param(request, "count", 0, 0, 1)
        rows, next_cursor, has_more = await self.ledger.feed(cursor, limit)
        body: dict[str, Any] = {
            "columns": ERROR_COLUMNS,
            "rows": rows,
            "next_cursor": next_cursor,
            "has_more": has_more,
        }
        if count:
            body["remaining"] = await self.ledger.changed_after(next_cursor) if has_more else 0
        return Response(orjson.dumps(body), media_type="application/json")

    async def _get_error(self, request: Request) -> JSON:
        raw = request.path_params["error_id"]
        error_id = ascii_int(raw)
        if error_id is None:
            raise ApiProblem(
                422, "invalid_parameter", f"An error id is a whole number (0-9), got {raw!r}."
            )
        if not 0 <= error_id <= MAX_ID:
            raise ApiProblem(404, "not_found", f"No sync error has the id {error_id}.")
        detail = await self.ledger.error(error_id)
        if detail is None:
            raise ApiProblem(404, "not_found", f"No sync error has the id {error_id}.")
        detail["engine_request"] = await self.engine.for_error(error_id)
        detail["next_retry"] = await self.retries.next_for(detail)
        return JSON(SyncErrorDetail.model_validate(detail))

    async def _post_resync(self, request: Request) -> JSON:
        ids, request_id = await _resync_body(request, MAX_IDS, "resync")
        run = self.engine.resync if self.config.resync_mode == "engine" else self.resync.run
        try:
            result = await run(request_id, ids)
        except ResyncRefused as exc:
            if exc.code not in history.REPLAY_CODES:
                summary = history.refused_summary(ids, exc.code, exc.message)
                await self._remember("resync", request_id, request, summary)
            raise ApiProblem(exc.status, exc.code, exc.message) from exc
        if not result["replayed"]:
            await self._remember("resync", request_id, request, history.resync_summary(result))
            await self.causes.catch_up()
        return JSON(result)

    async def _remember(self, kind: str, ref: str | None, request: Request, summary: dict) -> None:
        actor = history.actor_of(request)
        await history.record(self.ledger, self.config.clock(), kind, ref, actor, summary)

    async def _post_job(self, request: Request) -> JSON:
        ids, request_id = await _resync_body(request, MAX_JOB_IDS, "job")
        try:
            job, made = await self.jobs.create(request_id, ids, history.actor_of(request))
        except JobRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from exc
        return JSON({**job, "replayed": not made}, 202 if made else 200)

    async def _get_jobs(self, request: Request) -> JSON:
        return JSON({"jobs": await self.jobs.recent()})

    async def _get_job(self, request: Request) -> JSON:
        cursor = _int_param(request, "cursor", 0, 0, 2**63 - 1)
        limit = _int_param(request, "limit", 1000, 0, 10000)
        try:
            return JSON(await self.jobs.view(request.path_params["job_id"], cursor, limit))
        except JobRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from exc

    async def _cancel_job(self, request: Request) -> JSON:
        try:
            return JSON(await self.jobs.cancel(request.path_params["job_id"]))
        except JobRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from exc

    async def _get_retries(self, request: Request) -> JSON:
        return JSON(await self.retries.status())

    async def _put_retries(self, request: Request) -> JSON:
        body = await _json_body(request, '{"enabled": true, "ceiling_percent": 75}')
        try:
            policy = parse_policy(body)
        except RetryPolicyError as exc:
            raise ApiProblem(422, "invalid_retries", f"{exc}.") from None
        await self.ledger.set_setting(POLICY_KEY, policy.model_dump())
        return JSON(await self.retries.status())

    async def _lease_engine_requests(self, request: Request) -> JSON:
        lease = _int_param(request, "lease", 300, MIN_LEASE, MAX_LEASE)
        limit = _int_param(request, "limit", 10, 1, MAX_TAKE)
        return JSON(await self.engine.lease(lease, limit))

    async def _release_engine_request(self, request: Request) -> JSON:
        try:
            return JSON(await self.engine.release(request.path_params["request_id"]))
        except EngineRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from exc

    async def _post_errors(self, request: Request) -> JSON:
        body = await _json_body(request, '{"errors": [...]}', limit=MAX_BODY_BYTES)
        try:
            result = await ingest(self.ledger, body, self.config.clock())
        except IngestRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from exc
        if not result.get("replayed"):
            summary = history.report_summary(result)
            await self._remember("report", result.get("batch_id"), request, summary)
            await self.causes.catch_up()
        return JSON(result)

    async def _get_history(self, request: Request) -> JSON:
        cursor = _int_param(request, "cursor", 0, 0, 2**63 - 1)
        limit = _int_param(request, "limit", HISTORY_DEFAULT_LIMIT, 1, HISTORY_MAX_LIMIT)
        return JSON(await history.page(self.ledger, cursor or None, limit))

    async def _get_notifications(self, request: Request) -> JSON:
        return JSON(await load_settings(self.ledger))

    async def _put_notifications(self, request: Request) -> JSON:
        body = await _json_body(request, '{"enabled": true, "frequency": "daily"}')
        try:
            settings = parse_settings(body)
        except SettingsError as exc:
            raise ApiProblem(422, "invalid_notifications", f"{exc}.") from None
        await save_settings(self.ledger, settings)
        return JSON(settings)

    async def _get_notification_status(self, request: Request) -> JSON:
        return JSON(await self.notifier.status())

    async def _post_notification_test(self, request: Request) -> JSON:
        body = await _json_body(request, '{"channel": "email"}')
        try:
            channel = TestSendRequest.model_validate(body, strict=True, extra="forbid").channel
        except ValidationError as exc:
            raise ApiProblem(
                422,
                "invalid_test_send",
                f'{explain(exc)}; send {{"channel": "email"}} or {{"channel": "webhook"}}.',
            ) from None
        try:
            return JSON(await self.notifier.test_send(channel))
        except NotConfigured as exc:
            raise ApiProblem(409, "channel_not_configured", f"{exc}.") from None

    async def _get_mutes(self, request: Request) -> JSON:
        return JSON(CauseMuteList(mutes=await self.notifier.mutes.active()))

    async def _put_mute(self, request: Request) -> JSON:
        body = await _json_body(request, '{"minutes": 60}')
        try:
            minutes = CauseMuteRequest.model_validate(body, strict=True, extra="forbid").minutes
        except ValidationError as exc:
            raise ApiProblem(
                422, "invalid_mute", f'{explain(exc)}; send {{"minutes": 60}} (1 to 129600).'
            ) from None
        await self.causes.catch_up()
        try:
            mute = await self.notifier.mutes.mute(
                request.path_params["cause"], minutes, history.actor_of(request)
            )
        except MuteRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from None
        return JSON(mute)

    async def _delete_mute(self, request: Request) -> JSON:
        try:
            await self.notifier.mutes.unmute(request.path_params["cause"])
        except MuteRefused as exc:
            raise ApiProblem(exc.status, exc.code, exc.message) from None
        return JSON(CauseMuteList(mutes=await self.notifier.mutes.active()))

    async def _get_causes(self, request: Request) -> JSON:
        limit = _int_param(request, "limit", 50, 1, PAGE_MAX)
        offset = _int_param(request, "offset", 0, 0, 2**31 - 1)
        causes, total = await self.causes.page(limit, offset)
        return JSON(
            CausePage(
                causes=[CauseSummary.model_validate(c, from_attributes=True) for c in causes],
                total=total,
            )
        )

    async def _get_cause(self, request: Request) -> JSON:
        cause = request.path_params["cause"]
        ids = await self.causes.open_error_ids(cause)
        if ids is None:
            raise ApiProblem(404, "not_found", f"No error has the cause {cause!r}.")
        return JSON(CauseErrors(cause=cause, error_ids=ids))

    async def _get_doctor(self, request: Request) -> JSON:
        return JSON(await self.doctor.run())

    async def _post_doctor(self, request: Request) -> JSON:
        body = await _json_body(request, '{"send_test": true}')
        if not isinstance(body, dict) or not isinstance(body.get("send_test"), bool):
            raise ApiProblem(
                422,
                "invalid_doctor",
                'Send {"send_test": true} to run the checks with a test message on each '
                "enabled channel (GET /v1/doctor runs them without one).",
            )
        return JSON(await self.doctor.run(send_test=body["send_test"]))

    async def _openapi(self, request: Request) -> JSON:
        return JSON(openapi_document())

    # -- the app -----------------------------------------------------------

    def _build_app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        async def on_problem(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, ApiProblem)
            return problem(exc.status, exc.code, exc.message)

        async def on_http(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if exc.status_code == 404:
                return problem(404, "not_found", f"There is no endpoint at {request.url.path}.")
            if exc.status_code == 405:
                return problem(
                    405,
                    "method_not_allowed",
                    f"{request.method} is not allowed on {request.url.path}.",
                    headers=dict(exc.headers or {}),
                )
            return problem(exc.status_code, "http_error", str(exc.detail))

        handlers: list[tuple[str, Callable[[Request], Awaitable[Response]], str]] = [
            ("/v1/health", self._health, "GET"),
            ("/v1/usage", self._get_usage, "GET"),
            ("/v1/usage/breakdown", self._get_usage_breakdown, "GET"),
            ("/v1/usage/allocation", self._put_allocation, "PUT"),
            ("/v1/errors", self._get_errors, "GET"),
            ("/v1/errors", self._post_errors, "POST"),
            ("/v1/errors/{error_id}", self._get_error, "GET"),
            ("/v1/resync", self._post_resync, "POST"),
            ("/v1/history", self._get_history, "GET"),
            ("/v1/resync/jobs", self._post_job, "POST"),
            ("/v1/resync/jobs", self._get_jobs, "GET"),
            ("/v1/resync/jobs/{job_id}", self._get_job, "GET"),
            ("/v1/resync/jobs/{job_id}/cancel", self._cancel_job, "POST"),
            ("/v1/retries", self._get_retries, "GET"),
            ("/v1/retries", self._put_retries, "PUT"),
            ("/v1/engine/requests", self._lease_engine_requests, "GET"),
            (
                "/v1/engine/requests/{request_id}/release",
                self._release_engine_request,
                "POST",
            ),
            ("/v1/notifications", self._get_notifications, "GET"),
            ("/v1/notifications", self._put_notifications, "PUT"),
            ("/v1/notifications/status", self._get_notification_status, "GET"),
            ("/v1/notifications/test", self._post_notification_test, "POST"),
            ("/v1/notifications/mutes", self._get_mutes, "GET"),
            ("/v1/notifications/mutes/{cause}", self._put_mute, "PUT"),
            ("/v1/notifications/mutes/{cause}", self._delete_mute, "DELETE"),
            ("/v1/causes", self._get_causes, "GET"),
            ("/v1/causes/{cause}", self._get_cause, "GET"),
            ("/v1/doctor", self._get_doctor, "GET"),
            ("/v1/doctor", self._post_doctor, "POST"),
            ("/v1/openapi.json", self._openapi, "GET"),
        ]
        app = Starlette(
            routes=[Route(path, fn, methods=[method]) for path, fn, method in handlers],
            middleware=[
                Middleware(AnswerCrashes),
                Middleware(BearerAuth, token=self.config.api_token),
            ],
            exception_handlers={ApiProblem: on_problem, HTTPException: on_http},
            lifespan=lifespan,
        )
        app.router.redirect_slashes = False  # /v1/health/ is not /v1/health: 404, not 307
        return app
