"""Handlers of the engine-mode queue: the sync engine leases and releases requests."""

from __future__ import annotations

from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.engine import EngineRefused


async def lease(svc: Service, call: Call) -> JSON:
    return JSON(await svc.engine.lease(call.query["lease"], call.query["limit"]))


async def release(svc: Service, call: Call) -> JSON:
    try:
        return JSON(await svc.engine.release(call.path["request_id"]))
    except EngineRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
