"""A line-rendered grid over rows it never holds all of.

``LineGrid`` is a ``ScrollView`` that draws one line per visible row from a small
LRU cache and asks its subclass to fetch the rows it lacks, in a worker, a page
around the viewport at a time. Its virtual height is the row count, so a million
rows cost no more than a hundred: only the lines on screen are ever rendered.
"""

from __future__ import annotations

import time
from abc import ABCMeta, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.i18n import current_lang
from tui.text.safe import fit, fit_right


@dataclass(frozen=True, slots=True)
class Column:
    """One grid column: ``width`` in cells, or 0 to share what is left."""

    key: str
    title: str
    width: int = 0
    right: bool = False


# mypy cannot use a base computed at run time (type(ScrollView)), so it sees neither this
# metaclass's base nor that it derives from Textual's: both ignores are for that alone.
class _AbstractWidget(type(ScrollView), ABCMeta):  # type: ignore[misc]
    """Textual's widget metaclass with ABC's, so a grid missing a hook cannot be built."""


class LineGrid(ScrollView, can_focus=True, metaclass=_AbstractWidget):  # type: ignore[metaclass]
    """Base of the error and record grids: cursor, header line, row cache, paging.

    A subclass provides the data hooks (``total``, ``key_at``, ``fetch``, ``columns``,
    ``cells``); instantiating one that lacks any of them raises ``TypeError``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="grid.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="grid.down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="grid.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="grid.page_down"),
        Binding("home,g", "first", "First", show=False, id="grid.first"),
        Binding("end,G", "last", "Last", show=False, id="grid.last"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "linegrid--header",
        "linegrid--cursor",
        "linegrid--cursor-blur",
        "linegrid--marked",
        "linegrid--placeholder",
    }

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class CursorMoved(Message):
        """The cursor landed on another row (``index`` in view order)."""

        def __init__(self, grid: LineGrid, index: int) -> None:
            super().__init__()
            self.grid = grid
            self.index = index

        @property
        def control(self) -> LineGrid:
            return self.grid

    #: Rows fetched around the viewport on each miss, in pages of the viewport.
    PREFETCH_PAGES: ClassVar[int] = 1

    def __init__(self, *, cache_size: int = 2000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: OrderedDict[int, Any] = OrderedDict()
        self._pending: set[int] = set()
        self._cache_size = cache_size
        self._fetch_scheduled = False
        #: The widget's and its component classes' styles, and the columns at a width:
        #: every line drawn reads them, and working them out again per line was a third
        #: of a page-down (rich_style walks the ancestors' backgrounds).
        self._styles: dict[str, Style] = {}
        self._layouts: dict[tuple[int, str], tuple[list[Column], list[int]]] = {}
        #: Each loaded row's line and what it was made for (:meth:`_row_text`).
        self._texts: dict[int, tuple[tuple[object, ...], str]] = {}

    # -- what a subclass provides -------------------------------------------------

    @property
    @abstractmethod
    def total(self) -> int:
        """Rows in view."""

    @abstractmethod
    def key_at(self, index: int) -> int:
        """The cache key of the row at ``index``."""

    @abstractmethod
    async def fetch(self, keys: list[int]) -> dict[int, Any]:
        """Load these rows (runs in a worker)."""

    @abstractmethod
    def columns(self, width: int) -> list[Column]:
        """The columns to draw at this width."""

    @abstractmethod
    def cells(self, row: Any, columns: list[Column]) -> list[str]:
        """Cell texts of ``row`` for ``columns``, already cleaned of control characters."""

    def is_marked(self, index: int) -> bool:
        return False

    def header_cells(self, columns: list[Column]) -> list[str]:
        return [column.title for column in columns]

    # -- state --------------------------------------------------------------------

    @property
    def page_height(self) -> int:
        """Data rows that fit in the viewport (the header takes one line)."""
        return max(1, self.scrollable_content_region.height - 1)

    def row_at(self, index: int) -> Any | None:
        """The row at ``index`` if it is loaded."""
        if not 0 <= index < self.total:
            return None
        return self._rows.get(self.key_at(index))

    def row_at_cursor(self) -> Any | None:
        return self.row_at(self.cursor)

    def forget_rows(self) -> None:
        """Every row loaded is stale (the view changed)."""
        self._rows.clear()
        self._texts.clear()

    def keep_rows(self, rows: dict[int, Any]) -> None:
        """Rows loaded with the view (by key), so they are drawn without a fetch."""
        self._rows.update(rows)
        for key in rows:  # a row read again may show other figures
            self._texts.pop(key, None)

    def reset(self, *, cursor: int = 0) -> None:
        """The rows in view changed: resize, move the cursor, redraw."""
        self.virtual_size = Size(self.scrollable_content_region.width, self.total + 1)
        self.cursor = max(0, min(cursor, self.total - 1))
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.total + 1)
        self._scroll_cursor_into_view()

    def watch_cursor(self, index: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.CursorMoved(self, index))

    def top_for(self, cursor: int, total: int | None = None) -> int:
        """The first row shown once the cursor is at ``cursor`` (of ``total`` rows, by
        default the grid's): the viewport moves only as far as it must."""
        top, page = round(self.scroll_y), self.page_height
        if cursor < top:
            top = cursor
        elif cursor >= top + page:
            top = cursor - page + 1
        last_top = (
            (self.total if total is None else total) + 1 - self.scrollable_content_region.height
        )
        return max(0, min(top, last_top))

    def _scroll_cursor_into_view(self) -> None:
        top = self.top_for(self.cursor)
        if top != round(self.scroll_y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._schedule_fetch()

    # -- movement -------------------------------------------------------------------

    def _move(self, index: int) -> None:
        if self.total:
            self.cursor = max(0, min(index, self.total - 1))

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        self._move(self.cursor - self.page_height)

    def action_page_down(self) -> None:
        self._move(self.cursor + self.page_height)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(self.total - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._move(round(self.scroll_y) + event.y - 1)

    # -- fetching -------------------------------------------------------------------

    def _schedule_fetch(self) -> None:
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_later(self._start_fetch)

    def _start_fetch(self) -> None:
        self._fetch_scheduled = False
        page = self.page_height
        top = round(self.scroll_y)
        start = max(0, top - page * self.PREFETCH_PAGES)
        end = min(self.total, top + page * (1 + self.PREFETCH_PAGES))
        # one fetch per run of missing rows: the runs above and below a page already
        # loaded are each read next to it (by keyset), not as one range across it
        runs: list[list[int]] = [[]]
        for index in range(start, end):
            key = self.key_at(index)
            if key in self._rows or key in self._pending:
                if runs[-1]:
                    runs.append([])
            else:
                runs[-1].append(key)
        for keys in filter(None, runs):
            self._pending.update(keys)
            self.run_worker(self._load(keys), group="grid-rows", exit_on_error=False)

    async def _load(self, keys: list[int]) -> None:
        try:
            rows = await self.fetch(keys)
        finally:
            self._pending.difference_update(keys)
        for key, row in rows.items():
            self._rows[key] = row
            self._rows.move_to_end(key)
        while len(self._rows) > self._cache_size:
            self._texts.pop(self._rows.popitem(last=False)[0], None)
        self._make_texts(rows)
        if self._shows_any(rows):  # rows fetched ahead, out of sight, cost no repaint
            self.refresh()
        if self.cursor < self.total and self.key_at(self.cursor) in rows:
            self.post_message(self.CursorMoved(self, self.cursor))

    def _make_texts(self, rows: dict[int, Any]) -> None:
        """Lines of the rows just fetched around the viewport, made now (between keys)."""
        width = self.scrollable_content_region.width
        page, top = self.page_height, round(self.scroll_y)
        for index in range(max(0, top - page), min(self.total, top + 2 * page)):
            row = rows.get(self.key_at(index))
            if row is not None:
                self._row_text(index, row, width)

    def _shows_any(self, rows: dict[int, Any]) -> bool:
        """Whether any of ``rows`` is in the viewport now."""
        top = round(self.scroll_y)
        end = min(self.total, top + self.page_height)
        return any(self.key_at(index) in rows for index in range(top, end))

    # -- drawing --------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, *names: str) -> Style:
        """The widget's style with these component classes' on top, worked out once."""
        key = " ".join(names)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            for name in names:
                style += self.get_component_rich_style(name)
            self._styles[key] = style
        return style

    def _layout(self, width: int) -> tuple[list[Column], list[int]]:
        key = (width, current_lang())  # the titles are in the console's language
        known = self._layouts.get(key)
        if known is None:
            columns = self.columns(width)
            fixed = sum(column.width for column in columns) + max(0, len(columns) - 1)
            flexible = [column for column in columns if not column.width]
            share = max(4, (width - fixed) // max(1, len(flexible)))
            known = self._layouts[key] = (columns, [column.width or share for column in columns])
        return known

    @staticmethod
    def _line(texts: list[str], columns: list[Column], widths: list[int], width: int) -> str:
        """The cells fitted to their columns: a line of exactly ``width`` cells."""
        parts = [
            fit_right(text, cells) if column.right else fit(text, cells)
            for text, column, cells in zip(texts, columns, widths, strict=False)
        ]
        # each part is exactly its column's width (fit), so the line's is known
        used = sum(widths[: len(parts)]) + max(0, len(parts) - 1)
        line = " ".join(parts)
        return line + " " * (width - used) if used <= width else set_cell_size(line, width)

    def _row_text(self, index: int, row: Any, width: int) -> str:
        """The line of the row at ``index``, worked out once while what it shows holds
        (width, language, mark, the minute of its times): made when its page arrives, so
        a page-down only draws lines already made."""
        key = self.key_at(index)
        stamp = (width, current_lang(), self.is_marked(index), int(time.monotonic() // 30))
        known = self._texts.get(key)
        if known is not None and known[0] == stamp:
            return known[1]
        columns, widths = self._layout(width)
        text = self._line(self.cells(row, columns), columns, widths, width)
        self._texts[key] = (stamp, text)
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns, widths = self._layout(width)
        if y == 0:
            text = self._line(self.header_cells(columns), columns, widths, width)
            return Strip([Segment(text, self._style("linegrid--header"))], width)
        index = round(self.scroll_y) + y - 1
        if index >= self.total:
            return Strip.blank(width, self._style())
        row = self._rows.get(self.key_at(index))
        names = ["linegrid--marked"] if self.is_marked(index) else []
        if index == self.cursor:
            names.append("linegrid--cursor" if self.has_focus else "linegrid--cursor-blur")
        if row is None:
            self._schedule_fetch()
            style = self._style(*names, "linegrid--placeholder")
            return Strip([Segment(fit("  …", width), style)], width)
        return Strip([Segment(self._row_text(index, row, width), self._style(*names))], width)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
