"""Snapshots of the main screen at 80x24 and 160x50, in English and Japanese.

Synchronous tests: the snap_compare fixture runs its own event loop. The clock is
fixed and the time zone is UTC, so "last refresh" and "5m ago" never drift.
"""

from __future__ import annotations

import time

import pytest


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    from tui.i18n import set_lang

    set_lang("en")


@pytest.fixture
def loaded(wait_ready):
    """``run_before`` that waits until the grid shows rows and everything is idle."""

    async def run_before(pilot) -> None:
        from tui.widgets.errorgrid import ErrorGrid

        grid = pilot.app.screen.query_one(ErrorGrid)
        await wait_ready(pilot, lambda: grid.total > 0 and grid.row_at_cursor() is not None)

    return run_before


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_main_screen(snap_compare, make_app, loaded, lang: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(lang=lang), terminal_size=size, run_before=loaded)


def test_detail_pane_of_a_card(snap_compare, make_app, loaded, wait_ready) -> None:
    async def on_a_card(pilot) -> None:
        await loaded(pilot)
        await pilot.press("shift+tab", "l", "l", "l", "l")  # the cards, the picklist card
        await wait_ready(pilot)

    assert snap_compare(make_app(), terminal_size=(160, 50), run_before=on_a_card)


def test_detail_pane_of_a_row_narrow(snap_compare, make_app, loaded, wait_ready) -> None:
    async def on_a_row(pilot) -> None:
        await loaded(pilot)
        await pilot.press("j", "j")
        await wait_ready(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=on_a_row)


@pytest.mark.parametrize(
    ("lang", "size"), [("en", (160, 50)), ("ja", (80, 24))], ids=["160x50-en", "80x24-ja"]
)
def test_type_overview(snap_compare, make_app, loaded, wait_ready, lang, size) -> None:
    async def overview(pilot) -> None:
        await loaded(pilot)
        await pilot.press("t")
        await wait_ready(pilot)

    assert snap_compare(make_app(lang=lang), terminal_size=size, run_before=overview)


def test_main_screen_60x20(snap_compare, make_app, loaded) -> None:
    assert snap_compare(make_app(), terminal_size=(60, 20), run_before=loaded)
