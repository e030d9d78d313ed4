"""What the modal tests share: a host app that pushes one modal and keeps its result,
and a session on its own demo ledger (for tests that change data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App

from tui.embedded import open_data_session

UNSET = object()


class Host(App[None]):
    """Pushes one modal and keeps what it dismisses with."""

    def __init__(self, modal: Any) -> None:
        super().__init__()
        self.modal = modal
        self.result: Any = UNSET

    def on_mount(self) -> None:
        self.push_screen(self.modal, callback=self._done)

    def _done(self, result: Any) -> None:
        self.result = result


@pytest.fixture
async def own_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A refreshed session on a demo ledger of this test's own."""
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    opened = await open_data_session(cache_path=tmp_path / "cache.sqlite3", demo_size=2000)
    await opened.refresh()
    yield opened
    await opened.close()
