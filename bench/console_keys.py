"""The real console in a tmux pseudo-terminal (160x50): from a key to the changed screen.

For each action a user takes (type ``/acme``: its first rows, then its count; sort,
open the Picklist card, back, affected records, page-down, enter on a row (its record's
errors) and back, start with a full cache, first fill of an empty cache) the time from
``tmux send-keys`` to the screen showing the result (``capture-pane`` polled every few
ms), beside two references measured in the same run:

- an empty Textual app's key in the same tmux (``bench/_empty_app.py``: page-down of a
  line-API ScrollView; and its start to the first screen);
- the bare SQLite queries behind the action: the statements the cache runs for it
  (captured with a trace callback), replayed with ``sqlite3`` on the same file.

Figures are ms and ratios; the machine is shared, so read the ratios. RSS is the
console process's peak during each wait (it runs the embedded service too).

    python bench/console_keys.py [--size N] [--runs 3] [--no-fill | --only-fill |
                                  --only-start [--before DIR]]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import DEFAULT_SIZE, compile_package, filled_cache, ledger, workdir

from tui.data.cache import Cache, ViewFilter
from tui.data.values import ViewOrder

COLS, ROWS = 160, 50
HERE = Path(__file__).resolve().parent
ROWS_SHOWN = re.compile(r"([\d,]+) rows")


class Pane:
    """One command in a detached tmux session of its own (its own server socket)."""

    def __init__(self, command: list[str]) -> None:
        self.socket = f"synchealth-bench-{os.getpid()}-{time.monotonic_ns()}"
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in os.environ.items() if "SYNC" in k)
        line = f"env {env} TERM=xterm-256color {shlex.join(command)}"
        self._tmux("new-session", "-d", "-s", "b", "-x", str(COLS), "-y", str(ROWS), line)
        self.pid = int(self._tmux("display-message", "-p", "-t", "b", "#{pane_pid}").strip())
        self.peak_rss = 0.0

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "b")

    def keys(self, *keys: str) -> float:
        """Send keys; the moment the last one was handed to the terminal. (Escape is always
        followed by a wait for the screen it changes: a key sent within the escape delay
        would make it alt+key, and a wait that began after such a pause could not time a
        "back" shorter than the pause.)"""
        self._tmux("send-keys", "-t", "b", *keys)
        return time.perf_counter()

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def cpu_s(self) -> float:
        """CPU seconds the process has used so far (all its threads, user and system):
        what a start costs, much less moved by the other work on the machine than the
        wall time."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait(self, done: Callable[[str], bool], since: float, timeout: float = 60) -> float:
        """Seconds from ``since`` until the screen satisfies ``done``."""
        while time.perf_counter() - since < timeout:
            screen = self.screen()
            self.peak_rss = max(self.peak_rss, self.rss_mb())
            if done(screen):
                return time.perf_counter() - since
            time.sleep(0.003)
        raise SystemExit(f"timed out; the screen was:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def rows_shown(screen: str) -> int | None:
    got = ROWS_SHOWN.search(screen)
    return int(got.group(1).replace(",", "")) if got else None


def drawn(screen: str) -> bool:
    """No grid line waits for its row (a loading row is drawn as a lone "…")."""
    return all(line.strip() != "…" for line in screen.splitlines())


def settled(screen: str) -> bool:
    """Rows counted and drawn: no placeholder line, no count pending."""
    return drawn(screen) and "counting…" not in screen and bool(rows_shown(screen))


def grid_lines(screen: str) -> list[str]:
    return screen.splitlines()[-30:]


def mostly(text: str, screen: str) -> bool:
    """Most of the lower screen's lines show ``text`` in the grid's part of them (the
    detail pane on their right may name it too): the rows of a text filter, not the
    rows of the view before it."""
    lines = [line[:95].lower() for line in grid_lines(screen)]
    return sum(text in line for line in lines) >= 0.6 * len(lines)


def console_command(size: int, cache: Path, code: Path | None = None) -> list[str]:
    """The console on ``cache``; ``code``: the ``tui`` package of that folder instead (an
    export of an earlier commit, ``--before``; ``-P``: not the one in the working
    directory, which ``-m`` would put first)."""
    args = ["-m", "tui", "--demo-size", str(size), "--cache", str(cache)]
    if code is None:
        return [sys.executable, *args]
    return ["env", f"PYTHONPATH={code}", sys.executable, "-P", *args]


def empty_app(runs: int) -> tuple[float, float, float]:
    """(start to first screen, median page-down, CPU used to the first screen) of the
    empty app, in seconds."""
    started = time.perf_counter()
    pane = Pane([sys.executable, str(HERE / "_empty_app.py")])
    try:
        start = pane.wait(lambda s: "line 0" in s, started)
        start_cpu = pane.cpu_s()
        presses = []
        for _ in range(runs * 5):
            before = pane.screen().splitlines()[0]
            sent = pane.keys("PageDown")
            presses.append(pane.wait(lambda s, b=before: s.splitlines()[0] != b, sent))
            time.sleep(0.05)
        return start, statistics.median(presses), start_cpu
    finally:
        pane.close()


class Queries:
    """The statements the cache runs for an action, and the time to replay them bare."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def capture(self, job: Callable[[Cache], object]) -> list[str]:
        cache = await Cache.open(self.path)
        statements: list[str] = []
        try:
            for conn in (cache._r, cache._searcher):
                await conn.set_trace_callback(statements.append)  # type: ignore[union-attr]
            await job(cache)  # type: ignore[misc]
        finally:
            await cache.close()
        return [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    def replay(self, statements: list[str], runs: int) -> float:
        conn = sqlite3.connect(self.path)
        try:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                for sql in statements:
                    conn.execute(sql).fetchall()
                times.append(time.perf_counter() - started)
            return statistics.median(times)
        finally:
            conn.close()

    def time(self, job: Callable[[Cache], object], runs: int) -> float:
        return self.replay(asyncio.run(self.capture(job)), runs)


async def _start(c: Cache) -> None:
    await c.type_counts()
    await c.count(ViewFilter())
    await c.view_page(ViewFilter(), limit=48)


async def _text(c: Cache) -> None:
    await c.view_page(ViewFilter(text="acme"), limit=48)


async def _text_count(c: Cache) -> None:
    await c.count(ViewFilter(text="acme"))


async def _sort(c: Cache) -> None:
    order = ViewOrder("subtype", False)
    first = (await c.view_page(ViewFilter(), limit=1))[0]
    await c.count(ViewFilter())
    await c.position(ViewFilter(), order, first.id)
    await c.view_page(ViewFilter(), order, limit=48)


async def _card(c: Cache) -> None:
    await c.count(ViewFilter(type="picklist"))
    await c.view_page(ViewFilter(type="picklist"), limit=48)


async def _records(c: Cache) -> None:
    f = ViewFilter(type="picklist")
    await c.affected_count(f)
    await c.count(f)
    await c.affected_records(f, limit=96)


async def _record(c: Cache) -> None:
    first = (await c.view_page(ViewFilter(), limit=1))[0]
    f = ViewFilter(record_id=first.record_id)
    await c.count(f)
    await c.view_page(f, limit=48)


async def _page_down(c: Cache) -> None:
    top = await c.view_page(ViewFilter(), offset=2000, limit=48, total=await c.count(ViewFilter()))
    await c.view_page(ViewFilter(), limit=48, after=top[-1])


def measure_console(size: int, cache: Path, runs: int) -> dict[str, list[float]]:
    """Each action ``runs`` times in one console run (start measured per run)."""
    got: dict[str, list[float]] = {}
    peak = 0.0
    for _ in range(runs):
        started = time.perf_counter()
        pane = Pane(console_command(size, cache))
        try:
            got.setdefault("start with a full cache", []).append(pane.wait(settled, started))
            pane.wait(lambda s: "online" in s, started)  # the first refresh is over
            pane.keys("/")
            pane.wait(lambda s: "Filter by record" in s, time.perf_counter())
            pane.keys("a", "c", "m")
            sent = pane.keys("e")
            got.setdefault("type /acme: rows", []).append(
                pane.wait(lambda s: drawn(s) and mostly("acme", s), sent)
            )
            got.setdefault("type /acme: count", []).append(
                pane.wait(lambda s: settled(s) and mostly("acme", s), sent)
            )
            pane.keys("Escape")
            pane.wait(lambda s: settled(s) and "matching" not in s, time.perf_counter())
            before = grid_lines(pane.screen())
            sent = pane.keys("s")
            got.setdefault("sort (s)", []).append(
                pane.wait(
                    lambda s, b=before: "sort: subtype" in s and settled(s) and grid_lines(s) != b,
                    sent,
                )
            )
            pane.keys("S")  # back to subtype descending, then cycle to last seen
            for _key in range(6):
                pane.keys("s")
            pane.wait(lambda s: "sort: last seen" in s and settled(s), time.perf_counter())
            pane.keys("BTab")  # the card strip comes before the grid
            for _right in range(4):  # association, custom code, duplicate, permissions
                pane.keys("l")
            time.sleep(0.5)  # on the card (its detail shown), then enter: the key timed
            sent = pane.keys("Enter")
            got.setdefault("open the Picklist card", []).append(
                pane.wait(lambda s: "Picklist ·" in s and settled(s), sent)
            )
            sent = pane.keys("Escape")
            got.setdefault("back to all errors", []).append(
                pane.wait(lambda s: "Picklist ·" not in s and settled(s), sent)
            )
            sent = pane.keys("v")
            got.setdefault("affected records (v)", []).append(
                pane.wait(lambda s: "Records affected by" in s and drawn(s), sent)
            )
            pane.keys("Escape")
            pane.wait(lambda s: settled(s) and "Records affected by" not in s, time.perf_counter())
            # the grid has the focus again: opening a card focused it
            for _press in range(5):
                before = grid_lines(pane.screen())
                sent = pane.keys("PageDown")
                got.setdefault("page-down", []).append(
                    pane.wait(lambda s, b=before: grid_lines(s) != b and settled(s), sent)
                )
                time.sleep(0.05)
            sent = pane.keys("Enter")  # the cursor row's record: its errors alone
            got.setdefault("a row's record (enter)", []).append(
                pane.wait(lambda s: " · record " in s and settled(s), sent)
            )
            sent = pane.keys("Escape")
            got.setdefault("back from the record", []).append(
                pane.wait(lambda s: " · record " not in s and settled(s), sent)
            )
            peak = max(peak, pane.peak_rss)
            pane.keys("q")
        finally:
            pane.close()
    got["peak RSS MB"] = [peak]
    return got


def measure_start(
    size: int, cache: Path, runs: int, code: Path | None = None
) -> tuple[list[float], list[float], list[float]]:
    """(seconds to cards and rows, seconds to "online", CPU seconds to cards and rows) of
    ``runs`` starts on a full cache."""
    shown, live, cpu = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        pane = Pane(console_command(size, cache, code))
        try:
            shown.append(pane.wait(settled, started))
            cpu.append(pane.cpu_s())
            live.append(pane.wait(lambda s: "online" in s, started))
            pane.keys("q")
        finally:
            pane.close()
    return shown, live, cpu


def _ms(seconds: list[float]) -> str:
    return ", ".join(f"{x * 1000:.0f}" for x in seconds)


def report_start(size: int, cache: Path, runs: int, before: Path | None = None) -> None:
    """Start alone: the empty app's start and the console's, alternated ``runs`` times;
    with ``before``, the console of that code too, in the same turns."""
    codes: dict[str, Path | None] = {"console": None}
    if before is not None:
        codes[f"before ({before})"] = before
    empty: list[float] = []
    empty_cpu: list[float] = []
    shown: dict[str, list[float]] = {name: [] for name in codes}
    live: dict[str, list[float]] = {name: [] for name in codes}
    cpu: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        start, _key, start_cpu = empty_app(1)
        empty.append(start)
        empty_cpu.append(start_cpu)
        for name, code in codes.items():
            got = measure_start(size, cache, 1, code)
            shown[name] += got[0]
            live[name] += got[1]
            cpu[name] += got[2]
    e, ec = statistics.median(empty) * 1000, statistics.median(empty_cpu) * 1000
    print(f"{size:,} errors; median of {runs} starts, alternated with the empty app's")
    print(f"empty Textual app start: {e:.0f} ms (runs: {_ms(empty)}); CPU {ec:.0f} ms")
    for name in codes:
        s, o, c = (statistics.median(x[name]) * 1000 for x in (shown, live, cpu))
        print(
            f"{name}, full cache, to cards and rows: {s:.0f} ms = {s / e:.2f}x the empty app "
            f"(runs: {_ms(shown[name])}); CPU {c:.0f} ms = {c / ec:.2f}x the empty app's "
            f"(runs: {_ms(cpu[name])})"
        )
        print(f"{name} to online (service started, first refresh done): {o:.0f} ms = {o / e:.2f}x")


def measure_fill(size: int) -> tuple[float, float]:
    """(seconds to a full grid from an empty cache, peak RSS MB)."""
    path = workdir(size) / "keys-fill.sqlite3"
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    pane = Pane(console_command(size, path))
    try:
        seconds = pane.wait(
            lambda s: settled(s) and "online" in s and (rows_shown(s) or 0) > 0,
            started,
            timeout=1800,
        )
        return seconds, pane.peak_rss
    finally:
        pane.close()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-fill", action="store_true", help="leave out the first fill")
    parser.add_argument("--only-fill", action="store_true", help="the first fill alone")
    parser.add_argument("--only-start", action="store_true", help="the start alone")
    parser.add_argument(
        "--before",
        type=Path,
        help="with --only-start: also the console of the tui package in this folder (an "
        "export of an earlier commit, compiled), in the same turns",
    )
    args = parser.parse_args()
    compile_package()
    ledger(args.size)
    if args.only_fill:
        return report_fill(args.size, empty_app(1)[0])
    cache = asyncio.run(filled_cache(args.size))
    if args.only_start:
        return report_start(args.size, cache, args.runs, args.before)

    empty_start, empty_key, _cpu = empty_app(args.runs)
    console = measure_console(args.size, cache, args.runs)
    queries = Queries(cache)
    bare = {
        "start with a full cache": queries.time(_start, 5),
        "type /acme: rows": queries.time(_text, 5),
        "type /acme: count": queries.time(_text_count, 5),
        "sort (s)": queries.time(_sort, 5),
        "open the Picklist card": queries.time(_card, 5),
        "back to all errors": queries.time(_start, 5),
        "affected records (v)": queries.time(_records, 5),
        "page-down": queries.time(_page_down, 5),
        "a row's record (enter)": queries.time(_record, 5),
        "back from the record": queries.time(_start, 5),
    }
    print(
        f"{args.size:,} errors; tmux {COLS}x{ROWS}; median of {args.runs} runs (5 page-downs each)"
    )
    print(
        f"empty Textual app: start {empty_start * 1000:.0f} ms, page-down {empty_key * 1e3:.1f} ms"
    )
    print(
        f"{'action':<26} {'console ms':>11} {'x empty key':>12} {'x empty start':>14} "
        f"{'bare SQL ms':>12} {'x SQL':>8}"
    )
    for name, sql in bare.items():
        ms = statistics.median(console[name]) * 1000
        sql_ms = max(sql * 1000, 1e-3)
        print(
            f"{name:<26} {ms:>11.0f} {ms / (empty_key * 1000):>12.1f} "
            f"{ms / (empty_start * 1000):>14.2f} {sql_ms:>12.2f} {ms / sql_ms:>8.1f}"
        )
    print(f"console peak RSS (with the embedded service): {console['peak RSS MB'][0]:.0f} MB")
    if not args.no_fill:
        report_fill(args.size, empty_start)


def report_fill(size: int, empty_start: float) -> None:
    seconds, rss = measure_fill(size)
    print(
        f"first fill, empty cache to a full grid: {seconds:.1f} s "
        f"({size / seconds:,.0f} errors/s; {seconds / empty_start:.0f}x the empty app's "
        f"start); peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
