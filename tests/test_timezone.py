"""Times in the user's time zone: --tz, the config's timezone, else the system's zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tui.config import ConfigError, load_config
from tui.core.zone import resolve_zone, zone_named
from tui.screens.health import DETAIL_DELAY
from tui.text import timefmt
from tui.widgets.detail import DetailPane
from tui.widgets.errorgrid import ErrorGrid
from tui.widgets.header import StatusHeader

TOKYO = ZoneInfo("Asia/Tokyo")
MOMENT = "2025-06-16T09:30:00Z"


@pytest.fixture
def zone_reset():
    yield
    timefmt.set_zone(None)


def test_the_flag_wins_then_the_config_then_the_system() -> None:
    assert resolve_zone("Asia/Tokyo", "Europe/London") == TOKYO
    assert resolve_zone(None, "Europe/London") == ZoneInfo("Europe/London")
    assert resolve_zone(None, None) is None
    assert resolve_zone("local", "Asia/Tokyo") is None
    assert zone_named("utc") is UTC


def test_an_unknown_zone_is_named_in_the_message() -> None:
    for name in ("Mars/Olympus", "../etc/passwd", "Asia/"):
        with pytest.raises(ValueError, match="unknown time zone"):
            zone_named(name)


def test_stamps_and_clocks_follow_the_zone(zone_reset, monkeypatch) -> None:
    timefmt.set_zone(TOKYO)
    assert timefmt.stamp(MOMENT) == "2025-06-16 18:30 JST"
    assert timefmt.clock(datetime(2025, 6, 16, 23, 59, 30, tzinfo=UTC)) == "08:59:30"
    timefmt.set_zone(UTC)
    assert timefmt.stamp(MOMENT) == "2025-06-16 09:30 UTC"
    timefmt.set_zone(None)  # the system's zone, read at each conversion
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert timefmt.stamp(MOMENT) == "2025-06-16 05:30 EDT"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_config_takes_a_timezone_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('timezone = "Asia/Tokyo"\n', encoding="utf-8")
    assert load_config(path).timezone == "Asia/Tokyo"
    path.write_text('timezone = "Moon/Base"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"timezone.*unknown time zone 'Moon/Base'"):
        load_config(path)


def test_the_cli_refuses_an_unknown_tz_on_stderr(capsys) -> None:
    from tui.cli import main

    assert main(["--tz", "Nowhere/Zone"]) == 2
    assert "unknown time zone 'Nowhere/Zone'" in capsys.readouterr().err


async def test_the_console_shows_times_in_the_chosen_zone(make_app, wait_ready, zone_reset):
    timefmt.set_zone(TOKYO)
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        grid = app.screen.query_one(ErrorGrid)
        await wait_ready(pilot, lambda: grid.total > 0)
        header = str(app.screen.query_one(StatusHeader).render())
        assert app.last_refresh.astimezone(TOKYO).strftime("%H:%M:%S") in header
        grid.focus()
        await pilot.press("j")
        await pilot.pause(DETAIL_DELAY * 3)
        await wait_ready(pilot)
        row = grid.row_at_cursor()
        shown = app.screen.query_one(DetailPane).shown.plain
        first = datetime.fromisoformat(row.first_seen.replace("Z", "+00:00"))
        assert first.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST") in shown
        assert " UTC" not in shown
