"""The export dialog, writing real CSV files from a real embedded session."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from modal_host import Host
from textual.widgets import Button, Checkbox, Input, RadioButton, Static

from tui import i18n
from tui.data.session import ViewFilter
from tui.screens.export import ExportScreen, default_name

NOW = datetime(2025, 6, 16, 9, 30)


@pytest.fixture
def session(demo_session):
    """Export only reads: the shared demo ledger of conftest is enough."""
    return demo_session


@pytest.fixture
def japanese():
    i18n.set_lang("ja")
    yield
    i18n.set_lang("en")


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


async def _export(
    session, tmp_path: Path, view: ViewFilter, marked: frozenset[int], keys: tuple[str, ...] = ()
) -> tuple[Host, str]:
    screen = ExportScreen(session, view, marked, tmp_path, now=NOW)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        assert host.focused is screen.query_one("#path", Input)
        await pilot.press("enter")
        await host.workers.wait_for_complete()
        await pilot.pause()
        assert host.screen is screen  # the dialog says what it wrote before closing
        done = str(screen.query_one("#message", Static).render())
        await pilot.press("enter")  # focus is on Close
        await pilot.pause()
    return host, done


def test_default_name_names_scope_and_minute() -> None:
    assert default_name("marked", NOW) == "synchealth-errors-marked-20250616-0930.csv"


async def test_export_of_this_view_in_japanese_writes_a_bom(session, tmp_path, japanese) -> None:
    view = ViewFilter(type="picklist")
    host, done = await _export(session, tmp_path, view, frozenset())
    path = tmp_path / default_name("view", NOW)
    expected = await session.count(view)
    assert expected > 0 and host.result == expected
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(_rows(path)) == expected + 1  # header
    assert f"{expected:,}" in done and str(path) in done


async def test_export_of_marked_rows_in_english_has_no_bom(session, tmp_path) -> None:
    marked = frozenset(list(await session.view_ids(ViewFilter()))[:7])
    # Input -> scope set; down moves to "marked", enter picks it; shift+tab returns to the path.
    host, _ = await _export(
        session, tmp_path, ViewFilter(), marked, keys=("shift+tab", "down", "enter", "tab")
    )
    path = tmp_path / default_name("marked", NOW)
    assert host.result == 7
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert {int(row[0]) for row in _rows(path)[1:]} == set(marked)


async def test_unwritable_path_shows_the_error_and_the_dialog_stays(session, tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, not a folder")
    target = blocker / "errors.csv"
    screen = ExportScreen(session, ViewFilter(), frozenset(), tmp_path, now=NOW)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not screen.query_one("#bom", Checkbox).value  # English UI: no BOM by default
        assert screen.query_one("#scope-marked", RadioButton).disabled  # nothing marked
        screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await host.workers.wait_for_complete()
        await pilot.pause()
        message = str(screen.query_one("#message", Static).render())
        assert message.startswith(i18n.t("modals.export.failed", message="")), message
        assert host.screen is screen and host.focused is screen.query_one("#path", Input)
        assert not screen.query_one("#export", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
    assert host.result is None
    assert not target.exists()
