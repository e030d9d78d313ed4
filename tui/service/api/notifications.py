"""Handlers of the notification settings, their status, a test send and muted causes."""

from __future__ import annotations

from pydantic import ValidationError

from tui.core.invalid import explain
from tui.core.notify_models import (
    MUTE_MINUTES_MAX,
    CauseMuteList,
    CauseMuteRequest,
    NotificationSettings,
    TestSendRequest,
)
from tui.service import audit, history
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.notify.mutes import MuteRefused
from tui.service.notify.notifier import NotConfigured
from tui.service.notify.settings import KEY, load_settings


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
    await audit.change_setting(
        svc.ledger,
        svc.config.clock(),
        KEY,
        settings.model_dump(mode="json"),
        before=NotificationSettings().model_dump(mode="json"),
        kind="notifications",
        actor=history.actor_of(call.request),
    )
    return JSON(settings)


async def get_status(svc: Service, call: Call) -> JSON:
    return JSON(await svc.notifier.status())


async def post_test(svc: Service, call: Call) -> JSON:
    body: TestSendRequest = call.body
    try:
        return JSON(await svc.notifier.test_send(body.channel))
    except NotConfigured as exc:
        raise ApiProblem(409, "channel_not_configured", f"{exc}.") from None


def refuse_mute(exc: ValidationError) -> ApiProblem:
    return ApiProblem(
        422, "invalid_mute", f'{explain(exc)}; send {{"minutes": 60}} (1 to {MUTE_MINUTES_MAX}).'
    )


async def get_mutes(svc: Service, call: Call) -> JSON:
    return JSON(CauseMuteList(mutes=await svc.notifier.mutes.active()))


async def put_mute(svc: Service, call: Call) -> JSON:
    body: CauseMuteRequest = call.body
    await svc.causes.catch_up()  # a cause of errors reported a moment ago is known
    try:
        mute = await svc.notifier.mutes.mute(
            call.path["cause"], body.minutes, history.actor_of(call.request)
        )
    except MuteRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from None
    return JSON(mute)


async def delete_mute(svc: Service, call: Call) -> JSON:
    try:
        await svc.notifier.mutes.unmute(call.path["cause"], history.actor_of(call.request))
    except MuteRefused as exc:
        raise ApiProblem(exc.status, exc.code, exc.message) from None
    return JSON(CauseMuteList(mutes=await svc.notifier.mutes.active()))
