"""Handlers of the notification settings, their status and a test send."""

from __future__ import annotations

from pydantic import ValidationError

from tui.core.invalid import explain
from tui.core.models import NotificationSettings, TestSendRequest
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.notify.notifier import NotConfigured
from tui.service.notify.settings import load_settings, save_settings


def refuse_settings(exc: ValidationError) -> ApiProblem:
    if any(err["loc"] == () for err in exc.errors(include_url=False)):
        return ApiProblem(422, "invalid_notifications", "send the settings as a JSON object.")
    return ApiProblem(422, "invalid_notifications", f"{explain(exc)}.")


def refuse_test_send(exc: ValidationError) -> ApiProblem:
    return ApiProblem(
        422,
        "invalid_test_send",
        f'{explain(exc)}; send {{"channel": "email"}} or {{"channel": "webhook"}}.',
    )


async def get_settings(svc: Service, call: Call) -> JSON:
    return JSON(await load_settings(svc.ledger))


async def put_settings(svc: Service, call: Call) -> JSON:
    settings: NotificationSettings = call.body
    await save_settings(svc.ledger, settings)
    return JSON(settings)


async def get_status(svc: Service, call: Call) -> JSON:
    return JSON(await svc.notifier.status())


async def post_test(svc: Service, call: Call) -> JSON:
    body: TestSendRequest = call.body
    try:
        return JSON(await svc.notifier.test_send(body.channel))
    except NotConfigured as exc:
        raise ApiProblem(409, "channel_not_configured", f"{exc}.") from None
