"""Radio buttons, checkboxes and switches whose state shows in a glyph or word, not only
in colour.

Textual draws ● (radio) and X (checkbox) whether on or off, and a switch's knob on either
side, telling them apart by colour alone; on a monochrome terminal, or to a colour-blind
admin, they look the same. These draw the glyph only when on, and put On / Off beside
a switch.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Checkbox, RadioButton, Static, Switch

from tui.i18n import t


class StateRadioButton(RadioButton):
    """● when chosen, blank when not."""

    # Textual declares BUTTON_INNER a plain class attribute; a property makes the glyph
    # follow the value, and Textual only ever reads it.
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "●" if self.value else " "


class StateCheckbox(Checkbox):
    """X when ticked, blank when not."""

    # Textual declares BUTTON_INNER a plain class attribute; a property makes the glyph
    # follow the value, and Textual only ever reads it.
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


def switch_word(value: bool) -> str:
    return t("modals.switch.on" if value else "modals.switch.off")


class WordSwitch(Horizontal):
    """A ``Switch`` (its id is ``switch_id``) with On / Off beside it, kept up to date."""

    def __init__(self, switch_id: str, *, disabled: bool = False) -> None:
        super().__init__(classes="word-switch")
        self._switch = Switch(id=switch_id, disabled=disabled)

    def compose(self) -> ComposeResult:
        yield self._switch
        yield Static(switch_word(self._switch.value), classes="state", markup=False)

    @on(Switch.Changed)
    def _show_word(self, event: Switch.Changed) -> None:
        self.query_one(".state", Static).update(switch_word(event.value))
