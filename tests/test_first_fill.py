"""The first fill of an empty cache: progress, resuming after a kill, no cancel by the timer.

On the embedded demo (a SQLite ledger by design); the fill from a service on PostgreSQL is
test_snapshot_fill.py's test_the_cache_fills_the_same_from_a_service_on_either_engine.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.conftest import DEMO_SIZE
from tui.data.cache import ViewFilter
from tui.data.session import DataSession, FillProgress
from tui.embedded import open_data_session
from tui.widgets.header import fill_text


def ledger_counts(data_dir: Path) -> tuple[int, int]:
    """(errors, open errors) in the service's own ledger file."""
    from tui.embedded import LEDGER_NAME

    with sqlite3.connect(data_dir / LEDGER_NAME) as conn:
        total = conn.execute("SELECT count(*) FROM errors").fetchone()[0]
        opened = conn.execute("SELECT count(*) FROM errors WHERE status = 'open'").fetchone()[0]
    return total, opened


async def open_session(env: dict[str, Path]) -> DataSession:
    session = await open_data_session(cache_path=env["cache_file"], demo_size=DEMO_SIZE)
    session.page_size = session.snapshot_chunk = 250
    session.cache.bulk_threshold = 250
    return session


async def test_fill_reports_progress_against_the_service_total(synchealth_env) -> None:
    total, opened = ledger_counts(synchealth_env["data"])
    session = await open_session(synchealth_env)
    seen: list[FillProgress] = []
    session.on_fill = seen.append
    try:
        result = await session.refresh()
        assert result.online and result.changed == total
        assert [p.done for p in seen] == sorted(p.done for p in seen)
        assert seen[0].done == 0 and seen[-1].done == total
        assert {p.total for p in seen} == {total}
        # then the indexes and totals, step by step, every row stored (not "connecting")
        steps = [p.indexing for p in seen if p.indexing is not None]
        assert steps and [done for done, _ in steps] == list(range(steps[0][1]))
        assert all(p.done == total for p in seen if p.indexing is not None)
        assert seen.index(next(p for p in seen if p.indexing)) > 0
        assert session.fill is None  # over: the header goes back to online
        assert await session.count(ViewFilter()) == opened
        again: list[FillProgress] = []
        session.on_fill = again.append
        await session.refresh()
        assert again == []  # a later refresh is no fill
    finally:
        await session.close()


def test_fill_text_in_both_languages() -> None:
    from tui.i18n import set_lang

    progress = FillProgress(404_202, 1_000_000, 20_000.0)
    try:
        set_lang("en")
        assert fill_text(progress) == (
            "filling the cache: 404,202 of 1,000,000 (40%), about 30 s left"
        )
        assert fill_text(FillProgress(5, None, 1.0)) == "filling the cache: 5 so far"
        indexing = FillProgress(1_000_000, 1_000_000, 20_000.0, indexing=(2, 14))
        assert fill_text(indexing) == ("indexing the cache: step 3 of 14 (1,000,000 errors stored)")
        set_lang("ja")
        assert fill_text(progress) == (
            "キャッシュを作成中: 1,000,000 件中 404,202 件 (40%)、残り約 30 秒"
        )
        assert fill_text(indexing) == (
            "キャッシュの索引を作成中: 14 段階中 3 (1,000,000 件を保存済み)"
        )
    finally:
        set_lang("en")


async def test_a_killed_fill_resumes_from_its_cursor_after_a_restart(synchealth_env) -> None:
    total, opened = ledger_counts(synchealth_env["data"])
    session = await open_session(synchealth_env)
    fill = asyncio.ensure_future(session.refresh())

    def kill_after_three_pages(progress: FillProgress) -> None:
        if progress.done >= 750:
            fill.cancel()  # the process dies between two pages

    session.on_fill = kill_after_three_pages
    try:
        await asyncio.gather(fill, return_exceptions=True)
        assert fill.cancelled()
        stored = await session.cache.row_count()
        assert 750 <= stored < total and session.cache.filling
    finally:
        await session.close()

    session = await open_session(synchealth_env)  # the restart
    try:
        # the snapshot's chunks so far: the feed cursor waits for the last one
        assert session.cache.filling and await session.cache.snapshot_state() is not None
        # cards and grid agree while it fills: both empty until the fill is done
        assert await session.count(ViewFilter()) == 0
        assert sum(c.errors for c in await session.type_counts()) == 0
        seen: list[FillProgress] = []
        session.on_fill = seen.append
        result = await session.refresh()
        assert result.online
        assert result.changed == total - stored  # went on from where it stopped
        assert seen[0].done == stored and seen[-1].done == total == seen[-1].total
        assert not session.cache.filling
        assert await session.count(ViewFilter()) == opened
        assert sum(c.errors for c in await session.type_counts()) == opened
    finally:
        await session.close()


async def test_the_refresh_timer_never_cancels_a_running_fill(make_app, wait_ready) -> None:
    """Ticks during a refresh queue one more refresh after it instead of restarting it."""
    from textual.worker import WorkerState

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot, lambda: app.session is not None)
        await wait_ready(pilot)
        app.refresh_data()
        running = [w for w in app.workers if w.group == "refresh"]
        assert len(running) == 1
        app.refresh_data()  # the timer ticks while it runs
        app.refresh_data()
        seen = set(running)
        while app.refreshing:
            seen |= {w for w in app.workers if w.group == "refresh"}
            await asyncio.sleep(0.002)
        await wait_ready(pilot)
        assert running[0].state == WorkerState.SUCCESS  # never cancelled
        assert len(seen) == 2  # and one more for the ticks meanwhile
        assert all(w.state == WorkerState.SUCCESS for w in seen)


async def test_the_header_says_filling_not_offline_while_the_first_fill_runs() -> None:
    from datetime import UTC, datetime

    from textual.app import App, ComposeResult

    from tui.widgets.header import OfflineBanner, Status, StatusHeader

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield StatusHeader()
            yield OfflineBanner()

    fill = FillProgress(404_202, 1_000_000, 20_000.0)
    app = Host()
    async with app.run_test(size=(160, 5)) as pilot:
        header, banner = app.query_one(StatusHeader), app.query_one(OfflineBanner)
        header.show(Status("Acme", "simulated", False, None, None, fill=fill), datetime.now(UTC))
        banner.show(Status("Acme", "simulated", False, None, None, fill=fill))
        await pilot.pause()
        line = str(header.render())
        assert "filling the cache: 404,202 of 1,000,000 (40%), about 30 s left" in line
        assert "offline" not in line and not banner.display
        banner.show(Status("Acme", "simulated", False, None, "refused"))  # the fill is over
        assert banner.display
