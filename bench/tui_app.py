"""The Textual console headless on the full cache: start time, page-down cost, memory.

Named tui_app.py, not tui.py: a bench/tui.py would shadow the ``tui`` package for
every script run from bench/ (their folder comes first on sys.path).

Targets (DESIGN.md section 7): interactive <= 1 s after start with a full cache; a
page-down in the grid costs <= 1.25x the same key in an empty app; memory < 300 MB.

"Interactive" is the error grid showing its row count and the row under the cursor
(the first page loaded). Each mode runs in its own process so the RSS figures are the
console's own: ``offline`` points the app at a closed local port (the cache alone),
``embedded`` runs the in-process service on the demo ledger (its memory counts too).

    python bench/tui_app.py [--size N] [--mode offline|embedded|both] [--presses 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from typing import Any

from _common import DEFAULT_SIZE, filled_cache, ledger, rss_mb
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app import SyncHealthApp
from tui.widgets.errorgrid import ErrorGrid

OFFLINE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, refused at once
SIZE = (160, 50)


class Lines(ScrollView, can_focus=True):
    """A million plain lines drawn with the line API; page-down jumps (no animation)."""

    def on_mount(self) -> None:
        self.virtual_size = Size(SIZE[0], 1_000_000)

    def render_line(self, y: int) -> Strip:
        return Strip([Segment(f"line {round(self.scroll_y) + y}".ljust(self.size.width))])

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)


class EmptyApp(App[None]):
    """The baseline: one focused scroll view and nothing else."""

    def compose(self) -> ComposeResult:
        yield Lines()

    def on_mount(self) -> None:
        self.query_one(Lines).focus()


async def _presses(pilot: Any, n: int, drawn: Any = None) -> tuple[list[float], list[float]]:
    """ms per (press + pause), and per press until ``drawn()`` holds (rows loaded)."""
    pressed, loaded = [], []
    for _ in range(n):
        started = time.perf_counter()
        await pilot.press("pagedown")
        await pilot.pause()
        pressed.append((time.perf_counter() - started) * 1000)
        if drawn is not None:
            while not drawn():
                await asyncio.sleep(0.001)
        loaded.append((time.perf_counter() - started) * 1000)
    return pressed, loaded


async def empty_app_ms(n: int) -> float:
    app = EmptyApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _presses(pilot, 5)
        pressed, _ = await _presses(pilot, n)
    return statistics.mean(pressed)


async def console(size: int, mode: str, n: int) -> None:
    cache_path = await filled_cache(size)
    if mode == "embedded":
        ledger(size)
    url = OFFLINE_URL if mode == "offline" else None
    rss_before = rss_mb()
    started = time.perf_counter()
    app = SyncHealthApp(url=url, cache_path=cache_path, demo_size=size)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.main_screen.query_one(ErrorGrid) if app.main_screen else None
        while grid is None or not (grid.total and grid.row_at_cursor() is not None):
            await asyncio.sleep(0.002)
            if grid is None and app.main_screen is not None:
                grid = app.main_screen.query_one(ErrorGrid)
        interactive = time.perf_counter() - started
        while not app.ready:
            await asyncio.sleep(0.002)
        ready = time.perf_counter() - started
        await pilot.pause()
        rss_start = rss_mb()
        await _presses(pilot, 5, grid.row_at_cursor)
        pressed, loaded = await _presses(pilot, n, grid.row_at_cursor)
        rss_paged = rss_mb()
        rows, online = grid.total, app.session.online if app.session else False
    empty = await empty_app_ms(n)
    grid_ms = statistics.mean(pressed)
    print(f"[{mode}] {size:,}-error ledger, {rows:,} open rows in the grid, online={online}")
    print(f"  interactive (grid rows drawn): {interactive * 1000:,.0f} ms (target <= 1,000)")
    print(f"  app.ready (first refresh shown): {ready * 1000:,.0f} ms")
    print(
        f"  pagedown, press+pause: grid {grid_ms:.2f} ms, empty app {empty:.2f} ms, "
        f"ratio {grid_ms / empty:.2f}x (target <= 1.25x)"
    )
    print(
        f"  pagedown until the new rows are loaded: {statistics.mean(loaded):.2f} ms "
        f"(median {statistics.median(loaded):.2f}, max {max(loaded):.2f})"
    )
    print(
        f"  RSS: {rss_before:.0f} MB before the app, {rss_start:.0f} MB after start, "
        f"{rss_paged:.0f} MB after {n + 5} pagedowns (target < 300)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="The console headless on the full cache.")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--mode", choices=("offline", "embedded", "both"), default="both")
    parser.add_argument("--presses", type=int, default=50)
    args = parser.parse_args()
    if args.mode != "both":
        asyncio.run(console(args.size, args.mode, args.presses))
        return
    asyncio.run(filled_cache(args.size))  # build once, before either timed process
    for mode in ("offline", "embedded"):
        command = [sys.executable, __file__, "--size", str(args.size), "--mode", mode,
                   "--presses", str(args.presses)]  # fmt: skip
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
