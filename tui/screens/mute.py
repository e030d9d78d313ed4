"""How long to mute the alerts of one cause (``m`` in the causes view), or unmute it.

Dismissed with the minutes chosen, :data:`UNMUTE` to end a mute, or None to leave
it as it is. The cause's name comes from Salesforce messages: data, never markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import t
from tui.text.safe import clean
from tui.text.timefmt import stamp

#: The durations offered, in minutes: an hour, a working day, a day, a week.
DURATIONS: tuple[int, ...] = (60, 8 * 60, 24 * 60, 7 * 24 * 60)
UNMUTE = 0


def duration_label(minutes: int) -> str:
    days, rest = divmod(minutes, 24 * 60)
    if rest == 0:
        return t("mute.days", count=days)
    return t("mute.hours", count=minutes // 60)


class MuteScreen(ModalScreen[int | None]):
    CSS_PATH: ClassVar = ["../styles/modals.tcss", "../styles/triage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]

    def __init__(self, cause_name: str, muted_until: datetime | None) -> None:
        super().__init__(classes="modal")
        self.cause_name = cause_name
        self.muted_until = muted_until

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog mute") as dialog:
            dialog.border_title = Content(t("mute.title"))
            yield Static(clean(self.cause_name), id="cause", markup=False)
            yield Static(t("mute.intro"), classes="hint", markup=False)
            if self.muted_until is not None:
                until = stamp(self.muted_until)
                yield Static(t("mute.muted_until", until=until), id="state", markup=False)
            options = [Option(duration_label(m), id=str(m)) for m in DURATIONS]
            if self.muted_until is not None:
                options.append(Option(t("mute.unmute"), id=str(UNMUTE)))
            yield OptionList(*options, id="durations")
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(int(event.option.id))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
