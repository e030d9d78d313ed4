"""The notification settings dialog against a real embedded session."""

from __future__ import annotations

from modal_host import Host, own_session
from textual.widgets import Button, RadioSet, Switch

from tui.data.models import NotificationSettings
from tui.screens.notifications import NotificationsScreen

session = own_session  # a ledger of its own: these tests change data


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
