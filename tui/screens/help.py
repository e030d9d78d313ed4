"""Every key binding, plus the few ideas the keys rely on."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.core.limits import RECORDS_PER_CALL
from tui.i18n import t
from tui.widgets.prose import Prose
from tui.widgets.sizedtable import SizedTable

#: The fewest cells the action column is given (it wraps below that).
ACTION_MIN = 16


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
            yield SizedTable(cursor_type="row", zebra_stripes=True, id="keys")
            with VerticalScroll(classes="notes"):
                for key in ("marks", "batches", "ignore", "language", "keymap"):
                    yield Prose(t(f"modals.help.{key}", size=RECORDS_PER_CALL))
            with Horizontal(classes="buttons"):
                yield Static(t("modals.help.close_hint"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        self.query_one(SizedTable).focus()

    @on(SizedTable.Resized)
    def _fill(self) -> None:
        """Keys and ids at their full width, the action in what is left (wrapped), so no
        column is cut or scrolled out of sight on an 80-column terminal."""
        table = self.query_one(SizedTable)
        row = table.cursor_row
        table.clear(columns=True)
        keys_width = max(cell_len(text) for text in self._column(1, "col_keys"))
        id_width = max(cell_len(text) for text in self._column(0, "col_id"))
        action_width = max(ACTION_MIN, table.spare([keys_width, id_width]))
        table.add_column(Text(t("modals.help.col_keys")), key="keys", width=keys_width)
        table.add_column(Text(t("modals.help.col_action")), key="action", width=action_width)
        table.add_column(Text(t("modals.help.col_id")), key="id", width=id_width)
        for binding_id, keys, description in self.bindings:
            table.add_row(
                Text(keys, style="bold"), Text(description), Text(binding_id), height=None
            )
        table.move_cursor(row=row)

    def _column(self, field: int, title: str) -> list[str]:
        """One field of every binding, with its column's title."""
        return [t(f"modals.help.{title}")] + [binding[field] for binding in self.bindings]

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
