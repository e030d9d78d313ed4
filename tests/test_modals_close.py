"""Every dialog of the console, opened from its key in the running app, closes with
Escape and with its Cancel (or Close) button: the console never traps the admin."""

from __future__ import annotations

import pytest
from textual.screen import ModalScreen
from textual.widgets import Button

from tui.screens.health import HealthScreen

WIDE = (160, 50)

#: key that opens the dialog from the main screen -> the button that leaves it
DIALOGS = {
    "e": "#cancel",  # export
    "a": "#cancel",  # allocation
    "n": "#cancel",  # notifications
    "question_mark": "#close",  # help
    "r": "#cancel",  # resync confirmation (the cursor row)
    "H": "#close",  # history
    "t": "#close",  # type overview
    "R": "#cancel",  # automatic retries
    "D": "#close",  # doctor
    "u": "#close",  # API calls breakdown
    "C": "#close",  # causes
}


async def _open(pilot, key: str) -> ModalScreen:
    app = pilot.app
    await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ModalScreen), f"{key} opened no dialog"
    return app.screen


@pytest.mark.parametrize("key", sorted(DIALOGS))
async def test_escape_closes_the_dialog(make_app, wait_ready, key) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        await _open(pilot, key)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HealthScreen), f"escape left {app.screen} open"


@pytest.mark.parametrize("key", sorted(DIALOGS))
async def test_cancel_button_closes_the_dialog(make_app, wait_ready, key) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        dialog = await _open(pilot, key)
        button = dialog.query_one(DIALOGS[key], Button)
        # as a person does it: tab until the button has the focus, then enter
        for _ in range(40):
            if app.focused is button:
                break
            await pilot.press("tab")
        assert app.focused is button
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HealthScreen), f"{DIALOGS[key]} left {app.screen} open"


@pytest.mark.parametrize("leave", ["escape", "#cancel"])
async def test_the_records_views_copy_dialog_closes(make_app, wait_ready, leave) -> None:
    from tui.screens.records import RecordsScreen

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        await pilot.press("v")
        await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
        records = app.screen
        await wait_ready(pilot, lambda: records.grid.row_at_cursor() is not None)
        dialog = await _open(pilot, "c")
        if leave == "escape":
            await pilot.press("escape")
        else:
            button = dialog.query_one(leave, Button)
            for _ in range(20):
                if app.focused is button:
                    break
                await pilot.press("tab")
            assert app.focused is button
            await pilot.press("enter")
        await pilot.pause()
        assert app.screen is records
