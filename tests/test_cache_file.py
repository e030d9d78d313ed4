"""Issue 16 points 4-6: creating, checking and blaming the cache file.

Real processes where the case is about processes (two openers started at the same
instant), real damaged files (random bytes written at an offset), and paths that are
folders where a file should be (and the reverse), seen from the console by Pilot.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.data.cache import Cache, CacheError, ViewFilter
from tui.data.values import ViewOrder
from tui.embedded import open_data_session
from tui.widgets.header import OfflineBanner

WIDE = (160, 50)


def row(id: int) -> list:
    return [
        id, id, "picklist", "picklist.restricted_value", "contact", f"r{id}", f"Name {id}", "Lead",
        "00Q1", "to_salesforce", "CODE", "m" * 300, ["Status"], "2025-05-01T00:00:00Z",
        "2025-06-01T00:00:00Z", 1, "open",
    ]  # fmt: skip


# -- point 4: two processes creating the cache at once -------------------------------------

OPENER = """
import asyncio, sys, time
from pathlib import Path
from tui.data.cache import Cache, CacheError

async def main() -> int:
    start = float(sys.argv[2])
    while time.time() < start:
        pass  # spin: both processes reach the open within microseconds of each other
    try:
        cache = await Cache.open(Path(sys.argv[1]))
    except CacheError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    await cache.apply_changes([], 0)
    await cache.close()
    return 0

sys.exit(asyncio.run(main()))
"""


def test_two_processes_creating_one_cache_both_succeed(tmp_path: Path) -> None:
    for trial in range(6):
        path = tmp_path / f"trial-{trial}" / "cache.sqlite3"
        start = time.time() + 1.5  # after both interpreters have imported everything
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(path), repr(start)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        assert [code for code, _ in results] == [0, 0], results
        with sqlite3.connect(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"meta", "errors", "totals", "pending_resync"} <= tables


# -- point 5: damage found at open and when a read fails -----------------------------------


async def _filled(path: Path, rows: int = 2000) -> None:
    cache = await Cache.open(path)
    await cache.apply_changes([row(i) for i in range(1, rows + 1)], rows)
    await cache.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _wreck_middle(path: Path, size: int = 16 * 1024, seed: int = 16) -> None:
    """16 KiB of random bytes written in the middle of the file, as in the issue."""
    length = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(length // 2)
        fh.write(random.Random(seed).randbytes(size))


def _wreck_rows(path: Path) -> None:
    """Random bytes over the errors table's row pages (dbstat: SQLite's page map), so the
    next read of rows hits them wherever the schema put them."""
    with sqlite3.connect(path) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = [
            n
            for (n,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'errors' AND pagetype = 'leaf'"
            )
        ]
    noise = random.Random(16)
    with path.open("r+b") as fh:
        for page in leaves:
            fh.seek((page - 1) * size)
            fh.write(noise.randbytes(size))


async def test_random_bytes_in_the_middle_are_found_at_open(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    await _filled(path)
    _wreck_middle(path)
    cache = await Cache.open(path)
    try:
        assert cache.notice is not None and "damaged" in cache.notice
        assert cache.moved_to is not None and cache.moved_to.exists()
        assert await cache.count(ViewFilter(status=None)) == 0  # a fresh cache, to refill
    finally:
        await cache.close()


async def test_damage_found_by_a_read_is_rebuilt_from_the_service_at_once(
    synchealth_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file too big for the open-time check: the first failing read moves it aside,
    the query answers from the fresh cache, and the next refresh refills it."""
    path = synchealth_env["cache_file"]
    session = await open_data_session(cache_path=path, demo_size=2000)
    await session.refresh()
    total = await session.count(ViewFilter(status=None))
    await session.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _wreck_rows(path)
    monkeypatch.setattr("tui.data.cache_file.CHECK_AT_OPEN_LIMIT", 0)
    session = await open_data_session(cache_path=path, demo_size=2000)
    told: list[str] = []
    session.on_rebuilt = told.append
    try:
        assert session.notice is None  # not checked at open: too big
        rows = await session.view_page(ViewFilter(status=None), ViewOrder("record_name"))
        assert len(told) == 1 and "moved to" in told[0] and rows == []
        assert session.cache.moved_to is not None and session.cache.moved_to.exists()
        result = await session.refresh()
        assert result.online and await session.count(ViewFilter(status=None)) == total
    finally:
        await session.close()


async def test_the_console_says_the_cache_was_damaged_and_refills(
    make_app, wait_ready, synchealth_env: dict[str, Path]
) -> None:
    path = synchealth_env["cache_file"]
    session = await open_data_session(cache_path=path, demo_size=2000)
    await session.refresh()
    total = await session.count(ViewFilter())
    await session.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _wreck_middle(path)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        from tui.widgets.errorgrid import ErrorGrid

        grid = app.screen.query_one(ErrorGrid)
        await wait_ready(pilot, lambda: grid.total > 0)
        said = [n.message for n in app._notifications]
        assert any("cache file was damaged" in m and "moved to" in m for m in said), said
        assert grid.total == total


def test_cli_export_on_a_damaged_cache_rebuilds_and_exports(tmp_path: Path) -> None:
    """Two runs of the real CLI: the second finds the damage, says so, refills, exports.
    On the embedded demo (a SQLite ledger by design): the case is the console's cache."""
    from tui.embedded import ensure_demo_ledger

    data, cache_dir = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    ensure_demo_ledger(500, data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    env.update(
        SYNCHEALTH_DATA_DIR=str(data),
        SYNCHEALTH_CACHE_DIR=str(cache_dir),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    command = [sys.executable, "-m", "tui", "export", "--demo-size", "500", "--status", "all"]
    first = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    (cache_file,) = cache_dir.glob("cache-*.sqlite3")
    with sqlite3.connect(cache_file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _wreck_middle(cache_file, size=8 * 1024)
    second = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert b"damaged" in second.stderr and b"moved to" in second.stderr
    assert second.stdout == first.stdout


# -- point 6: a cache that cannot be opened is not blamed on the service -------------------


async def test_a_cache_path_that_is_a_folder_is_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "cache.sqlite3"
    folder.mkdir()
    with pytest.raises(CacheError, match="it is a folder, not a file"):
        await Cache.open(folder)


async def test_a_cache_folder_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    blocker = tmp_path / "cachedir"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="it is a file, not a folder"):
        await Cache.open(blocker / "cache.sqlite3")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes a mode-000 file")
async def test_a_cache_file_without_permission_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    await (await Cache.open(path)).close()
    path.chmod(0)
    try:
        with pytest.raises(CacheError, match="no permission"):
            await Cache.open(path)
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("case", ["file_is_a_folder", "folder_is_a_file"])
async def test_the_console_blames_the_cache_not_the_service(
    make_app, synchealth_env: dict[str, Path], monkeypatch, case: str
) -> None:
    if case == "file_is_a_folder":
        synchealth_env["cache_file"].mkdir()
        app = make_app()
    else:
        blocker = synchealth_env["cache"] / "blocked"
        blocker.write_text("a file where the cache folder should be")
        monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(blocker))
        app = make_app(cache_path=None)
    async with app.run_test(size=WIDE) as pilot:
        deadline = time.monotonic() + 20
        while app.open_error is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause()
        text = str(app.screen.query_one(OfflineBanner).render())
        assert "cannot be reached" not in text
        assert "cache file cannot be used" in text and "service is not at fault" in text
        assert ("it is a folder" if case == "file_is_a_folder" else "it is a file") in text


async def test_an_export_that_hits_a_damaged_page_rebuilds_and_writes_every_row(
    synchealth_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file too big for the open-time check, damaged: the export still writes it all."""
    import csv

    path = synchealth_env["cache_file"]
    session = await open_data_session(cache_path=path, demo_size=2000)
    await session.refresh()
    total = await session.count(ViewFilter(status=None))
    await session.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _wreck_rows(path)
    monkeypatch.setattr("tui.data.cache_file.CHECK_AT_OPEN_LIMIT", 0)
    session = await open_data_session(cache_path=path, demo_size=2000)
    try:
        out = tmp_path / "all.csv"
        rows = await session.export(out, f=ViewFilter(status=None))
        assert rows == total and session.notice is not None and "moved to" in session.notice
        with out.open(newline="", encoding="utf-8") as fh:
            assert len(list(csv.reader(fh))) == total + 1
    finally:
        await session.close()
