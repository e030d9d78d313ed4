"""The type overview (``t``): a type's meaning and fix, and every subtype explained.

One key away wherever the admin is, so the overview a card shows is not lost once the
card is opened; subtypes with no open errors are explained too. Left and right go to
the neighbouring types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.core.models import ERROR_TYPES
from tui.data.cache import CacheError
from tui.i18n import t
from tui.text.titles import type_title
from tui.widgets.detail import overview_text
from tui.widgets.prose import Prose

if TYPE_CHECKING:
    from tui.data.session import DataSession


class TypeOverviewScreen(ModalScreen[None]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,t", "close", "Close", id="modal.close"),
        Binding("left,h", "step(-1)", "Previous type", show=False, id="overview.previous"),
        Binding("right,l", "step(1)", "Next type", show=False, id="overview.next"),
    ]

    def __init__(self, session: DataSession, type_code: str) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.type_code = type_code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog overview"):
            with VerticalScroll(classes="body", id="overview-body"):
                yield Prose(id="overview")
            with Horizontal(classes="buttons"):
                yield Static(t("main.overview.hint"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        self.query_one("#overview-body").focus()
        self._show()

    def _show(self) -> None:
        self.query_one(".dialog").border_title = Content(
            t("main.overview.title", type=type_title(self.type_code))
        )
        self.run_worker(self._load(self.type_code), exclusive=True, group="overview")

    async def _load(self, type_code: str) -> None:
        try:
            counts = await self.session.subtype_counts(type_code)
        except CacheError:
            counts = []
        if type_code == self.type_code:
            self.query_one("#overview", Prose).update(overview_text(type_code, counts))
            self.query_one("#overview-body", VerticalScroll).scroll_home(animate=False)

    def action_step(self, step: int) -> None:
        self.type_code = ERROR_TYPES[(ERROR_TYPES.index(self.type_code) + step) % len(ERROR_TYPES)]
        self._show()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
