"""Snapshots of the history view showing the audit trail, in English and Japanese.

The real service on a demo ledger and the simulated org, on a fixed clock, changed
through the console's data session under a fixed actor name: the content is pinned.
SQLite only: a picture of the console; the trail it shows is served alike from both
engines (tests/test_audit_api.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from test_ingest import T0, Clock, Env, close_env, open_env
from textual.app import App
from textual.pilot import Pilot

from tui import i18n
from tui.core.notify_models import NotificationSettings
from tui.data.session import DataSession
from tui.embedded import build_demo_ledger
from tui.screens.history import HistoryScreen
from tui.simorg.demo import demo_org_state

SIZE = (120, 30)


class HistoryHost(App[None]):
    """Makes four changes on a service of its own, then shows the history view."""

    def __init__(self, tmp: Path) -> None:
        super().__init__()
        self.tmp = tmp
        self.env: Env | None = None
        self.session: DataSession | None = None

    async def on_mount(self) -> None:
        db = self.tmp / "ledger.sqlite3"
        build_demo_ledger(db, 60, now=T0)
        clock = Clock(T0)
        self.env = await open_env(db, demo_org_state(7), clock)
        self.session = session = await DataSession.open(
            "http://synchealth.test",
            transport=httpx.ASGITransport(app=self.env.service.asgi),
            cache_path=self.tmp / "cache.sqlite3",
            actor="ana@laptop",
        )
        await session.refresh()
        await session.set_allocation(4000)
        clock.advance(minutes=3)
        await session.set_notifications(NotificationSettings(enabled=True, frequency="weekly"))
        clock.advance(minutes=2)
        cause = (await session.causes()).causes[0].cause
        await session.mute_cause(cause, 60)
        clock.advance(minutes=1)
        await session.unmute_cause(cause)
        self.push_screen(HistoryScreen(session, clock() + timedelta(minutes=5)))

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.env is not None:
            await close_env(self.env)


async def _settle(pilot: Pilot) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        screen = pilot.app.screen
        if isinstance(screen, HistoryScreen) and screen.loaded:
            break
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def tmp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_history_shows_the_audit_trail(snap_compare, tmp_env: Path, lang: str) -> None:
    i18n.set_lang(lang)  # type: ignore[arg-type]
    try:
        assert snap_compare(HistoryHost(tmp_env), terminal_size=SIZE, run_before=_settle)
    finally:
        i18n.set_lang("en")
