"""Resync confirm and run dialogs, the run through a real embedded session."""

from __future__ import annotations

import pytest
from modal_host import UNSET, Host, own_session
from textual.widgets import Button, Static

from tui import i18n
from tui.core.catalog import load_catalog
from tui.data.session import ResyncPlan, ResyncSummary, ViewFilter
from tui.screens.resync import ResyncConfirmScreen, ResyncRunScreen, summary_lines

session = own_session  # a ledger of its own: these tests change data


def _text(screen) -> str:
    return "\n".join(str(s.render()) for s in screen.query(Static) if s.display)


PLAN = ResyncPlan(errors=250, batches=3, calls=3, allocation_left=4997)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["enter"], False),  # opens on Cancel
        (["escape"], False),
        (["n"], False),
        (["y"], True),
        (["tab", "enter"], True),  # Cancel -> Resync
    ],
)
async def test_confirm_opens_on_cancel_and_answers_keys(keys: list[str], expected: bool) -> None:
    host = Host(ResyncConfirmScreen(PLAN, 0))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert host.focused is host.screen.query_one("#cancel", Button)
        await pilot.press(*keys)
        await pilot.pause()
    assert host.result is expected


async def test_space_does_not_answer_the_confirm() -> None:
    """Space marks rows in the grid; pressed out of habit it must not start a resync."""
    host = Host(ResyncConfirmScreen(PLAN, 0))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab", "space")
        await pilot.pause()
        assert isinstance(host.screen, ResyncConfirmScreen)
        assert host.focused is host.screen.query_one("#confirm", Button)
    assert host.result is UNSET


async def test_confirm_names_count_batches_calls_left_and_hidden() -> None:
    host = Host(ResyncConfirmScreen(PLAN, 12))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = _text(host.screen)
    assert "Resync 250 errors?" in text
    assert "Sent as one job, in batches of up to 200 errors: 3." in text
    assert "Mode: direct." in text
    assert "Salesforce API calls it will spend: about 3." in text
    assert "About 4,997 calls of the allocation remain" in text
    assert "12 of these marked errors are hidden by the current filter" in text


async def test_confirm_says_when_the_allocation_is_unknown_or_short() -> None:
    for plan, fragment, absent in (
        (ResyncPlan(errors=5, batches=1, calls=1, allocation_left=None), "unknown", "hidden"),
        (ResyncPlan(errors=300, batches=3, calls=3, allocation_left=-2), "2 calls more", "hidden"),
    ):
        host = Host(ResyncConfirmScreen(plan, 0))
        async with host.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = _text(host.screen)
        assert fragment in text and absent not in text


async def test_confirm_in_japanese() -> None:
    i18n.set_lang("ja")
    try:
        host = Host(ResyncConfirmScreen(PLAN, 12))
        async with host.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = _text(host.screen)
    finally:
        i18n.set_lang("en")
    assert "250件のエラーを再同期しますか" in text and "12件" in text


async def test_run_of_250_errors_goes_as_one_job_of_2_batches_and_ends_in_a_summary(
    session,
) -> None:
    ids = list((await session.view_ids(ViewFilter()))[:250])
    assert len(ids) == 250
    screen = ResyncRunScreen(session, ids)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await host.workers.wait_for_complete()
        await pilot.pause()
        assert screen.finished and screen.last_progress is not None
        assert (screen.last_progress.batch, screen.last_progress.batches) == (2, 2)
        summary = screen.summary
        assert summary is not None and summary.requested == 250
        assert summary.synced + summary.failed + summary.skipped == 250
        assert 1 <= summary.calls <= 2
        (job,) = await session.client.jobs()  # one job of all 250
        assert job.total == 250 and job.state == "done"
        text = _text(screen)
        assert i18n.t("modals.resync.synced") in text
        assert str(screen.query_one(".dialog").border_title) == i18n.t("modals.resync.done_title")
        assert summary.interrupted == 0 and "cut off" not in text
        assert host.focused is screen.query_one("#close", Button)
        await pilot.press("enter")
        await pilot.pause()
    assert host.result is summary


def test_summary_names_failing_subtypes_by_catalog_title_and_the_refusal() -> None:
    catalog = load_catalog()
    codes = ["picklist.restricted_value", "duplicate.email_in_use", "other.unknown"]
    summary = ResyncSummary(
        requested=1210,
        synced=2,
        failed=8,
        skipped=1200,
        calls=1,
        failures_by_subtype={codes[0]: 5, codes[1]: 2, codes[2]: 1},
        refused="allocation [bold]spent[/]",
        interrupted=1200,
    )
    lines = [text for text, _ in summary_lines(summary)]
    assert lines[0] == i18n.t("modals.resync.refused", reason="allocation [bold]spent[/]")
    assert lines[1].startswith("1,200 errors were in batches cut off")
    titles = [catalog.subtype(code).text("en").title for code in codes]
    assert lines[3:6] == [f"5 × {titles[0]}", f"2 × {titles[1]}", f"1 × {titles[2]}"]
