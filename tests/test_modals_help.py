"""The help screen lists the bindings it is given and closes on escape or ?."""

from __future__ import annotations

import re

import pytest
from modal_host import Host
from textual.widgets import DataTable, Static

from tui import i18n
from tui.core.limits import RECORDS_PER_CALL
from tui.screens.help import HelpScreen

BINDINGS = [
    ("resync", "r", "Resync marked errors (else the cursor row)"),
    ("export", "e", "Export CSV"),
    ("mark", "space", "Mark / unmark row"),
    ("odd", "[", "A record named [bold]x[/] stays literal"),
]


@pytest.mark.parametrize("key", ["escape", "question_mark"])
async def test_help_lists_every_binding_and_closes(key: str) -> None:
    host = Host(HelpScreen(BINDINGS))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = host.screen.query_one("#keys", DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [[keys, text, bid] for bid, keys, text in BINDINGS]
        notes = " ".join(str(s.render()) for s in host.screen.query(Static))
        for part in ("marks", "batches", "language"):
            assert i18n.t(f"modals.help.{part}", size=RECORDS_PER_CALL) in notes
        await pilot.press(key)
        await pilot.pause()
    assert host.result is None


async def test_at_80x24_every_binding_id_and_key_shows_whole(make_app, wait_ready) -> None:
    """The console's own bindings: the id column was scrolled out of sight ("mark_rang")."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one("#keys", DataTable)
        await pilot.pause()
        assert table.virtual_size.width <= table.size.width  # nothing off to the right
        assert i18n.t("modals.help.col_id") in table.render_line(0).text
        shown = 0
        while table.cursor_row < table.row_count - 1 and shown < 40:
            binding_id = str(table.get_row_at(table.cursor_row)[2])
            drawn = "\n".join(table.render_line(y).text for y in range(table.size.height))
            assert binding_id in drawn, (binding_id, drawn)
            shown += 1
            await pilot.press("down")
        assert shown >= 20


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_help_names_the_batch_size_a_resync_job_uses(lang: str) -> None:
    """It said 100 while the confirmation (and the job) used 200 a batch."""
    i18n.set_lang(lang)
    try:
        host = Host(HelpScreen(BINDINGS))
        async with host.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            notes = " ".join(str(s.render()) for s in host.screen.query(Static))
        said = i18n.t("modals.resync.batches", batches=1, size=RECORDS_PER_CALL)
        assert f"{RECORDS_PER_CALL}" in said and "{" not in notes
        sizes = {int(ja or en) for ja, en in re.findall(r"(\d+)件ずつ|up to (\d+)", notes)}
        assert sizes == {RECORDS_PER_CALL}, notes
    finally:
        i18n.set_lang("en")
