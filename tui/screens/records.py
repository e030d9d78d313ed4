"""The affected-records view: the distinct records one error type touches.

Marking a record marks its open errors (in the app's mark set), so ``r`` resyncs
what was fixed on those records, as on the main screen.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, cast

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from tui.data.session import DataSession, ViewFilter
from tui.data.soql import IdExport, id_export
from tui.i18n import crm_object, t
from tui.screens.console import Console
from tui.screens.marks import clear_marks, say_marks_outside
from tui.text.safe import clean
from tui.text.timefmt import ago
from tui.text.titles import type_title
from tui.widgets.header import StatusHeader
from tui.widgets.keybar import KeyBar
from tui.widgets.linegrid import Column, LineGrid

#: Cells of the CRM object ("コンタクト") and Salesforce object ("Opportunity") columns.
OBJECT_CELLS = 10
SF_OBJECT_CELLS = 11

RECORD_KEYS = ("mark", "resync", "copy_ids", "records.open", "mark_all", "clear_marks", "back",
               "help", "quit")  # fmt: skip


class RecordGrid(LineGrid):
    """Records with their open-error counts, paged from the cache by offset."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Show errors", show=False, id="records.open"),
    ]

    class Opened(Message):
        """Enter on a record: show its errors on the main screen."""

    def __init__(self, screen: RecordsScreen, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = screen
        self.count = 0

    @property
    def total(self) -> int:
        return self.count

    def key_at(self, index: int) -> int:
        return index

    async def fetch(self, keys: list[int]) -> dict[int, Any]:
        session = self.owner.console.session
        if session is None or not keys:
            return {}
        start, end = min(keys), max(keys)
        rows = await session.affected_records(self.owner.view, offset=start, limit=end - start + 1)
        return {start + position: row for position, row in enumerate(rows)}

    def is_marked(self, index: int) -> bool:
        row = self._rows.get(index)
        return row is not None and (row.object_type, row.record_id) in self.owner.marked_records

    def columns(self, width: int) -> list[Column]:
        cols = [
            Column("mark", "", 1),
            Column("object", t("main.records.object"), OBJECT_CELLS),
            Column("name", t("main.records.name")),
        ]
        if width >= 100:
            cols.append(Column("record_id", t("main.records.record_id"), 14))
        title = t("main.records.sf_object")
        cols.append(Column("sf_object", title, max(SF_OBJECT_CELLS, cell_len(title))))
        if width >= 80:
            cols.append(Column("sf_id", t("main.records.sf_id"), 18))
        cols += [
            Column("errors", t("main.records.errors"), 6, right=True),
            Column("seen", t("main.grid.last_seen"), 8),
        ]
        return cols

    def cells(self, row: Any, columns: list[Column]) -> list[str]:
        values = {
            "mark": "●" if (row.object_type, row.record_id) in self.owner.marked_records else " ",
            "object": clean(crm_object(row.object_type)),
            "name": clean(row.record_name),
            "record_id": clean(row.record_id),
            "sf_object": clean(row.sf_object),
            "sf_id": clean(row.sf_id or "-"),
            "errors": f"{row.errors:,}",
            "seen": ago(row.last_seen, self.owner.console.now()),
        }
        return [values[column.key] for column in columns]

    def action_open(self) -> None:
        if self.row_at_cursor() is not None:
            self.post_message(self.Opened())


async def first_look(
    session: DataSession,
    view: ViewFilter,
    rows: int,
    at: int = 0,
    count: int | None = None,
    *,
    clear_cache: bool = True,
) -> RecordsScreen.Counted:
    """The records' and errors' counts with the ``rows`` records from ``at``: what the
    screen shows, read in one go (before it opens, so its first frame has them)."""
    if count is None:
        count = await session.affected_count(view)
    errors = await session.count(view)
    first = await session.affected_records(view, offset=at, limit=rows)
    return RecordsScreen.Counted(count, errors, clear_cache, first, at)


class RecordsScreen(Screen[None]):
    """A temporary view narrowed to the records an error type touches."""

    CSS_PATH = "../styles/records.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark / unmark record", id="mark"),
        Binding("ctrl+a", "mark_all", "Mark all in view", id="mark_all"),
        Binding("ctrl+backslash", "clear_marks", "Clear marks", id="clear_marks"),
        Binding("r", "resync", "Resync", id="resync"),
        Binding("t", "overview", "Type overview", id="overview"),
        Binding("c", "copy_ids", "Copy Salesforce ids / SOQL", id="copy_ids"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, view: ViewFilter, first: Counted | None = None) -> None:
        """``first``: the counts and first rows, read before the screen was opened (so
        its first frame shows them: ``first_look``)."""
        super().__init__()
        self.view = view
        self._first = first
        #: (object type, record id) of the records marked here
        self.marked_records: set[tuple[str, str]] = set()

    @property
    def console(self) -> Console:
        return cast(Console, self.app)

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield Static(id="records-title")
        yield RecordGrid(self, id="record-grid")
        yield KeyBar(RECORD_KEYS, id="keys")

    @property
    def grid(self) -> RecordGrid:
        return self.query_one(RecordGrid)

    def on_mount(self) -> None:
        self.grid.focus()
        if self._first is None:
            self.data_changed()
        else:
            self._header()
            self.on_records_screen_counted(self._first)
            self._first = None

    def data_changed(self, *, clear_cache: bool = True) -> None:
        self._forget_stale_marks()
        self._header()
        self.load(clear_cache)

    def _header(self) -> None:
        self.query_one(StatusHeader).show(self.console.status(), self.console.now())

    def on_screen_resume(self) -> None:
        """Back from a dialog: a resync may have consumed the marks."""
        if self.is_mounted and self._forget_stale_marks():
            self._refresh_marks()

    def _forget_stale_marks(self) -> bool:
        """Records stay drawn marked only while the app still holds marked errors."""
        if self.marked_records and not self.console.marks:
            self.marked_records.clear()
            return True
        return False

    @work(group="records", exclusive=True)
    async def load(self, clear_cache: bool) -> None:
        session = self.console.session
        if session is None:
            return
        grid = self.grid
        count = await session.affected_count(self.view)
        at = grid.top_for(min(grid.cursor, count - 1), count)
        self.post_message(
            await first_look(
                session, self.view, max(grid.page_height, self.app.size.height), at, count,
                clear_cache=clear_cache,
            )
        )  # fmt: skip

    class Counted(Message):
        def __init__(
            self, records: int, errors: int, clear_cache: bool, first: list[Any], at: int
        ) -> None:
            super().__init__()
            self.records, self.errors, self.clear_cache = records, errors, clear_cache
            self.first, self.at = first, at

    def on_records_screen_counted(self, message: Counted) -> None:
        grid = self.grid
        grid.count = message.records
        if message.clear_cache:
            grid.forget_rows()
        grid.keep_rows(dict(enumerate(message.first, message.at)))
        grid.reset(cursor=grid.cursor)
        self._title(message.records, message.errors)

    def _title(self, records: int, errors: int) -> None:
        line = Text.assemble(
            (t("main.records.title", type=type_title(self.view.type or "other")), "bold"),
            "  ",
            t(
                "main.records.counts",
                records=t("main.records.records_count", count=records),
                errors=t("main.records.open_errors", count=errors),
            ),
        )
        if self.console.marks:
            line.append("  ")
            line.append(t("main.view.marked", count=f"{len(self.console.marks):,}"), "bold")
        self.query_one("#records-title", Static).update(line)

    def _refresh_marks(self) -> None:
        self.grid.refresh()
        self.load(False)

    def action_mark(self) -> None:
        """Toggle the cursor record now; its error ids follow from a worker."""
        row = self.grid.row_at_cursor()
        if row is None:
            return
        key = (row.object_type, row.record_id)
        adding = key not in self.marked_records
        if adding:
            self.marked_records.add(key)
        else:
            self.marked_records.discard(key)
        self.grid.action_cursor_down()
        self.grid.refresh()
        self._apply_record_mark(row.record_id, adding)

    @work(group="mark", exclusive=False)
    async def _apply_record_mark(self, record_id: str, adding: bool) -> None:
        session = self.console.session
        if session is None:
            return
        ids = await session.error_ids_for_records(self.view, [record_id])
        if adding:
            self.console.marks.update(ids)
        else:
            self.console.marks.difference_update(ids)
        self._refresh_marks()

    @work(group="mark", exclusive=False)
    async def action_mark_all(self) -> None:
        session = self.console.session
        if session is None:
            return
        marks = self.console.marks
        marks.update(await session.view_ids(self.view))
        offset, page = 0, 1000
        while records := await session.affected_records(self.view, offset=offset, limit=page):
            self.marked_records.update((r.object_type, r.record_id) for r in records)
            offset += page
        self._refresh_marks()
        say_marks_outside(self, await session.outside_view(self.view, list(marks)))

    def action_clear_marks(self) -> None:
        clear_marks(self, self.console.marks)
        self.marked_records.clear()
        self._refresh_marks()

    @work(group="mark", exclusive=False)
    async def action_resync(self) -> None:
        """Resync the marked errors, or the cursor record's errors when none is marked."""
        session, marks = self.console.session, self.console.marks
        if session is None:
            return
        if marks:
            ids = sorted(marks)
            hidden = await session.outside_view(self.view, ids)
            self.console.start_resync(ids, hidden=hidden)
            return
        row = self.grid.row_at_cursor()
        if row is not None:
            ids = await session.error_ids_for_records(self.view, [row.record_id])
            if ids:
                self.console.start_resync(ids, hidden=0)

    def on_record_grid_opened(self) -> None:
        row = self.grid.row_at_cursor()
        if row is None:
            return
        self.dismiss()
        main = self.console.main_screen
        if main is not None:
            main.set_view(replace(main.view, type=self.view.type, record_id=row.record_id))

    @work(group="copy", exclusive=True)
    async def action_copy_ids(self) -> None:
        """The marked records' Salesforce ids (else the cursor record's), to copy."""
        session = self.console.session
        if session is None:
            return
        chosen: list[tuple[str, str | None]] = []
        if self.marked_records:
            offset, page = 0, 1000
            while records := await session.affected_records(self.view, offset=offset, limit=page):
                chosen += [
                    (r.sf_object, r.sf_id)
                    for r in records
                    if (r.object_type, r.record_id) in self.marked_records
                ]
                offset += page
        elif (row := self.grid.row_at_cursor()) is not None:
            chosen.append((row.sf_object, row.sf_id))
        if chosen:
            self._open_copy(id_export(chosen))

    def _open_copy(self, export: IdExport) -> None:
        from tui.screens.copy_ids import CopyIdsScreen

        def copied(where: str | None) -> None:
            if where == "clipboard":
                self.notify(t("modals.copy.copied_clipboard"))
            elif where is not None:
                self.notify(t("modals.copy.copied_file", path=clean(where)))

        folder = self.console.config.export_dir or Path.cwd()
        stamp = self.console.now().strftime("%Y%m%d-%H%M")
        self.app.push_screen(CopyIdsScreen(export, folder, stamp), copied)

    def action_overview(self) -> None:
        from tui.screens.overview import TypeOverviewScreen

        session = self.console.session
        if session is not None:
            self.app.push_screen(TypeOverviewScreen(session, self.view.type or "other"))

    def action_back(self) -> None:
        self.dismiss()
