"""The error grid: every error of the current view, one line each, read a page at a time.

The grid holds the view's row count and the rows around the viewport, keyed by position.
A page next to rows already loaded is asked for by keyset (the rows after or before that
row's sort key), any other by position, so scrolling costs a page however deep it goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from tui.data.values import ErrorRow, SortColumn, SubtypeNames, ViewFilter, ViewOrder
from tui.i18n import current_lang, t
from tui.text.safe import clean
from tui.text.timefmt import ago
from tui.text.titles import subtype_title
from tui.widgets.linegrid import Column, LineGrid

#: ``Cache.view_page``'s signature: (filter, order, offset=, limit=, after=, before=, total=).
PageLoader = Callable[..., Awaitable[list[ErrorRow]]]

#: Sort columns in the order the sort key cycles through them.
SORT_ORDER: tuple[SortColumn, ...] = (
    "last_seen", "subtype", "sf_object", "record_name", "attempts", "type", "id",
)  # fmt: skip
_SORT_OF_COLUMN: dict[str, SortColumn] = {
    "subtype": "subtype",
    "object": "sf_object",
    "name": "record_name",
    "seen": "last_seen",
    "attempts": "attempts",
}


def subtype_width(width: int) -> int:
    """Cells of the Error column in a grid ``width`` cells wide."""
    return 26 if width >= 130 else 18 if width >= 70 else 14


class ErrorGrid(LineGrid):
    """Errors in view order: mark, subtype, object, record, Salesforce id, message, seen, tries."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open record", show=False, id="grid.open"),
    ]

    class Opened(Message):
        """Enter on a row: narrow to that record's errors."""

    class Reordered(Message):
        """Sorted by subtype, the Error column's names changed with its width (a short
        title where the title no longer fits), and so did their order: load the view
        again."""

    def __init__(self, marks: set[int], clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marks = marks
        self.clock = clock
        self.count = 0
        self.view = ViewFilter()
        self.loader: PageLoader | None = None
        self.sort: SortColumn = "last_seen"
        self.descending: bool = True
        #: Bumped on every new view, so a page of the previous one is thrown away.
        self._generation = 0
        #: The Error column's names at the last resize (see ``Reordered``).
        self._names = SubtypeNames()

    @property
    def order(self) -> ViewOrder:
        """The view's order; by subtype, that of the names the Error column shows."""
        width = subtype_width(self.scrollable_content_region.width)
        return ViewOrder(self.sort, self.descending, SubtypeNames(current_lang(), width))

    def on_resize(self) -> None:
        super().on_resize()
        names = self.order.names
        if self.sort == "subtype" and names != self._names:
            self.post_message(self.Reordered())
        self._names = names

    @property
    def total(self) -> int:
        return self.count

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened())

    def key_at(self, index: int) -> int:
        return index

    async def fetch(self, keys: list[int]) -> dict[int, Any]:
        if self.loader is None or not keys:
            return {}
        start, end = min(keys), max(keys)
        generation, limit = self._generation, end - start + 1
        after, before = self._rows.get(start - 1), self._rows.get(end + 1)
        if after is not None:
            rows = await self.loader(self.view, self.order, limit=limit, after=after)
        elif before is not None:
            rows = await self.loader(self.view, self.order, limit=limit, before=before)
            start = end + 1 - len(rows)
        else:
            rows = await self.loader(
                self.view, self.order, offset=start, limit=limit, total=self.count
            )
        if generation != self._generation:
            return {}
        return {start + position: row for position, row in enumerate(rows)}

    def is_marked(self, index: int) -> bool:
        row = self._rows.get(index)
        return row is not None and row.id in self.marks

    @property
    def cursor_id(self) -> int | None:
        row = self.row_at_cursor()
        return None if row is None else row.id

    def set_view(
        self,
        view: ViewFilter,
        count: int,
        cursor: int | None,
        *,
        first: list[ErrorRow] | None = None,
        at: int = 0,
    ) -> None:
        """Show ``count`` rows of ``view``, with its rows from position ``at`` (``first``)
        if given; the cursor goes to ``cursor`` (None: stays put)."""
        self._generation += 1
        self.view, self.count = view, count
        self.forget_rows()
        self.keep_rows(dict(enumerate(first or (), at)))
        self.reset(cursor=self.cursor if cursor is None else cursor)

    def set_count(self, count: int) -> None:
        """The exact count of the view shown (its rows stay)."""
        self.count = count
        self.reset(cursor=self.cursor)

    def columns(self, width: int) -> list[Column]:
        wide = width >= 130
        cols = [
            Column("mark", "", 1),
            Column("subtype", t("main.grid.subtype"), subtype_width(width)),
        ]
        if width >= 76:  # an 80-column terminal still tells a Lead from an Opportunity
            cols.append(Column("object", t("main.grid.object"), 12 if width >= 90 else 9))
        cols.append(
            Column("name", t("main.grid.record"), 24 if wide else 16 if width >= 70 else 12)
        )
        if wide:
            cols.append(Column("sf_id", t("main.grid.sf_id"), 18))
        cols += [
            Column("message", t("main.grid.message")),
            Column("seen", t("main.grid.last_seen"), 8),
            Column("attempts", t("main.grid.attempts"), 4, right=True),
        ]
        return cols

    def header_cells(self, columns: list[Column]) -> list[str]:
        arrow = "▼" if self.descending else "▲"
        return [
            f"{column.title}{arrow}"
            if _SORT_OF_COLUMN.get(column.key) == self.sort
            else column.title
            for column in columns
        ]

    def cells(self, row: Any, columns: list[Column]) -> list[str]:
        lang = current_lang()
        subtype_cells = next((c.width for c in columns if c.key == "subtype"), 0)
        values = {
            "mark": "●" if row.id in self.marks else " ",
            "subtype": subtype_title(row.subtype, lang, subtype_cells),
            "object": clean(row.sf_object),
            "name": clean(row.record_name),
            "sf_id": clean(row.sf_id or "-"),
            "message": clean(row.message),
            "seen": ago(row.last_seen, self.clock()),
            "attempts": str(row.attempts),
        }
        return [values[column.key] for column in columns]

    def range_to_nearest_mark(self) -> list[int]:
        """Ids from the cursor to the nearest marked row loaded (either side), inclusive."""
        here = self.row_at_cursor()
        if here is None:
            return []
        marked = [i for i, row in self._rows.items() if row.id in self.marks and i != self.cursor]
        if not marked:
            return [here.id]
        nearest = min(marked, key=lambda i: abs(i - self.cursor))
        low, high = sorted((nearest, self.cursor))
        span = [self._rows.get(i) for i in range(low, high + 1)]
        return [row.id for row in span if row is not None]
