"""The main screen: header, usage gauge, the eight cards, the error grid and its detail pane.

Longer than ~400 lines on purpose: it is the one screen that ties the cards, the grid,
the filters, the marks and the detail pane together, and each handler is short; the
widgets it holds draw themselves (tui/widgets/), and the data comes from the session.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from tui.data.cache import QueryInterrupted
from tui.data.session import ErrorRow, ViewFilter
from tui.i18n import t
from tui.screens.console import Console
from tui.screens.marks import clear_marks, say_marks_outside
from tui.text.safe import clean
from tui.text.titles import type_title
from tui.widgets.cards import CardStrip
from tui.widgets.detail import DetailPane, error_text, type_text
from tui.widgets.errorgrid import SORT_ORDER, ErrorGrid
from tui.widgets.header import OfflineBanner, StatusHeader
from tui.widgets.keybar import KeyBar
from tui.widgets.usage import UsageGauge

#: Seconds the grid cursor rests before the detail pane fetches that row's history.
DETAIL_DELAY = 0.12
#: Seconds the detail pane waits for a row's history before showing the row alone.
DETAIL_WAIT = 0.15
#: The smallest terminal (columns, lines) whose error list still shows rows.
MIN_SIZE = (60, 20)
#: Seconds the filter box rests before its text is looked up (one query per pause, not
#: per keystroke; a lookup a newer keystroke overtakes is interrupted).
FILTER_DELAY = 0.05
#: Seconds a new view may take before its line says so ("counting…").
VIEW_WORDS_AFTER = 0.06

#: The grid's status switch cycles through these (None: every status).
STATUS_CYCLE: tuple[str | None, ...] = ("open", "resolved", "ignored", None)
STATUS_WORDS = {"open": "open_errors", "resolved": "resolved_errors", "ignored": "ignored_errors",
                None: "all_errors"}  # fmt: skip

#: Keys the key bar shows on this screen, in order.
MAIN_KEYS = ("cards.open", "mark", "resync", "ignore", "export", "records", "filter", "sort",
             "allocation", "notifications", "history", "overview", "status", "help",
             "quit")  # fmt: skip


class ViewReady(Message):
    """The row count of a view, and where the cursor's error now stands in it.

    A view comes with the rows the grid will show (``first``, from position ``at``), so
    they are drawn with its count. A text-filtered view comes twice: first its first
    page (count not yet known: ``counted`` false), then the exact count.
    """

    def __init__(
        self,
        view: ViewFilter,
        count: int,
        cursor: int | None,
        first: list[ErrorRow] | None = None,
        *,
        at: int = 0,
        counted: bool = True,
    ) -> None:
        super().__init__()
        self.view, self.count, self.cursor, self.first = view, count, cursor, first
        self.at, self.counted = at, counted


class OverviewReady(Message):
    """Per-type counts for the cards."""

    def __init__(self, counts: dict[str, tuple[int, int, int]]) -> None:
        super().__init__()
        self.counts = counts  # type -> (open errors, records, ignored errors)


class DetailReady(Message):
    """Text for the detail pane, for the card or row it was asked for."""

    def __init__(self, token: object, text: Text) -> None:
        super().__init__()
        self.token, self.text = token, text


#: Days in each card's sparkline.
SPARK_DAYS = 30


class HealthScreen(Screen[None]):
    """Everything at a glance; the grid narrows by type, text or record."""

    class CacheShown(Message):
        """The first view is on screen (the app starts its first refresh after it)."""

    CSS_PATH = "../styles/health.tcss"
    # Unannotated: Textual declares these ClassVar[...] | None, a type mypy cannot read.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (120, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-tiny"),
        (24, "-short"),
        (30, "-tall"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark / unmark", id="mark"),
        # terminals (xterm, tmux) send NUL for ctrl+space, which Textual names ctrl+@
        Binding("ctrl+space,ctrl+@", "mark_range", "Mark range", id="mark_range"),
        Binding("ctrl+a", "mark_all", "Mark all in view", id="mark_all"),
        Binding("ctrl+backslash", "clear_marks", "Clear marks", id="clear_marks"),
        Binding("r", "resync", "Resync", id="resync"),
        Binding("e", "export", "Export CSV", id="export"),
        Binding("v", "records", "Affected records", id="records"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("s", "sort", "Sort column", id="sort"),
        Binding("S", "sort_order", "Sort order", id="sort_order"),
        Binding("d", "toggle_detail", "Detail pane", id="toggle_detail"),
        Binding("o", "cycle_status", "Open / resolved / ignored / all", id="status"),
        Binding("i", "ignore", "Ignore", id="ignore"),
        Binding("I", "unignore", "Unignore", id="unignore"),
        Binding("t", "overview", "Type overview", id="overview"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = ViewFilter()
        self._detail_token: object = None
        self._detail_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._view_words_timer: Timer | None = None
        #: A card was chosen: the grid takes the focus with the card's view, in its frame
        self._focus_grid_with_view = False
        #: Held while "mark all" reads the view's ids, so a resync right after waits.
        self._marking = asyncio.Lock()
        #: False while a text-filtered view waits for its exact count.
        self.counted = True
        self._shown = False

    @property
    def console(self) -> Console:  # the typed app
        return cast(Console, self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="too-small", markup=False)
        yield StatusHeader(id="header")
        yield OfflineBanner(id="offline")
        yield UsageGauge(id="usage")
        yield CardStrip(id="cards")
        with Horizontal(id="body"):
            with Vertical(id="grid-box"):
                yield Static(id="view-status")
                yield Input(placeholder=t("main.filter.placeholder"), id="filter")
                yield ErrorGrid(self.console.marks, self.console.now, id="grid")
            yield DetailPane(id="detail")
        yield KeyBar(MAIN_KEYS, id="keys")

    @property
    def grid(self) -> ErrorGrid:
        return self.query_one(ErrorGrid)

    def on_resize(self, event: events.Resize) -> None:
        """Below MIN_SIZE the grid would show no rows: say so instead of an empty list.
        The view's words are fitted again once the line has its new width."""
        self.call_after_refresh(self.update_view_status)
        width, height = event.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                t("main.too_small", width=width, height=height, min_width=MIN_SIZE[0],
                  min_height=MIN_SIZE[1])
            )  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.grid.focus()
        self.show_status()
        self.update_view_status()
        self.set_interval(30, self._tick)

    def on_screen_resume(self) -> None:
        """Marks may have changed on another screen (the affected-records view)."""
        if self.is_mounted:
            self._marks_changed()

    def _tick(self) -> None:
        """Keep "refreshed 2m ago" and the grid's relative times current."""
        self.show_status()
        self.grid.refresh()

    # -- data -----------------------------------------------------------------------

    def data_changed(self, *, clear_cache: bool = True) -> None:
        """The session has new data (opened, refreshed, resynced): reload what is shown."""
        session = self.console.session
        if session is None:
            return
        self.grid.loader = session.view_page
        self.show_status()
        self.load_overview()
        self.load_view()
        self._describe_focus()

    def show_status(self) -> None:
        status = self.console.status()
        self.query_one(StatusHeader).show(status, self.console.now())
        self.query_one(OfflineBanner).show(status)
        self.query_one(UsageGauge).show(self.console.usage)

    @work(group="overview", exclusive=True)
    async def load_overview(self) -> None:
        session = self.console.session
        if session is None:
            return
        counts = await session.type_counts()
        self.post_message(OverviewReady({c.type: (c.errors, c.records, c.ignored) for c in counts}))
        if session.online:
            self.load_sparklines()

    @work(group="sparklines", exit_on_error=False)
    async def load_sparklines(self) -> None:
        """New errors per day of each type for the cards; offline they keep what they show."""
        from tui.data.client_errors import ServiceError

        session = self.console.session
        if session is None:
            return
        try:
            trends = await session.type_trends(SPARK_DAYS, self.console.now().date())
        except ServiceError:
            return
        self.query_one(CardStrip).set_trends(trends.new)

    @work(group="view", exclusive=True, exit_on_error=False)
    async def load_view(self) -> None:
        """The view's exact count, and the cursor's error's new place (rows come by page).

        A text filter's query of an older keystroke is interrupted first, and a new
        text's first page is shown before it is counted.
        """
        session = self.console.session
        if session is None:
            return
        view, grid = self.view, self.grid
        await session.interrupt_search()
        try:
            if view.text and view != grid.view:  # a new text: rows first (a refresh: count)
                first = await session.view_page(view, grid.order, limit=grid.page_height)
                self.post_message(ViewReady(view, len(first), 0, first, counted=False))
                self.post_message(ViewReady(view, await session.count(view), None))
                return
            keep, order = grid.cursor_id, grid.order
            count = await session.count(view)
            cursor = None if keep is None else await session.position(view, order, keep)
            # the rows the grid will show come with the count, not a frame of placeholders
            # and a fetch later
            at = grid.top_for(min(grid.cursor if cursor is None else cursor, count - 1), count)
            page = await session.view_page(
                view, order, offset=at, limit=grid.page_height, total=count
            )
        except QueryInterrupted:
            return  # a newer view took over
        self.post_message(ViewReady(view, count, cursor, page, at=at))

    def on_overview_ready(self, message: OverviewReady) -> None:
        self.query_one(CardStrip).set_counts(message.counts)

    def on_view_ready(self, message: ViewReady) -> None:
        if message.view != self.view:
            return
        grid = self.grid
        self.counted = message.counted
        if message.first is not None:
            grid.set_view(
                message.view, message.count, message.cursor, first=message.first, at=message.at
            )
        elif message.view.text and grid.view == message.view:
            grid.set_count(message.count)  # the first page stays
        else:
            grid.set_view(message.view, message.count, message.cursor)
        self._say_view()
        if not self._shown:
            self._shown = True
            # once drawn: the first refresh (which starts the service) waits for it
            self.call_after_refresh(self.post_message, self.CacheShown())

    def update_view_status(self) -> None:
        """The view's words; a cause's message shape is cut to what leaves the row count
        and the sort on the line."""
        status = self.query_one("#view-status", Static)
        cause = self.view.cause
        line = self._status_line(clean(cause.shape) if cause else "")
        over = line.cell_len - status.size.width
        if cause is not None and over > 0 and status.size.width:
            shape = Text(clean(cause.shape))
            shape.truncate(max(12, shape.cell_len - over), overflow="ellipsis")
            line = self._status_line(shape.plain)
        status.update(line, layout=False)

    def _status_line(self, shape: str) -> Text:
        view, grid = self.view, self.grid
        parts = [t(f"main.view.{STATUS_WORDS[view.status]}")]
        if view.type and view.cause is None:  # a cause names its type's subtype already
            parts.append(type_title(view.type))
        if view.record_id:
            parts.append(t("main.view.record", record=clean(view.record_id)))
        if view.cause is not None:
            parts.append(t("main.view.cause", object=clean(view.cause.sf_object), shape=shape))
        if view.text:
            parts.append(t("main.view.text", text=clean(view.text)))
        parts.append(
            t("main.view.rows", count=grid.total) if self.counted else t("main.view.counting")
        )
        marks = self.console.marks
        line = Text(" · ".join(parts))
        if marks:
            line.append(" · ")
            line.append(t("main.view.marked", count=f"{len(marks):,}"), "bold")
        sort = t(f"main.sort.{grid.sort}") + (" ▼" if grid.descending else " ▲")
        line.append(" · " + t("main.view.sorted", column=sort), "dim")
        return line

    # -- detail pane ----------------------------------------------------------------

    def _describe_focus(self) -> None:
        focused = self.focused
        if isinstance(focused, CardStrip):
            self.describe_type(focused.current)
        elif self.grid.cursor_id is not None:
            self.describe_row()
        else:
            self.describe_type(self.view.type or self.query_one(CardStrip).current)

    @work(group="detail", exclusive=True)
    async def describe_type(self, type_code: str) -> None:
        session = self.console.session
        token = self._detail_token = ("type", type_code)
        subtypes = await session.subtype_counts(type_code) if session else []
        self.post_message(DetailReady(token, type_text(type_code, subtypes)))

    @work(group="detail", exclusive=True)
    async def describe_row(self) -> None:
        grid, session = self.grid, self.console.session
        row = grid.row_at_cursor()
        pane = self.query_one(DetailPane)
        if row is None or session is None or not grid.has_focus or not pane.display:
            return
        token = self._detail_token = ("row", row.id)
        # one repaint of the pane when its history comes at once (each is a layout of
        # the screen); the row's own text first only when the history is slow
        history = asyncio.ensure_future(session.error_detail(row.id))
        try:
            done, _ = await asyncio.wait((history,), timeout=DETAIL_WAIT)
            if not done:
                self.post_message(DetailReady(token, error_text(row, None)))
            detail = await history
        finally:
            history.cancel()
        if done or detail is not None:
            self.post_message(DetailReady(token, error_text(row, detail, self.console.now())))

    def on_detail_ready(self, message: DetailReady) -> None:
        if message.token == self._detail_token:
            self.query_one(DetailPane).show(message.text)

    @on(CardStrip.Highlighted)
    def _card_highlighted(self, message: CardStrip.Highlighted) -> None:
        self.describe_type(message.type_code)

    @on(ErrorGrid.CursorMoved)
    def _row_moved(self) -> None:
        """The detail pane follows the cursor once it settles, not on every key held down."""
        if self.grid.has_focus:
            if self._detail_timer is not None:
                self._detail_timer.stop()
            self._detail_timer = self.set_timer(DETAIL_DELAY, self.describe_row)

    def on_descendant_focus(self) -> None:
        if self.focused is self.grid and self.grid.view == self.view:
            self.describe_row()  # (rows of a view still coming are described once shown)

    # -- narrowing ------------------------------------------------------------------

    def set_view(self, view: ViewFilter) -> None:
        self.view = view
        self.counted = False  # the count shown is the last view's until this one's comes
        self._say_view_soon()
        self.load_view()

    def _say_view_soon(self) -> None:
        """The view's line and card outline once the view is ready, or after
        VIEW_WORDS_AFTER if it is slow: a view that answers at once is drawn in one
        frame with its rows, and its query does not wait behind a frame of words."""
        if self._view_words_timer is not None:
            self._view_words_timer.stop()
        self._view_words_timer = self.set_timer(VIEW_WORDS_AFTER, self._say_view)

    def _say_view(self) -> None:
        if self._view_words_timer is not None:
            self._view_words_timer.stop()
            self._view_words_timer = None
        self.query_one(CardStrip).set_active(self.view.type)
        self.update_view_status()
        if self._focus_grid_with_view:
            self._focus_grid_with_view = False
            self.grid.focus()

    @on(CardStrip.Chosen)
    def _card_chosen(self, message: CardStrip.Chosen) -> None:
        # the focus moves with the view's rows, not a frame before them (the card strip
        # and the grid redrawn for the focus alone cost a frame: ~30 ms at 160x50)
        self._focus_grid_with_view = True
        self.set_view(replace(self.view, type=message.type_code, record_id=None))

    @on(ErrorGrid.Reordered)
    def _grid_reordered(self) -> None:
        self.load_view()

    @on(ErrorGrid.Opened)
    def _row_opened(self) -> None:
        row = self.grid.row_at_cursor()
        if row is not None and self.view.record_id is None:
            self.set_view(replace(self.view, record_id=row.record_id))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Look the text up once typing pauses (an older keystroke's query is interrupted)."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        text = event.value.strip()
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self._apply_filter(text))

    def _apply_filter(self, text: str) -> None:
        if text != self.view.text:
            self.set_view(replace(self.view, text=text))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter(event.value.strip())
        self.grid.focus()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        # focus now, not after the keys already queued: text typed (or pasted) right
        # after "/" belongs to the filter, and "e" in it must not open the export
        self.set_focus(box)

    def on_key(self, event: events.Key) -> None:
        """A burst of keys ("/acme" in one read from the terminal, or pasted) reaches the
        grid before "/" has moved the focus; here, before the app's bindings see them,
        "/" opens the filter at once and the keys after it go on into the box in order,
        so none is lost and none acts on the grid."""
        box = self.query_one("#filter", Input)
        if event.key == "slash" and self.focused is not box:
            self.action_filter()
        elif self.focused is box and event.is_printable and event.character is not None:
            box.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            if self._filter_timer is not None:
                self._filter_timer.stop()
            box.display = False
            box.value = ""
            self.grid.focus()
            if self.view.text:
                self.set_view(replace(self.view, text=""))
        elif self.view.record_id:
            self.set_view(replace(self.view, record_id=None))
        elif self.view.cause is not None:
            self.set_view(replace(self.view, cause=None))
        elif self.view.type:
            self.set_view(replace(self.view, type=None))

    def action_sort(self) -> None:
        grid = self.grid
        grid.sort = SORT_ORDER[(SORT_ORDER.index(grid.sort) + 1) % len(SORT_ORDER)]
        grid.descending = grid.sort in ("last_seen", "attempts")
        self._say_view_soon()
        self.load_view()

    def action_sort_order(self) -> None:
        self.grid.descending = not self.grid.descending
        self._say_view_soon()
        self.load_view()

    def action_cycle_status(self) -> None:
        """Open errors, then resolved ones (what resyncs fixed), ignored ones, then all."""
        following = STATUS_CYCLE[(STATUS_CYCLE.index(self.view.status) + 1) % len(STATUS_CYCLE)]
        self.set_view(replace(self.view, status=following))

    def action_toggle_detail(self) -> None:
        detail = self.query_one(DetailPane)
        detail.display = not detail.display
        if detail.display:  # it was not kept up while hidden
            self._describe_focus()

    # -- marks ----------------------------------------------------------------------

    def _marks_changed(self) -> None:
        self.grid.refresh()
        self.update_view_status()

    def action_mark(self) -> None:
        error_id = self.grid.cursor_id
        if error_id is None:
            return
        marks = self.console.marks
        if error_id in marks:
            marks.discard(error_id)
        else:
            marks.add(error_id)
        self.grid.action_cursor_down()
        self._marks_changed()

    def action_mark_range(self) -> None:
        self.console.marks.update(self.grid.range_to_nearest_mark())
        self._marks_changed()

    @work(group="mark", exclusive=False)
    async def action_mark_all(self) -> None:
        session = self.console.session
        if session is not None:
            async with self._marking:
                marks = self.console.marks
                marks.update(await session.view_ids(self.view))
                hidden = await session.outside_view(self.view, list(marks))
            self._marks_changed()
            say_marks_outside(self, hidden)

    def action_clear_marks(self) -> None:
        clear_marks(self, self.console.marks)
        self._marks_changed()

    # -- actions that open other screens ----------------------------------------------

    @work(group="mark", exclusive=False)
    async def action_resync(self) -> None:
        """Resync the marks (else the cursor row), leaving ignored errors out, and saying so."""
        async with self._marking:  # a "mark all" pressed just before is in the marks
            pass
        marks, session = self.console.marks, self.console.session
        if session is None:
            return
        if marks:
            ids = sorted(marks)
            hidden = await session.outside_view(self.view, ids)
        elif self.grid.cursor_id is not None:
            ids, hidden = [self.grid.cursor_id], 0
        else:
            self.notify(t("main.notify.nothing_to_resync"), severity="warning")
            return
        ignored = await session.in_view(ViewFilter(status="ignored"), ids)
        if ignored and len(ignored) == len(ids):
            self.notify(t("ignore.resync_all_ignored", count=len(ids)), severity="warning")
            return
        chosen = [i for i in ids if i not in ignored]
        self.console.start_resync(chosen, hidden, ignored=len(ignored))

    def _targets(self) -> list[int]:
        """The marked errors, else the cursor row's (empty: nothing to act on)."""
        if self.console.marks:
            return sorted(self.console.marks)
        return [] if self.grid.cursor_id is None else [self.grid.cursor_id]

    def action_ignore(self) -> None:
        ids = self._targets()
        if not ids:
            self.notify(t("ignore.nothing"), severity="warning")
            return
        self.console.start_ignore(ids)

    @work(group="unignore", exclusive=True, exit_on_error=False)
    async def action_unignore(self) -> None:
        ids, session = self._targets(), self.console.session
        if not ids or session is None:
            self.notify(t("ignore.nothing_to_unignore"), severity="warning")
            return
        await self.console.unignore(ids)

    def action_export(self) -> None:
        self.console.start_export(self.view, self.grid.order)

    def action_overview(self) -> None:
        from tui.screens.overview import TypeOverviewScreen

        session = self.console.session
        if session is not None:
            self.app.push_screen(TypeOverviewScreen(session, self.records_type()))

    def records_type(self) -> str:
        """The type ``v`` and ``t`` open: the focused card's, else the cursor row's, else
        the view's."""
        cards = self.query_one(CardStrip)
        if not cards.has_focus:
            row: ErrorRow | None = self.grid.row_at_cursor()
            if row is not None:
                return row.type
            if self.view.type:
                return self.view.type
        return cards.current

    @work(group="records", exclusive=True, exit_on_error=False)
    async def action_records(self) -> None:
        """The affected-records view, opened with its counts and first rows (its first
        frame shows them: one frame of an empty screen less, ~30 ms at 160x50)."""
        from tui.screens.records import RecordsScreen, first_look

        view, session = ViewFilter(type=self.records_type()), self.console.session
        first = None
        if session is not None:
            with contextlib.suppress(Exception):  # the screen reads again, and says why
                first = await first_look(session, view, self.app.size.height)
        self.app.push_screen(RecordsScreen(view, first))
