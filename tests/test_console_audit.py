"""The history view shows the audit trail: the embedded service (real ledger, simulated
org) changed through the console's data session, the view driven with Pilot, in English
and in Japanese."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from modal_host import Host, own_session  # noqa: F401 (fixture)
from textual.widgets import DataTable

from tui import i18n
from tui.core.notify_models import NotificationSettings
from tui.screens.history import HistoryScreen


async def loaded(screen: HistoryScreen, pilot) -> None:
    """Wait (up to 10 s) for the history's first page."""
    for _ in range(200):
        await pilot.pause(0.05)
        if screen.loaded:
            return


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_the_history_view_shows_setting_changes_and_mutes(own_session, lang) -> None:  # noqa: F811
    session = own_session
    before = (await session.usage()).allocated  # type: ignore[union-attr]
    await session.set_allocation(4321)
    await session.set_notifications(NotificationSettings(enabled=True, frequency="weekly"))
    cause = (await session.causes()).causes[0].cause
    await session.mute_cause(cause, 60)
    await session.unmute_cause(cause)
    i18n.set_lang(lang)
    try:
        screen = HistoryScreen(session, datetime.now(UTC))
        async with Host(screen).run_test(size=(160, 40)) as pilot:
            await loaded(screen, pilot)
            table = screen.query_one("#entries", DataTable)
            rows = [table.get_row_at(n) for n in range(table.row_count)]
        t = i18n.t
        kinds = [row[2] for row in rows]
        assert kinds == [
            t("modals.history.unmute"),
            t("modals.history.mute"),
            t("modals.history.notifications"),
            t("modals.history.allocation"),
        ]
        allocation = rows[3]
        assert allocation[3] == ""  # a setting touches no error
        assert allocation[4] == t(
            "modals.history.change",
            field=t("modals.history.fields.allocated"),
            old=f"{before:,}",
            new="4,321",
        )
        on, off = t("modals.switch.on"), t("modals.switch.off")
        assert rows[2][4] == " · ".join(
            [
                t(
                    "modals.history.change",
                    field=t("modals.history.fields.enabled"),
                    old=off,
                    new=on,
                ),
                t(
                    "modals.history.change",
                    field=t("modals.history.fields.frequency"),
                    old=t("modals.notifications.daily"),
                    new=t("modals.notifications.weekly"),
                ),
            ]
        )
        assert rows[0][4] == t("modals.history.outcome_unmute")
    finally:
        i18n.set_lang("en")
    if lang == "ja":
        assert rows[0][4] == "アラートを再開しました" and kinds[3] == "API の割り当て"
        assert rows[3][4].startswith("割り当て：")


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_at_80x24_every_outcome_shows_whole(own_session, lang) -> None:  # noqa: F811
    """The outcome column ran off the table's edge ("0 synced · 1 f")."""
    session = own_session
    await session.set_allocation(4321)
    await session.set_notifications(NotificationSettings(enabled=True, frequency="weekly"))
    i18n.set_lang(lang)
    try:
        screen = HistoryScreen(session, datetime.now(UTC))
        async with Host(screen).run_test(size=(80, 24)) as pilot:
            await loaded(screen, pilot)
            await pilot.pause()
            table = screen.query_one("#entries", DataTable)
            assert table.virtual_size.width <= table.size.width  # nothing off to the right
            drawn = "".join(table.render_line(y).text for y in range(table.size.height))
            flat = "".join(drawn.split())
            for n in range(table.row_count):
                outcome = str(table.get_row_at(n)[4])
                assert "".join(outcome.split()) in flat, (outcome, drawn)
            assert "UTC）" not in drawn and "(UTC)" not in drawn  # the cells name their zone
    finally:
        i18n.set_lang("en")


def test_a_started_job_counts_its_errors_in_the_plural_of_its_number() -> None:
    """It said "started: 1 errors"."""
    from tui.core.audit_models import HistoryEntry
    from tui.screens.history import outcome_text

    def started(errors: int) -> str:
        entry = HistoryEntry(
            id=1, at="2026-12-02T21:29:00Z", kind="job", actor="a", action="started", errors=errors
        )
        return outcome_text(entry)

    assert started(1) == "started: 1 error" and started(2_000) == "started: 2,000 errors"
    i18n.set_lang("ja")
    try:
        assert started(1) == "開始：エラー 1 件"
    finally:
        i18n.set_lang("en")
