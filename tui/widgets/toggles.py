"""Radio buttons and checkboxes whose state shows in their glyph, not only in colour.

Textual draws ● (radio) and X (checkbox) whether on or off and tells them apart by
colour alone; on a monochrome terminal, or to a colour-blind admin, they look the same.
These draw the glyph only when on.
"""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


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
