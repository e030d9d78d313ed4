"""Resync: confirm what it will cost, then run it with progress and a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Label, ProgressBar, Static

from tui.core.catalog import load_catalog
from tui.core.limits import RECORDS_PER_CALL
from tui.data.cache import CacheError
from tui.data.client_errors import ServiceError
from tui.i18n import current_lang, t
from tui.text.safe import clean
from tui.widgets.prose import Prose

if TYPE_CHECKING:
    from tui.data.session import DataSession, ResyncPlan, ResyncProgress, ResyncSummary

#: How many "still failing" subtypes the summary names before summing up the rest.
TOP_SUBTYPES = 4


class ResyncConfirmScreen(ModalScreen[bool]):
    """Name the count, batches, calls and what is left; open on Cancel."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="modal.cancel"),
        Binding("y", "confirm", "Resync", id="modal.confirm"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, plan: ResyncPlan, hidden_marked: int, ignored: int = 0) -> None:
        super().__init__(classes="modal")
        self.plan = plan
        self.hidden_marked = hidden_marked
        self.ignored = ignored  # marked errors left out because they are ignored

    def lines(self) -> list[tuple[str, str]]:
        """(text, css class) of every sentence the dialog shows, in order."""
        plan = self.plan
        out = [(t("modals.resync.question", count=plan.errors), "question")]
        if self.hidden_marked > 0:  # right under the question: never scrolled out of sight
            hidden = t("modals.resync.hidden", hidden=f"{self.hidden_marked:,}")
            out.append((hidden, "warning hidden-marks"))
        if self.ignored > 0:
            out.append((t("ignore.left_out", count=self.ignored), "warning"))
        out += [
            (t("modals.resync.batches", batches=f"{plan.batches:,}", size=RECORDS_PER_CALL), ""),
        ]
        if plan.engine:
            out.append((t("modals.resync.mode_engine"), ""))
        else:
            out += [(t("modals.resync.mode_direct"), ""), *self._cost_lines()]
        return out

    def _cost_lines(self) -> list[tuple[str, str]]:
        """Direct mode: the Salesforce calls it spends and what the allocation keeps."""
        plan = self.plan
        out = [(t("modals.resync.calls", calls=f"{plan.calls:,}"), "")]
        left = plan.allocation_left
        if left is None:
            out.append((t("modals.resync.left_unknown"), ""))
        elif left < 0:
            out.append((t("modals.resync.over", over=f"{-left:,}"), "warning"))
        else:
            out.append((t("modals.resync.left", left=f"{left:,}"), ""))
        return out

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.resync.title"))
            with VerticalScroll(classes="body"):
                for text, classes in self.lines():
                    yield Prose(text, classes=classes)
                yield Prose(t("modals.resync.keys"), classes="hint keys")
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(Content(t("modals.resync.confirm")), variant="warning", id="confirm")

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ResyncRunScreen(ModalScreen["ResyncSummary | None"]):
    """Send the errors as one resync job (or follow ``job_id``, a job started before the
    console was last closed) with a progress bar, then show what happened.

    Closing is refused while the job runs: the admin would lose its summary. Stop stops
    following instead: a job goes on in the service (a reopened console follows it
    again); a replayed batch in flight stays written down and is offered again at the
    next start. A retry of a slow or failing service is shown as it happens. ``replay``
    sends the pending batches (``DataSession.replay_pending``) instead of ``ids``.
    """

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="modal.close")]

    def __init__(
        self,
        session: DataSession,
        ids: Sequence[int],
        job_id: str | None = None,
        replay: bool = False,
    ) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.ids = list(ids)
        self.job_id = job_id
        self.replay = replay
        self.summary: ResyncSummary | None = None
        self.last_progress: ResyncProgress | None = None
        self.finished = False

    def compose(self) -> ComposeResult:
        batches = self.session.resync_plan(len(self.ids)).batches
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.resync.running_title"))
            with VerticalScroll(classes="body"):
                yield Prose(
                    t("modals.resync.starting", count=len(self.ids), batches=batches),
                    id="status",
                )
                yield ProgressBar(total=max(len(self.ids), 1), show_eta=False, id="bar")
                yield Vertical(id="result")
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.resync.stop")), id="stop")
                yield Button(Content(t("modals.common.close")), id="close", disabled=True)

    def on_mount(self) -> None:
        self.session.retry_listeners.append(self._retrying)
        self._worker = self.run_worker(self._run(), exclusive=True, group="resync")

    def on_unmount(self) -> None:
        if self._retrying in self.session.retry_listeners:
            self.session.retry_listeners.remove(self._retrying)

    def _retrying(self, failure: ServiceError, attempt: int, retries: int) -> None:
        self.query_one("#status", Static).update(
            t("modals.resync.retrying", reason=clean(failure.message), attempt=attempt,
              retries=retries)
        )  # fmt: skip

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        if self.finished:
            return
        self._worker.cancel()
        stopped = "modals.resync.stopped" if self.replay else "modals.resync.stopped_job"
        self._finish([(t(stopped), "warning")])

    def _progress(self, progress: ResyncProgress) -> None:
        self.last_progress = progress
        text = t(
            "modals.resync.progress",
            batch=progress.batch,
            batches=progress.batches,
            done=f"{progress.done:,}",
            total=f"{progress.total:,}",
        )
        if progress.waiting:
            text += "\n" + t("modals.resync.waiting", why=clean(progress.waiting))
        self.query_one("#status", Static).update(text)
        self.query_one("#bar", ProgressBar).update(
            total=max(progress.total, 1), progress=progress.done
        )

    async def _run(self) -> None:
        try:
            if self.replay:
                summary = await self.session.replay_pending(self._progress)
            elif self.job_id is not None:
                summary = await self.session.follow_job(self.job_id, self._progress)
            else:
                summary = await self.session.resync_job(self.ids, self._progress)
        except (ServiceError, CacheError) as error:
            self._finish([(t("modals.resync.error", message=clean(error.message)), "error")])
            return
        self.summary = summary
        self._finish(summary_lines(summary))

    def _finish(self, lines: list[tuple[str, str]]) -> None:
        self.finished = True
        self.query_one(".dialog").border_title = Content(t("modals.resync.done_title"))
        self.query_one("#status", Static).display = False
        self.query_one("#bar", ProgressBar).display = False
        self.query_one("#stop", Button).display = False
        result = self.query_one("#result", Vertical)
        widgets: list[Widget] = []
        if self.summary is not None:
            widgets.append(_figures(self.summary))
        widgets.extend(Prose(text, classes=classes) for text, classes in lines)
        widgets.append(Prose(t("modals.resync.close_hint"), classes="hint keys"))
        result.mount_all(widgets)
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        if not self.finished:
            self.notify(t("modals.resync.wait"), severity="warning")
            return
        self.dismiss(self.summary)


def _figures(summary: ResyncSummary) -> Grid:
    """The counts of a summary as a two-column table."""
    cells: list[Label] = []
    figures = [
        ("requested", summary.requested),
        ("synced", summary.synced),
        ("failed", summary.failed),
        ("skipped", summary.skipped),
        ("calls_spent", summary.calls),
    ]
    if summary.engine:
        figures.insert(1, ("engine", summary.engine))
    for key, number in figures:
        cells.append(Label(Content(t(f"modals.resync.{key}"))))
        cells.append(Label(Content(f"{number:,}"), classes=f"number {key}"))
    return Grid(*cells, classes="facts")


def summary_lines(summary: ResyncSummary) -> list[tuple[str, str]]:
    """The sentences under the figures: why errors still fail, and any refusal."""
    lines: list[tuple[str, str]] = []
    if summary.refused:
        lines.append((t("modals.resync.refused", reason=clean(summary.refused)), "error"))
    if summary.kept > 0:
        lines.append((t("modals.resync.kept", count=summary.kept), "warning"))
    if summary.interrupted > 0:
        lines.append((t("modals.resync.interrupted", count=summary.interrupted), "warning"))
    ranked = sorted(summary.failures_by_subtype.items(), key=lambda item: (-item[1], item[0]))
    if ranked:
        lines.append((t("modals.resync.why"), "label"))
        for code, count in ranked[:TOP_SUBTYPES]:
            lines.append(
                (t("modals.resync.why_row", count=f"{count:,}", title=_title(code)), "why")
            )
        rest = ranked[TOP_SUBTYPES:]
        if rest:
            lines.append(
                (
                    t(
                        "modals.resync.why_more",
                        count=f"{sum(c for _, c in rest):,}",
                    ),
                    "why",
                )
            )
    return lines


def _title(code: str) -> str:
    """The catalog title of a subtype in the UI language; the code itself if it is not listed."""
    catalog = load_catalog()
    if code not in catalog.subtype_codes:
        return clean(code)
    return catalog.subtype(code).text(current_lang()).title
