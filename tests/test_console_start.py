"""The console's start on a full cache: the cache is on screen before the embedded service
has started (issue 11), keys work meanwhile, and the service's first refresh loses nothing.

The embedded service is held back by wrapping the real ``start_embedded`` in a gate the
test opens: the service that then starts is the real one on the demo ledger.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tui import embedded
from tui.data.cache import ViewFilter
from tui.embedded import LEDGER_NAME, open_data_session
from tui.widgets.errorgrid import ErrorGrid
from tui.widgets.header import OfflineBanner, StatusHeader

WIDE = (160, 50)


class Gate:
    """Holds the embedded service's start until ``open()``; or makes it fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: Exception | None = None) -> None:
        self.asked = 0
        self.released = asyncio.Event()
        real = embedded.start_embedded

        async def held(*args: object, **kwargs: object) -> embedded.EmbeddedService:
            self.asked += 1
            await self.released.wait()
            if fail is not None:
                raise fail
            return await real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(embedded, "start_embedded", held)

    def open(self) -> None:
        self.released.set()


async def filled_cache(cache_file: Path) -> list[int]:
    """Fill the console's cache from the embedded demo; the ids of its default view."""
    session = await open_data_session(cache_path=cache_file, demo_size=2000)
    try:
        assert (await session.refresh()).online
        return list(await session.view_ids(ViewFilter()))
    finally:
        await session.close()


def header_text(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def until(pilot, condition, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; the header says: {header_text(pilot.app)}")
        await pilot.pause(0.02)


async def test_the_cache_shows_and_answers_keys_before_the_service_starts(
    make_app, wait_ready, synchealth_env, monkeypatch
):
    ids = await filled_cache(synchealth_env["cache_file"])
    gate = Gate(monkeypatch)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        grid = app.screen.query_one(ErrorGrid)
        await until(pilot, lambda: grid.total == len(ids) and grid.row_at(0) is not None)
        await until(pilot, lambda: gate.asked == 1)  # the first refresh waits on the start
        assert grid.row_at(0).id == ids[0]
        assert "connecting to the service" in header_text(app)
        assert "offline" not in header_text(app)
        assert not app.screen.query_one(OfflineBanner).display
        assert app.session is not None and not app.session.online

        # keys work on the cached data meanwhile: sort (the cursor's error stays under
        # the cursor, at its new place), then move the cursor
        before, first = grid.sort, grid.row_at_cursor().id
        await pilot.press("s")
        await until(pilot, lambda: grid.sort != before and grid.row_at_cursor() is not None)
        assert grid.row_at_cursor().id == first
        place = grid.cursor
        await pilot.press("down")
        await until(pilot, lambda: grid.cursor == place + 1 and grid.row_at_cursor() is not None)
        assert grid.row_at_cursor().id != first
        assert gate.asked == 1 and not gate.released.is_set()

        gate.open()
        await wait_ready(pilot, lambda: "online" in header_text(app))
        assert "connecting" not in header_text(app)
        assert grid.total == len(ids)  # nothing of the cache lost by the service's refresh
        assert sorted(await app.session.view_ids(ViewFilter())) == sorted(ids)


async def test_a_service_that_cannot_start_leaves_the_cache_and_says_why(
    make_app, wait_ready, synchealth_env, monkeypatch
):
    ids = await filled_cache(synchealth_env["cache_file"])
    gate = Gate(monkeypatch, fail=OSError("the ledger's disk is full"))
    gate.open()
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        grid = app.screen.query_one(ErrorGrid)
        await wait_ready(pilot, lambda: "offline" in header_text(app))
        assert grid.total == len(ids)
        banner = app.screen.query_one(OfflineBanner)
        assert banner.display
        assert "the embedded service did not start: the ledger's disk is full" in str(
            banner.render()
        )
        assert gate.asked == 1  # a failed start is not tried again on every request


async def test_the_session_opens_before_the_service_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    before = asyncio.all_tasks()
    session = await open_data_session(demo_size=300)
    try:
        ledger = tmp_path / "data" / LEDGER_NAME
        assert not ledger.exists()  # nothing started, nothing built: the cache is open
        assert await session.cache.row_count() == 0 and session.connecting
        result = await session.refresh()  # the first request starts the service
        assert result.online and result.changed == 300 and ledger.exists()
        assert not session.connecting
    finally:
        await session.close()
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_closing_while_the_service_starts_leaves_nothing_running(synchealth_env, monkeypatch):
    import httpx

    gate = Gate(monkeypatch)
    before = asyncio.all_tasks()
    starting = embedded.StartingService(lambda: embedded.start_embedded(2000))
    client = httpx.AsyncClient(transport=starting.transport, base_url=embedded.EMBEDDED_URL)
    request = asyncio.ensure_future(client.get("/v1/health"))
    while gate.asked == 0:
        await asyncio.sleep(0.01)
    await starting.aclose()  # the console quits while the service starts
    with pytest.raises(httpx.ConnectError, match="closed before it started"):
        await request
    with pytest.raises(httpx.ConnectError, match="closed before it started"):
        await client.get("/v1/health")  # and it is not started again
    await client.aclose()
    assert gate.asked == 1 and not starting.running
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


#: What the first screen does not need: each must come after the cards and rows are drawn.
LATER = [
    "httpx",
    "tui.data.client",
    "tui.data.export",
    "tui.screens.records",
    "tui.core.audit_models",
    "tui.core.doctor_models",
    "tui.core.ignore_models",
    "tui.core.notify_models",
    "tui.core.resync_models",
    "tui.core.trend_models",
    "tui.service",
    "tui.simorg",
]

#: The console, headless in a fresh interpreter on the cache ``argv[1]``: every module of
#: ``LATER`` (``argv[2:]``) is noted at its first import with whether the grid showed
#: rows then (the watch is in place before the command line is imported); it runs until
#: online and prints those imported before the rows.
START_PROBE = """
import asyncio, sys
from importlib.abc import MetaPathFinder
from pathlib import Path

later, drawn, app = set(sys.argv[2:]), {}, None


def rows_drawn():
    from tui.widgets.errorgrid import ErrorGrid

    grids = [] if app is None else list(app.screen.query(ErrorGrid))
    return bool(grids) and grids[0].row_at(0) is not None


class FirstImport(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in later and name not in drawn:
            drawn[name] = rows_drawn()
        return None


sys.meta_path.insert(0, FirstImport())
import tui.cli

tui.cli.build_parser(("console",))
from tui.app import SyncHealthApp

app = SyncHealthApp(cache_path=Path(sys.argv[1]), demo_size=2000)


async def main():
    async with app.run_test(size=(160, 50)) as pilot:
        while app.session is None or not app.session.online:
            await pilot.pause(0.05)


asyncio.run(main())
print(sorted(name for name, shown in drawn.items() if not shown), sorted(drawn))
"""


async def test_what_the_first_screen_does_not_need_is_imported_after_it(synchealth_env):
    """The HTTP client, the API models of later screens, export and the embedded service
    are imported only once the cards and rows are on screen (issue 11: start <= 1 s)."""
    await filled_cache(synchealth_env["cache_file"])
    probe = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", START_PROBE, str(synchealth_env["cache_file"]), *LATER],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    before, imported = probe.stdout.strip().rsplit("\n", 1)[-1].split("] [")
    assert before == "[", f"imported before the cards and rows: {before}]"
    assert "'httpx'" in imported and "'tui.service'" in imported  # the watch saw them


async def test_what_the_start_made_is_out_of_the_collectors_way_until_the_console_ends(
    make_app, wait_ready
) -> None:
    """A full collection walked every object of the start (modules, widgets, the embedded
    service): ~80 ms at 1,000,000 errors, twice in 30 page-downs. Frozen once the first
    refresh is in, handed back to the collector when the console ends."""
    import gc

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
