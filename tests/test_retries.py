"""Automatic retries (issue 10, point 4 and the end-to-end case of point 5): the policy
API, what is due when, the budget ceiling that pauses them and usage falling that
resumes them, with a notification each way. Real app and ledger (each engine), the
simulated org behind the real connector; the retry rounds are run one at a time (``tick``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_harness import ledger_rows
from test_ingest import T0, Clock, Env, close_env, open_env
from test_resync_jobs import live_ids

from tui.core.sobjects import KEY_PREFIX
from tui.service.db import PostgresTarget
from tui.simorg.demo import demo_org_state
from tui.simorg.ids import make_id


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget) -> AsyncIterator[Env]:
    """The service on an empty ledger (each engine), its loops left to the test."""
    e = await quiet_env(ledger_target)
    yield e
    await close_env(e)


async def quiet_env(db: Path | PostgresTarget, **options: Any) -> Env:
    """A service on ``db`` whose notifier and retry rounds run only when a test asks."""
    return await open_env(db, demo_org_state(7), Clock(T0), notify_interval=None,
                          retry_interval=None, **options)  # fmt: skip


def validation_failure(sf_id: str, k: int, at: str = "2025-03-10T12:00:00Z") -> dict[str, Any]:
    """A Contact a validation rule refused (custom_code: a Salesforce-side cause)."""
    return {"object_type": "contact", "record_id": f"v{k}", "occurred_at": at,
            "salesforce": {"object": "Contact", "id": sf_id, "fields": {"Title": "Buyer"}},
            "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                        "message": "Title is required for buyers", "fields": []}]}  # fmt: skip


async def report_deleted(env: Env, n: int) -> list[int]:
    """Contacts deleted in Salesforce (permissions type): every retry fails again."""
    items = []
    for k in range(1, n + 1):
        sf_id = make_id(KEY_PREFIX["Contact"], env.org.deleted_counter(k))
        items.append(
            {
                **validation_failure(sf_id, 100 + k),
                "errors": [
                    {
                        "statusCode": "ENTITY_IS_DELETED",
                        "message": "entity is deleted",
                        "fields": [],
                    }
                ],
            }
        )
    return (await env.ingest(items))["error_ids"]


async def report(env: Env, n: int, at: str = "2025-03-10T12:00:00Z") -> list[int]:
    items = [validation_failure(sf_id, k, at) for k, sf_id in enumerate(live_ids(env.org, n))]
    return (await env.ingest(items))["error_ids"]


async def policy(env: Env, **change: Any) -> dict[str, Any]:
    current = (await env.client.get("/v1/retries")).json()
    body = {k: v for k, v in current.items() if k not in ("paused", "paused_since")} | change
    answer = await env.client.put("/v1/retries", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def outbox_kinds(env: Env) -> list[str]:
    return [r[0] for r in await ledger_rows(env.db, "SELECT kind FROM notify_outbox ORDER BY id")]


async def test_the_default_policy_is_hubspots_and_off(env: Env) -> None:
    body = (await env.client.get("/v1/retries")).json()
    assert body == {"enabled": False, "every_minutes": 20, "max_attempts": 10,
                    "nightly_at": "02:00",
                    "types": ["association", "custom_code", "permissions", "other"],
                    "ceiling_percent": 75, "paused": False, "paused_since": None}  # fmt: skip
    (error_id,) = await report(env, 1)
    assert (await env.detail(error_id))["next_retry"] == {"at": None, "reason": "off"}
    assert await env.service.retries.tick() == 0


@pytest.mark.parametrize(("change", "says"), [
    ({"ceiling_percent": 0}, "ceiling_percent: Input should be greater than or equal to 1"),
    ({"every_minutes": 1}, "every_minutes: Input should be greater than or equal to 5"),
    ({"nightly_at": "25:00"}, "nightly_at: use HH:MM on a 24-hour clock"),
    ({"types": ["spam"]}, "types.0: Input should be 'association'"),
    ({"enabled": "yes"}, "enabled: Input should be a valid boolean"),
    ({"extra": 1}, "extra: there is no such setting"),
])  # fmt: skip
async def test_a_bad_policy_is_refused_by_field(env: Env, change: dict, says: str) -> None:
    body = {"enabled": True, **change}
    answer = await env.client.put("/v1/retries", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_retries"
    assert says in answer.json()["error"]["message"]


async def test_due_errors_are_retried_and_others_say_when_or_why_not(env: Env) -> None:
    await policy(env, enabled=True)
    due = await report(env, 3)  # last seen 12:00; now 12:30: due after 20 minutes
    late = validation_failure(live_ids(env.org, 4)[3], 9, "2025-03-10T12:25:00Z")
    fresh = (await env.ingest([late]))["error_ids"]
    picklist = {
        **validation_failure(live_ids(env.org, 5)[4], 10),
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "bad value for restricted picklist field: Web",
                "fields": ["LeadSource"],
            }
        ],
    }
    (data_error,) = (await env.ingest([picklist]))["error_ids"]  # fmt: skip
    assert await env.service.retries.tick() == 3
    for error_id in due:
        history = (await env.detail(error_id))["history"]
        assert history[-1]["request_id"].startswith("retry-2025-03-10T12:30:00Z")
    assert (await env.detail(fresh[0]))["next_retry"] == {
        "at": "2025-03-10T12:45:00Z", "reason": "scheduled"}  # fmt: skip
    assert (await env.detail(data_error))["next_retry"]["reason"] == "type_not_retried"
    assert await env.service.retries.tick() == 0  # just retried: not due again yet


async def test_after_the_last_attempt_retries_wait_for_the_night(env: Env) -> None:
    await policy(env, enabled=True, max_attempts=1)
    (error_id,) = await report(env, 1)
    assert (await env.detail(error_id))["next_retry"] == {
        "at": "2025-03-11T02:00:00Z", "reason": "scheduled"}  # fmt: skip
    assert await env.service.retries.tick() == 0
    env.clock.now = T0.replace(day=11, hour=2, minute=1)
    assert await env.service.retries.tick() == 1


async def test_retries_pause_at_the_ceiling_and_resume_when_usage_falls(env: Env) -> None:
    await env.client.put(
        "/v1/notifications",
        json={"enabled": True, "email": {"enabled": True, "recipients": ["ops@example.com"]}},
    )
    await env.service.usage.set_allocated(4)  # ceiling 75%: 3 calls
    await policy(env, enabled=True)
    ids = await report_deleted(env, 5)
    first = await env.client.post("/v1/resync", json={"error_ids": ids[:1], "request_id": "a"})
    second = await env.client.post("/v1/resync", json={"error_ids": ids[1:2], "request_id": "b"})
    assert first.status_code == second.status_code == 200
    # 2 of 4 calls used: 1 call left under the ceiling, for up to 200 errors; the two
    # just resynced by hand are not due yet
    assert await env.service.retries.tick() == 3
    assert await env.service.usage.used() == 3  # 3 of 4: the 75% ceiling is reached
    status = (await env.client.get("/v1/retries")).json()
    assert status["paused"] is True and status["paused_since"] == "2025-03-10T12:30:00Z"
    env.clock.now = T0 + timedelta(minutes=30)
    assert await env.service.retries.tick() == 0  # the two others are due, but paused
    assert (await env.client.get("/v1/usage")).json()["retries_paused"] is True
    assert (await env.detail(ids[0]))["next_retry"]["reason"] == "paused_for_budget"
    assert await outbox_kinds(env) == ["retries_paused"]
    ((subject, body),) = await ledger_rows(env.db, "SELECT subject, body FROM notify_outbox")
    assert subject.startswith("[synchealth] Automatic retries paused at 75% of the allocation")
    assert "3 of\n4 calls used" in body
    assert await env.service.retries.tick() == 0 and await outbox_kinds(env) == ["retries_paused"]
    # a day later the calls have left the 24-hour window: usage fell, retries resume
    env.clock.now = T0 + timedelta(hours=25)
    assert await env.service.retries.tick() == 5
    assert (await env.client.get("/v1/retries")).json()["paused"] is False
    assert await outbox_kinds(env) == ["retries_paused", "retries_resumed"]


async def test_the_console_shows_the_next_retry_and_the_paused_gauge(env: Env) -> None:
    from textual.app import App, ComposeResult

    from tui import i18n
    from tui.data.client import ServiceClient
    from tui.widgets.detail import error_text
    from tui.widgets.usage import UsageGauge

    await policy(env, enabled=True)
    (error_id,) = await report(env, 1)
    client = ServiceClient(
        "http://synchealth.test", transport=httpx.ASGITransport(app=env.service.asgi)
    )
    try:
        detail = await client.error(error_id)
        assert detail is not None
        assert "Automatic retry: next at 2025-03-10 12:20 UTC" in error_text(detail, detail).plain
        i18n.set_lang("ja")
        try:
            assert "自動再試行: 次回 2025-03-10 12:20 UTC" in error_text(detail, detail).plain
        finally:
            i18n.set_lang("en")
        await env.service.usage.set_allocated(0)  # any use is over the ceiling
        await env.service.retries.tick()
        usage = await client.usage()
    finally:
        await client.aclose()
    assert usage.retries_paused

    class GaugeHost(App[None]):
        def compose(self) -> ComposeResult:
            yield UsageGauge()

    host = GaugeHost()
    async with host.run_test(size=(120, 4)) as pilot:
        gauge = host.query_one(UsageGauge)
        gauge.show(usage)
        await pilot.pause()
        assert "automatic retries paused (budget)" in str(gauge.render())
        gauge.show(usage.model_copy(update={"retries_paused": False}))
        await pilot.pause()
        assert "retries paused" not in str(gauge.render())


async def test_the_retries_dialog_loads_edits_and_saves_the_policy(env: Env) -> None:
    from modal_host import UNSET, Host
    from textual.widgets import Button, Checkbox, Input, Static, Switch

    from tui.data.client import ServiceClient
    from tui.screens.retries import RetriesScreen

    client = ServiceClient(
        "http://synchealth.test", transport=httpx.ASGITransport(app=env.service.asgi)
    )
    screen = RetriesScreen(client)
    host = Host(screen)
    try:
        async with host.run_test(size=(100, 50)) as pilot:
            for _ in range(100):
                await pilot.pause()
                if screen.status is not None:
                    break
            assert screen.query_one("#enabled", Switch).value is False
            assert screen.query_one("#every", Input).value == "20"
            assert screen.query_one("#type-custom_code", Checkbox).value is True
            assert screen.query_one("#type-picklist", Checkbox).value is False
            screen.query_one("#enabled", Switch).value = True
            screen.query_one("#ceiling", Input).value = "150"
            screen.query_one("#save", Button).press()
            for _ in range(100):
                await pilot.pause()
                if "ceiling_percent" in str(screen.query_one("#message", Static).render()):
                    break
            assert "less than or equal to 100" in str(screen.query_one("#message", Static).render())
            screen.query_one("#ceiling", Input).value = "60"
            screen.query_one("#type-picklist", Checkbox).value = True
            screen.query_one("#save", Button).press()
            for _ in range(100):
                await pilot.pause()
                if host.result is not UNSET:
                    break
            assert host.result is not None and host.result.ceiling_percent == 60
    finally:
        await client.aclose()
    saved = (await env.client.get("/v1/retries")).json()
    assert saved["enabled"] is True and saved["ceiling_percent"] == 60
    assert "picklist" in saved["types"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_delivery_kind_has_a_name_in_the_console(lang: str) -> None:
    """The notifications dialog names each delivery's kind, the retry notices included."""
    from typing import get_args

    from tui import i18n
    from tui.core.notify_models import DeliveryKind

    names = i18n.strings(lang)
    for kind in get_args(DeliveryKind):
        assert f"modals.notifications.kind_{kind}" in names, kind


async def test_in_engine_mode_an_error_waiting_for_the_engine_is_not_asked_again(
    ledger_target: Path | PostgresTarget,
) -> None:
    env = await quiet_env(ledger_target, resync_mode="engine")
    try:
        await policy(env, enabled=True)
        (error_id,) = await report(env, 1)
        assert await env.service.retries.tick() == 1  # asks the engine
        env.clock.now = T0 + timedelta(hours=1)
        assert await env.service.retries.tick() == 0  # still waiting for it: not asked again
        history = (await env.detail(error_id))["history"]
        assert [h["outcome"] for h in history] == ["failed", "requested"]
    finally:
        await close_env(env)
