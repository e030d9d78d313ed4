"""The help screen lists the bindings it is given and closes on escape or ?."""

from __future__ import annotations

import pytest
from modal_host import Host
from textual.widgets import DataTable, Static

from tui import i18n
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
            assert i18n.t(f"modals.help.{part}") in notes
        await pilot.press(key)
        await pilot.pause()
    assert host.result is None
