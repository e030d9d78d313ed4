"""Handlers of resyncs and resync jobs."""

from __future__ import annotations

from pydantic import ValidationError

from tui.data.models import MAX_JOB_IDS, MAX_RESYNC_IDS, ResyncJobRequest, ResyncRequest
from tui.service import history
from tui.service.api.inputs import explain
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.jobs import JobRefused
from tui.service.resync import ResyncRefused


def _refuse(exc: ValidationError, what: str, most: int, more: str) -> ApiProblem:
    for err in exc.errors(include_url=False):
        if err["loc"] == ("error_ids",) and err["type"] == "too_long":
            got = err.get("ctx", {}).get("actual_length", 0)
            words = f"One {what} takes from 1 to {most:,} error ids, got {got:,}. {more}"
            return ApiProblem(422, "too_many_errors", words)
    return ApiProblem(422, "invalid_resync", f"{explain(exc)}.")


def refuse_resync(exc: ValidationError) -> ApiProblem:
    more = (
        f"Send more as successive requests of at most {MAX_RESYNC_IDS}, or as one resync "
        "job (POST /v1/resync/jobs)."
    )
    return _refuse(exc, "resync", MAX_RESYNC_IDS, more)


def refuse_job(exc: ValidationError) -> ApiProblem:
    return _refuse(exc, "job", MAX_JOB_IDS, f"Split them into jobs of at most {MAX_JOB_IDS:,}.")


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
        return JSON(await svc.jobs.cancel(call.path["job_id"]))
    except JobRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
