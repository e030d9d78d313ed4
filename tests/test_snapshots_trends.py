"""Snapshots of the trend view (``T``) at 80x24 and 160x50, in English and Japanese: the
plotext chart of new vs resolved per day of the demo, to the fixed clock's day.

Synchronous tests: the snap_compare fixture runs its own event loop.
"""

from __future__ import annotations

import pytest

from tests.test_snapshots_main import english_afterwards, utc  # noqa: F401 (fixtures)


@pytest.fixture
def on_trends(wait_ready):
    """``run_before``: the console loaded, ``T`` pressed, the figures drawn."""

    async def run_before(pilot) -> None:
        from tui.screens.trends import TrendScreen

        app = pilot.app
        await wait_ready(pilot)
        await pilot.press("T")
        await wait_ready(pilot, lambda: isinstance(app.screen, TrendScreen) and app.screen.page)
        app.clear_notifications()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_trend_view(snap_compare, make_app, on_trends, lang: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(lang=lang), terminal_size=size, run_before=on_trends)
