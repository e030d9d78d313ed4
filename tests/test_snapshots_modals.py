"""Snapshots of every modal at 80x24 (English), the resync confirm and allocation in Japanese,
the notification settings at 160x50 in Japanese.

Synchronous tests: the snap_compare fixture runs its own event loop. Content is pinned:
fixed usage figures, a fixed export folder and time, the deterministic demo org.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from tui import i18n
from tui.core.models import HourBucket, Usage
from tui.data.session import DataSession, ResyncPlan, ViewFilter
from tui.embedded import open_data_session
from tui.screens.allocation import AllocationScreen
from tui.screens.export import ExportScreen
from tui.screens.help import HelpScreen
from tui.screens.notifications import NotificationsScreen
from tui.screens.resync import ResyncConfirmScreen, ResyncRunScreen

SIZE = (80, 24)
AS_OF = datetime(2025, 6, 16, 9, 0, tzinfo=UTC)
USAGE = Usage(
    used=3_412,
    allocated=5_000,
    salesforce_limit=15_000,
    org_used=7_940,
    hourly=[HourBucket(hour=AS_OF, calls=142)] * 24,
    as_of=AS_OF,
)
PLAN = ResyncPlan(errors=250, batches=3, calls=3, allocation_left=1_585)
BINDINGS = [
    ("quit", "q", "Quit"),
    ("help", "?", "Show this help"),
    ("mark", "space", "Mark / unmark row"),
    ("mark_all", "ctrl+a", "Mark all errors in view"),
    ("resync", "r", "Resync marked errors (else the cursor row)"),
    ("export", "e", "Export errors to CSV"),
    ("allocation", "a", "Edit the API allocation"),
    ("notifications", "n", "Notification settings"),
]


async def _no_save(n: int) -> Usage:
    raise AssertionError("a snapshot never saves")


class Host(App[None]):
    """Opens the embedded demo session when the modal needs one, then pushes the modal."""

    def __init__(self, make: Callable[[DataSession | None], Any], tmp: Path | None = None):
        super().__init__()
        self.make = make
        self.tmp = tmp
        self.session: DataSession | None = None

    async def on_mount(self) -> None:
        if self.tmp is not None:
            self.session = await open_data_session(
                cache_path=self.tmp / "cache.sqlite3", demo_size=2000
            )
            await self.session.refresh()
        self.push_screen(self.make(self.session))

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.close()


@pytest.fixture
def tmp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(params=["en"])
def lang(request):
    i18n.set_lang(request.param)
    yield request.param
    i18n.set_lang("en")


@pytest.fixture
def japanese():
    i18n.set_lang("ja")
    yield
    i18n.set_lang("en")


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_allocation_en(snap_compare, lang) -> None:
    app = Host(lambda _: AllocationScreen(USAGE, _no_save))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_allocation_invalid_en(snap_compare, lang) -> None:
    app = Host(lambda _: AllocationScreen(USAGE, _no_save))
    assert snap_compare(app, terminal_size=SIZE, press=["home", "ctrl+k", "-", "5"])


def test_allocation_ja(snap_compare, japanese) -> None:
    app = Host(lambda _: AllocationScreen(USAGE, _no_save))
    assert snap_compare(app, terminal_size=SIZE, press=["home", "ctrl+k", *"20000"])


def test_resync_confirm_en(snap_compare, lang) -> None:
    app = Host(lambda _: ResyncConfirmScreen(PLAN, 12))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_resync_confirm_ja(snap_compare, japanese) -> None:
    app = Host(lambda _: ResyncConfirmScreen(PLAN, 12))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_resync_run_summary_en(snap_compare, lang, tmp_env: Path) -> None:
    app = Host(lambda s: ResyncRunScreen(s, range(1, 151)), tmp_env)
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_export_en(snap_compare, lang, tmp_env: Path) -> None:
    app = Host(
        lambda s: ExportScreen(
            s,
            ViewFilter(type="picklist"),
            frozenset({1, 2, 3}),
            Path("/home/admin/exports"),
            now=datetime(2025, 6, 16, 9, 30),
        ),
        tmp_env,
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_notifications_en(snap_compare, lang, tmp_env: Path) -> None:
    app = Host(lambda s: NotificationsScreen(s), tmp_env)
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_notifications_wide_ja(snap_compare, japanese, tmp_env: Path) -> None:
    """160x50 in Japanese: the schedule and the channels stand side by side."""
    app = Host(lambda s: NotificationsScreen(s), tmp_env)
    assert snap_compare(app, terminal_size=(160, 50), run_before=_settle)


def test_help_en(snap_compare, lang) -> None:
    app = Host(lambda _: HelpScreen(BINDINGS))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_small_terminal_keeps_the_buttons(snap_compare, lang) -> None:
    """60x20: the allocation dialog still shows Cancel and Save."""
    app = Host(lambda _: AllocationScreen(USAGE, _no_save))
    assert snap_compare(app, terminal_size=(60, 20), run_before=_settle)
