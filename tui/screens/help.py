"""Every key binding, plus the few ideas the keys rely on."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from tui.i18n import t
from tui.widgets.prose import Prose


class HelpScreen(ModalScreen[None]):
    """``bindings`` are (binding id, keys as shown, description), in display order."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "close", "Close", id="modal.close")
    ]

    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__(classes="modal")
        self.bindings = list(bindings)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help") as dialog:
            dialog.border_title = Content(t("modals.help.title"))
            yield DataTable(cursor_type="row", zebra_stripes=True, id="keys")
            with VerticalScroll(classes="notes"):
                for key in ("marks", "batches", "ignore", "language", "keymap"):
                    yield Prose(t(f"modals.help.{key}"))
            with Horizontal(classes="buttons"):
                yield Static(t("modals.help.close_hint"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        table = self.query_one("#keys", DataTable)
        table.add_column(Text(t("modals.help.col_keys")), key="keys")
        table.add_column(Text(t("modals.help.col_action")), key="action")
        table.add_column(Text(t("modals.help.col_id")), key="id")
        for binding_id, keys, description in self.bindings:
            table.add_row(Text(keys, style="bold"), Text(description), Text(binding_id))
        table.focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
