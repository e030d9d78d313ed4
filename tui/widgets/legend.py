"""The trend chart's legend, on a line of its own above the plot.

plotext draws its own legend inside the plot, over the first columns of the top rows:
on the lines and the y axis. It also counts each character as one cell, so a Japanese
name (two cells a character) pushed the rest of its row, the plot's frame with it, to
the right. This line names the series instead, each in the colour its line is drawn in
(the colours are the ``legend--*`` component classes of tui/styles/trends.tcss)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from tui.i18n import t

#: The chart's series, in drawing order; ``trends.<series>`` names each.
SERIES = ("new", "resolved")
#: What stands for a series' line: the braille dots the chart draws it with.
MARK = "⣿⣿"


class ChartLegend(Static):
    """``⣿⣿ New   ⣿⣿ Resolved``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"legend--{series}" for series in SERIES}

    def color(self, series: str) -> tuple[int, int, int]:
        """The colour of ``series`` as plotext takes it (red, green, blue)."""
        color = self.get_component_rich_style(f"legend--{series}").color
        if color is None:
            return (255, 255, 255)
        triplet = color.get_truecolor()
        return (triplet.red, triplet.green, triplet.blue)

    def render(self) -> Text:
        return Text("   ").join(
            Text.assemble((MARK, self.get_component_rich_style(f"legend--{series}")), " ",
                          t(f"trends.{series}"))
            for series in SERIES
        )  # fmt: skip
