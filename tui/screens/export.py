"""Export errors to CSV: this view, the marked ones, or all of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
)

from tui.data.cache import CacheError, ViewFilter
from tui.data.export import ExportError
from tui.data.values import ViewOrder
from tui.i18n import current_lang, t
from tui.text.safe import clean
from tui.widgets.prose import Prose
from tui.widgets.toggles import StateCheckbox, StateRadioButton

if TYPE_CHECKING:
    from tui.data.session import DataSession

Scope = Literal["view", "marked", "all"]
SCOPES: tuple[Scope, ...] = ("view", "marked", "all")
#: Every error in the cache, open and resolved.
ALL_ERRORS = ViewFilter(status=None)


def default_name(scope: Scope, now: datetime) -> str:
    """``synchealth-errors-<scope>-<YYYYmmdd-HHMM>.csv``."""
    return f"synchealth-errors-{scope}-{now:%Y%m%d-%H%M}.csv"


class ExportScreen(ModalScreen[int | None]):
    """Pick the scope and file; the export runs in a worker; dismisses with the row count.

    ``now`` fixes the time stamp of the proposed file name (tests pin it).
    """

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="modal.close")]

    def __init__(
        self,
        session: DataSession,
        view_filter: ViewFilter,
        marked_ids: frozenset[int],
        default_dir: Path,
        *,
        now: datetime | None = None,
        sort: ViewOrder = ViewOrder("id", False),
    ) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.view_filter = view_filter
        #: rows are written in the order the screen shows them
        self.sort = sort
        self.marked_ids = marked_ids
        self.default_dir = default_dir
        self.now = now or datetime.now()
        self.scope: Scope = "view"
        self.rows: int | None = None
        #: True while the file is written (not ``_running``: Textual's MessagePump owns that name)
        self._writing = False
        self._proposed = self._proposal("view")

    def _proposal(self, scope: Scope) -> str:
        return str(self.default_dir / default_name(scope, self.now))

    def compose(self) -> ComposeResult:
        marked = len(self.marked_ids)
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.export.title"))
            with VerticalScroll(classes="body") as body:
                body.can_focus = False  # its fields take focus and scroll it
                yield Label(Content(t("modals.export.scope")), classes="label")
                with RadioSet(id="scope"):
                    yield StateRadioButton(
                        Content(t("modals.export.scope_view")), value=True, id="scope-view"
                    )
                    yield StateRadioButton(
                        Content(
                            t("modals.export.scope_marked", count=f"{marked:,}")
                            if marked
                            else t("modals.export.scope_marked_none")
                        ),
                        disabled=not marked,
                        id="scope-marked",
                    )
                    yield StateRadioButton(Content(t("modals.export.scope_all")), id="scope-all")
                yield Label(Content(t("modals.export.path")), classes="label")
                yield Input(value=self._proposed, id="path")
                yield Prose(id="path-note", classes="hint")
                yield StateCheckbox(
                    Content(t("modals.export.bom")), value=current_lang() == "ja", id="bom"
                )
                yield ProgressBar(show_eta=False, id="bar")
                yield Prose(id="message")
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(Content(t("modals.export.start")), variant="primary", id="export")

    def on_mount(self) -> None:
        self.query_one("#bar", ProgressBar).display = False
        self.query_one("#path", Input).focus()
        self.run_worker(self._count_scopes(), group="export-count")

    async def _count_scopes(self) -> None:
        """Put the number of rows next to "this view" and "all" once the cache answers."""
        try:
            view = await self.session.count(self.view_filter)
            everything = await self.session.count(ALL_ERRORS)
        except CacheError:
            return
        self.query_one("#scope-view", RadioButton).label = Content(
            t("modals.export.scope_view_count", count=view)
        )
        self.query_one("#scope-all", RadioButton).label = Content(
            t("modals.export.scope_all_count", count=f"{everything:,}")
        )

    @on(RadioSet.Changed, "#scope")
    def _scope_changed(self, event: RadioSet.Changed) -> None:
        self.scope = SCOPES[event.index]
        path = self.query_one("#path", Input)
        if path.value == self._proposed:  # the admin has not typed a name of their own
            self._proposed = self._proposal(self.scope)
            path.value = self._proposed

    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        self.query_one("#message", Static).update("")
        target = Path(event.value.strip()).expanduser() if event.value.strip() else None
        exists = target is not None and target.is_file()
        self.query_one("#path-note", Static).update(t("modals.export.exists") if exists else "")

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#export")
    def _start(self) -> None:
        if self.rows is not None:
            self.dismiss(self.rows)
            return
        text = self.query_one("#path", Input).value.strip()
        message = self.query_one("#message", Static)
        if not text:
            message.set_class(True, "error")
            message.update(t("modals.export.no_path"))
            return
        self._busy(True)
        message.set_class(False, "error")
        message.update(t("modals.export.running", count=0))
        self.run_worker(self._export(Path(text).expanduser()), exclusive=True, group="export")

    def _busy(self, busy: bool) -> None:
        self._writing = busy
        for selector in ("#scope", "#path", "#bom", "#export"):
            self.query_one(selector).disabled = busy
        self.query_one("#bar", ProgressBar).display = busy

    def _progress(self, rows: int) -> None:
        self.query_one("#bar", ProgressBar).update(progress=rows)
        self.query_one("#message", Static).update(t("modals.export.running", count=rows))

    async def _export(self, path: Path) -> None:
        bom = self.query_one("#bom", Checkbox).value
        message = self.query_one("#message", Static)
        try:
            ids = await self._ids_in_screen_order()
            rows = await self.session.export(path, ids=ids, bom=bom, progress=self._progress)
        except (ExportError, CacheError) as error:
            self._busy(False)
            message.set_class(True, "error")
            message.update(t("modals.export.failed", message=clean(_reason(error))))
            self.query_one("#path", Input).focus()
            return
        self.rows = rows
        self._busy(False)
        for selector in ("#scope", "#path", "#bom"):
            self.query_one(selector).disabled = True
        message.set_class(True, "success")
        message.update(t("modals.export.done", count=rows, path=clean(path)))
        self.query_one("#cancel", Button).display = False
        done = self.query_one("#export", Button)
        done.label = Content(t("modals.common.close"))
        done.focus()

    async def _ids_in_screen_order(self) -> Sequence[int]:
        """The ids of the chosen scope, sorted as the screen sorts them."""
        order = self.sort
        scope_filter = self.view_filter if self.scope == "view" else ALL_ERRORS
        ids = await self.session.view_ids(
            scope_filter, order.sort, order.descending, names=order.names
        )
        if self.scope == "marked":
            return [i for i in ids if i in self.marked_ids]
        return ids

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        if not self._writing:  # a half-written file is worse than a short wait
            self.dismiss(self.rows)


def _reason(error: Exception) -> str:
    return getattr(error, "message", None) or str(error)
