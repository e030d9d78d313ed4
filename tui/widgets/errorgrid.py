"""The error grid: every error of the current view, one line each, over an id array."""

from __future__ import annotations

from array import array
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from tui.data.catalog import load_catalog
from tui.i18n import current_lang, t
from tui.widgets.linegrid import Column, LineGrid
from tui.widgets.safe import clean
from tui.widgets.timefmt import ago

RowLoader = Callable[[Sequence[int]], Awaitable[dict[int, Any]]]

#: Sort columns in the order the sort key cycles through them.
SORT_ORDER: tuple[str, ...] = (
    "last_seen", "subtype", "sf_object", "record_name", "attempts", "type", "id",
)  # fmt: skip
_SORT_OF_COLUMN = {
    "subtype": "subtype",
    "object": "sf_object",
    "name": "record_name",
    "seen": "last_seen",
    "attempts": "attempts",
}


@lru_cache(maxsize=512)
def subtype_title(code: str, lang: str, cells: int | None = None) -> str:
    """A subtype's catalog title; its short title when the title needs more than ``cells``."""
    try:
        text = load_catalog().subtype(code).text(lang)
    except KeyError:
        return code
    return text.title if cells is None else text.label(cells)


class ErrorGrid(LineGrid):
    """Errors in view order: mark, subtype, object, record, Salesforce id, message, seen, tries."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open record", show=False, id="grid.open"),
    ]

    class Opened(Message):
        """Enter on a row: narrow to that record's errors."""

    def __init__(self, marks: set[int], clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marks = marks
        self.clock = clock
        self.ids: array = array("q")
        self.loader: RowLoader | None = None
        self.sort: str = "last_seen"
        self.descending: bool = True

    @property
    def total(self) -> int:
        return len(self.ids)

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened())

    def key_at(self, index: int) -> Hashable:
        return self.ids[index]

    async def fetch(self, keys: list[Hashable]) -> dict[Hashable, Any]:
        if self.loader is None:
            return {}
        return dict(await self.loader([int(key) for key in keys]))  # type: ignore[call-overload]

    def is_marked(self, index: int) -> bool:
        return self.ids[index] in self.marks

    @property
    def cursor_id(self) -> int | None:
        return self.ids[self.cursor] if 0 <= self.cursor < self.total else None

    def set_view(self, ids: array, *, keep_id: int | None, clear_cache: bool) -> None:
        """Show ``ids``; the cursor stays on ``keep_id`` when it is still in view."""
        self.ids = ids
        cursor = 0
        if keep_id is not None:
            try:
                cursor = ids.index(keep_id)
            except ValueError:
                cursor = min(self.cursor, max(0, len(ids) - 1))
        self.reset(cursor=cursor, clear_cache=clear_cache)

    def columns(self, width: int) -> list[Column]:
        wide = width >= 130
        cols = [
            Column("mark", "", 1),
            Column("subtype", t("main.grid.subtype"), 26 if wide else 18 if width >= 70 else 14),
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
        """Ids from the cursor to the nearest marked row in view (either side), inclusive."""
        if not self.total:
            return []
        ids, marks, here = self.ids, self.marks, self.cursor
        for distance in range(1, self.total):
            for index in (here - distance, here + distance):
                if 0 <= index < self.total and ids[index] in marks:
                    low, high = sorted((index, here))
                    return list(ids[low : high + 1])
        return [ids[here]]
