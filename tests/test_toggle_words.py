"""Every switch, radio button and checkbox of every dialog shows its state by a word or
glyph, not by colour alone, at 80x24 in English and Japanese (issue 12, point 11)."""

from __future__ import annotations

import pytest
from textual.screen import ModalScreen
from textual.widgets import Checkbox, RadioButton, Static, Switch

from tui import i18n
from tui.widgets.toggles import StateCheckbox, StateRadioButton

SMALL = (80, 24)
#: keys that open a dialog from the main screen
DIALOG_KEYS = ["e", "a", "n", "R", "D", "u", "C", "H", "t", "T", "i", "question_mark", "r"]


def word_of(switch: Switch) -> str:
    parent = switch.parent
    assert parent is not None
    (state,) = parent.query(".state").results(Static)
    return str(state.render())


async def _open(pilot, key: str) -> ModalScreen:
    app = pilot.app
    await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ModalScreen), f"{key} opened no dialog"
    return app.screen


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_no_dialog_shows_a_state_by_colour_only(make_app, wait_ready, lang) -> None:
    app = make_app(lang=lang)
    seen = {"switch": 0, "radio": 0, "checkbox": 0}
    try:
        async with app.run_test(size=SMALL) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            for key in DIALOG_KEYS:
                dialog = await _open(pilot, key)
                for switch in dialog.query(Switch):
                    seen["switch"] += 1
                    expected = i18n.t("modals.switch.on" if switch.value else "modals.switch.off")
                    assert word_of(switch) == expected, (key, switch.id)
                for radio in dialog.query(RadioButton):
                    seen["radio"] += 1
                    assert isinstance(radio, StateRadioButton), (key, radio.id)
                    assert ("●" in str(radio.render())) == radio.value, (key, radio.id)
                for box in dialog.query(Checkbox):
                    if isinstance(box, RadioButton):
                        continue
                    seen["checkbox"] += 1
                    assert isinstance(box, StateCheckbox), (key, box.id)
                    assert ("X" in str(box.render())) == box.value, (key, box.id)
                await pilot.press("escape")
                await pilot.pause()
        assert all(seen.values()), seen  # the walk met every kind of control
    finally:
        i18n.set_lang("en")


@pytest.mark.parametrize("key", ["n", "R"])
async def test_a_switch_says_its_new_state_when_toggled(make_app, wait_ready, key) -> None:
    app = make_app(lang="ja")
    try:
        async with app.run_test(size=SMALL) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            dialog = await _open(pilot, key)
            switch = dialog.query_one("#enabled", Switch)
            before = switch.value
            switch.focus()
            await pilot.press("space")
            await pilot.pause()
            assert switch.value is not before
            words = {True: "オン", False: "オフ"}
            assert word_of(switch) == words[switch.value]
            assert dialog.query_one(".word-switch .state", Static).region.area  # on screen
    finally:
        i18n.set_lang("en")


async def test_at_60x20_no_toggle_runs_past_its_dialog(make_app, wait_ready) -> None:
    app = make_app(lang="ja")
    past: list[str] = []
    try:
        async with app.run_test(size=(60, 20)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            for key in DIALOG_KEYS:
                dialog = await _open(pilot, key)
                for box in dialog.query(Checkbox):
                    parent = box.parent
                    assert parent is not None
                    if box.region.right > parent.region.right:
                        past.append(f"[{key}] {box.id}: {box.region} in {parent.region}")
                await pilot.press("escape")
                await pilot.pause()
    finally:
        i18n.set_lang("en")
    assert not past, "\n".join(past)
