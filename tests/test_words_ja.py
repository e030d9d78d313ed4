"""A Japanese session speaks Japanese: no English word on any screen or dialog but the
names that stay as they are (Salesforce, CRM, API...) and the data itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_session import Stack
from textual.screen import ModalScreen
from textual.widgets import Input

from tui import i18n
from tui.data.cache import ViewFilter
from tui.screens.health import DETAIL_DELAY
from tui.simorg.demo import ORG_NAME
from tui.widgets.detail import DetailPane
from tui.widgets.errorgrid import ErrorGrid

WIDE = (160, 50)
#: Names and notations a Japanese screen keeps in Latin letters.
ALLOWED = {
    "Salesforce", "CRM", "API", "CSV", "ID", "IDs", "SF", "SOQL", "Sync", "Health", "synchealth",
    "Webhook", "SMTP", "URL", "JSON", "Slack", "Incoming", "BOM", "UTF", "Excel",
    "Esc", "esc", "Enter", "Tab", "ctrl", "shift", "space", "HH", "MM", "UTC", "English",
    "lang", "ja", "en", "config", "toml", "keymap", "docs", "notifications", "md",
    "Asia", "Tokyo", "admin", "example", "com", "ops",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
#: A word cut short by a narrow column ("Sta…"): data, compared by its beginning.
CUT = re.compile(r"([A-Za-z][A-Za-z']*)…")


def _stray_words(app, allowed: set[str]) -> set[str]:
    """Latin words on screen that are neither allowed nor data; a dialog is read alone,
    without the screen behind it."""
    strips = app.screen._compositor.render_strips()
    if isinstance(app.screen, ModalScreen):
        region = app.screen.children[0].region
        strips = [s.crop(region.x, region.right) for s in strips[region.y : region.bottom]]
    text = "\n".join(strip.text for strip in strips)
    cut = {w for w in CUT.findall(text) if any(a.startswith(w) for a in allowed)}
    return set(WORD.findall(CUT.sub(" ", text))) - allowed - cut


async def _data_words(session) -> set[str]:
    """Every Latin word of the errors the console shows: names, messages, codes, ids."""
    ids = list(await session.view_ids(ViewFilter(status=None), "id", False))
    rows = await session.rows(ids)
    words: set[str] = set()
    for row in rows.values():
        for value in (row.record_name, row.message, row.sf_code, row.sf_id or "",
                      row.record_id, row.sf_object, " ".join(row.fields)):  # fmt: skip
            words.update(WORD.findall(value))
    return words


@pytest.fixture
def japanese():
    i18n.set_lang("ja")
    yield
    i18n.set_lang("en")


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
async def test_every_screen_and_dialog_in_japanese_has_no_stray_english(
    make_app, wait_ready, japanese, size: tuple[int, int]
) -> None:
    from tui.screens.export import ExportScreen
    from tui.screens.records import RecordsScreen

    app = make_app(lang="ja")
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot, lambda: app.screen.query_one("ErrorGrid").total > 0)
        allowed = ALLOWED | await _data_words(app.session) | set(WORD.findall(ORG_NAME))
        seen: dict[str, set[str]] = {}

        async def look(name: str, *more: str) -> None:
            await wait_ready(pilot)
            seen[name] = _stray_words(app, allowed | set(WORD.findall(" ".join(more))))

        await look("main")
        grid = app.screen.query_one(ErrorGrid)
        grid.focus()
        await pilot.press("j", "j")  # a row: the detail pane explains one error
        await pilot.pause(DETAIL_DELAY * 3)
        await look("main, a row")
        await pilot.press("question_mark")  # binding ids and key names are what config.toml takes
        keys = (binding.key for _node, binding in app.all_bindings(app.main_screen))
        await look("help", *(f"{b[0]} {b[1]}" for b in app.screen.bindings), *keys)
        app.pop_screen()
        for key, name in (("a", "allocation"), ("n", "notifications")):
            await pilot.press(key)
            await look(name)
            app.pop_screen()
        await pilot.press("e")
        await wait_ready(pilot, lambda: isinstance(app.screen, ExportScreen))
        await look("export", app.screen.query_one(Input).value)  # the file's path
        app.pop_screen()
        await pilot.press("r")
        await look("resync confirm")
        await pilot.press("y")
        await wait_ready(pilot, lambda: getattr(app.screen, "finished", False))
        await look("resync summary")
        app.pop_screen()
        await pilot.press("v")
        await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
        await look("records")
    stray = {name: sorted(words) for name, words in seen.items() if words}
    assert stray == {}, stray


async def test_crm_objects_are_named_in_japanese(make_app, wait_ready, japanese) -> None:
    from tui.screens.records import RecordsScreen

    names = {"contact": "コンタクト", "company": "会社", "deal": "取引", "task": "タスク"}
    app = make_app(lang="ja")
    async with app.run_test(size=WIDE) as pilot:
        grid = app.screen.query_one(ErrorGrid)
        await wait_ready(pilot, lambda: grid.total > 0)
        grid.focus()
        await pilot.press("j")
        await pilot.pause(DETAIL_DELAY * 3)
        await wait_ready(pilot)
        row = grid.row_at_cursor()
        shown = app.screen.query_one(DetailPane).shown.plain
        assert f"CRM: {names[row.object_type]} {row.record_name}" in shown
        await pilot.press("v")
        await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
        table = app.screen.grid
        lines = [table.render_line(y).text for y in range(1, min(table.size.height, 20))]
        assert any(name in line for line in lines for name in names.values()), lines
        assert not any(re.search(r"\b(contact|company|deal|task)\b", line) for line in lines)


async def test_an_allocation_refusal_reads_in_japanese(tmp_path: Path, japanese) -> None:
    """SQLite only: about the words (the refusal on both engines is test_session's)."""
    stack = await Stack.opened(tmp_path, tmp_path / "ledger.sqlite3")
    session = await stack.session()
    try:
        await session.refresh()
        usage = await session.usage()
        await session.set_allocation(usage.used)  # nothing left to spend
        ids = list(await session.view_ids(ViewFilter(), "id", False))[:5]
        summary = await session.resync(ids)
        assert summary.refused == i18n.strings("ja")["main.service.allocation_exceeded"]
    finally:
        await session.close()
        await stack.service.stop()
