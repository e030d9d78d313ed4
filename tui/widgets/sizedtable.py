"""A data table whose owner lays its columns out to the width it gets."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable

#: Cells a table's vertical scrollbar takes at the right.
SCROLLBAR = 2


class SizedTable(DataTable[str | Text]):
    """Posts :class:`SizedTable.Resized` when its width changes (first layout included), so
    the screen can fit its columns: a DataTable sizes columns to their content and scrolls
    sideways, hiding the last ones on a narrow terminal."""

    class Resized(Message):
        """The table has a new width."""

    _width = 0

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.post_message(self.Resized())

    def spare(self, widths: list[int]) -> int:
        """Cells left for one more column beside columns of ``widths`` (each padded one
        cell either side, as DataTable draws them)."""
        return self.size.width - sum(widths) - 2 * (len(widths) + 1) - SCROLLBAR
