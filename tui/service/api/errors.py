"""Handlers of the error ledger: the change feed, the snapshot, one error, reports, the
history and the audit trail."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from tui.core.models import FEED_ROW_COLUMNS, SyncErrorDetail
from tui.service import audit, history
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.db import DatabaseError
from tui.service.ingest import ingest
from tui.service.ingest_items import IngestRefused
from tui.service.snapshot import (
    SNAPSHOT_HEADER,
    SQLITE_MEDIA,
    snapshot_database,
    snapshot_lines,
)

log = logging.getLogger("tui.service")


async def get_feed(svc: Service, call: Call) -> Response:
    await svc.ignores.expire()
    rows, next_cursor, has_more = await svc.ledger.feed(call.query["cursor"], call.query["limit"])
    body: dict[str, Any] = {
        "columns": FEED_ROW_COLUMNS,
        "rows": rows,
        "next_cursor": next_cursor,
        "has_more": has_more,
    }
    if call.query["count"]:
        body["remaining"] = await svc.ledger.changed_after(next_cursor) if has_more else 0
    return Response(orjson.dumps(body), media_type="application/json")


async def get_snapshot(svc: Service, call: Call) -> Response:
    q = call.query
    before = q["before"] or None
    lines = snapshot_lines(
        svc.ledger.db, q["after"], q["limit"], before=before, count=bool(q["count"])
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")


async def get_snapshot_database(svc: Service, call: Call) -> Response:
    q = call.query
    head, data = await snapshot_database(
        svc.ledger.db, q["after"], q["limit"], before=q["before"] or None, count=bool(q["count"])
    )
    headers = {SNAPSHOT_HEADER: orjson.dumps(head).decode()}
    return Response(data, media_type=SQLITE_MEDIA, headers=headers)


async def get_error(svc: Service, call: Call) -> JSON:
    error_id: int = call.path["error_id"]
    detail = await svc.ledger.error(error_id)
    if detail is None:
        raise ApiProblem(404, "not_found", f"No sync error has the id {error_id}.")
    detail["engine_request"] = await svc.engine.for_error(error_id)
    detail["next_retry"] = await svc.retries.next_for(detail)
    detail["ignore"] = await svc.ignores.state_of(error_id)
    return JSON(SyncErrorDetail.model_validate(detail))


async def post_reports(svc: Service, call: Call) -> JSON:
    try:
        result = await ingest(svc.ledger, call.body, svc.config.clock())
    except IngestRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
    if not result.get("replayed"):
        summary = history.report_summary(result)
        await svc.remember("report", result.get("batch_id"), call.request, summary)
        try:
            await svc.causes.catch_up()
        except DatabaseError as exc:
            # The batch is committed: answering 503 now would invite a resend that counts
            # its failures twice. The cause index catches up on its next use.
            log.warning("the causes of a recorded batch wait for the next catch-up: %s", exc)
    return JSON(result)


async def get_history(svc: Service, call: Call) -> JSON:
    q = call.query
    page = await history.page(svc.ledger, q["cursor"] or None, q["limit"], every=bool(q["all"]))
    return JSON(page)


async def get_audit(svc: Service, call: Call) -> JSON:
    return JSON(await audit.page_after(svc.ledger, call.query["cursor"], call.query["limit"]))
