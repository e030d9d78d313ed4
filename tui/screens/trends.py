"""The trend view: new vs resolved errors per day, drawn by plotext, for all errors, the
type in view or one cause, from the service's daily figures (``GET /v1/trends``)."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual_plotext import PlotextPlot

from tui.core.trend_models import TrendPage
from tui.data.cache import CacheError
from tui.data.client_errors import ServiceError
from tui.data.last_looked import SinceLooked
from tui.i18n import t
from tui.text.safe import clean
from tui.text.titles import type_title
from tui.widgets.legend import SERIES, ChartLegend

if TYPE_CHECKING:
    from tui.data.session import DataSession

#: The day ranges ``w`` steps through.
WINDOWS = (30, 90, 400)
#: Day labels on the x axis, at most.
TICKS = 6


def since_text(moved: SinceLooked) -> str:
    return t(
        "trends.since",
        new=t("trends.since_new", count=moved.new),
        resolved=t("trends.since_resolved", count=moved.resolved),
        recurring=t("trends.since_recurring", count=moved.recurring),
    )


def title_of(type_code: str | None, cause: str | None) -> str:
    if cause is not None:
        return t("trends.title_cause", cause=cause)
    if type_code is not None:
        return t("trends.title_type", type=type_title(type_code))
    return t("trends.title_all")


class TrendScreen(ModalScreen[None]):
    CSS_PATH: ClassVar = ["../styles/modals.tcss", "../styles/trends.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="modal.close"),
        Binding("r", "load", "Refresh", id="trends.refresh"),
        Binding("w", "window", "Days shown", id="trends.window"),
    ]

    def __init__(
        self,
        session: DataSession,
        end: date,
        type_code: str | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(classes="modal")
        self.session, self.end = session, end
        self.type_code, self.cause = type_code, cause
        self.days = WINDOWS[0]
        self.page: TrendPage | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog trends") as dialog:
            dialog.border_title = Content(title_of(self.type_code, self.cause))
            yield Static(t("trends.loading"), id="summary", markup=False)
            yield ChartLegend(id="legend")
            yield PlotextPlot(id="chart")
            with Horizontal(classes="buttons"):
                yield Static(t("trends.keys"), classes="hint", markup=False)
                yield Button(Content(t("modals.common.close")), id="close")

    def on_mount(self) -> None:
        self.action_load()

    def action_window(self) -> None:
        self.days = WINDOWS[(WINDOWS.index(self.days) + 1) % len(WINDOWS)]
        self.action_load()

    @work(group="trends", exclusive=True, exit_on_error=False)
    async def action_load(self) -> None:
        try:
            page = await self.session.trends(self.days, self.end, self.type_code, self.cause)
        except (ServiceError, CacheError) as exc:
            summary = self.query_one("#summary", Static)
            summary.update(t("trends.failed", message=clean(exc.message)))
            summary.set_classes("error")
            return
        self.show(page)

    def show(self, page: TrendPage) -> None:
        self.page = page
        summary = self.query_one("#summary", Static)
        summary.set_classes("")
        days = page.days
        summary.update(
            t(
                "trends.summary",
                days=len(days),
                end=days[-1].day.isoformat() if days else "",
                new=f"{sum(d.new for d in days):,}",
                resolved=f"{sum(d.resolved for d in days):,}",
                recurring=f"{sum(d.recurring for d in days):,}",
                open=f"{days[-1].open:,}" if days else "0",
            )
        )
        chart = self.query_one(PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        xs: list[float] = [float(n) for n in range(1, len(days) + 1)]
        legend = self.query_one(ChartLegend)  # the names: plotext's legend covers the lines
        values = {"new": [d.new for d in days], "resolved": [d.resolved for d in days]}
        for series in SERIES:
            plt.plot(xs, values[series], marker="braille", color=legend.color(series))
        step = max(1, len(days) // TICKS)
        ticks = xs[::-1][::step][::-1]
        plt.xticks(ticks, [days[int(x) - 1].day.strftime("%m-%d") for x in ticks])
        top = max([1, *(d.new for d in days), *(d.resolved for d in days)])
        rise = max(1, math.ceil(top / TICKS))  # whole errors on the y axis
        plt.yticks(list(range(0, top + rise, rise)))
        plt.ylim(0, top)
        chart.refresh()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
