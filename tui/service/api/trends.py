"""Handlers of the daily figures (``GET /v1/trends``, ``GET /v1/trends/types``)."""

from __future__ import annotations

from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.trends import TrendRefused, last_day, trend_page, type_trends


async def get_trends(svc: Service, call: Call) -> JSON:
    try:
        end = last_day(call.query["end"], svc.config.clock().date())
        await svc.causes.catch_up()
        page = await trend_page(
            svc.ledger.reader, end, call.query["days"], call.query["type"], call.query["cause"]
        )
    except TrendRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from None
    return JSON(page)


async def get_type_trends(svc: Service, call: Call) -> JSON:
    try:
        end = last_day(call.query["end"], svc.config.clock().date())
    except TrendRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from None
    await svc.causes.catch_up()
    return JSON(await type_trends(svc.ledger.reader, end, call.query["days"]))
