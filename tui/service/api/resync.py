"""Handlers of resyncs and resync jobs."""

from __future__ import annotations

from pydantic import ValidationError

from tui.core.invalid import explain
from tui.core.limits import JOB_MAX_IDS, MAX_ID, RESYNC_MAX_IDS
from tui.core.resync_models import ResyncJobRequest, ResyncRequest
from tui.service import history
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.jobs import JobRefused
from tui.service.resync import ResyncRefused


def _refuse(exc: ValidationError, what: str, most: int, more: str) -> ApiProblem:
    """The refusal of a resync or job body, saying what the first wrong part must be."""
    err = exc.errors(include_url=False)[0]
    loc, kind = err["loc"], err["type"]
    if loc == ():
        words = 'Send {"error_ids": [...], "request_id": "<uuid>"} as a JSON object.'
    elif loc == ("error_ids",) and kind in ("too_long", "too_short"):
        got = len(err["input"]) if isinstance(err["input"], list) else 0
        words = f"One {what} takes from 1 to {most:,} error ids, got {got:,}. {more}"
        if kind == "too_long":
            return ApiProblem(422, "too_many_errors", words)
    elif loc[0] == "error_ids":
        words = f"error_ids must be a list of error ids (whole numbers from 0 to {MAX_ID})."
    elif loc[0] == "request_id" and kind == "value_error":
        words = f"{err['msg'].removeprefix('Value error, ')}."
    elif loc[0] == "request_id":
        words = "request_id must be a non-empty string (a UUID is best) of at most 200 characters."
    else:
        words = f"{explain(exc)}."
    return ApiProblem(422, "invalid_resync", words)


def refuse_resync(exc: ValidationError) -> ApiProblem:
    more = (
        f"Send more as successive requests of at most {RESYNC_MAX_IDS}, or as one resync "
        "job (POST /v1/resync/jobs)."
    )
    return _refuse(exc, "resync", RESYNC_MAX_IDS, more)


def refuse_job(exc: ValidationError) -> ApiProblem:
    return _refuse(exc, "job", JOB_MAX_IDS, f"Split them into jobs of at most {JOB_MAX_IDS:,}.")


async def post_resync(svc: Service, call: Call) -> JSON:
    body: ResyncRequest = call.body
    ids, request_id = body.error_ids, body.request_id
    run = svc.engine.resync if svc.config.resync_mode == "engine" else svc.resync.run
    try:
        result = await run(request_id, ids)
    except ResyncRefused as exc:
        if exc.code not in history.REPLAY_CODES:
            summary = history.refused_summary(ids, exc.code, exc.message)
            await svc.remember("resync", request_id, call.request, summary)
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
    if not result["replayed"]:
        await svc.remember("resync", request_id, call.request, history.resync_summary(result))
        await svc.causes.catch_up()
    return JSON(result)


async def post_job(svc: Service, call: Call) -> JSON:
    body: ResyncJobRequest = call.body
    actor = history.actor_of(call.request)
    try:
        job, made = await svc.jobs.create(body.request_id, body.error_ids, actor)
    except JobRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
    return JSON({**job, "replayed": not made}, 202 if made else 200)


async def get_jobs(svc: Service, call: Call) -> JSON:
    return JSON({"jobs": await svc.jobs.recent()})


async def get_job(svc: Service, call: Call) -> JSON:
    job_id, cursor, limit = call.path["job_id"], call.query["cursor"], call.query["limit"]
    try:
        return JSON(await svc.jobs.view(job_id, cursor, limit))
    except JobRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc


async def cancel_job(svc: Service, call: Call) -> JSON:
    try:
        return JSON(await svc.jobs.cancel(call.path["job_id"], history.actor_of(call.request)))
    except JobRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
