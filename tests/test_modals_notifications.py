"""The notification settings dialog against a real embedded session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Button, RadioSet, Switch

from tui.data.models import NotificationSettings
from tui.data.session import DataSession
from tui.screens.notifications import NotificationsScreen

UNSET = object()


class Host(App[None]):
    """Pushes one modal and keeps what it dismisses with."""

    def __init__(self, modal: Any) -> None:
        super().__init__()
        self.modal = modal
        self.result: Any = UNSET

    def on_mount(self) -> None:
        self.push_screen(self.modal, callback=self._done)

    def _done(self, result: Any) -> None:
        self.result = result


@pytest.fixture
async def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    opened = await DataSession.open(cache_path=tmp_path / "cache.sqlite3", demo_size=2000)
    await opened.refresh()
    yield opened
    await opened.close()


async def test_settings_load_edit_by_keyboard_save_and_read_back(session) -> None:
    before = await session.notifications()
    target = "weekly" if before.frequency != "weekly" else "immediate"
    screen = NotificationsScreen(session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await host.workers.wait_for_complete()
        await pilot.pause()
        switch = screen.query_one("#enabled", Switch)
        assert host.focused is switch and switch.value == before.enabled
        if not before.enabled:
            await pilot.press("space")
        assert switch.value and not screen.query_one("#frequency", RadioSet).disabled
        await pilot.press("tab")  # into the frequency set, on the selected option
        radio = screen.query_one("#frequency", RadioSet)
        assert host.focused is radio
        order = ("immediate", "daily", "weekly")
        steps = (order.index(target) - order.index(before.frequency)) % len(order)
        await pilot.press(*["down"] * steps)
        await pilot.press("space", "tab", "tab")  # pick it, then Cancel -> Save
        assert host.focused is screen.query_one("#save", Button)
        await pilot.press("enter")
        await host.workers.wait_for_complete()
        await pilot.pause()
    assert isinstance(host.result, NotificationSettings)
    assert (host.result.enabled, host.result.frequency) == (True, target)
    again = await session.notifications()
    assert (again.enabled, again.frequency) == (True, target)
    assert again.channels == before.channels


async def test_escape_cancels_and_changes_nothing(session) -> None:
    before = await session.notifications()
    screen = NotificationsScreen(session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await host.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("space", "escape")
        await pilot.pause()
    assert host.result is None
    assert await session.notifications() == before
