"""The API usage gauge: used / allocated / Salesforce limit, org-wide use, 24 h sparkline."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget

from tui.core.models import Usage
from tui.i18n import t
from tui.text.numbers import percent

SPARKS = "▁▂▃▄▅▆▇█"
WARN_AT = 0.75
DANGER_AT = 0.90


def sparkline(values: list[int]) -> str:
    """One block character per value, scaled to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(
        SPARKS[min(len(SPARKS) - 1, value * len(SPARKS) // (top + 1))] for value in values
    )


def level(used: int, allocated: int) -> str:
    """'ok', 'warn' (>= 75 % of the allocation) or 'danger' (>= 90 %)."""
    if allocated <= 0:
        return "danger" if used > 0 else "ok"
    share = used / allocated
    return "danger" if share >= DANGER_AT else "warn" if share >= WARN_AT else "ok"


def bar_share(used: int, allocated: int) -> float:
    """How much of the bar is filled: full once the allocation is spent, or when there is
    none and calls were used."""
    if allocated <= 0:
        return 1.0 if used > 0 else 0.0
    return min(used / allocated, 1.0)


def share_text(used: int, allocated: int) -> str:
    """The share of the allocation used, or the words for "no allocation" at 0."""
    if allocated <= 0:
        return t("main.usage.no_allocation")
    return percent(used, allocated)


class UsageGauge(Widget, can_focus=True):
    """Two lines: the bar against the allocation, then the limit, org use and the last 24 h.

    Enter (or a click) opens where its calls went, as the ``u`` key does."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.usage_breakdown", "API calls", id="usage.open"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "usage--ok", "usage--warn", "usage--danger", "usage--empty", "usage--label", "usage--spark",
    }  # fmt: skip

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.usage: Usage | None = None

    def show(self, usage: Usage | None) -> None:
        self.usage = usage
        state = level(usage.used, usage.allocated) if usage else "ok"
        for name in ("ok", "warn", "danger"):
            self.set_class(state == name, f"-{name}")
        self.refresh()

    async def on_click(self) -> None:
        await self.run_action("app.usage_breakdown")

    def render(self) -> Text:
        usage = self.usage
        label = self.get_component_rich_style("usage--label")
        if usage is None:
            return Text(t("main.usage.unknown"), style=label)
        width = self.content_region.width
        state = level(usage.used, usage.allocated)
        bar_style = self.get_component_rich_style(f"usage--{state}")
        figures = t(
            "main.usage.figures",
            used=f"{usage.used:,}",
            allocated=f"{usage.allocated:,}",
            percent=share_text(usage.used, usage.allocated),
        )
        title = t("main.usage.title")
        bar_width = max(4, width - cell_len(title) - cell_len(figures) - 4)
        filled = round(bar_width * bar_share(usage.used, usage.allocated))
        first = Text.assemble(
            (title, label), " ",
            ("█" * filled, bar_style), ("░" * (bar_width - filled),
                                        self.get_component_rich_style("usage--empty")),
            " ", (figures, bar_style),
        )  # fmt: skip
        second_left = t(
            "main.usage.limits", limit=f"{usage.salesforce_limit:,}", org=f"{usage.org_used:,}"
        )
        if usage.retries_paused:
            second_left += " · " + t("main.usage.retries_paused")
        spark_label = t("main.usage.last_24h")
        hourly = [bucket.calls for bucket in usage.hourly][-24:]
        scale = t("main.usage.spark_peak", peak=f"{max(hourly, default=0):,}")
        room = width - cell_len(second_left) - cell_len(spark_label) - cell_len(scale) - 5
        second = Text.assemble((second_left, label))
        if room >= 8:
            line = sparkline(hourly[-room:])
            second.append("  ")
            second.append(spark_label, label)
            second.append(" ")
            second.append(line, self.get_component_rich_style("usage--spark"))
            second.append(" ")
            second.append(scale, label)
        first.truncate(width)
        second.truncate(width)
        return Text("\n").join([first, second])
