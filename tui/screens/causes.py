"""Causes: open errors grouped by what went wrong rather than by row (GET /v1/causes).

Each row is a cause: its open errors, new in 24 h, records, first seen (how long it has
been failing) and last seen, object and the message's shape. ``enter`` narrows the grid
to exactly the errors of the cause (its key, kept per row in the console's cache),
``space`` marks every open error of the cause for a resync, ``i`` ignores the cause
(with a reason; the list is read again after), ``m`` mutes its alerts for a time
(tui/screens/mute.py) or unmutes it. Messages come from Salesforce: data, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from tui.core.models import CauseSummary
from tui.core.notify_models import CauseMute
from tui.data.cache import CacheError, ViewFilter
from tui.data.client_errors import ServiceError
from tui.data.values import CauseRef
from tui.i18n import t
from tui.screens.console import Console
from tui.screens.mute import UNMUTE, MuteScreen
from tui.text.safe import clean, fit
from tui.text.timefmt import ago, stamp
from tui.widgets.sizedtable import SizedTable

if TYPE_CHECKING:
    from tui.data.session import DataSession

#: From this many columns on, the table shows every column.
WIDE = 140
WIDE_COLUMNS = ("open", "new", "records", "first_seen", "last_seen", "object", "message", "muted")
NARROW_COLUMNS = ("open", "new", "last_seen", "object", "message")
#: The fewest cells the message is given.
MESSAGE_MIN = 12


def _title(key: str) -> str:
    """A column's title (the muted column is the mute dialog's words)."""
    return t("mute.col_muted") if key == "muted" else t(f"causes.col_{key}")


class CausesScreen(ModalScreen[ViewFilter | None]):
    """Dismissed with the view that narrows the grid to the chosen cause, or None."""

    CSS_PATH: ClassVar = ["../styles/modals.tcss", "../styles/triage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="modal.close"),
        Binding("space", "mark", "Mark the cause", id="causes.mark"),
        Binding("i", "ignore", "Ignore the cause", id="causes.ignore"),
        Binding("T", "app.trends", "Trends", id="trends"),  # of the cause under the cursor
        Binding("m", "mute", "Mute the cause's alerts", id="causes.mute"),
    ]

    def __init__(
        self,
        session: DataSession,
        marks: set[int],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.marks = marks
        self._now = now  # the console's clock (a test's fixed one), for "first seen"
        self.causes: list[CauseSummary] | None = None
        self.mutes: dict[str, CauseMute] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog causes") as dialog:
            dialog.border_title = Content(t("causes.title"))
            yield Static(t("causes.loading"), id="summary", markup=False)
            yield SizedTable(id="causes", cursor_type="row", zebra_stripes=True)
            yield Static("", id="sample", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Static(t("causes.keys"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        self._load()

    @on(SizedTable.Resized)
    def _resized(self) -> None:
        self._fill()

    @work(group="causes", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        summary = self.query_one("#summary", Static)
        try:
            page = await self.session.causes()
        except (ServiceError, CacheError) as exc:
            summary.update(t("causes.failed", message=clean(exc.message)))
            summary.set_classes("error")
            return
        self.causes = page.causes
        summary.update(t("causes.summary", total=f"{page.total:,}"))
        try:
            self.mutes = await self.session.cause_mutes()
        except (ServiceError, CacheError) as exc:  # the causes still show, without mutes
            self.notify(t("mute.mutes_failed", message=clean(exc.message)), severity="warning")
        self._fill()

    def _fill(self) -> None:
        """The causes as rows: every column on a wide terminal; on a narrow one the
        columns that tell causes apart, the message in what is left, the rest under the
        table for the cause at the cursor."""
        if self.causes is None:
            return
        table = self.query_one(SizedTable)
        row = table.cursor_row
        table.clear(columns=True)
        narrow = self.size.width < WIDE
        keys = NARROW_COLUMNS if narrow else WIDE_COLUMNS
        rows = [self._cells(cause, narrow) for cause in self.causes]
        widths = {
            key: max([cell_len(_title(key))] + [cell_len(r[key]) for r in rows])
            for key in keys
            if key != "message"
        }
        message_width = max(MESSAGE_MIN, table.spare(list(widths.values())))
        for key in keys:
            justify: JustifyMethod = "right" if key in ("open", "new", "records") else "left"
            width = message_width if key == "message" else widths[key]
            table.add_column(Text(_title(key), justify=justify), key=key, width=width)
        for cause, cells in zip(self.causes, rows, strict=True):
            values = [
                Text(fit(cells[key], message_width) if key == "message" else cells[key],
                     justify="right" if key in ("open", "new", "records") else "left")
                for key in keys
            ]  # fmt: skip
            table.add_row(*values, key=cause.cause)
        table.move_cursor(row=min(row, len(self.causes) - 1))
        table.focus()
        self._show_sample()

    def _cells(self, cause: CauseSummary, narrow: bool) -> dict[str, str]:
        """A cause's cells as text, by column key."""
        now = self._now()
        message = clean(cause.template.splitlines()[0] if cause.template else "")
        muted = self.mutes.get(cause.cause)
        if narrow and muted is not None:
            message = t("causes.muted_tag", message=message)
        return {
            "open": f"{cause.open_errors:,}",
            "new": f"+{cause.new_24h:,}" if cause.new_24h else "",
            "records": f"{cause.records:,}",
            "first_seen": ago(cause.first_seen, now),
            "last_seen": ago(cause.last_seen, now) if narrow else stamp(cause.last_seen),
            "object": clean(cause.sf_object),
            "message": message,
            "muted": "" if muted is None else stamp(muted.until),
        }

    def current_cause(self) -> CauseSummary | None:
        table = self.query_one(DataTable)
        if not self.causes or table.cursor_row >= len(self.causes):
            return None
        return self.causes[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show_sample(self) -> None:
        cause = self.current_cause()
        if cause is None:
            return
        said = t("causes.sample", message=clean(cause.sample_message))
        if self.size.width < WIDE:  # what the narrow table leaves out
            mute = self.mutes.get(cause.cause)
            muted = "" if mute is None else t("causes.muted_until", until=stamp(mute.until))
            details = t(
                "causes.details", records=f"{cause.records:,}",
                first_seen=ago(cause.first_seen, self._now()), last_seen=stamp(cause.last_seen),
            )  # fmt: skip
            said = f"{details}{muted}\n{said}"
        self.query_one("#sample", Static).update(said)

    def action_choose(self) -> None:
        cause = self.current_cause()
        if cause is not None:
            shape = cause.template.splitlines()[0] if cause.template else ""
            ref = CauseRef(cause.cause, cause.subtype, cause.sf_object, shape)
            self.dismiss(ViewFilter(type=cause.type, cause=ref))

    @work(group="causes-mark", exclusive=True, exit_on_error=False)
    async def action_mark(self) -> None:
        cause = self.current_cause()
        if cause is None:
            return
        try:
            ids = await self.session.cause_error_ids(cause.cause)
        except (ServiceError, CacheError) as exc:
            self.notify(t("causes.failed", message=exc.message), severity="error")
            return
        self.marks.update(ids)
        self.notify(t("causes.marked", count=f"{len(ids):,}", total=f"{len(self.marks):,}"))

    def action_mute(self) -> None:
        cause = self.current_cause()
        if cause is None:
            return
        mute = self.mutes.get(cause.cause)
        name = f"{cause.sf_object}: {cause.template.splitlines()[0] if cause.template else ''}"

        def chosen(minutes: int | None) -> None:
            self._set_mute(cause.cause, minutes)

        self.app.push_screen(MuteScreen(name, None if mute is None else mute.until), chosen)

    @work(group="causes-mute", exclusive=True, exit_on_error=False)
    async def _set_mute(self, cause: str, minutes: int | None) -> None:
        if minutes is None:
            return
        try:
            if minutes == UNMUTE:
                await self.session.unmute_cause(cause)
                self.mutes.pop(cause, None)
                said = t("mute.unmuted")
            else:
                mute = await self.session.mute_cause(cause, minutes)
                self.mutes[cause] = mute
                said = t("mute.muted", until=stamp(mute.until))
        except (ServiceError, CacheError) as exc:
            self.notify(t("mute.failed", message=clean(exc.message)), severity="error")
            return
        self._fill()
        self.notify(said)

    def action_ignore(self) -> None:
        cause = self.current_cause()
        if cause is not None:
            cast(Console, self.app).start_ignore(cause=cause, after=self._load)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        """enter on a row (the table's own key)."""
        self.action_choose()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
