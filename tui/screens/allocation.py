"""Edit the share of the org's daily Salesforce API calls given to the integration."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from tui.core.models import Usage
from tui.data.cache import CacheError
from tui.data.client import ServiceError
from tui.i18n import t
from tui.widgets.prose import Prose

_GROUPED = re.compile(r"\d{1,3}(,\d{3})+|\d+")
_NEGATIVE = re.compile(r"-[\d,]*\d[\d,]*")


def parse_allocation(text: str, limit: int) -> int | str:
    """The whole number typed, or the message that says why it is not acceptable.

    Full-width digits and commas (typed with a Japanese IME) count as their ASCII
    twins; commas must group thousands ("5,000", not "50,00").
    """
    value = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    if not value:
        return t("modals.allocation.empty")
    if _NEGATIVE.fullmatch(value):
        return t("modals.allocation.negative")
    if not _GROUPED.fullmatch(value):
        return t("modals.allocation.not_number", text=text.strip())
    number = int(value.replace(",", ""))
    if number > limit:
        return t("modals.allocation.above_limit", value=f"{number:,}", limit=f"{limit:,}")
    return number


class AllocationValidator(Validator):
    """Input validator over :func:`parse_allocation`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def validate(self, value: str) -> ValidationResult:
        parsed = parse_allocation(value, self.limit)
        return self.failure(parsed) if isinstance(parsed, str) else self.success()


class AllocationScreen(ModalScreen[Usage | None]):
    """Type a new allocation; Save sends it to the service and returns the new usage."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]

    def __init__(self, usage: Usage, save: Callable[[int], Awaitable[Usage]]) -> None:
        super().__init__(classes="modal")
        self.usage = usage
        self._save = save

    def compose(self) -> ComposeResult:
        limit = self.usage.salesforce_limit
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.allocation.title"))
            with VerticalScroll(classes="body") as body:
                body.can_focus = False  # its fields take focus and scroll it
                yield Prose(t("modals.allocation.intro"), classes="intro")
                with Grid(classes="facts"):
                    for key, number in (
                        ("used", self.usage.used),
                        ("allocated", self.usage.allocated),
                        ("limit", limit),
                    ):
                        yield Label(Content(t(f"modals.allocation.{key}")))
                        yield Label(Content(f"{number:,}"), classes="number", id=f"fact-{key}")
                yield Label(Content(t("modals.allocation.field", limit=f"{limit:,}")))
                yield Input(
                    value=f"{self.usage.allocated:,}",
                    placeholder=t("modals.allocation.placeholder"),
                    validators=[AllocationValidator(limit)],
                    validate_on=["changed", "submitted"],
                    id="allocation",
                )
                yield Prose(id="message")
                yield Static(id="error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(Content(t("modals.common.save")), variant="primary", id="save")

    def on_mount(self) -> None:
        field = self.query_one("#allocation", Input)
        self._show(field.value)
        self.call_after_refresh(field.scroll_visible, animate=False)

    def _show(self, text: str) -> int | None:
        """Update the message under the field and the Save button; the number if valid."""
        parsed = parse_allocation(text, self.usage.salesforce_limit)
        message = self.query_one("#message", Static)
        number = None if isinstance(parsed, str) else parsed
        below_use = number is not None and number < self.usage.used
        message.set_class(number is None, "error")
        message.set_class(below_use, "warning")
        if isinstance(parsed, str):
            message.update(parsed)
        elif below_use:
            message.update(
                t("modals.allocation.below_use", value=f"{parsed:,}", used=f"{self.usage.used:,}")
            )
        else:
            message.update(t("modals.allocation.hint", count=parsed))
        self.query_one("#save", Button).disabled = number is None
        return number

    @on(Input.Changed, "#allocation")
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#error", Static).update("")
        self._show(event.value)

    @on(Input.Submitted, "#allocation")
    @on(Button.Pressed, "#save")
    def _submit(self) -> None:
        number = self._show(self.query_one("#allocation", Input).value)
        if number is None or self.query_one("#save", Button).disabled:
            return
        self.query_one("#save", Button).disabled = True
        self.query_one("#error", Static).update(t("modals.common.saving"))
        self.run_worker(self._send(number), exclusive=True, group="allocation-save")

    async def _send(self, number: int) -> None:
        try:
            usage = await self._save(number)
        except (ServiceError, CacheError) as error:
            message = getattr(error, "message", None) or str(error)
            self.query_one("#error", Static).update(t("modals.common.failed", message=message))
            self.query_one("#save", Button).disabled = False
            return
        self.dismiss(usage)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "allocation-save")
        self.dismiss(None)
