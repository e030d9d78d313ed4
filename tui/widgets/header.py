"""The top line (org, mode, freshness, online state) and the offline banner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tui.i18n import t
from tui.widgets.safe import clean
from tui.widgets.timefmt import ago, clock


@dataclass(frozen=True, slots=True)
class Status:
    """What the header shows; built from the session's plain attributes."""

    org_name: str | None
    mode: str | None
    online: bool
    last_refresh: datetime | None
    last_error: str | None
    refreshing: bool = False


class StatusHeader(Static):
    """``synchealth │ ● online │ Acme │ simulated │ refreshed 12:00:00 (2m ago)``.

    The app name goes first when the line has room for it.
    """

    def show(self, status: Status | None, now: datetime) -> None:
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
        state = (
            ("● " + t("main.header.online"), "green")
            if status.online
            else ("○ " + t("main.header.offline"), "bold red")
        )
        line = Text.assemble(
            state, " │ ", (clean(status.org_name or t("main.header.no_org")), "bold"), " │ ",
            mode, " │ ", refreshed,
        )  # fmt: skip
        if line.cell_len + 13 <= self.content_region.width:
            line = Text.assemble(("synchealth", "bold"), " │ ", line)
        self.update(line)


class OfflineBanner(Static):
    """Shown while the service cannot be reached; the cached data stays on screen."""

    def show(self, status: Status | None) -> None:
        offline = status is not None and not status.online
        self.display = offline
        if offline and status is not None:
            reason = clean(status.last_error or t("main.offline.unknown"))
            self.update(
                Text.assemble(
                    ("  " + t("main.offline.title") + "  ", "bold"),
                    t("main.offline.body", reason=reason),
                )
            )
