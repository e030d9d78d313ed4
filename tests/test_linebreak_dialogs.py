"""Every paragraph the console shows in Japanese, on the main screen and in every dialog,
at 80x24 and 60x20: no line starts with closing punctuation, no Latin word is split
(issue 12, point 7), whatever widget draws it."""

from __future__ import annotations

import re

import pytest
from textual.geometry import Region
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from tui import i18n
from tui.screens.records import RecordsScreen

CLOSING = "、。，．)）」』】〕〉》］｝!?！？"
DIALOG_KEYS = ["e", "a", "n", "R", "D", "u", "C", "H", "t", "question_mark", "r"]
WORD_END = re.compile(r"[A-Za-z0-9]+$")
WORD_START = re.compile(r"^[A-Za-z0-9]+")


def bad_lines(screen: Screen) -> list[str]:
    """Lines of the screen's paragraphs that start with closing punctuation or split a word."""
    found = []
    for widget in screen.query(Static):
        if not widget.region.area or not isinstance(widget, Static | Label):
            continue
        source = str(widget.render())
        if not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", source):
            continue  # not Japanese prose
        width, height = widget.size
        lines = [s.text.strip() for s in widget.render_lines(Region(0, 0, width, height))]
        lines = [line for line in lines if line]
        for before, line in zip(["", *lines], lines, strict=False):
            if line[0] in CLOSING:
                found.append(f"{widget!r}: starts with {line[0]}: {line!r}")
            end, start = WORD_END.search(before), WORD_START.match(line)
            if end and start and end.group() + start.group() in source:
                found.append(f"{widget!r}: splits {end.group()}|{start.group()}")
    return found


async def _open(pilot, key: str) -> ModalScreen:
    app = pilot.app
    await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ModalScreen), f"{key} opened no dialog"
    return app.screen


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_no_japanese_line_starts_with_closing_punctuation_anywhere(
    make_app, wait_ready, size
) -> None:
    app = make_app(lang="ja")
    problems: list[str] = []
    try:
        async with app.run_test(size=size) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            problems += bad_lines(app.screen)
            for key in DIALOG_KEYS:
                dialog = await _open(pilot, key)
                problems += [f"[{key}] {p}" for p in bad_lines(dialog)]
                await pilot.press("escape")
                await pilot.pause()
            await pilot.press("v")  # the records view and its copy dialog
            await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
            records = app.screen
            await wait_ready(pilot, lambda: records.grid.row_at_cursor() is not None)
            problems += bad_lines(records)
            await pilot.press("space", "space")
            dialog = await _open(pilot, "c")
            problems += [f"[v c] {p}" for p in bad_lines(dialog)]
    finally:
        i18n.set_lang("en")
    assert not problems, "\n".join(problems)
