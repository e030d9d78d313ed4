"""The reference for bench/console_keys.py: an empty Textual app in the same terminal.

A focused line-API ``ScrollView`` of a million plain lines; page-down jumps a screen
(no animation). Run as ``python bench/_empty_app.py``; ``q`` quits.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class Lines(ScrollView, can_focus=True):
    BINDINGS: ClassVar = [Binding("pagedown", "page_down", "Page down")]

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width or 160, 1_000_000)

    def render_line(self, y: int) -> Strip:
        return Strip([Segment(f"line {round(self.scroll_y) + y}".ljust(self.size.width))])

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self.size.height, animate=False)


class EmptyApp(App[None]):
    BINDINGS: ClassVar = [Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Lines()

    def on_mount(self) -> None:
        self.query_one(Lines).focus()


if __name__ == "__main__":
    EmptyApp().run()
