"""Ignoring from the console (issue 15, point 2): the dialog (``i``), the cards'
"+N ignored", the ignored view of ``o``, unignore (``I``), a resync that leaves ignored
errors out, and ignoring a cause from the causes view. Pilot on the embedded demo (its
real service and ledger)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import FIXED_NOW
from textual.widgets import Button, DataTable, Input, RadioButton, Static

from tui.data.cache import ViewFilter
from tui.data.expiry import BadExpiry
from tui.i18n import set_lang, t
from tui.screens.causes import CausesScreen
from tui.screens.ignore import IgnoreScreen, parse_expiry
from tui.screens.resync import ResyncConfirmScreen
from tui.text.timefmt import set_zone
from tui.widgets.cards import ErrorCard

WIDE = (140, 44)


def test_the_expiry_is_days_a_date_or_none() -> None:
    assert parse_expiry("none", "", FIXED_NOW) is None
    assert parse_expiry("7d", "ignored", FIXED_NOW) == 7
    set_zone(UTC)
    try:
        assert parse_expiry("date", "２０２５/７/１", FIXED_NOW) == datetime(2025, 7, 1, tzinfo=UTC)
        for typed, says in [
            ("2025-06-16", t("ignore.date_past", date="2025-06-16")),
            ("2025-02-30", t("ignore.date_invalid", text="2025-02-30")),
            ("soon", t("ignore.date_invalid", text="soon")),
        ]:
            with pytest.raises(BadExpiry) as refused:
                parse_expiry("date", typed, FIXED_NOW)
            assert str(refused.value) == says
    finally:
        set_zone(None)


async def open_dialog(app: Any, pilot: Any, wait_ready: Any) -> IgnoreScreen:
    await pilot.press("i")
    await wait_ready(pilot, lambda: isinstance(app.screen, IgnoreScreen))
    return app.screen


async def cursor_error(app: Any) -> Any:
    grid = app.main_screen.grid
    return (await app.session.rows([grid.cursor_id]))[grid.cursor_id]


async def test_escape_cancels_and_ignores_nothing(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.main_screen.grid.total > 0)
        row = await cursor_error(app)
        dialog = await open_dialog(app, pilot, wait_ready)
        dialog.query_one("#reason", Input).value = "not now"
        await pilot.press("escape")
        await wait_ready(pilot, lambda: not isinstance(app.screen, IgnoreScreen))
        assert (await cursor_error(app)).status == "open" == row.status
        assert (await app.session.client.ignores()).ignores == []


async def test_ignoring_the_marked_errors_moves_them_out_of_the_cards_open_counts(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = app.main_screen
        await wait_ready(pilot, lambda: screen.grid.total > 0)
        row = await cursor_error(app)
        card = screen.query_one(f"#card-{row.type}", ErrorCard)
        before = card.errors
        ids = [i for i in (await app.session.view_ids(ViewFilter(type=row.type)))[:3]]
        app.marks.update(ids)
        dialog = await open_dialog(app, pilot, wait_ready)
        assert t("ignore.question_errors", count=3) in str(dialog.query_one(".question").render())
        dialog.query_one("#ignore", Button).press()  # no reason yet
        await pilot.pause()
        error = dialog.query_one("#error", Static)
        assert str(error.render()) == t("ignore.reason_missing")
        dialog.query_one("#reason", Input).value = "CRM team fixes these next week"
        dialog.query_one("#expiry-7d", RadioButton).value = True
        dialog.query_one("#ignore", Button).press()
        await wait_ready(pilot, lambda: card.ignored == 3)
        assert card.errors == before - 3 and not app.marks
        assert card.border_subtitle == "+3 ignored"
        rows = await app.session.rows(ids)
        assert {r.status for r in rows.values()} == {"ignored"}
        (made,) = (await app.session.client.ignores()).ignores
        assert made.reason == "CRM team fixes these next week" and made.errors == 3
        assert made.expires_at is not None

        await pilot.press("o", "o")  # open -> resolved -> ignored
        await wait_ready(pilot, lambda: screen.view.status == "ignored")
        assert screen.grid.total == 3
        assert t("main.view.ignored_errors") in str(screen.query_one("#view-status").render())

        await pilot.press("I")  # unignore the cursor row
        await wait_ready(pilot, lambda: card.ignored == 2)
        assert card.errors == before - 2


async def test_a_typed_date_before_the_services_today_is_refused_in_the_dialog(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()  # the console's clock says 2025; the embedded service's is the real one
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.main_screen.grid.total > 0)
        dialog = await open_dialog(app, pilot, wait_ready)
        dialog.query_one("#reason", Input).value = "later"
        dialog.query_one("#expiry-date", RadioButton).value = True
        await pilot.pause()
        until = dialog.query_one("#until", Input)
        assert not until.disabled
        until.value = "2025-06-10"
        dialog.query_one("#ignore", Button).press()
        await pilot.pause()
        said = str(dialog.query_one("#error", Static).render())
        assert said == t("ignore.date_past", date="2025-06-10")
        until.value = "2025-07-01"  # after the console's today, before the service's
        dialog.query_one("#ignore", Button).press()
        await wait_ready(pilot, lambda: "expires_at" in str(dialog.query_one("#error").render()))
        assert isinstance(app.screen, IgnoreScreen)  # stays open, nothing ignored
        assert not dialog.query_one("#ignore", Button).disabled
        assert (await app.session.client.ignores()).ignores == []


async def test_resync_leaves_ignored_marks_out_and_says_so(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.main_screen.grid.total > 0)
        ids = list((await app.session.view_ids(ViewFilter()))[:4])
        await app.session.ignore("known", None, error_ids=ids[:1])
        app.refresh_data()
        await wait_ready(pilot)
        app.marks.update(ids)
        await pilot.press("r")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncConfirmScreen))
        confirm = app.screen
        assert confirm.plan.errors == 3 and confirm.ignored == 1
        assert (t("ignore.left_out", count=1), "warning") in confirm.lines()
        await pilot.press("escape")


async def test_a_cause_is_ignored_from_the_causes_view(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.main_screen.grid.total > 0)
        await pilot.press("C")
        await wait_ready(pilot, lambda: isinstance(app.screen, CausesScreen) and app.screen.causes)
        causes = app.screen
        cause = causes.causes[0]
        await pilot.press("i")
        await wait_ready(pilot, lambda: isinstance(app.screen, IgnoreScreen))
        app.screen.query_one("#reason", Input).value = "one bad picklist, fixed upstream"
        app.screen.query_one("#ignore", Button).press()
        await wait_ready(
            pilot,
            lambda: (
                app.screen is causes
                and causes.causes
                and cause.cause not in {c.cause for c in causes.causes}
            ),
        )
        assert causes.query_one(DataTable).row_count == len(causes.causes)
        entry = (await app.session.history()).entries[0]
        assert entry.kind == "ignore" and entry.cause == cause.cause
        assert entry.errors == cause.open_errors


async def test_japanese_dialog_and_cards(make_app: Callable[..., Any], wait_ready: Any) -> None:
    app = make_app(lang="ja")
    try:
        async with app.run_test(size=WIDE) as pilot:
            screen = app.main_screen
            await wait_ready(pilot, lambda: screen.grid.total > 0)
            row = await cursor_error(app)
            dialog = await open_dialog(app, pilot, wait_ready)
            assert str(dialog.query_one(".dialog").border_title) == "エラーを無視"
            assert "1 件のエラーを無視しますか" in str(dialog.query_one(".question").render())
            dialog.query_one("#reason", Input).value = "来週 CRM 側で修正"
            dialog.query_one("#ignore", Button).press()
            card = screen.query_one(f"#card-{row.type}", ErrorCard)
            await wait_ready(pilot, lambda: card.ignored == 1)
            assert card.border_subtitle == "無視 1 件"
    finally:
        set_lang("en")


async def test_at_80x24_the_dialog_opens_at_its_first_line_on_the_reason(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    """It opened scrolled down, the question and the start of its explanation out of sight."""
    from textual.containers import VerticalScroll

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        await pilot.press("i")
        await wait_ready(pilot, lambda: isinstance(app.screen, IgnoreScreen))
        await pilot.pause(0.2)
        body = app.screen.query_one(".body", VerticalScroll)
        assert body.max_scroll_y > 0  # the body does not fit 24 rows: it scrolls
        assert body.scroll_y == 0
        assert app.screen.query_one("#reason", Input).has_focus
        await pilot.press(*"x")
        assert app.screen.query_one("#reason", Input).value == "x"
