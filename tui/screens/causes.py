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
from tui.text.safe import clean
from tui.text.timefmt import ago, stamp

if TYPE_CHECKING:
    from tui.data.session import DataSession


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
            yield DataTable(id="causes", cursor_type="row", zebra_stripes=True)
            yield Static("", id="sample", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Static(t("causes.keys"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key in ("open", "new", "records", "first_seen", "last_seen", "object", "message"):
            justify: JustifyMethod = "right" if key in ("open", "new", "records") else "left"
            table.add_column(Text(t(f"causes.col_{key}"), justify=justify), key=key)
        table.add_column(Text(t("mute.col_muted")), key="muted")
        self._load()

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
        table = self.query_one(DataTable)
        table.clear()
        now = self._now()
        for cause in page.causes:
            table.add_row(
                Text(f"{cause.open_errors:,}", justify="right"),
                Text(f"+{cause.new_24h:,}" if cause.new_24h else "", justify="right"),
                Text(f"{cause.records:,}", justify="right"),
                Text(ago(cause.first_seen, now)),
                Text(stamp(cause.last_seen)),
                Text(clean(cause.sf_object)),
                Text(clean(cause.template.splitlines()[0] if cause.template else "")),
                self._muted_cell(cause.cause),
                key=cause.cause,
            )
        table.focus()
        self._show_sample()

    def current_cause(self) -> CauseSummary | None:
        table = self.query_one(DataTable)
        if not self.causes or table.cursor_row >= len(self.causes):
            return None
        return self.causes[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show_sample(self) -> None:
        cause = self.current_cause()
        if cause is not None:
            said = t("causes.sample", message=clean(cause.sample_message))
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

    def _muted_cell(self, cause: str) -> Text:
        mute = self.mutes.get(cause)
        return Text("" if mute is None else stamp(mute.until))

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
        self.query_one(DataTable).update_cell(cause, "muted", self._muted_cell(cause))
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
