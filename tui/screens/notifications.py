"""Notification settings: on/off and how often."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet, Static, Switch

from tui.data.cache import CacheError
from tui.data.client import ServiceError
from tui.data.models import Frequency, NotificationSettings
from tui.i18n import t
from tui.widgets.safe import clean

if TYPE_CHECKING:
    from tui.data.session import DataSession

FREQUENCIES: tuple[Frequency, ...] = ("immediate", "daily", "weekly")


class NotificationsScreen(ModalScreen[NotificationSettings | None]):
    """Load the settings from the service, edit them, save them back."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]

    def __init__(self, session: DataSession) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.settings: NotificationSettings | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(t("modals.notifications.title"))
            with VerticalScroll(classes="body") as body:
                body.can_focus = False  # its fields take focus and scroll it
                yield Static(t("modals.notifications.intro"), classes="intro", markup=False)
                with Horizontal(classes="switch-row"):
                    yield Switch(id="enabled", disabled=True)
                    yield Label(Content(t("modals.notifications.enabled")))
                yield Label(Content(t("modals.notifications.frequency")), classes="label")
                with RadioSet(id="frequency", disabled=True):
                    for name in FREQUENCIES:
                        yield RadioButton(
                            Content(t(f"modals.notifications.{name}")), id=f"frequency-{name}"
                        )
                yield Static(id="channels", classes="hint", markup=False)
                yield Static(t("modals.common.loading"), id="message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(
                    Content(t("modals.common.save")), variant="primary", id="save", disabled=True
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.run_worker(self._load(), exclusive=True, group="notifications")

    async def _load(self) -> None:
        try:
            settings = await self.session.notifications()
        except (ServiceError, CacheError) as error:
            self._say(t("modals.notifications.load_failed", message=clean(error.message)), True)
            return
        self.settings = settings
        switch = self.query_one("#enabled", Switch)
        switch.value = settings.enabled
        switch.disabled = False
        self.query_one(f"#frequency-{settings.frequency}", RadioButton).value = True
        self.query_one("#frequency", RadioSet).disabled = not settings.enabled
        self.query_one("#channels", Static).update(
            t("modals.notifications.channels", channels=clean(", ".join(settings.channels)))
        )
        self.query_one("#save", Button).disabled = False
        self._say("", False)
        switch.focus()

    def _say(self, text: str, error: bool) -> None:
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.update(text)

    @on(Switch.Changed, "#enabled")
    def _toggled(self, event: Switch.Changed) -> None:
        self.query_one("#frequency", RadioSet).disabled = not event.value

    def chosen(self) -> NotificationSettings:
        """The settings as the form shows them now."""
        pressed = self.query_one("#frequency", RadioSet).pressed_index
        base = self.settings or NotificationSettings()
        return base.model_copy(
            update={
                "enabled": self.query_one("#enabled", Switch).value,
                "frequency": FREQUENCIES[pressed] if pressed >= 0 else base.frequency,
            }
        )

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.query_one("#save", Button).disabled = True
        self._say(t("modals.common.saving"), False)
        self.run_worker(self._send(self.chosen()), exclusive=True, group="notifications")

    async def _send(self, settings: NotificationSettings) -> None:
        try:
            saved = await self.session.set_notifications(settings)
        except (ServiceError, CacheError) as error:
            self._say(t("modals.common.failed", message=clean(error.message)), True)
            self.query_one("#save", Button).disabled = False
            return
        self.dismiss(saved)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "notifications")
        self.dismiss(None)
