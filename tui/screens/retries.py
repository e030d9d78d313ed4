"""Automatic retries: on or off, the schedule, which error types, the budget ceiling."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static, Switch

from tui.core.catalog import load_catalog
from tui.core.models import ERROR_TYPES, RetryPolicy, RetryStatus
from tui.data.cache import CacheError
from tui.data.client import ServiceClient, ServiceError
from tui.i18n import current_lang, t
from tui.widgets.toggles import StateCheckbox, WordSwitch

#: (input id, policy key) of the whole-number fields
NUMBERS = (("every", "every_minutes"), ("attempts", "max_attempts"), ("ceiling", "ceiling_percent"))


class RetriesScreen(ModalScreen[RetryStatus | None]):
    """Load the policy from the service, edit it, Save sends it back (422s shown as is)."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(classes="modal")
        self._client = client
        self.status: RetryStatus | None = None

    def compose(self) -> ComposeResult:
        catalog, lang = load_catalog(), current_lang()
        with Vertical(classes="dialog retries") as dialog:
            dialog.border_title = Content(t("modals.retries.title"))
            with VerticalScroll(classes="body") as body:
                body.can_focus = False
                yield Static(t("modals.retries.intro"), classes="intro", markup=False)
                yield Static(id="paused", classes="warning", markup=False)
                with Horizontal(classes="switch-row"):
                    yield WordSwitch("enabled", disabled=True)
                    yield Label(Content(t("modals.retries.enabled")))
                for field, _ in NUMBERS:
                    yield Label(Content(t(f"modals.retries.{field}")), classes="field-label")
                    yield Input(id=field, type="integer", disabled=True)
                yield Label(Content(t("modals.retries.nightly")), classes="field-label")
                yield Input(id="nightly", placeholder="02:00", disabled=True)
                yield Label(Content(t("modals.retries.types")), classes="label")
                for code in ERROR_TYPES:
                    title = catalog.type(code).text(lang).title
                    yield StateCheckbox(Content(title), id=f"type-{code}", disabled=True)
            with Horizontal(classes="buttons"):
                yield Static(t("modals.common.loading"), id="message", markup=False)
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(
                    Content(t("modals.common.save")), variant="primary", id="save", disabled=True
                )

    def on_mount(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="retries-load")

    async def _load(self) -> None:
        try:
            status = await self._client.retry_policy()
        except (ServiceError, CacheError) as error:
            self._say(t("modals.common.failed", message=error.message), "error")
            return
        self._fill(status)
        for widget in self.query("Input, Switch, Checkbox, #save"):
            widget.disabled = False
        self._say("", "")
        self.query_one("#enabled", Switch).focus()

    def _fill(self, status: RetryStatus) -> None:
        self.status = status
        self.query_one("#enabled", Switch).value = status.enabled
        for field, key in NUMBERS:
            self.query_one(f"#{field}", Input).value = str(getattr(status, key))
        self.query_one("#nightly", Input).value = status.nightly_at
        for code in ERROR_TYPES:
            self.query_one(f"#type-{code}", Checkbox).value = code in status.types
        paused = self.query_one("#paused", Static)
        paused.display = status.paused
        paused.update(t("modals.retries.paused", ceiling=status.ceiling_percent))

    def _say(self, text: str, kind: str) -> None:
        message = self.query_one("#message", Static)
        message.set_class(kind == "error", "error")
        message.update(text)

    def policy(self) -> RetryPolicy | str:
        """The policy on screen, or why it cannot be saved."""
        numbers: dict[str, int] = {}
        for field, key in NUMBERS:
            raw = self.query_one(f"#{field}", Input).value.strip()
            if not raw.lstrip("-").isdigit():
                return t("modals.retries.not_number", field=t(f"modals.retries.{field}"))
            numbers[key] = int(raw)
        types = [c for c in ERROR_TYPES if self.query_one(f"#type-{c}", Checkbox).value]
        fields: dict[str, Any] = {
            "enabled": self.query_one("#enabled", Switch).value,
            "nightly_at": self.query_one("#nightly", Input).value.strip(),
            "types": types,
            **numbers,
        }
        return RetryPolicy.model_construct(**fields)

    @on(Button.Pressed, "#save")
    def _submit(self) -> None:
        policy = self.policy()
        if isinstance(policy, str):
            self._say(policy, "error")
            return
        self.query_one("#save", Button).disabled = True
        self._say(t("modals.common.saving"), "")
        self.run_worker(self._send(policy), exclusive=True, group="retries-save")

    async def _send(self, policy: RetryPolicy) -> None:
        try:
            status = await self._client.set_retry_policy(policy)
        except (ServiceError, CacheError) as error:
            self._say(t("modals.common.failed", message=error.message), "error")
            self.query_one("#save", Button).disabled = False
            return
        self.dismiss(status)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "retries-save")
        self.dismiss(None)
