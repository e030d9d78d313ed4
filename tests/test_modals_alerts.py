"""Alert mode in the notification settings dialog (``n``): chosen, its rule typed and
checked, saved to a real service and read back (tests/test_modals_notifications.py
has the rest of the dialog)."""

from __future__ import annotations

import pytest
from modal_host import UNSET, Host
from test_modals_notifications import Wired, retype, settle, text_of, wired
from textual.widgets import Button, Input, RadioButton, Switch

from tui.screens.notifications import NotificationsScreen
from tui.text.notify_fields import FieldError, parse_alert_errors, parse_alert_minutes

__all__ = ["wired"]  # the fixture


def test_the_rule_fields_accept_whole_numbers_in_range() -> None:
    assert parse_alert_errors(" 1,000 ") == 1000
    assert parse_alert_minutes("１５") == 15  # typed with a Japanese IME
    for parse, text, says in (
        (parse_alert_errors, "0", "“0” is not a whole number of errors from 1 to 100,000"),
        (parse_alert_errors, "ten", "“ten” is not a whole number of errors"),
        (parse_alert_minutes, "1441", "“1441” is not a whole number of minutes from 1 to 1,440"),
        (parse_alert_minutes, "2.5", "“2.5” is not a whole number of minutes"),
    ):
        with pytest.raises(FieldError) as refused:
            parse(text)
        assert says in str(refused.value)


async def test_alert_mode_and_its_rule_are_saved(wired: Wired) -> None:
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        errors, minutes = (
            screen.query_one("#alert-errors", Input),
            screen.query_one("#alert-minutes", Input),
        )
        assert (errors.value, minutes.value) == ("10", "10")
        assert errors.disabled and minutes.disabled  # daily: the rule does not apply
        await pilot.press("space", "tab")  # on; into How often
        await pilot.press("down", "down", "space")  # daily -> weekly -> alerts
        await pilot.pause()
        assert screen.query_one("#frequency-alerts", RadioButton).value
        assert not errors.disabled and not minutes.disabled
        await retype(pilot, errors, "25")
        await retype(pilot, minutes, "15")
        screen.query_one("#save", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
    saved = await wired.session.notifications()
    assert (saved.enabled, saved.frequency) == (True, "alerts")
    assert (saved.alert_errors, saved.alert_minutes) == (25, 15)
    assert host.result == saved


async def test_a_bad_rule_is_marked_and_not_saved(wired: Wired) -> None:
    await wired.env.settings(enabled=True, frequency="alerts")
    before = await wired.session.notifications()
    screen = NotificationsScreen(wired.session)
    host = Host(screen)
    async with host.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert screen.query_one("#enabled", Switch).value
        errors = screen.query_one("#alert-errors", Input)
        await retype(pilot, errors, "0")
        assert errors.has_class("-invalid")
        assert "“0” is not a whole number of errors" in text_of(screen, "#alert-errors-error")
        screen.query_one("#save", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert host.focused is errors
    assert host.result is UNSET
    assert await wired.session.notifications() == before
