"""Issue 16 point 13 (a binary config file) and the console part of point 14 (a 40x10
terminal). The config cases run the real CLI as processes; the terminal case drives
the console with Pilot at that size."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Static

from tui.widgets.errorgrid import ErrorGrid


@pytest.fixture
def binary_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + random.Random(13).randbytes(512))
    return path


@pytest.mark.parametrize(
    "command",
    [["export"], ["serve", "--demo"], ["ingest", "-"], ["console"]],
    ids=["export", "serve", "ingest", "console"],
)
def test_a_binary_config_file_is_named_not_a_traceback(
    tmp_path: Path, binary_config: Path, command: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    env.update(
        SYNCHEALTH_CONFIG=str(binary_config),
        SYNCHEALTH_DATA_DIR=str(tmp_path / "data"),
        SYNCHEALTH_CACHE_DIR=str(tmp_path / "cache"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "tui", *command],
        capture_output=True, text=True, env=env, timeout=60, input="",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "UnicodeDecodeError" not in done.stderr
    assert f"config file {binary_config} is not UTF-8 text (byte 0x89 at offset 0)" in (done.stderr)


async def test_a_40x10_terminal_says_it_is_too_small(make_app, wait_ready) -> None:
    app = make_app()
    async with app.run_test(size=(40, 10)) as pilot:
        await wait_ready(pilot)
        notice = app.screen.query_one("#too-small", Static)
        assert notice.display and notice.region.height > 0
        assert "40×10" in str(notice.render()) and "too small" in str(notice.render())
        assert app.screen.query_one(ErrorGrid).region.height == 0
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")
        assert app.screen.query_one(ErrorGrid).region.height > 0
