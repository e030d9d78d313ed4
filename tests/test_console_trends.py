"""The console's trends: card sparklines, the trend view (``T``), "since you last looked",
and enter on the usage gauge; Pilot on the embedded demo (its real service and ledger)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.widgets import DataTable, Sparkline
from textual_plotext import PlotextPlot

from tests.conftest import FIXED_NOW
from tui.app import ConsoleCommands
from tui.data.cache import ViewFilter
from tui.data.last_looked import state_file
from tui.embedded import LEDGER_NAME
from tui.i18n import set_lang
from tui.screens.causes import CausesScreen
from tui.screens.help import HelpScreen
from tui.screens.trends import TrendScreen
from tui.screens.usage_breakdown import UsageBreakdownScreen
from tui.widgets.cards import ErrorCard
from tui.widgets.usage import UsageGauge


def first_seen_per_day(data_dir: Path, type_code: str) -> list[int]:
    """New errors of ``type_code`` on each of the 30 days to FIXED_NOW, counted apart."""
    days = [(FIXED_NOW.date() - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    with sqlite3.connect(data_dir / LEDGER_NAME) as conn:
        found = dict(
            conn.execute(
                "SELECT substr(first_seen, 1, 10), count(*) FROM errors WHERE type = ? GROUP BY 1",
                (type_code,),
            ).fetchall()
        )
    return [found.get(day, 0) for day in days]


async def test_each_card_has_a_sparkline_of_new_errors_per_day(
    make_app: Callable[..., Any], wait_ready: Any, synchealth_env: dict[str, Path]
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        card = app.screen.query_one("#card-picklist", ErrorCard)
        await wait_ready(pilot, lambda: bool(card.query_one(Sparkline).data))
        shown = list(card.query_one(Sparkline).data or [])
        assert card.query_one(Sparkline).region.height == 1
    expected = first_seen_per_day(synchealth_env["data"], "picklist")
    assert shown == expected and sum(expected) > 0


async def test_t_opens_the_trend_chart_and_escape_closes_it(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_ready(pilot)
        await pilot.press("T")
        await wait_ready(pilot, lambda: isinstance(app.screen, TrendScreen) and app.screen.page)
        screen = app.screen
        assert screen.type_code is None and screen.cause is None
        page = screen.page
        assert len(page.days) == 30 and page.days[-1].day == FIXED_NOW.date()
        assert page.days[-1].open == page.totals.open > 0
        assert "30 days to 2025-06-16" in str(screen.query_one("#summary").render())
        chart = screen.query_one(PlotextPlot)
        assert chart.region.height > 6
        await pilot.press("w")
        await wait_ready(pilot, lambda: len(app.screen.page.days) == 90)
        await pilot.press("escape")
        await wait_ready(pilot, lambda: not isinstance(app.screen, TrendScreen))


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
async def test_the_legend_is_beside_the_chart_never_on_its_lines(
    make_app: Callable[..., Any], wait_ready: Any, lang: str, size: tuple[int, int]
) -> None:
    """plotext drew its legend inside the plot, over the lines and the y axis, and in
    Japanese shifted that row's frame right; the names now stand on a line above it."""
    from rich.cells import cell_len

    from tui.i18n import t
    from tui.widgets.legend import ChartLegend

    app = make_app(lang=lang)
    try:
        async with app.run_test(size=size) as pilot:
            await wait_ready(pilot)
            await pilot.press("T")
            await wait_ready(pilot, lambda: isinstance(app.screen, TrendScreen) and app.screen.page)
            await pilot.pause()
            chart = app.screen.query_one(PlotextPlot)
            names = [t("trends.new"), t("trends.resolved")]
            rows = [chart.render_line(y).text for y in range(chart.size.height)]
            assert not any(name in row for name in names for row in rows), rows
            assert {cell_len(row) for row in rows} == {chart.size.width}, rows
            legend = app.screen.query_one(ChartLegend)
            shown = legend.render_line(0).text
            assert all(name in shown for name in names), shown
            assert legend.region.bottom <= chart.region.y
            assert legend.color("new") != legend.color("resolved")
    finally:
        set_lang("en")


async def test_the_trend_follows_the_type_in_view_and_the_cause_under_the_cursor(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_ready(pilot)
        app.main_screen.set_view(ViewFilter(type="picklist"))
        await wait_ready(pilot, lambda: app.main_screen.view.type == "picklist")
        await pilot.press("T")
        await wait_ready(pilot, lambda: isinstance(app.screen, TrendScreen) and app.screen.page)
        assert app.screen.page.type == "picklist"
        await pilot.press("escape")
        await pilot.press("C")
        await wait_ready(pilot, lambda: isinstance(app.screen, CausesScreen) and app.screen.causes)
        causes = app.screen
        causes.query_one(DataTable).move_cursor(row=1)
        await pilot.pause()
        expected = causes.causes[1]
        await pilot.press("T")
        await wait_ready(pilot, lambda: isinstance(app.screen, TrendScreen) and app.screen.page)
        page = app.screen.page
    assert page.cause == expected.cause
    assert page.totals.open == expected.open_errors


async def test_since_you_last_looked_is_told_on_start(
    make_app: Callable[..., Any], wait_ready: Any, synchealth_env: dict[str, Path]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        said = [n.message for n in app._notifications]
    assert not any("last looked" in s for s in said)  # the first look: nothing to compare
    kept = state_file(synchealth_env["cache_file"])
    totals = orjson.loads(kept.read_bytes())
    assert totals["new"] - totals["resolved"] + totals["recurring"] == totals["open"] > 0
    totals["new"] -= 120  # as if 120 errors arrived since
    totals["resolved"] -= 1
    kept.write_bytes(orjson.dumps(totals))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        said = [n.message for n in app._notifications]
    assert "Since you last looked: 120 new, 1 resolved, 0 recurring." in said
    app = make_app()  # looked again just now: nothing new
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        said = [n.message for n in app._notifications]
    assert not any("last looked" in s for s in said)


async def test_ignored_errors_are_not_told_as_resolved_since_you_last_looked(
    make_app: Callable[..., Any], wait_ready: Any, synchealth_env: dict[str, Path]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        (cause, *_) = (await app.session.client.causes()).causes
        done = await app.session.ignore("known bad picklist", None, cause=cause.cause)
    assert len(done.changed) == cause.open_errors > 0
    kept = state_file(synchealth_env["cache_file"])
    totals = orjson.loads(kept.read_bytes())  # kept before the ignore
    totals["new"] -= 7  # as if 7 errors arrived since
    kept.write_bytes(orjson.dumps(totals))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        said = [n.message for n in app._notifications]
    assert "Since you last looked: 7 new, 0 resolved, 0 recurring." in said


async def test_since_you_last_looked_in_japanese(
    make_app: Callable[..., Any], wait_ready: Any, synchealth_env: dict[str, Path]
) -> None:
    kept = state_file(synchealth_env["cache_file"])
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(b'{"new": 0, "resolved": 0, "recurring": 0, "open": 0}')
    app = make_app(lang="ja")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_ready(pilot)
            said = [n.message for n in app._notifications]
    finally:
        set_lang("en")
    told = [s for s in said if s.startswith("前回の確認以降：")]
    assert len(told) == 1
    shape = r"前回の確認以降：新規 2,000 件、解決済み [0-9,]+ 件、再発 [0-9,]+ 件。"
    assert re.fullmatch(shape, told[0])


async def test_a_damaged_state_file_is_a_first_look(
    make_app: Callable[..., Any], wait_ready: Any, synchealth_env: dict[str, Path]
) -> None:
    kept = state_file(synchealth_env["cache_file"])
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(b"{not json")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        said = [n.message for n in app._notifications]
    assert not any("last looked" in s for s in said)
    assert orjson.loads(kept.read_bytes())["new"] > 0  # replaced by this look


async def test_enter_on_the_usage_gauge_opens_the_breakdown(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        app.screen.query_one(UsageGauge).focus()
        await pilot.press("enter")
        await wait_ready(pilot, lambda: isinstance(app.screen, UsageBreakdownScreen))
        await pilot.press("escape")
        await wait_ready(pilot, lambda: not isinstance(app.screen, UsageBreakdownScreen))


async def test_the_palette_lists_the_trend_view_and_help_the_gauge_key(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        names = {name: keys for name, keys, _ in ConsoleCommands(app.screen)._commands()}
        await pilot.press("question_mark")
        await wait_ready(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = {row[0]: row[1] for row in app.screen.bindings}
    assert names["Trends"] == "T"
    assert names["Where the API calls go"] == "u"
    assert rows["trends"] == "T"
    assert rows["usage_breakdown"] == "u" and rows["usage.open"] == "⏎"


async def test_a_card_shows_no_sparkline_until_the_figures_arrive() -> None:
    """A big ledger's first catch-up can take minutes; meanwhile an empty line would
    read as "no new errors", so the card shows none."""
    from textual.app import App, ComposeResult

    import tui.screens.health as health

    class OneCard(App[None]):
        CSS_PATH = Path(health.__file__).parent / health.HealthScreen.CSS_PATH

        def compose(self) -> ComposeResult:
            yield ErrorCard("picklist")

    app = OneCard()
    async with app.run_test(size=(40, 8)) as pilot:
        spark = app.query_one(ErrorCard).query_one(Sparkline)
        assert spark.region.height == 0
        app.query_one(ErrorCard).set_trend([1, 4, 2])
        await pilot.pause()
        assert list(spark.data or []) == [1, 4, 2]
        assert spark.region.height == 1
