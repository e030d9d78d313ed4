"""Before any resync batch is sent again: what was left unanswered, and the choice.

A batch that got no answer (the console was killed, the connection dropped, the
service was too slow) may or may not have reached Salesforce. Sending it again with
its first request_id is safe (the service answers a request it already ran from its
record and sends nothing twice), but it is the user's call: this dialog names the
count and opens on "Not now", which keeps the batch for the next start.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button

from tui.i18n import t
from tui.widgets.prose import Prose


class ReplayConfirmScreen(ModalScreen[bool]):
    """``True``: send the pending batches again; ``False``: keep them for later."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "later", "Not now", id="modal.cancel"),
        Binding("y", "send", "Send again", id="modal.confirm"),
    ]
    AUTO_FOCUS = "#later"

    def __init__(self, errors: int) -> None:
        super().__init__(classes="modal")
        self.errors = errors

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.replay.title"))
            with VerticalScroll(classes="body"):
                yield Prose(
                    t("modals.replay.question", count=self.errors),
                    classes="question",
                )
                yield Prose(t("modals.replay.why"))
                yield Prose(t("modals.replay.keys"), classes="hint keys")
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.replay.later")), id="later")
                yield Button(Content(t("modals.replay.send")), variant="warning", id="send")

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#later")
    def action_later(self) -> None:
        self.dismiss(False)
