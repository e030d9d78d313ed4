"""The top line (org, mode, freshness, online state) and the offline banner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui.i18n import t
from tui.text.safe import clean
from tui.text.timefmt import ago, clock, duration

if TYPE_CHECKING:
    from tui.data.values import FillProgress

#: Kinds of problem the banner words (``Problem.kind``); keys of ``main.offline``.
PROBLEMS = frozenset({
    "unreachable", "slow", "unauthorized", "rate_limited", "service_error", "rejected",
    "bad_answer", "bad_url", "cache", "database",
})  # fmt: skip
#: The banner's title of a kind of problem, when it is not "offline": the cache file at
#: fault, or the service up but its database not (the service is degraded).
TITLES = {"cache": "main.offline.cache_title", "database": "main.offline.degraded_title"}


@dataclass(frozen=True, slots=True)
class Status:
    """What the header shows; built from the session's plain attributes."""

    org_name: str | None
    mode: str | None
    online: bool
    last_refresh: datetime | None
    last_error: str | None
    refreshing: bool = False
    #: What kind of problem ``last_error`` is (see PROBLEMS); None: the service is unreachable.
    problem: str | None = None
    #: A first fill of the cache under way: the header says how far, not "offline".
    fill: FillProgress | None = None
    #: No refresh has ended yet (the embedded service may still be starting): the
    #: header says "connecting", not "offline", over the cached data.
    connecting: bool = False


def fill_text(fill: FillProgress) -> str:
    """``filling the cache: 404,202 of 1,000,000 (40%), about 20 s left``, then
    ``indexing the cache: step 3 of 14 (1,000,000 errors stored)``."""
    if fill.indexing is not None:
        done, steps = fill.indexing
        return t("main.header.indexing", step=done + 1, steps=steps, rows=f"{fill.done:,}")
    fraction, left = fill.fraction, fill.seconds_left
    if fill.total is None or fraction is None or left is None:
        return t("main.header.filling_unknown", done=f"{fill.done:,}")
    return t(
        "main.header.filling",
        done=f"{fill.done:,}",
        total=f"{fill.total:,}",
        percent=f"{fraction:.0%}",
        left=duration(left),
    )


class StatusHeader(Static):
    """``synchealth │ ● online │ Acme │ simulated │ refreshed 12:00:00 (2m ago)``.

    The app name goes first when the line has room for it: weighed again on every
    resize, not only when the status changes.
    """

    _shown: tuple[Status | None, datetime] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, status: Status | None, now: datetime) -> None:
        self._shown = (status, now)
        if status is None:
            self.update(Text.assemble(("synchealth", "bold"), "  ", t("main.header.opening")))
            return
        mode = t(f"main.header.mode_{status.mode}") if status.mode else "-"
        refreshed = (
            t(
                "main.header.refreshed",
                when=clock(status.last_refresh),
                ago=ago(status.last_refresh, now),
            )
            if status.last_refresh
            else t("main.header.never_refreshed")
        )
        if status.refreshing:
            refreshed = f"{refreshed} · {t('main.header.refreshing')}"
        if status.fill is not None:
            state: tuple[str, str] = ("◐ " + fill_text(status.fill), "bold yellow")
        elif status.online:
            state = ("● " + t("main.header.online"), "green")
        elif status.connecting:
            state = ("◌ " + t("main.header.connecting"), "bold yellow")
        elif status.problem == "database":
            state = ("◑ " + t("main.header.degraded"), "bold yellow")
        else:
            state = ("○ " + t("main.header.offline"), "bold red")
        line = Text.assemble(
            state, " │ ", (clean(status.org_name or t("main.header.no_org")), "bold"), " │ ",
            mode, " │ ", refreshed,
        )  # fmt: skip
        if line.cell_len + 13 <= self.content_region.width:
            line = Text.assemble(("synchealth", "bold"), " │ ", line)
        self.update(line)


class OfflineBanner(Static):
    """Shown while the data cannot be refreshed: says what the service answered (or that
    the cache file is at fault, or that the service is degraded: up, but not its
    database) in the session's language, then the technical detail on a
    line of its own; the cached data stays on screen."""

    def show(self, status: Status | None) -> None:
        offline = (
            status is not None
            and not status.online
            and status.fill is None
            and not status.connecting
        )
        self.display = offline
        if offline and status is not None:
            reason = clean(status.last_error or t("main.offline.unknown"))
            problem = status.problem if status.problem in PROBLEMS else "unreachable"
            title = t(TITLES.get(problem, "main.offline.title"))
            self.set_class(problem == "database", "-degraded")
            self.update(
                Text.assemble(
                    ("  " + title + "  ", "bold"), t(f"main.offline.{problem}"), "\n", reason
                )
            )
