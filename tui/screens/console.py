"""What the screens need of the console app, typed without importing it.

tui/app.py's ``SyncHealthApp`` imports the screens; a screen that imported the app back
(even for a type hint) would close a circle. The app satisfies :class:`Console`
structurally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from tui.config import Config
from tui.core.models import CauseSummary, Usage
from tui.data.session import DataSession, ViewFilter
from tui.data.values import ViewOrder
from tui.widgets.header import Status


class MainView(Protocol):
    """The main screen as another screen changes its view."""

    @property
    def view(self) -> ViewFilter: ...

    def set_view(self, view: ViewFilter) -> None: ...


class Console(Protocol):
    """The state the app shares with its screens and the work it starts for them."""

    session: DataSession | None
    config: Config
    marks: set[int]
    usage: Usage | None

    def now(self) -> datetime: ...

    def status(self) -> Status | None: ...

    @property
    def main_screen(self) -> MainView | None: ...

    def start_resync(self, ids: Sequence[int], hidden: int, ignored: int = 0) -> None: ...

    def start_ignore(
        self,
        ids: Sequence[int] = (),
        cause: CauseSummary | None = None,
        after: Callable[[], object] | None = None,
    ) -> None: ...

    async def unignore(self, ids: Sequence[int]) -> None: ...

    def start_export(self, view: ViewFilter, sort: ViewOrder = ViewOrder("id", False)) -> None: ...
