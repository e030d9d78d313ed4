"""Handlers of ignores: ignore errors or a cause, list the ignores, unignore
(``tui/service/ignores.py`` checks the bodies and does the work)."""

from __future__ import annotations

from tui.core.models import IgnoreList, IgnoreResult
from tui.service import history
from tui.service.api.inputs import ascii_int
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.ignores import IgnoreRefused


async def post_ignore(svc: Service, call: Call) -> JSON:
    try:
        result = await svc.ignores.ignore(call.body, history.actor_of(call.request))
    except IgnoreRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
    return JSON(IgnoreResult.model_validate(result))


async def post_unignore(svc: Service, call: Call) -> JSON:
    try:
        result = await svc.ignores.unignore(call.body, history.actor_of(call.request))
    except IgnoreRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
    return JSON(IgnoreResult.model_validate(result))


async def get_ignores(svc: Service, call: Call) -> JSON:
    await svc.ignores.expire()
    return JSON(
        IgnoreList.model_validate({"ignores": await svc.ignores.active(call.query["limit"])})
    )


async def delete_ignore(svc: Service, call: Call) -> JSON:
    raw: str = call.path["ignore_id"]
    ignore_id = ascii_int(raw)
    if ignore_id is None or ignore_id < 0:
        raise ApiProblem(404, "not_found", f"No ignore has the id {raw!r}.")
    try:
        result = await svc.ignores.unignore_all_of(ignore_id, history.actor_of(call.request))
    except IgnoreRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from exc
    return JSON(IgnoreResult.model_validate(result))
