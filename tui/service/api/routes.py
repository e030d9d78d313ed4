"""THE route table of the service: every route, what it takes and what it answers.

The Starlette routes (:func:`~tui.service.api.table.starlette_routes`) and the OpenAPI
document (:func:`~tui.service.api.openapi.document`) are both built from :data:`ROUTES`,
so neither can list a route, a limit or an error answer the other does not know.

Longer than ~400 lines on purpose: it is one table, one entry per route, and keeping
the whole API in one list is what lets a reader (and the OpenAPI test) see all of it.
"""

from __future__ import annotations

from tui.core.audit_models import AuditPage, HistoryPage
from tui.core.doctor_models import DoctorReport, DoctorRequest
from tui.core.ignore_models import IgnoreList, IgnoreRequest, IgnoreResult, UnignoreRequest
from tui.core.limits import MAX_ID
from tui.core.models import (
    ERROR_TYPES,
    AllocationUpdate,
    CauseErrors,
    CausePage,
    ErrorPage,
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
    CauseMuteRequest,
    NotificationSettings,
    NotificationStatus,
    TestSendRequest,
    TestSendResult,
)
from tui.core.resync_models import (
    EngineRequest,
    EngineRequestPage,
    ResyncJob,
    ResyncJobList,
    ResyncJobRequest,
    ResyncRequest,
    ResyncResult,
)
from tui.core.trend_models import TrendPage, TypeTrends
from tui.service.api import (
    causes,
    engine,
    errors,
    ignores,
    notifications,
    openapi,
    resync,
    trends,
    usage,
)
from tui.service.api.inputs import Body, IntQuery, PathParam, TextQuery
from tui.service.api.problems import JSON
from tui.service.api.service import Service
from tui.service.api.table import Call, Endpoint
from tui.service.causes import PAGE_MAX
from tui.service.engine import MAX_LEASE, MAX_TAKE, MIN_LEASE
from tui.service.ignores import MAX_LISTED
from tui.service.ingest_items import MAX_BODY_BYTES, IngestBatch
from tui.service.snapshot import SNAPSHOT_MAX_LIMIT, SQLITE_MEDIA
from tui.service.trends import KEEP_DAYS

FEED_DEFAULT_LIMIT = 1000
FEED_MAX_LIMIT = 10000
HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 500
AUDIT_DEFAULT_LIMIT = 200

CURSOR = IntQuery("cursor", 0, 0, MAX_ID, "Answer what changed after this cursor.")
SALESFORCE = {
    429: ("allocation_exceeded", "salesforce_limit_exceeded"),
    502: ("salesforce_session_expired", "salesforce_refused", "salesforce_bad_answer"),
    503: ("salesforce_busy", "salesforce_unavailable", "salesforce_limits_unknown"),
}
#: The query of both snapshot answers (NDJSON lines, a SQLite database).
SNAPSHOT_QUERY = (
    IntQuery("after", 0, 0, MAX_ID, "Answer the errors with ids above this one."),
    IntQuery("before", 0, 0, MAX_ID, "And below this one (0: no bound)."),
    IntQuery("limit", SNAPSHOT_MAX_LIMIT, 1, SNAPSHOT_MAX_LIMIT, "Errors in this answer."),
    IntQuery("count", 0, 0, 1, "1: the header counts the errors above 'after'."),
)
MUTED_CAUSE = PathParam("cause", "The cause's key (16 hex digits), as GET /v1/causes lists it.")
TREND_DAYS = IntQuery("days", 30, 1, KEEP_DAYS, "Days of figures, ending on ``end``.")
TREND_END = TextQuery(
    "end",
    "The last day (UTC), YYYY-MM-DD, no later than tomorrow; default today.",
    (("format", "date"),),
)
RESYNC_CONFLICTS = (
    "request_id_reused",
    "resync_in_progress",
    "resync_interrupted",
    "errors_in_running_job",
)
IGNORE_EXAMPLE = '{"request_id": "<uuid>", "error_ids": [1, 2], "reason": "...", "days": 7}'
IGNORE_REFUSALS = (
    "invalid_ignore", "missing_reason", "invalid_reason", "expiry_in_past", "invalid_expiry",
    "too_many_errors",
)  # fmt: skip


async def _openapi(svc: Service, call: Call) -> JSON:
    return JSON(openapi.document(ROUTES, secured=svc.config.api_token is not None))


ROUTES: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/health", usage.health, "Service status, org and mode", Health),
    Endpoint("GET", "/v1/usage", usage.get_usage, "API call usage and limits", Usage),
    Endpoint(
        "GET",
        "/v1/usage/breakdown",
        usage.get_breakdown,
        "The last 24 h of calls by kind and by object",
        UsageBreakdown,
    ),
    Endpoint(
        "PUT",
        "/v1/usage/allocation",
        usage.put_allocation,
        "Set the integration's allocation",
        Usage,
        body=Body(
            AllocationUpdate,
            "invalid_allocation",
            '{"allocated": 5000}',
            refuse=usage.refuse_allocation,
        ),
        errors={422: ("invalid_allocation",), 503: ("salesforce_limits_unknown",)},
    ),
    Endpoint(
        "GET",
        "/v1/errors",
        errors.get_feed,
        "Change feed of errors",
        ErrorPage,
        query=(
            CURSOR,
            IntQuery("limit", FEED_DEFAULT_LIMIT, 1, FEED_MAX_LIMIT, "Rows per page."),
            IntQuery("count", 0, 0, 1, "1: also count the rows after this page (remaining)."),
        ),
    ),
    Endpoint(
        "GET",
        "/v1/snapshot",
        errors.get_snapshot,
        "Every error by id as NDJSON, as of the feed cursor in its header (docs/api.md)",
        None,
        query=SNAPSHOT_QUERY,
        media_type="application/x-ndjson",
    ),
    Endpoint(
        "GET",
        "/v1/snapshot/database",
        errors.get_snapshot_database,
        "The snapshot's errors as a SQLite database, its header in Synchealth-Snapshot",
        None,
        query=SNAPSHOT_QUERY,
        media_type=SQLITE_MEDIA,
    ),
    Endpoint(
        "POST",
        "/v1/errors",
        errors.post_reports,
        "Report failed (and synced) records, a batch of 1 to 1,000",
        IngestResult,
        body=Body(
            IngestBatch,
            "invalid_batch",
            '{"errors": [...]}',
            max_bytes=MAX_BODY_BYTES,
            checked=False,
        ),
        errors={
            409: ("batch_id_reused",),
            413: ("body_too_large", "too_many_items"),
            422: ("invalid_batch",),
        },
    ),
    Endpoint(
        "GET",
        "/v1/errors/{error_id}",
        errors.get_error,
        "One error with its history",
        SyncErrorDetail,
        params=(PathParam("error_id", "The error's id.", is_error_id=True),),
        errors={404: ("not_found",)},
    ),
    Endpoint(
        "POST",
        "/v1/resync",
        resync.post_resync,
        "Resync up to 100 errors",
        ResyncResult,
        body=Body(
            ResyncRequest,
            "invalid_resync",
            '{"error_ids": [1, 2], "request_id": "<uuid>"}',
            refuse=resync.refuse_resync,
        ),
        errors={409: RESYNC_CONFLICTS, 422: ("invalid_resync", "too_many_errors"), **SALESFORCE},
    ),
    Endpoint(
        "GET",
        "/v1/history",
        errors.get_history,
        "Recent resyncs, engine reports and ignores, newest first (all=1: every change)",
        HistoryPage,
        query=(
            IntQuery("cursor", 0, 0, MAX_ID, "Answer the entries older than this cursor."),
            IntQuery("limit", HISTORY_DEFAULT_LIMIT, 1, HISTORY_MAX_LIMIT, "Entries per page."),
            IntQuery("all", 0, 0, 1, "1: every kind of the audit trail, not only the five."),
        ),
    ),
    Endpoint(
        "GET",
        "/v1/audit",
        errors.get_audit,
        "The audit trail, oldest first after the cursor (keep next_cursor to follow it)",
        AuditPage,
        query=(
            IntQuery("cursor", 0, 0, MAX_ID, "Answer the entries after this one (0: all)."),
            IntQuery("limit", AUDIT_DEFAULT_LIMIT, 1, HISTORY_MAX_LIMIT, "Entries per page."),
        ),
    ),
    Endpoint(
        "POST",
        "/v1/resync/jobs",
        resync.post_job,
        "Start a resync job of up to 50,000 errors",
        ResyncJob,
        body=Body(
            ResyncJobRequest,
            "invalid_resync",
            '{"error_ids": [1, 2], "request_id": "<uuid>"}',
            refuse=resync.refuse_job,
        ),
        errors={409: RESYNC_CONFLICTS, 422: ("invalid_resync", "too_many_errors")},
        ok=(202, 200),
    ),
    Endpoint(
        "GET",
        "/v1/resync/jobs",
        resync.get_jobs,
        "The newest resync jobs, running ones first",
        ResyncJobList,
    ),
    Endpoint(
        "GET",
        "/v1/resync/jobs/{job_id}",
        resync.get_job,
        "A job's progress and outcomes",
        ResyncJob,
        params=(PathParam("job_id", "The job's id."),),
        query=(CURSOR, IntQuery("limit", 1000, 0, 10000, "Outcomes per page.")),
        errors={404: ("not_found",)},
    ),
    Endpoint(
        "POST",
        "/v1/resync/jobs/{job_id}/cancel",
        resync.cancel_job,
        "Cancel a resync job",
        ResyncJob,
        params=(PathParam("job_id", "The job's id."),),
        errors={404: ("not_found",)},
    ),
    Endpoint(
        "GET",
        "/v1/retries",
        usage.get_retries,
        "The automatic retry policy and whether it is paused",
        RetryStatus,
    ),
    Endpoint(
        "PUT",
        "/v1/retries",
        usage.put_retries,
        "Change the automatic retry policy",
        RetryStatus,
        body=Body(
            RetryPolicy,
            "invalid_retries",
            '{"enabled": true, "ceiling_percent": 75}',
        ),
        errors={422: ("invalid_retries",)},
    ),
    Endpoint(
        "GET",
        "/v1/engine/requests",
        engine.lease,
        "Lease engine-mode resync requests to a sync engine worker",
        EngineRequestPage,
        query=(
            IntQuery("lease", 300, MIN_LEASE, MAX_LEASE, "Seconds the requests are held."),
            IntQuery("limit", 10, 1, MAX_TAKE, "Requests at most."),
        ),
    ),
    Endpoint(
        "POST",
        "/v1/engine/requests/{request_id}/release",
        engine.release,
        "Give a leased engine request back",
        EngineRequest,
        params=(PathParam("request_id", "The engine request's id."),),
        errors={404: ("not_found",), 409: ("request_not_waiting",)},
    ),
    Endpoint(
        "GET",
        "/v1/notifications",
        notifications.get_settings,
        "Notification settings",
        NotificationSettings,
    ),
    Endpoint(
        "PUT",
        "/v1/notifications",
        notifications.put_settings,
        "Change notification settings (omitted keys take their defaults)",
        NotificationSettings,
        body=Body(
            NotificationSettings,
            "invalid_notifications",
            '{"enabled": true, "frequency": "daily"}',
            refuse=notifications.refuse_settings,
        ),
        errors={422: ("invalid_notifications",)},
    ),
    Endpoint(
        "GET",
        "/v1/notifications/status",
        notifications.get_status,
        "Channels, next digest and last deliveries",
        NotificationStatus,
    ),
    Endpoint(
        "POST",
        "/v1/notifications/test",
        notifications.post_test,
        "Send a test message now",
        TestSendResult,
        body=Body(
            TestSendRequest,
            "invalid_test_send",
            '{"channel": "email"}',
            refuse=notifications.refuse_test_send,
        ),
        errors={409: ("channel_not_configured",), 422: ("invalid_test_send",)},
    ),
    Endpoint(
        "GET",
        "/v1/notifications/mutes",
        notifications.get_mutes,
        "Causes whose alerts are muted, and until when",
        CauseMuteList,
    ),
    Endpoint(
        "PUT",
        "/v1/notifications/mutes/{cause}",
        notifications.put_mute,
        "Mute the alerts of a cause for a time (alert mode)",
        CauseMute,
        params=(MUTED_CAUSE,),
        body=Body(
            CauseMuteRequest, "invalid_mute", '{"minutes": 60}', refuse=notifications.refuse_mute
        ),
        errors={404: ("not_found",), 422: ("invalid_mute",)},
    ),
    Endpoint(
        "DELETE",
        "/v1/notifications/mutes/{cause}",
        notifications.delete_mute,
        "End the mute of a cause now",
        CauseMuteList,
        params=(MUTED_CAUSE,),
        errors={404: ("not_found", "not_muted")},
    ),
    Endpoint(
        "GET",
        "/v1/causes",
        causes.get_causes,
        "Causes with open errors, most first",
        CausePage,
        query=(
            IntQuery("limit", 50, 1, PAGE_MAX, "Causes per page."),
            IntQuery("offset", 0, 0, 2**31 - 1, "Causes to skip."),
        ),
    ),
    Endpoint(
        "GET",
        "/v1/causes/{cause}",
        causes.get_cause,
        "The open errors of one cause",
        CauseErrors,
        params=(PathParam("cause", "The cause's key (16 hex digits)."),),
        errors={404: ("not_found",)},
    ),
    Endpoint(
        "POST",
        "/v1/ignores",
        ignores.post_ignore,
        "Ignore errors or a cause, with a reason and maybe an expiry",
        IgnoreResult,
        body=Body(IgnoreRequest, "invalid_ignore", IGNORE_EXAMPLE, checked=False),
        errors={
            404: ("unknown_errors", "not_found"),
            409: ("request_id_reused",),
            422: IGNORE_REFUSALS,
        },
    ),
    Endpoint(
        "GET",
        "/v1/ignores",
        ignores.get_ignores,
        "The ignores in force, newest first",
        IgnoreList,
        query=(IntQuery("limit", 100, 1, MAX_LISTED, "Ignores at most."),),
    ),
    Endpoint(
        "DELETE",
        "/v1/ignores/{ignore_id}",
        ignores.delete_ignore,
        "Unignore every error an ignore holds",
        IgnoreResult,
        params=(PathParam("ignore_id", "The ignore's id."),),
        errors={404: ("not_found",)},
    ),
    Endpoint(
        "POST",
        "/v1/unignore",
        ignores.post_unignore,
        "Unignore errors or a cause",
        IgnoreResult,
        body=Body(
            UnignoreRequest,
            "invalid_ignore",
            '{"request_id": "<uuid>", "error_ids": [1, 2]}',
            checked=False,
        ),
        errors={
            404: ("unknown_errors", "not_found"),
            409: ("request_id_reused",),
            422: ("invalid_ignore", "too_many_errors"),
        },
    ),
    Endpoint(
        "GET",
        "/v1/trends",
        trends.get_trends,
        "Daily figures (new, resolved, recurring, still open) of all errors, a type or a "
        "cause, oldest day first",
        TrendPage,
        query=(
            TREND_DAYS,
            TREND_END,
            TextQuery("type", "Only this error type.", (("enum", ERROR_TYPES),)),
            TextQuery(
                "cause", "Only this cause (a key of /v1/causes).", (("pattern", "^[0-9a-f]{16}$"),)
            ),
        ),
        errors={404: ("not_found",)},
    ),
    Endpoint(
        "GET",
        "/v1/trends/types",
        trends.get_type_trends,
        "New errors per day of each type (the cards' sparklines)",
        TypeTrends,
        query=(TREND_DAYS, TREND_END),
    ),
    Endpoint(
        "GET",
        "/v1/doctor",
        causes.get_doctor,
        "Health checks, green / yellow / red with fixes",
        DoctorReport,
    ),
    Endpoint(
        "POST",
        "/v1/doctor",
        causes.post_doctor,
        "The health checks with a test send on each channel",
        DoctorReport,
        body=Body(
            DoctorRequest, "invalid_doctor", '{"send_test": true}', refuse=causes.refuse_doctor
        ),
        errors={422: ("invalid_doctor",)},
    ),
    Endpoint("GET", "/v1/openapi.json", _openapi, "This document", None),
)
