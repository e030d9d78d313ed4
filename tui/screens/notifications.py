"""Notification settings: schedule, language, channels, usage alerts, test sends, the log.

The settings and the channels' status load together; a channel the service has no
configuration for (no SMTP server, no webhook URL) shows so and cannot be turned on.
Text fields are checked as they are typed (tui/text/notify_fields.py); the service
checks again on save and its refusal shows in the dialog. Everything the service
reports (targets, test results, subjects, errors) is data: cleaned, never markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, get_args
from zoneinfo import ZoneInfo

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    Switch,
)

from tui.core.lang import LANGS
from tui.core.models import (
    MAX_RECIPIENTS,
    Channel,
    Frequency,
    NotificationSettings,
    NotificationStatus,
    Weekday,
)
from tui.data.cache import CacheError
from tui.data.client import ServiceError
from tui.i18n import t
from tui.text.notify_fields import (
    FieldError,
    parse_alert_errors,
    parse_alert_minutes,
    parse_digest_time,
    parse_recipients,
    parse_thresholds,
    parse_timezone,
)
from tui.text.safe import clean
from tui.widgets.deliveries import DeliveryTable, delivery_detail, local_time
from tui.widgets.prose import Prose
from tui.widgets.toggles import StateCheckbox, StateRadioButton, WordSwitch

if TYPE_CHECKING:
    from tui.data.session import DataSession

FREQUENCIES: tuple[Frequency, ...] = get_args(Frequency)
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
CHANNELS: tuple[Channel, ...] = ("email", "webhook")
#: Terminal columns from which the schedule and the channels stand side by side.
WIDE = 150
#: The text fields, in form order, and what each accepts.
PARSERS: dict[str, Callable[[str], Any]] = {
    "digest-time": parse_digest_time,
    "timezone": parse_timezone,
    "recipients": parse_recipients,
    "thresholds": parse_thresholds,
    "alert-errors": parse_alert_errors,
    "alert-minutes": parse_alert_minutes,
}


def _label(key: str, **values: object) -> Content:
    return Content(t(f"modals.notifications.{key}", **values))


def _put(line: Static, text: str, *classes: str) -> None:
    """Show ``text`` on ``line`` (hidden while empty), styled by ``classes`` if given."""
    if classes:
        line.set_classes(" ".join(classes))
    line.update(text)
    line.display = bool(text)


class _FormRule(Validator):
    """Lets an Input mark itself by the form's check of its text (the message shows
    under the field, put there by the screen)."""

    def __init__(self, problem: Callable[[str], str]) -> None:
        super().__init__()
        self.problem = problem

    def validate(self, value: str) -> ValidationResult:
        problem = self.problem(value)
        return self.failure(problem) if problem else self.success()


class NotificationsScreen(ModalScreen[NotificationSettings | None]):
    """Load the settings and the channels' status, edit, test, save them back."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modal.cancel")
    ]

    def __init__(self, session: DataSession) -> None:
        super().__init__(classes="modal")
        self.session = session
        self.settings: NotificationSettings | None = None
        self.status: NotificationStatus | None = None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # "-loading" hides the form until the saved settings fill it: no default values
        # shown for a moment as if they were the admin's
        with Vertical(classes="dialog notifications -loading") as dialog:
            dialog.border_title = _label("title")
            with VerticalScroll(classes="body") as body:
                body.can_focus = False  # its fields take focus and scroll it
                yield Prose(t("modals.notifications.intro"), classes="intro")
                with Horizontal(classes="columns"):
                    with Vertical(classes="column"):
                        yield from self._schedule()
                    with Vertical(classes="column"):
                        for channel in CHANNELS:
                            yield from self._channel(channel)
                        yield from self._usage()
                yield Label(_label("deliveries"), classes="label", id="deliveries-label")
                yield Static(id="deliveries-note", classes="hint", markup=False)
                yield DeliveryTable(id="deliveries")
                yield Static(id="delivery-detail", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Static(t("modals.common.loading"), id="message", markup=False)
                yield Button(Content(t("modals.common.cancel")), id="cancel")
                yield Button(
                    Content(t("modals.common.save")), variant="primary", id="save", disabled=True
                )

    def _schedule(self) -> ComposeResult:
        with Horizontal(classes="switch-row"):
            yield WordSwitch("enabled", disabled=True)
            yield Label(_label("enabled"))
        yield Label(_label("frequency"), classes="label")
        yield self._radios("frequency", FREQUENCIES, "", classes="across")
        with Horizontal(classes="field-row"):
            yield Label(_label("digest_time"))
            yield self._input("digest-time", "time_placeholder")
            yield Label(_label("timezone"), classes="after")
            yield self._input("timezone", "timezone_placeholder")
        for name in ("digest-time", "timezone"):
            yield Static(id=f"{name}-error", classes="error field-error", markup=False)
        yield Label(_label("weekday"), classes="field-label")
        yield self._radios("weekday", WEEKDAYS, "", classes="across")
        yield Static(id="next-digest", classes="hint", markup=False)
        yield from self._alert_rule()
        yield Label(_label("lang"), classes="field-label")
        yield self._radios("lang", LANGS, "lang_", classes="across")

    def _alert_rule(self) -> ComposeResult:
        """Alert mode's rule: a cause grows fast at N new errors in M minutes."""
        yield Label(_label("alert_rule"), classes="field-label")
        with Horizontal(classes="field-row"):
            yield Label(_label("alert_errors"))
            yield self._input("alert-errors", "alert_errors_placeholder")
            yield Label(_label("alert_minutes"), classes="after")
            yield self._input("alert-minutes", "alert_minutes_placeholder")
            yield Label(_label("alert_minutes_unit"), classes="after")
        for name in ("alert-errors", "alert-minutes"):
            yield Static(id=f"{name}-error", classes="error field-error", markup=False)
        yield Prose(t("modals.notifications.alerts_hint"), classes="hint")

    def _channel(self, channel: Channel) -> ComposeResult:
        yield Label(_label(channel), classes="label")
        yield Static(id=f"{channel}-target", classes="hint", markup=False)
        with Horizontal(classes="test-row"):
            yield StateCheckbox(
                _label(f"{channel}_enabled"), id=f"{channel}-enabled", disabled=True
            )
            yield Button(_label("test"), id=f"test-{channel}", disabled=True)
        yield Static(id=f"test-{channel}-result", classes="test-result", markup=False)
        if channel == "email":
            yield Label(_label("recipients", max=MAX_RECIPIENTS), classes="field-label")
            yield from self._field("recipients")

    def _usage(self) -> ComposeResult:
        yield Label(_label("usage"), classes="label")
        yield Prose(t("modals.notifications.usage_hint"), classes="hint")
        yield StateCheckbox(_label("usage_enabled"), id="usage-alerts", disabled=True)
        yield Label(_label("thresholds"), classes="field-label")
        yield from self._field("thresholds")

    def _input(self, name: str, placeholder: str) -> Input:
        return Input(
            placeholder=t(f"modals.notifications.{placeholder}"),
            validators=[_FormRule(partial(self._problem, name))],
            id=name,
            disabled=True,
        )

    def _field(self, name: str) -> ComposeResult:
        yield self._input(name, f"{name}_placeholder")
        yield Static(id=f"{name}-error", classes="error field-error", markup=False)

    @staticmethod
    def _radios(name: str, values: tuple[str, ...], prefix: str, classes: str = "") -> RadioSet:
        buttons = [StateRadioButton(_label(f"{prefix}{v}"), id=f"{name}-{v}") for v in values]
        return RadioSet(*buttons, id=name, disabled=True, classes=classes)

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(".dialog").set_class(event.size.width >= WIDE, "wide")

    # -- loading -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.run_worker(self._load(), exclusive=True, group="notifications")

    async def _load(self) -> None:
        settings, status = await asyncio.gather(
            self.session.notifications(), self.session.notification_status(), return_exceptions=True
        )
        if isinstance(settings, BaseException):
            if not isinstance(settings, ServiceError | CacheError):
                raise settings
            self._say(t("modals.notifications.load_failed", message=clean(settings.message)), True)
            return
        self.settings = settings
        self._fill(settings)
        self.query_one(".dialog").remove_class("-loading")
        if isinstance(status, ServiceError | CacheError):
            self._say_deliveries(
                t("modals.notifications.deliveries_failed", message=clean(status.message))
            )
        elif isinstance(status, BaseException):
            raise status
        else:
            self._show_status(status)
        self._sync()
        self.query_one("#save", Button).disabled = False
        self._say("", False)
        # filling the inputs scrolled to the last one: start at the top, on the switch
        self.query_one(".body", VerticalScroll).scroll_home(animate=False)
        self.query_one("#enabled", Switch).focus()

    def _fill(self, s: NotificationSettings) -> None:
        switch = self.query_one("#enabled", Switch)
        switch.value = s.enabled
        switch.disabled = False
        for name, value in (
            ("frequency", s.frequency),
            ("weekday", s.digest_weekday),
            ("lang", s.lang),
        ):
            self.query_one(f"#{name}-{value}", RadioButton).value = True
        for name, text in (
            ("digest-time", s.digest_time),
            ("timezone", s.timezone),
            ("recipients", ", ".join(s.email.recipients)),
            ("thresholds", ", ".join(str(v) for v in s.usage_thresholds)),
            ("alert-errors", f"{s.alert_errors}"),
            ("alert-minutes", f"{s.alert_minutes}"),
        ):
            field = self.query_one(f"#{name}", Input)
            with field.prevent(Input.Changed):
                field.value = text
            field.disabled = False
        self.query_one("#email-enabled", Checkbox).value = s.email.enabled
        self.query_one("#webhook-enabled", Checkbox).value = s.webhook.enabled
        self.query_one("#usage-alerts", Checkbox).value = s.usage_alerts
        self.query_one("#usage-alerts", Checkbox).disabled = False
        self.query_one("#lang", RadioSet).disabled = False

    def _show_status(self, status: NotificationStatus) -> None:
        self.status = status
        zone = self._zone()
        zone_name = self.settings.timezone if self.settings else "UTC"
        when = status.next_digest_at
        _put(
            self.query_one("#next-digest", Static),
            ""
            if when is None
            else t("modals.notifications.next_digest", when=local_time(when, zone), zone=zone_name),
        )
        for channel in CHANNELS:
            known = status.channels.get(channel)
            if known is None:
                text = t("modals.notifications.status_unknown")
            elif known.configured:
                text = t("modals.notifications.target", target=clean(known.target))
            else:
                text = t("modals.notifications.not_configured")
            target = self.query_one(f"#{channel}-target", Static)
            target.set_class(known is not None and not known.configured, "warning")
            target.update(text)
        table = self.query_one("#deliveries", DeliveryTable)
        table.show(status.deliveries, zone)
        table.display = bool(status.deliveries)
        self._say_deliveries(
            t("modals.notifications.deliveries_note", zone=zone_name)
            if status.deliveries
            else t("modals.notifications.no_deliveries")
        )
        self._show_detail()

    def _zone(self) -> ZoneInfo:
        """The zone of the saved settings: digests and the log are shown in it."""
        return ZoneInfo(self.settings.timezone if self.settings else "UTC")

    def _say_deliveries(self, text: str) -> None:
        self.query_one("#deliveries-note", Static).update(text)

    def _say(self, text: str, error: bool) -> None:
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.update(text)

    # -- what is enabled -----------------------------------------------------------------

    def _configured(self, channel: Channel) -> bool:
        """False only when the service said the channel has no configuration."""
        known = self.status.channels.get(channel) if self.status else None
        return known is None or known.configured

    def _sync(self) -> None:
        """Enable what applies: the schedule when on, the weekday for weekly digests,
        a channel when the service can send on it (or to let it be turned off)."""
        if self.settings is None:
            return
        on = self.query_one("#enabled", Switch).value
        self.query_one("#frequency", RadioSet).disabled = not on
        frequency = self._picked("frequency", FREQUENCIES, "daily")
        self.query_one("#weekday", RadioSet).disabled = not on or frequency != "weekly"
        for name in ("alert-errors", "alert-minutes"):
            self.query_one(f"#{name}", Input).disabled = not on or frequency != "alerts"
        for channel in CHANNELS:
            configured = self._configured(channel)
            box = self.query_one(f"#{channel}-enabled", Checkbox)
            box.disabled = not configured and not box.value
            self.query_one(f"#test-{channel}", Button).disabled = not configured
        self.query_one("#recipients", Input).disabled = not self._configured("email")
        self._check_all()

    def _picked(self, name: str, values: tuple[str, ...], default: str) -> str:
        pressed = self.query_one(f"#{name}", RadioSet).pressed_index
        return values[pressed] if pressed >= 0 else default

    @on(Switch.Changed, "#enabled")
    @on(RadioSet.Changed, "#frequency")
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._sync()

    # -- the text fields -----------------------------------------------------------------

    def _value(self, name: str, text: str) -> Any:
        """What field ``name`` holds when it shows ``text``; FieldError if not acceptable."""
        value = PARSERS[name](text)
        email_on = self.query_one("#email-enabled", Checkbox).value
        if name == "recipients" and not value and email_on:
            raise FieldError(t("modals.notifications.no_recipients"))
        return value

    def _problem(self, name: str, text: str) -> str:
        try:
            self._value(name, text)
        except FieldError as error:
            return str(error)
        return ""

    def _check(self, name: str) -> Any:
        """The value of field ``name``, or None after showing what is wrong under it."""
        field = self.query_one(f"#{name}", Input)
        field.validate(field.value)  # a red border when not acceptable
        under = self.query_one(f"#{name}-error", Static)
        try:
            value = self._value(name, field.value)
        except FieldError as error:
            _put(under, str(error))
            return None
        _put(under, "")
        if name == "recipients":
            self._compare_recipients(value)
        return value

    def _compare_recipients(self, typed: list[str]) -> None:
        saved = self.settings.email.recipients if self.settings else []
        result = self.query_one("#test-email-result", Static)
        if [a.lower() for a in typed] != [a.lower() for a in saved]:
            _put(result, t("modals.notifications.test_saved_only"), "test-result", "hint")
        elif result.has_class("hint"):
            _put(result, "")

    def _check_all(self) -> dict[str, Any]:
        return {name: self._check(name) for name in PARSERS}

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id in PARSERS:
            self._check(event.input.id)

    # -- test sends ----------------------------------------------------------------------

    @on(Button.Pressed, "#test-email")
    @on(Button.Pressed, "#test-webhook")
    def _test(self, event: Button.Pressed) -> None:
        channel: Channel = "email" if event.button.id == "test-email" else "webhook"
        event.button.disabled = True
        self._say_test(channel, t("modals.notifications.testing"), "hint")
        self.run_worker(self._send_test(channel), group=f"test-{channel}")

    async def _send_test(self, channel: Channel) -> None:
        try:
            result = await self.session.test_notification(channel)
        except (ServiceError, CacheError) as error:
            text = t("modals.notifications.test_not_sent", message=clean(error.message))
            self._say_test(channel, text, "error")
        else:
            key, style = ("test_sent", "success") if result.ok else ("test_failed", "error")
            text = t(f"modals.notifications.{key}", detail=clean(result.detail))
            self._say_test(channel, text, style)
        self.query_one(f"#test-{channel}", Button).disabled = not self._configured(channel)
        try:
            status = await self.session.notification_status()
        except (ServiceError, CacheError):
            return  # the log stays as it was; the test's own outcome is shown above
        self._show_status(status)
        self._sync()

    def _say_test(self, channel: Channel, text: str, style: str) -> None:
        _put(self.query_one(f"#test-{channel}-result", Static), text, "test-result", style)

    # -- the log -------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#deliveries")
    def _show_detail(self) -> None:
        table = self.query_one("#deliveries", DeliveryTable)
        delivery = table.highlighted()
        text = "" if delivery is None else delivery_detail(delivery, self._zone())
        _put(self.query_one("#delivery-detail", Static), text)

    # -- saving --------------------------------------------------------------------------

    def chosen(self) -> NotificationSettings | None:
        """The settings as the form shows them, or None when a field is not acceptable
        (the first such field gets the focus)."""
        values = self._check_all()
        bad = [name for name, value in values.items() if value is None]
        if bad:
            self.query_one(f"#{bad[0]}", Widget).focus()
            return None
        base = self.settings or NotificationSettings()
        return base.model_copy(
            update={
                "enabled": self.query_one("#enabled", Switch).value,
                "frequency": self._picked("frequency", FREQUENCIES, base.frequency),
                "digest_time": values["digest-time"],
                "digest_weekday": self._picked("weekday", WEEKDAYS, base.digest_weekday),
                "timezone": values["timezone"],
                "lang": self._picked("lang", LANGS, base.lang),
                "email": base.email.model_copy(
                    update={
                        "enabled": self.query_one("#email-enabled", Checkbox).value,
                        "recipients": values["recipients"],
                    }
                ),
                "webhook": base.webhook.model_copy(
                    update={"enabled": self.query_one("#webhook-enabled", Checkbox).value}
                ),
                "usage_alerts": self.query_one("#usage-alerts", Checkbox).value,
                "usage_thresholds": values["thresholds"],
                "alert_errors": values["alert-errors"],
                "alert_minutes": values["alert-minutes"],
            }
        )

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        settings = self.chosen()
        if settings is None:
            self._say(t("modals.notifications.fix_fields"), True)
            return
        self.query_one("#save", Button).disabled = True
        self._say(t("modals.common.saving"), False)
        self.run_worker(self._send(settings), exclusive=True, group="notifications")

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
        for group in ("notifications", "test-email", "test-webhook"):
            self.workers.cancel_group(self, group)
        self.dismiss(None)
