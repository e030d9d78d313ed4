"""The embedded default: demo ledger in the data dir, service and org in-process.

SQLite only: the embedded demo's ledger is a SQLite file by design."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from tui.core.models import ERROR_TYPES
from tui.data import paths
from tui.data.cache import ViewFilter
from tui.embedded import LEDGER_NAME, ensure_demo_ledger, open_data_session, start_embedded
from tui.service.ledger import LedgerError


def test_dirs_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "c"))
    assert paths.data_dir() == tmp_path / "d" and (tmp_path / "d").is_dir()
    a = paths.cache_path_for("https://a.example")
    b = paths.cache_path_for("https://b.example")
    assert a.parent == tmp_path / "c" and a != b
    assert a == paths.cache_path_for("https://a.example")


def test_the_demo_ledger_is_built_once(tmp_path: Path) -> None:
    ledger = ensure_demo_ledger(150, tmp_path)
    assert ledger == tmp_path / LEDGER_NAME
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT count(*) FROM errors").fetchone()[0] == 150
    stamp = ledger.stat().st_mtime_ns
    assert ensure_demo_ledger(9999, tmp_path) == ledger
    assert ledger.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


async def test_embedded_default_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # its own data dir: the resync below changes the ledger other tests share otherwise
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    session = await open_data_session(demo_size=2000)  # no url: embedded, default cache path
    try:
        result = await session.refresh()
        assert result.online and result.changed == 2000
        assert session.mode == "simulated" and session.org_name
        assert (tmp_path / "data" / LEDGER_NAME).exists()
        cache_files = list((tmp_path / "cache").glob("cache-*.sqlite3"))
        assert len(cache_files) == 1
        counts = await session.type_counts()
        assert [c.type for c in counts] == list(ERROR_TYPES)
        open_errors = await session.count(ViewFilter())
        assert sum(c.errors for c in counts) == open_errors > 0
        ids = await session.view_ids(ViewFilter())
        rows = await session.rows(ids[:5])
        assert len(rows) == 5
        summary = await session.resync(list(ids[:3]))
        assert summary.requested == 3 and summary.calls <= 1
        assert await session.count(ViewFilter()) == open_errors - summary.synced
        usage = await session.usage()
        assert usage is not None and usage.salesforce_limit > 0
    finally:
        await session.close()


async def test_the_service_stops_on_close(tmp_path: Path) -> None:
    """Closing stops the service's background work and lets go of its ledger."""
    ledger = tmp_path / LEDGER_NAME
    before = asyncio.all_tasks()
    embedded = await start_embedded(100, data_dir=tmp_path)
    async with httpx.AsyncClient(transport=embedded.transport, base_url=embedded.base_url) as c:
        assert (await c.get("/v1/health")).status_code == 200
    started = {t.get_name() for t in asyncio.all_tasks() - before}
    assert {"resync-jobs", "retries", "synchealth-notifier"} <= started
    wal = ledger.with_name(ledger.name + "-wal")
    assert wal.exists()  # WAL mode: SQLite removes it when the last connection closes
    await embedded.aclose()
    assert [t.get_name() for t in asyncio.all_tasks() - before if not t.done()] == []
    assert not wal.exists()
    with pytest.raises(LedgerError, match="not open"):
        embedded.service.ledger.reader  # type: ignore[attr-defined]  # noqa: B018
    assert embedded.cache_key == f"embedded:{ledger}"
