"""The notification log: the service's last deliveries, newest first.

Subjects and errors come from the service (and, through it, from SMTP servers and
webhooks): they are data, shown cleaned and never as markup.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from tui.core.notify_models import Delivery
from tui.i18n import t
from tui.text.safe import clean, fit

#: Cells of the error column; the whole error shows under the table for the cursor row.
ERROR_CELLS = 30
_STATUS_STYLES = {"sent": "green", "failed": "bold red", "pending": "yellow"}
_COLUMNS = ("when", "kind", "channel", "status", "tries", "error")


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM`` in ``zone``, or ``-``."""
    return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def delivery_detail(delivery: Delivery, zone: ZoneInfo) -> str:
    """One delivery in full: its subject, its tries, the next one and the whole error."""
    parts = [
        t(
            "modals.notifications.detail",
            subject=clean(delivery.subject),
            attempts=delivery.attempts,
            last=local_time(delivery.last_attempt, zone),
        )
    ]
    if delivery.status == "pending" and delivery.next_attempt is not None:
        parts.append(
            t("modals.notifications.detail_next", when=local_time(delivery.next_attempt, zone))
        )
    if delivery.error:
        parts.append(t("modals.notifications.detail_error", error=clean(delivery.error)))
    return "\n".join(parts)


class DeliveryTable(DataTable[Text]):
    """A row per delivery; ``deliveries`` holds what is shown, in the same order."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.deliveries: list[Delivery] = []

    def on_mount(self) -> None:
        for column in _COLUMNS:
            self.add_column(Text(t(f"modals.notifications.col_{column}")), key=column)

    def show(self, deliveries: list[Delivery], zone: ZoneInfo) -> None:
        self.clear()
        self.deliveries = list(deliveries)
        for delivery in self.deliveries:
            error = clean(delivery.error)
            if cell_len(error) > ERROR_CELLS:
                error = fit(error, ERROR_CELLS)
            self.add_row(
                Text(local_time(delivery.created, zone)),
                Text(t(f"modals.notifications.kind_{delivery.kind}")),
                Text(t(f"modals.notifications.channel_{delivery.channel}")),
                Text(
                    t(f"modals.notifications.status_{delivery.status}"),
                    style=_STATUS_STYLES[delivery.status],
                ),
                Text(str(delivery.attempts), justify="right"),
                Text(error, style="red"),
                key=str(delivery.id),
            )

    def highlighted(self) -> Delivery | None:
        """The delivery under the cursor."""
        if not self.deliveries or not 0 <= self.cursor_row < len(self.deliveries):
            return None
        return self.deliveries[self.cursor_row]
