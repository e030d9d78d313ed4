"""The history view (``H``): the service's audit trail, newest first: resyncs, engine
reports, ignores, unignores, reopened ignored errors, resync jobs, changes of the
allocation, notification and retry settings, mutes and API tokens.

The service keeps them for every console and every engine (``GET /v1/history?all=1``),
so a resync's effect stays visible after its summary closes, whoever ran it; with API
tokens, "who" is the token's name. The errors an entry touched are named from the
console's cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import JsonValue
from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from tui.core.audit_models import HistoryEntry
from tui.data.cache import CacheError
from tui.data.client_errors import ServiceError
from tui.i18n import current_lang, t
from tui.text.safe import clean
from tui.text.timefmt import ago, stamp
from tui.text.titles import subtype_title
from tui.widgets.prose import Prose
from tui.widgets.sizedtable import SizedTable

if TYPE_CHECKING:
    from datetime import datetime

    from tui.data.session import DataSession

#: Errors of the highlighted entry named under the table; the rest are counted.
TOUCHED_SHOWN = 8
#: The fewest cells the outcome is given (it wraps below its length).
OUTCOME_MIN = 16
#: From this many cells on, the table shows the full time of each entry.
WIDE = 100
#: Changed settings named in the outcome cell; the rest are counted.
CHANGES_SHOWN = 2
_COLUMNS = ("when", "who", "what", "errors", "outcome")
#: Kinds that touch no error: their errors cell stays empty.
_NO_ERRORS = frozenset({"allocation", "notifications", "retries", "mute", "unmute", "token"})


#: Settings whose values the notification dialog names in words (its locale table).
_WORDED = {"frequency": "modals.notifications", "digest_weekday": "modals.notifications"}


def value_text(value: JsonValue, field: str = "") -> str:
    """A setting's value in words: on/off, numbers grouped, lists joined, the dialog's
    word for a frequency or a weekday, none."""
    if isinstance(value, bool):
        return t(f"modals.switch.{'on' if value else 'off'}")
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value) or t("modals.history.nothing")
    if value is None or value == "" or value == {}:
        return t("modals.history.nothing")
    if isinstance(value, str) and field in _WORDED:
        key = f"{_WORDED[field]}.{value}"
        if (worded := t(key)) != key:
            return worded
    return clean(str(value))


def field_text(field: str) -> str:
    """A setting's name in the language; the API's name when the locale has none."""
    key = f"modals.history.fields.{field}"
    named = t(key)
    return field if named == key else named


def changes_text(entry: HistoryEntry) -> str:
    shown = [
        t("modals.history.change", field=field_text(change.field),
          old=value_text(change.old, change.field), new=value_text(change.new, change.field))
        for change in entry.changes[:CHANGES_SHOWN]
    ]  # fmt: skip
    if len(entry.changes) > CHANGES_SHOWN:
        shown.append(t("modals.history.changes_more", count=len(entry.changes) - CHANGES_SHOWN))
    return " · ".join(shown)


def _change_text(entry: HistoryEntry) -> str | None:
    """The outcome of an entry of the audit trail's newer kinds; None for the others."""
    if entry.kind in ("allocation", "notifications", "retries"):
        return changes_text(entry)
    if entry.kind == "job":
        counts = {k: f"{getattr(entry, k):,}" for k in
                  ("errors", "synced", "failed", "skipped", "unknown", "cancelled")}  # fmt: skip
        # count (an int) picks the plural form: "started: 1 error"
        return t(f"modals.history.job_{entry.action or 'started'}", count=entry.errors, **counts)
    if entry.kind == "token":
        return t(f"modals.history.token_{entry.action or 'added'}", name=clean(entry.ref or ""))
    if entry.kind == "mute":
        return t("modals.history.outcome_mute", until=stamp(entry.expires_at or entry.at))
    if entry.kind == "unmute":
        return t("modals.history.outcome_unmute")
    return None


def outcome_text(entry: HistoryEntry) -> str:
    """What became of it, in words: the outcome counts, or why it was refused."""
    if entry.state != "done":
        return t(f"modals.history.{entry.state}", message=clean(entry.message))
    if (changed := _change_text(entry)) is not None:
        return changed
    if entry.kind == "report":
        return t(
            "modals.history.outcome_report",
            created=f"{entry.created:,}",
            repeated=f"{entry.repeated:,}",
            rejected=f"{entry.rejected:,}",
        )
    if entry.kind == "ignore":
        if entry.expires_at is None:
            return t("modals.history.outcome_ignore", reason=clean(entry.reason))
        until = stamp(entry.expires_at)
        return t("modals.history.outcome_snooze", reason=clean(entry.reason), until=until)
    if entry.kind == "reopen":
        return t(f"modals.history.reopen_{entry.why or 'expired'}")
    if entry.kind == "unignore":
        return t("modals.history.outcome_unignore")
    return t(
        "modals.history.outcome_resync",
        synced=f"{entry.synced:,}",
        failed=f"{entry.failed:,}",
        skipped=f"{entry.skipped:,}",
    )


class HistoryScreen(ModalScreen[None]):
    """The service's history, newest first; Older fetches the next page."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,H", "close", "Close", id="modal.close")
    ]

    def __init__(self, session: DataSession, now: datetime) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.now = now
        self.entries: list[HistoryEntry] = []
        self.next_cursor: int | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog history") as dialog:
            dialog.border_title = Content(t("modals.history.title"))
            yield Prose(t("modals.common.loading"), id="message")
            yield SizedTable(cursor_type="row", zebra_stripes=True, id="entries")
            yield Prose(id="touched", classes="hint")
            with Horizontal(classes="buttons"):
                yield Prose(t("modals.history.close_hint"), classes="hint")
                yield Button(Content(t("modals.history.older")), id="older", disabled=True)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        self.query_one("#entries", SizedTable).focus()
        self.run_worker(self._load(None), exclusive=True, group="history")

    @on(SizedTable.Resized)
    def _fill(self) -> None:
        """The entries loaded, the outcome in what the other columns leave (wrapped), so
        it is never cut at the table's edge on an 80-column terminal."""
        table = self.query_one("#entries", SizedTable)
        row = table.cursor_row
        table.clear(columns=True)
        rows = [self._cells(entry, self._narrow()) for entry in self.entries]
        titles = [t(f"modals.history.{column}") for column in _COLUMNS]
        widths = [
            max([cell_len(title)] + [cell_len(cells[i]) for cells in rows])
            for i, title in enumerate(titles[:-1])
        ]
        widths.append(max(OUTCOME_MIN, table.spare(widths)))
        for key, title, width in zip(_COLUMNS, titles, widths, strict=True):
            table.add_column(title, key=key, width=width)
        for entry, cells in zip(self.entries, rows, strict=True):
            table.add_row(*cells, key=str(entry.id), height=None)
        if self.entries:
            table.move_cursor(row=min(row, len(self.entries) - 1))

    async def _load(self, cursor: int | None) -> None:
        message = self.query_one("#message", Static)
        try:
            page = await self.session.history(cursor)
        except ServiceError as error:
            message.set_class(True, "error")
            message.update(t("modals.history.failed", message=clean(error.message)))
            return
        self.entries.extend(page.entries)
        self._fill()
        self.next_cursor = page.next_cursor if page.has_more else None
        self.query_one("#older", Button).disabled = self.next_cursor is None
        self.loaded = True
        message.update("" if self.entries else t("modals.history.empty"))
        message.display = not self.entries
        if self.entries and cursor is None:
            await self._show_touched(self.entries[0])

    def _narrow(self) -> bool:
        """Too narrow for the full time beside the outcome: the time says how long ago,
        and the full time is said under the table for the entry at the cursor."""
        return self.query_one("#entries", SizedTable).size.width < WIDE

    def _cells(self, entry: HistoryEntry, narrow: bool) -> tuple[str, ...]:
        when = ago(entry.at, self.now)
        return (
            when if narrow else f"{stamp(entry.at)} ({when})",
            clean(entry.actor),
            t(f"modals.history.{entry.kind}"),
            "" if entry.kind in _NO_ERRORS else f"{entry.errors:,}",
            outcome_text(entry),
        )

    @on(DataTable.RowHighlighted, "#entries")
    async def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.entries):
            await self._show_touched(self.entries[event.cursor_row])

    async def _show_touched(self, entry: HistoryEntry) -> None:
        """Name the errors the entry touched, as the cache knows them now."""
        ids = entry.error_ids
        lines = [t("modals.history.touched", count=f"{len(ids):,}")]
        when = [f"{t('modals.history.when')}: {stamp(entry.at)}"] if self._narrow() else []
        try:
            rows = await self.session.rows(ids[:TOUCHED_SHOWN])
        except CacheError:
            rows = {}
        lang = current_lang()
        for error_id in ids[:TOUCHED_SHOWN]:
            row = rows.get(error_id)
            if row is None:
                lines.append(t("modals.history.touched_unknown", id=error_id))
                continue
            lines.append(
                t(
                    "modals.history.touched_row",
                    id=error_id,
                    subtype=subtype_title(row.subtype, lang),
                    name=clean(row.record_name),
                    status=t(f"modals.history.status_{row.status}"),
                )
            )
        if len(ids) > TOUCHED_SHOWN:
            lines.append(t("modals.history.touched_more", count=f"{len(ids) - TOUCHED_SHOWN:,}"))
        self.query_one("#touched", Static).update("\n".join(when + (lines if ids else [])))

    @on(Button.Pressed, "#older")
    def _older(self) -> None:
        if self.next_cursor is not None:
            self.query_one("#older", Button).disabled = True
            self.run_worker(self._load(self.next_cursor), exclusive=True, group="history")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
