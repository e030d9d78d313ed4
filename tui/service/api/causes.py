"""Handlers of the causes (errors grouped by message shape) and the doctor's checks."""

from __future__ import annotations

from pydantic import ValidationError

from tui.core.doctor_models import DoctorRequest
from tui.core.models import CauseErrors, CausePage, CauseSummary
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call


async def get_causes(svc: Service, call: Call) -> JSON:
    await svc.ignores.expire()
    causes, total = await svc.causes.page(call.query["limit"], call.query["offset"])
    summaries = [CauseSummary.model_validate(c, from_attributes=True) for c in causes]
    return JSON(CausePage(causes=summaries, total=total))


async def get_cause(svc: Service, call: Call) -> JSON:
    cause: str = call.path["cause"]
    ids = await svc.causes.open_error_ids(cause)
    if ids is None:
        raise ApiProblem(404, "not_found", f"No error has the cause {cause!r}.")
    return JSON(CauseErrors(cause=cause, error_ids=ids))


def refuse_doctor(exc: ValidationError) -> ApiProblem:
    return ApiProblem(
        422,
        "invalid_doctor",
        'Send {"send_test": true} to run the checks with a test message on each '
        "enabled channel (GET /v1/doctor runs them without one).",
    )


async def get_doctor(svc: Service, call: Call) -> JSON:
    return JSON(await svc.doctor.run())


async def post_doctor(svc: Service, call: Call) -> JSON:
    body: DoctorRequest = call.body
    return JSON(await svc.doctor.run(send_test=body.send_test))
