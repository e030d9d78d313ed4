"""A paragraph of the console's own sentences, broken into lines between phrases."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static

from tui.text.linebreak import PhraseWrapped


def _wrapped(content: object) -> PhraseWrapped:
    return PhraseWrapped(content if isinstance(content, Text) else Text(str(content)))


class Prose(Static):
    """A ``Static`` whose text (never markup) breaks lines as :mod:`tui.text.linebreak`
    does, so a Japanese sentence never starts a line with 、 or splits a Latin word."""

    def __init__(self, content: str | Text = "", **kwargs: Any) -> None:
        self._prose = _wrapped(content)
        super().__init__(content, markup=False, **kwargs)

    def render(self) -> PhraseWrapped:
        return self._prose

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._prose = _wrapped(content)
        super().update(content, layout=layout)
