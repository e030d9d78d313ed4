"""Ignore errors (or a cause) with a reason and, if wanted, an expiry (a snooze).

The dialog asks the reason and how long: until unignored, 1, 7 or 30 days, or up to a
date (midnight at its start in the session's time zone; ``tui/data/expiry.py``). Ignore
sends it to the service (``POST /v1/ignores``; days go as such, so the service's clock
counts them); a refusal is shown in the dialog, which stays open. Escape cancels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet, Static

from tui.core.ignore_models import IgnoreResult
from tui.data.cache import CacheError
from tui.data.client_errors import ServiceError
from tui.data.expiry import BadExpiry, parse_until
from tui.i18n import t
from tui.text.safe import clean
from tui.text.timefmt import session_zone
from tui.widgets.prose import Prose
from tui.widgets.toggles import StateRadioButton

#: The expiry choices, in the order shown: "none" is until unignored, "date" a typed one.
CHOICES: tuple[str, ...] = ("none", "1d", "7d", "30d", "date")
_DAYS = {"1d": 1, "7d": 7, "30d": 30}

#: Sends (reason, expiry) to the service: a time, days, or None; the service's answer.
Save = Callable[[str, datetime | int | None], Awaitable[IgnoreResult]]


def parse_expiry(choice: str, text: str, now: datetime) -> datetime | int | None:
    """The expiry chosen: days, a time, or None (until unignored); a typed date that
    cannot be used raises :class:`BadExpiry` with the message to show."""
    if choice in _DAYS:
        return _DAYS[choice]
    if choice != "date":
        return None
    return parse_until(text, now, session_zone())


class IgnoreScreen(ModalScreen[IgnoreResult | None]):
    """Dismissed with what the service did, or None (cancelled)."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]
    AUTO_FOCUS = "#reason"

    def __init__(self, question: str, save: Save, now: Callable[[], datetime]) -> None:
        super().__init__(classes="modal")
        self.question = question
        self._save = save
        self._now = now

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog ignore") as dialog:
            dialog.border_title = Content(t("ignore.title"))
            with VerticalScroll(classes="body") as body:
                body.can_focus = False
                yield Prose(self.question, classes="question")
                yield Prose(t("ignore.intro"), classes="intro")
                yield Label(Content(t("ignore.reason")))
                yield Input(placeholder=t("ignore.reason_placeholder"), id="reason")
                yield Label(Content(t("ignore.expiry")))
                with RadioSet(id="expiry"):
                    for n, choice in enumerate(CHOICES):
                        yield StateRadioButton(
                            t(f"ignore.choice_{choice}"), value=n == 0, id=f"expiry-{choice}"
                        )
                yield Input(placeholder=t("ignore.date_placeholder"), id="until", disabled=True)
                yield Static(id="error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(Content(t("ignore.confirm")), variant="warning", id="ignore")

    def on_mount(self) -> None:
        # focusing the reason scrolls the body to it: open at the top, the question in sight
        self.call_after_refresh(self.query_one(".body", VerticalScroll).scroll_home, animate=False)

    def _choice(self) -> str:
        pressed = self.query_one("#expiry", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return "none"
        return pressed.id.removeprefix("expiry-")

    @on(RadioSet.Changed, "#expiry")
    def _expiry_changed(self) -> None:
        until = self.query_one("#until", Input)
        until.disabled = self._choice() != "date"
        if not until.disabled:
            until.focus()
        self.query_one("#error", Static).update("")

    @on(Input.Changed)
    def _typed(self) -> None:
        self.query_one("#error", Static).update("")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ignore")
    def _submit(self) -> None:
        error = self.query_one("#error", Static)
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            error.update(t("ignore.reason_missing"))
            self.query_one("#reason", Input).focus()
            return
        try:
            expiry = parse_expiry(
                self._choice(), self.query_one("#until", Input).value, self._now()
            )
        except BadExpiry as exc:
            error.update(str(exc))
            return
        self.query_one("#ignore", Button).disabled = True
        error.update(t("ignore.sending"))
        self.run_worker(self._send(reason, expiry), exclusive=True, group="ignore-send")

    async def _send(self, reason: str, expiry: datetime | int | None) -> None:
        try:
            result = await self._save(reason, expiry)
        except (ServiceError, CacheError) as exc:
            message = clean(getattr(exc, "message", None) or str(exc))
            self.query_one("#error", Static).update(t("modals.common.failed", message=message))
            self.query_one("#ignore", Button).disabled = False
            return
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "ignore-send")
        self.dismiss(None)
