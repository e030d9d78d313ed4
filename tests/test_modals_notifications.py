"""The notification settings dialog against real services.

``session``: the embedded demo (no SMTP server, no webhook configured).
``wired``: a service with a real SMTP server (aiosmtpd) and a real HTTP webhook
receiver on loopback ports (tests/notify_env.py), the console reaching it over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from modal_host import UNSET, Host, own_session
from notify_env import (
    Clock,
    Mailbox,
    NotifyEnv,
    WebhookReceiver,
    at,
    free_port,
    smtp_server,
)
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, RadioSet, Static, Switch

from tui import i18n
from tui.core.notify_models import NotificationSettings
from tui.data.client import ServiceClient
from tui.data.client_errors import ServiceUnavailable
from tui.data.session import DataSession
from tui.embedded import open_data_session
from tui.screens.notifications import NotificationsScreen
from tui.text.notify_fields import (
    FieldError,
    parse_digest_time,
    parse_recipients,
    parse_thresholds,
    parse_timezone,
)
from tui.widgets.deliveries import DeliveryTable

session = own_session  # a ledger of its own: these tests change data
SERVICE_URL = "http://synchealth.test"


@dataclass
class Wired:
    env: NotifyEnv
    session: DataSession
    mailbox: Mailbox
    hook: WebhookReceiver


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    """The dialog's service on a SQLite ledger: these tests are about the dialog (the
    settings and deliveries on both engines are tests/test_notify_api.py's and
    tests/test_notify_delivery.py's)."""
    with smtp_server() as smtp, WebhookReceiver() as hook:
        env = NotifyEnv(
            db=tmp_path / "ledger.sqlite3",
            clock=Clock(at("2025-06-16T09:00")),
            smtp=smtp.server(),
            webhook_url=hook.url(),
        )
        await env.start()
        console = await open_data_session(
            url=SERVICE_URL,
            transport=httpx.ASGITransport(app=env.service.asgi),
            cache_path=tmp_path / "cache.sqlite3",
        )
        try:
            yield Wired(env, console, smtp.mailbox, hook)
        finally:
            await console.close()
            await env.stop()


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text_of(screen: NotificationsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def retype(pilot: Pilot, field: Input, text: str) -> None:
    """Replace a field's text by keyboard."""
    field.focus()
    await pilot.press("home", "ctrl+k", *text)


# -- the text fields ------------------------------------------------------------------


def test_fields_accept_what_people_type() -> None:
    assert parse_digest_time("9:05") == "09:05"
    assert parse_digest_time("１８：３０") == "18:30"  # typed with a Japanese IME
    assert parse_timezone(" Asia/Tokyo ") == "Asia/Tokyo"
    assert parse_recipients("a@example.com;  B@Example.com,b@example.com、c@x.co") == [
        "a@example.com",
        "B@Example.com",
        "c@x.co",
    ]
    assert parse_recipients("") == []
    assert parse_thresholds("90%, ７５") == [75, 90]


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_digest_time, "25:00", "“25:00” is not a time"),
        (parse_digest_time, "9", "“9” is not a time"),
        (parse_timezone, "Mars/Olympus", "“Mars/Olympus” is not a time zone name"),
        (parse_timezone, "../etc/passwd", "is not a time zone name"),
        (parse_timezone, "Asia", "“Asia” is not a time zone name"),
        (parse_timezone, "", "is not a time zone name"),
        (parse_recipients, "ok@example.com, jane@", "“jane@” is not an email address"),
        (parse_thresholds, "75, 0", "“0” is not a whole percent from 1 to 100"),
        (parse_thresholds, "abc", "“abc” is not a whole percent"),
        (parse_thresholds, "75, 75", "75% is listed twice"),
        (parse_thresholds, " , ", "Type at least one percent"),
        (parse_thresholds, "10 20 30 40 50 60", "At most 5 thresholds; this list has 6"),
    ],
)
def test_fields_say_what_is_wrong(parser, text: str, message: str) -> None:
    with pytest.raises(FieldError) as refused:
        parser(text)
    assert message in str(refused.value)


def test_too_many_recipients_and_japanese_messages() -> None:
    with pytest.raises(FieldError, match="At most 50 recipients; this list has 51"):
        parse_recipients(",".join(f"p{n}@example.com" for n in range(51)))
    try:
        i18n.set_lang("ja")
        with pytest.raises(FieldError, match="「25:99」は時刻ではありません"):
            parse_digest_time("25:99")
    finally:
        i18n.set_lang("en")


# -- loading, editing, saving ---------------------------------------------------------


async def test_every_setting_by_keyboard_only_then_read_back(wired: Wired) -> None:
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert host.focused is screen.query_one("#enabled", Switch)
        await pilot.press("space", "tab")  # on; into How often, on "daily"
        assert host.focused is screen.query_one("#frequency", RadioSet)
        await pilot.press("down", "space", "tab")  # weekly
        await pilot.press("home", "ctrl+k", *"18:30", "tab")
        await pilot.press("home", "ctrl+k", *"Asia/Tokyo", "tab")
        assert host.focused is screen.query_one("#weekday", RadioSet)  # on for weekly
        await pilot.press("down", "down", "down", "down", "space", "tab")  # mon -> fri
        await pilot.press("right", "space", "tab")  # messages in Japanese
        assert host.focused is screen.query_one("#email-enabled", Checkbox)
        await pilot.press("space", "tab", "tab")  # email on; past Send test
        assert host.focused is screen.query_one("#recipients", Input)
        await pilot.press(*"ops@example.com, Ann@Example.com ann@example.com", "tab")
        await pilot.press("space", "tab", "tab")  # webhook on; past Send test
        assert host.focused is screen.query_one("#usage-alerts", Checkbox)
        await pilot.press("tab", "end", "backspace", "backspace", *"95, 50", "tab")  # 75, 95, 50
        assert host.focused is screen.query_one("#cancel", Button)
        await pilot.press("tab", "enter")
        await settle(pilot)
    saved = NotificationSettings(
        enabled=True,
        frequency="weekly",
        digest_time="18:30",
        digest_weekday="fri",
        timezone="Asia/Tokyo",
        lang="ja",
        email={"enabled": True, "recipients": ["ops@example.com", "Ann@Example.com"]},
        webhook={"enabled": True},
        usage_alerts=True,
        usage_thresholds=[50, 75, 95],
    )
    assert host.result == saved
    assert await wired.session.notifications() == saved


async def test_escape_cancels_and_changes_nothing(session) -> None:
    before = await session.notifications()
    screen = NotificationsScreen(session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "escape")
        await pilot.pause()
    assert host.result is None
    assert await session.notifications() == before


async def test_bad_fields_are_marked_as_typed_and_nothing_is_saved(wired: Wired) -> None:
    before = await wired.session.notifications()
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await retype(pilot, screen.query_one("#digest-time", Input), "25:00")
        await retype(pilot, screen.query_one("#timezone", Input), "Mars/Olympus")
        await retype(pilot, screen.query_one("#recipients", Input), "ops@example.com, jane@")
        await retype(pilot, screen.query_one("#thresholds", Input), "75, 75")
        for field, says in (
            ("digest-time", "“25:00” is not a time"),
            ("timezone", "“Mars/Olympus” is not a time zone name"),
            ("recipients", "“jane@” is not an email address"),
            ("thresholds", "75% is listed twice"),
        ):
            assert screen.query_one(f"#{field}", Input).has_class("-invalid")
            assert says in text_of(screen, f"#{field}-error")
            assert screen.query_one(f"#{field}-error").display
        screen.query_one("#save", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert text_of(screen, "#message") == i18n.t("modals.notifications.fix_fields")
        assert host.focused is screen.query_one("#digest-time", Input)  # the first bad one
        await retype(pilot, screen.query_one("#digest-time", Input), "7:00")
        assert not screen.query_one("#digest-time-error").display

        await retype(pilot, screen.query_one("#recipients", Input), "")
        screen.query_one("#email-enabled", Checkbox).focus()
        await pilot.press("space")  # email on, nobody to send to
        assert "add at least one recipient" in text_of(screen, "#recipients-error")
    assert host.result is UNSET  # never dismissed
    assert await wired.session.notifications() == before


async def test_a_refusal_of_the_service_shows_in_the_dialog_as_typed(wired: Wired) -> None:
    """A service with stricter rules than this console (another version) says no."""
    refusal = "email.recipients: [bold]ops@example.com[/] is not allowed here"
    real = wired.env.service.asgi

    async def stricter(scope, receive, send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) == (
            "PUT",
            "/v1/notifications",
        ):
            body = orjson.dumps({"error": {"code": "invalid_notifications", "message": refusal}})
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await real(scope, receive, send)

    console = DataSession(
        ServiceClient(SERVICE_URL, transport=httpx.ASGITransport(app=stricter)),
        wired.session.cache,
    )
    screen = NotificationsScreen(console)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen.query_one("#save", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        lead = "The Sync Health service refused the request."
        assert text_of(screen, "#message") == f"Not saved: {lead} {refusal}"  # markup as typed
        assert not screen.query_one("#save", Button).disabled
        assert host.screen is screen  # still open: fix and save again, or cancel
    await console.client.aclose()


# -- channels, test sends, the log ----------------------------------------------------


async def test_channels_the_service_cannot_use_are_named_and_off(session) -> None:
    screen = NotificationsScreen(session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for channel in ("email", "webhook"):
            assert text_of(screen, f"#{channel}-target") == i18n.t(
                "modals.notifications.not_configured"
            )
            assert screen.query_one(f"#{channel}-enabled", Checkbox).disabled
            assert screen.query_one(f"#test-{channel}", Button).disabled
        assert screen.query_one("#recipients", Input).disabled
        assert text_of(screen, "#deliveries-note") == i18n.t("modals.notifications.no_deliveries")
        assert not screen.query_one("#deliveries", DeliveryTable).display


async def test_send_test_reports_success_and_the_exact_failure_then_lists_them(
    wired: Wired,
) -> None:
    await wired.env.settings(email={"enabled": True, "recipients": ["ops@example.com"]})
    wired.hook.answers.append((404, "no_service"))
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        target = text_of(screen, "#email-target")
        assert target.startswith("Sends through 127.0.0.1:") and "Sync Health" not in target
        assert text_of(screen, "#webhook-target") == "Sends through 127.0.0.1"

        screen.query_one("#test-email", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert text_of(screen, "#test-email-result").startswith("Sent: ")
        assert screen.query_one("#test-email-result").has_class("success")
        assert [m.rcpt_tos for m in wired.mailbox.messages] == [["ops@example.com"]]

        screen.query_one("#test-webhook", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        logged = await wired.env.deliveries()
        failure = logged[0]["error"]
        assert "404" in failure
        assert text_of(screen, "#test-webhook-result") == f"Failed: {failure}"
        assert screen.query_one("#test-webhook-result").has_class("error")

        table = screen.query_one("#deliveries", DeliveryTable)
        assert table.display and table.row_count == 2
        shown = [[str(cell) for cell in table.get_row_at(i)] for i in range(2)]
        assert [row[1:4] for row in shown] == [
            ["Test", "Webhook", "failed"],
            ["Test", "Email", "sent"],
        ]
        assert shown[0][0] == "2025-06-16 09:00"  # UTC, the saved time zone
        table.focus()
        await pilot.pause()
        assert f"Error: {failure}" in text_of(screen, "#delivery-detail")
        await pilot.press("down")
        assert "Error:" not in text_of(screen, "#delivery-detail")


async def test_unsaved_recipients_are_not_what_the_test_uses(wired: Wired) -> None:
    await wired.env.settings(email={"enabled": True, "recipients": ["ops@example.com"]})
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not screen.query_one("#test-email-result").display
        await retype(pilot, screen.query_one("#recipients", Input), "new@example.com")
        hint = i18n.t("modals.notifications.test_saved_only")
        assert text_of(screen, "#test-email-result") == hint
        await retype(pilot, screen.query_one("#recipients", Input), "OPS@example.com")
        assert not screen.query_one("#test-email-result").display


# -- faults ---------------------------------------------------------------------------


async def test_a_service_that_cannot_be_reached_is_said_and_nothing_can_be_saved(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    console = await open_data_session(url=url, cache_path=tmp_path / "cache.sqlite3")
    console.client.backoff = 0.01
    screen = NotificationsScreen(console)
    host = Host(screen)
    try:
        async with host.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            message = text_of(screen, "#message")
            lead = "Could not load the settings: The Sync Health service cannot be reached."
            assert message.startswith(f"{lead} Cannot reach")
            assert url in message
            assert screen.query_one("#save", Button).disabled
            assert screen.query_one("#enabled", Switch).disabled
            assert host.focused is screen.query_one("#cancel", Button)
            await pilot.press("escape")
            await pilot.pause()
        assert host.result is None
    finally:
        await console.close()


async def test_a_test_the_service_refuses_says_why(wired: Wired) -> None:
    """Email is configured on the service, but no recipient is saved yet."""
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen.query_one("#test-email", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        said = text_of(screen, "#test-email-result")
        lead = "Not sent: The Sync Health service refused the request."
        assert said.startswith(f"{lead} email has no recipients yet")
        assert screen.query_one("#test-email-result").has_class("error")
        assert not screen.query_one("#test-email", Button).disabled  # can try again
    assert wired.mailbox.messages == []


async def test_a_test_send_is_asked_once_even_when_the_service_fails() -> None:
    """Other calls are retried on a 5xx; a retried test could send a second message."""
    with WebhookReceiver() as service:  # a plain HTTP server standing in as a failing service
        service.answers.extend([(503, "busy")] * 3)
        async with ServiceClient(service.url(""), backoff=0.01) as client:
            with pytest.raises(ServiceUnavailable, match="HTTP 503"):
                await client.test_notification("email")
        assert len(service.answers) == 2  # one request, not four
