"""Muting a cause from the causes view (``C``, then ``m``): Pilot on the embedded demo,
the mute asked of and kept by the real service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from clock import Clock
from modal_host import Host
from notify_env import NotifyEnv, at
from test_console_causes import goto, open_causes
from textual.widgets import DataTable, OptionList, Static

from tui import i18n
from tui.embedded import open_data_session
from tui.screens.causes import CausesScreen
from tui.screens.mute import DURATIONS, UNMUTE, MuteScreen, duration_label
from tui.text.timefmt import in_zone


def test_durations_read_as_hours_and_days() -> None:
    assert [duration_label(m) for m in DURATIONS] == [
        "For 1 hour",
        "For 8 hours",
        "For 1 day",
        "For 7 days",
    ]
    try:
        i18n.set_lang("ja")
        assert duration_label(60) == "1 時間" and duration_label(7 * 24 * 60) == "7 日間"
    finally:
        i18n.set_lang("en")


async def test_m_mutes_the_cause_for_the_chosen_time_then_unmutes(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_causes(app, pilot, wait_ready)
        cause = await goto(pilot, screen, "picklist.restricted_value", "Contact")
        await pilot.press("m")
        await wait_ready(pilot, lambda: isinstance(app.screen, MuteScreen))
        options = app.screen.query_one(OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(4)] == [
            "For 1 hour",
            "For 8 hours",
            "For 1 day",
            "For 7 days",
        ]
        assert options.option_count == 4  # not muted yet: no "Unmute now"
        await pilot.press("down", "down", "enter")  # for 1 day
        await wait_ready(pilot, lambda: isinstance(app.screen, CausesScreen))
        await wait_ready(pilot, lambda: cause.cause in screen.mutes)
        mutes = await app.session.cause_mutes()
        mute = mutes[cause.cause]
        assert (mute.until - mute.muted_at).total_seconds() == 24 * 3600
        table = screen.query_one(DataTable)
        cell = table.get_cell(cause.cause, "muted")
        assert str(cell) == in_zone(mute.until).strftime("%Y-%m-%d %H:%M %Z")  # the user's zone

        await pilot.press("m")  # muted: the dialog says until when and offers to unmute
        await wait_ready(pilot, lambda: isinstance(app.screen, MuteScreen))
        options = app.screen.query_one(OptionList)
        assert options.option_count == 5
        assert str(options.get_option_at_index(4).prompt) == "Unmute now"
        await pilot.press("end", "enter")
        await wait_ready(pilot, lambda: cause.cause not in screen.mutes)
        assert await app.session.cause_mutes() == {}
        assert str(table.get_cell(cause.cause, "muted")) == ""


async def test_escape_leaves_the_mute_as_it_was(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_causes(app, pilot, wait_ready)
        await goto(pilot, screen, "picklist.restricted_value", "Contact")
        await pilot.press("m")
        await wait_ready(pilot, lambda: isinstance(app.screen, MuteScreen))
        await pilot.press("escape")
        await wait_ready(pilot, lambda: isinstance(app.screen, CausesScreen))
        assert await app.session.cause_mutes() == {}


async def test_a_refused_mute_says_why_and_changes_nothing(tmp_path: Path) -> None:
    """A service that refuses the mute (another version, stricter): the reason shows,
    as typed, and the cause stays unmuted. SQLite only: about what the console shows
    (mutes on both engines are tests/test_notify_alerts.py's)."""
    env = await NotifyEnv(tmp_path / "ledger.sqlite3", Clock(at("2025-06-16T09:00"))).start()
    refusal = "minutes: [bold]mutes[/] are off on this service"
    real = env.service.asgi

    async def stricter(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            body = orjson.dumps({"error": {"code": "invalid_mute", "message": refusal}})
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 422, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await real(scope, receive, send)

    console = await open_data_session(
        url="http://synchealth.test",
        transport=httpx.ASGITransport(app=stricter),
        cache_path=tmp_path / "cache.sqlite3",
    )
    try:
        await env.report(2, "picklist")
        screen = CausesScreen(console, set())
        host = Host(screen)
        async with host.run_test(size=(140, 40)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("m")
            await pilot.pause()
            assert isinstance(host.screen, MuteScreen)
            await pilot.press("enter")  # for 1 hour
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            said = [n.message for n in host._notifications]
            [message] = said
            assert message.startswith("Not changed: ") and message.endswith(refusal)
            assert screen.mutes == {}
            cause = screen.causes[0].cause
            assert str(screen.query_one(DataTable).get_cell(cause, "muted")) == ""
        assert await console.cause_mutes() == {}
    finally:
        await console.close()
        await env.stop()


async def test_the_mute_dialog_in_japanese_offers_to_unmute_a_muted_cause() -> None:
    from zoneinfo import ZoneInfo

    from tui.text.timefmt import set_zone

    until = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)
    try:
        i18n.set_lang("ja")
        set_zone(ZoneInfo("Asia/Tokyo"))  # the user's zone, not UTC (issue 12)
        screen = MuteScreen("Contact: [red]Tier[/]: <value>", until)
        host = Host(screen)
        async with host.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            options = screen.query_one(OptionList)
            prompts = [str(options.get_option_at_index(i).prompt) for i in range(5)]
            assert prompts == ["1 時間", "8 時間", "1 日間", "7 日間", "今すぐミュートを解除"]
            said = str(screen.query_one("#state", Static).render())
            assert said == "2025-03-11 18:00 JSTまでミュート中。"
            assert (
                str(screen.query_one("#cause", Static).render()) == "Contact: [red]Tier[/]: <value>"
            )
            await pilot.press("end", "enter")
            await pilot.pause()
    finally:
        i18n.set_lang("en")
        set_zone(None)
    assert host.result == UNMUTE
