"""What the main and records screens say about marks."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from tui.i18n import t


def say_marks_outside(screen: Screen[Any], hidden: int) -> None:
    """After "mark all in view": name the marks the view does not show, since a resync
    takes every mark (point 10 of issue 12: never include them without a word)."""
    if hidden > 0:
        screen.notify(t("main.marks.outside", count=hidden), severity="warning", timeout=15)


def clear_marks(screen: Screen[Any], marks: set[int]) -> None:
    """ctrl+\\: clear every mark and say how many went (or that there were none), since
    marks outside the view are cleared too and would otherwise go unseen."""
    count = len(marks)
    marks.clear()
    screen.notify(t("main.marks.cleared", count=count) if count else t("main.marks.none"))
