"""The console's usage breakdown (``u``): where the last 24 h of calls went, with Pilot."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable, Static

from tui import i18n
from tui.palette import ConsoleCommands
from tui.screens.usage_breakdown import UsageBreakdownScreen


def table_rows(screen: UsageBreakdownScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(f"#{table_id}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_u_opens_the_calls_by_kind_and_by_object(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        await pilot.press("u")
        await wait_ready(
            pilot, lambda: isinstance(app.screen, UsageBreakdownScreen) and app.screen.breakdown
        )
        screen = app.screen
        breakdown = screen.breakdown
        kinds, objects = table_rows(screen, "by_kind"), table_rows(screen, "by_object")
        total = str(screen.query_one("#total", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        closed = not isinstance(app.screen, UsageBreakdownScreen)
    assert total == i18n.t("usage.breakdown.total", total=f"{breakdown.total:,}")
    # the service's clock is today, so the demo's history (built at the tests' fixed
    # time) is out of the window: what it shows are the console's own limits reads
    names = [i18n.t(f"usage.kind.{k.name}_calls") for k in breakdown.by_kind]
    assert [row[0] for row in kinds] == names
    assert "Limits read" in {row[0] for row in kinds}
    assert sum(int(row[1].replace(",", "")) for row in kinds) == breakdown.total
    assert sum(int(row[1].replace(",", "")) for row in objects) == breakdown.total
    assert "(no object)" in {row[0] for row in objects}
    assert all(row[2] != "0%" for row in kinds + objects if row[1] != "0")
    assert closed


async def test_the_palette_names_it_in_japanese(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app(lang="ja")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            names = {name: keys for name, keys, _ in ConsoleCommands(app.screen)._commands()}
            assert names["API 呼び出しの内訳"] == "u"
            await pilot.press("u")
            await wait_ready(
                pilot, lambda: isinstance(app.screen, UsageBreakdownScreen) and app.screen.breakdown
            )
            kinds = table_rows(app.screen, "by_kind")
        assert "制限の取得" in {row[0] for row in kinds}
    finally:
        i18n.set_lang("en")


async def test_a_service_that_does_not_answer_is_said_in_the_view(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = make_app(url=f"http://127.0.0.1:{port}")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        await pilot.press("u")
        screen = app.screen
        assert isinstance(screen, UsageBreakdownScreen)
        await wait_ready(pilot, lambda: screen.query_one("#total").has_class("error"))
        said = str(screen.query_one("#total", Static).render())
    lead = "The breakdown could not be read: The Sync Health service cannot be reached."
    assert said.startswith(f"{lead} Cannot reach the Sync Health")


async def test_a_click_on_the_usage_gauge_opens_it(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        await pilot.click("#usage")
        await wait_ready(
            pilot, lambda: isinstance(app.screen, UsageBreakdownScreen) and app.screen.breakdown
        )
        assert isinstance(app.screen, UsageBreakdownScreen)
