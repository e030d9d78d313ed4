"""The allocation dialog: parsing, validation as you type, saving through the real service."""

from __future__ import annotations

import pytest
from modal_host import UNSET, Host, own_session
from textual.widgets import Button, Input, Static

from tui import i18n
from tui.core.models import Usage
from tui.screens.allocation import AllocationScreen, parse_allocation

session = own_session  # a ledger of its own: these tests change data


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5,000", 5000), ("5000", 5000), (" 0 ", 0), ("６，０００", 6000), ("15,000", 15000)],
)
def test_parse_accepts_whole_numbers_with_thousands_commas(text: str, expected: int) -> None:
    assert parse_allocation(text, 15000) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("abc", "not_number"),
        ("5.5", "not_number"),
        ("5,00", "not_number"),
        ("-5", "negative"),
        ("-5,000", "negative"),
        ("15,001", "above_limit"),
        ("", "empty"),
    ],
)
def test_parse_rejects_with_the_reason(text: str, key: str) -> None:
    message = parse_allocation(text, 15000)
    expected = i18n.t(f"modals.allocation.{key}", text=text, value="15,001", limit="15,000")
    assert message == expected


async def _type(pilot, text: str) -> None:
    await pilot.press("home", "ctrl+k", *text)
    await pilot.pause()


async def test_invalid_input_shows_why_disables_save_and_saves_nothing(session) -> None:
    usage = await session.usage()
    assert usage is not None
    host = Host(AllocationScreen(usage, session.set_allocation))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = host.screen
        assert isinstance(host.focused, Input)
        above = f"{usage.salesforce_limit + 1:,}"
        for text, fragment in (
            ("abc", "“abc” is not a whole number"),
            ("-5", "cannot be negative"),
            (above, f"{above} is above the org's Salesforce limit"),
        ):
            await _type(pilot, text)
            message = str(screen.query_one("#message", Static).render())
            assert fragment in message, message
            assert screen.query_one("#save", Button).disabled
            await pilot.press("enter")
            await pilot.pause()
            assert host.screen is screen and host.result is UNSET
    assert (await session.usage()).allocated == usage.allocated


async def test_valid_allocation_with_commas_is_saved_through_the_service(session) -> None:
    usage = await session.usage()
    assert usage is not None and usage.allocated != 6000 and usage.salesforce_limit >= 6000
    host = Host(AllocationScreen(usage, session.set_allocation))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _type(pilot, "6,000")
        assert "6,000" in str(host.screen.query_one("#message", Static).render())
        await pilot.press("tab", "tab")  # Input -> Cancel -> Save
        assert host.focused is host.screen.query_one("#save", Button)
        await pilot.press("enter")
        await host.workers.wait_for_complete()
        await pilot.pause()
    assert isinstance(host.result, Usage) and host.result.allocated == 6000
    assert (await session.usage()).allocated == 6000


async def test_service_refusal_is_shown_and_the_dialog_stays(session) -> None:
    """A stale limit lets a too-large number through the form; the service says no."""
    usage = await session.usage()
    assert usage is not None
    stale = usage.model_copy(update={"salesforce_limit": usage.salesforce_limit * 10})
    host = Host(AllocationScreen(stale, session.set_allocation))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = host.screen
        await _type(pilot, str(usage.salesforce_limit + 1))
        await pilot.press("enter")
        await host.workers.wait_for_complete()
        await pilot.pause()
        error = str(screen.query_one("#error", Static).render())
        assert error.startswith(i18n.t("modals.common.failed", message="")), error
        assert len(error) > len(i18n.t("modals.common.failed", message=""))
        assert host.screen is screen and not screen.query_one("#save", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
    assert host.result is None
    assert (await session.usage()).allocated == usage.allocated
