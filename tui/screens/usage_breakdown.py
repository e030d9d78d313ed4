"""Where the API calls go: the integration's calls of the rolling 24 h by kind (resync
update, upsert, limits, describe...) and by object, from the service's usage ledger.
Object names come from Salesforce: data, never markup."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from tui.core.models import NamedCalls, UsageBreakdown
from tui.data.cache import CacheError
from tui.data.client_errors import ServiceError
from tui.i18n import strings, t
from tui.text.numbers import percent
from tui.text.safe import clean

if TYPE_CHECKING:
    from tui.data.session import DataSession


def kind_name(kind: str) -> str:
    key = f"usage.kind.{kind}_calls"  # not ".other": that names a plural form
    return t(key) if key in strings("en") else clean(kind)


def object_name(sobject: str) -> str:
    return clean(sobject) if sobject else t("usage.breakdown.no_object")


class UsageBreakdownScreen(ModalScreen[None]):
    CSS_PATH: ClassVar = ["../styles/modals.tcss", "../styles/triage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="modal.close"),
        Binding("r", "load", "Refresh", id="usage_breakdown.refresh"),
    ]

    def __init__(self, session: DataSession) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.breakdown: UsageBreakdown | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog breakdown") as dialog:
            dialog.border_title = Content(t("usage.breakdown.title"))
            yield Static(t("usage.breakdown.loading"), id="total", markup=False)
            with Horizontal(classes="tables"):
                yield DataTable(id="by_kind", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="by_object", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="buttons"):
                yield Static(t("usage.breakdown.keys"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        for table_id, first in (("by_kind", "col_kind"), ("by_object", "col_object")):
            table = self.query_one(f"#{table_id}", DataTable)
            table.add_column(Text(t(f"usage.breakdown.{first}")), key="name")
            table.add_column(Text(t("usage.breakdown.col_calls"), justify="right"), key="calls")
            table.add_column(Text(t("usage.breakdown.col_share"), justify="right"), key="share")
        self.action_load()

    @work(group="breakdown", exclusive=True, exit_on_error=False)
    async def action_load(self) -> None:
        try:
            breakdown = await self.session.usage_breakdown()
        except (ServiceError, CacheError) as exc:
            total = self.query_one("#total", Static)
            total.update(t("usage.breakdown.failed", message=clean(exc.message)))
            total.set_classes("error")
            return
        self.show(breakdown)

    def show(self, breakdown: UsageBreakdown) -> None:
        self.breakdown = breakdown
        total = self.query_one("#total", Static)
        total.set_classes("")
        if breakdown.total == 0:
            total.update(t("usage.breakdown.empty"))
        else:
            total.update(t("usage.breakdown.total", total=f"{breakdown.total:,}"))
        self._fill("by_kind", breakdown.by_kind, kind_name, breakdown.total)
        self._fill("by_object", breakdown.by_object, object_name, breakdown.total)
        self.query_one("#by_kind", DataTable).focus()

    def _fill(
        self, table_id: str, items: list[NamedCalls], name: Callable[[str], str], total: int
    ) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        table.clear()
        for item in items:
            share = percent(item.calls, total) if total else ""
            table.add_row(
                Text(name(item.name)),
                Text(f"{item.calls:,}", justify="right"),
                Text(share, justify="right"),
            )

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
