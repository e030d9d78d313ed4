"""Point 10 of issue 12: marks a filter hides are never resynced without a word."""

from __future__ import annotations

from textual.widgets import Static

from tui import i18n
from tui.screens.records import RecordsScreen
from tui.screens.resync import ResyncConfirmScreen


async def _marks_outside(app) -> int:
    screen = app.screen
    return await app.session.outside_view(screen.view, sorted(app.marks))


async def test_mark_all_after_a_filter_names_the_marks_outside_and_the_confirm_once(
    make_app, wait_ready
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        screen = app.screen
        await pilot.press("space", "space", "space")
        await pilot.press("slash", *"Lead", "enter")
        await wait_ready(pilot, lambda: screen.view.text == "Lead")
        app._notifications.clear()
        await pilot.press("ctrl+a")
        await wait_ready(pilot)
        hidden = await _marks_outside(app)
        assert hidden > 0
        said = [n.message for n in app._notifications]
        assert i18n.t("main.marks.outside", count=hidden) in said, said
        await pilot.press("r")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncConfirmScreen))
        dialog = app.screen
        warning = i18n.t("modals.resync.hidden", hidden=f"{hidden:,}")
        texts = [text for text, _ in dialog.lines()]
        assert texts.count(warning) == 1, texts  # said once, right under the question
        assert texts[1] == warning
        shown = [str(s.render()) for s in dialog.query(Static)]
        assert sum(warning in s for s in shown) == 1


async def test_mark_all_with_nothing_outside_says_nothing_more(make_app, wait_ready) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        app._notifications.clear()
        await pilot.press("ctrl+a")
        await wait_ready(pilot)
        assert app.marks and await _marks_outside(app) == 0
        assert not [n for n in app._notifications if n.severity == "warning"]


async def test_mark_all_in_the_records_view_names_the_marks_outside(make_app, wait_ready) -> None:
    app = make_app(lang="ja")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            await pilot.press("space", "space")  # two marks on the first type's rows
            await pilot.press("tab")
            await pilot.press("right", "enter")  # open another type's card
            await wait_ready(pilot)
            await pilot.press("v")
            await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
            records = app.screen
            await wait_ready(pilot, lambda: records.grid.total > 0)
            app._notifications.clear()
            await pilot.press("ctrl+a")
            await wait_ready(pilot)
            hidden = await app.session.outside_view(records.view, sorted(app.marks))
            assert hidden > 0
            said = [n.message for n in app._notifications]
            assert i18n.t("main.marks.outside", count=hidden) in said, said
    finally:
        i18n.set_lang("en")


async def test_clearing_marks_says_how_many_went_or_that_there_were_none(
    make_app, wait_ready
) -> None:
    """ctrl+\\ said nothing, though it also clears the marks a filter hides."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        app._notifications.clear()
        await pilot.press("ctrl+backslash")
        await pilot.pause()
        assert [n.message for n in app._notifications] == [i18n.t("main.marks.none")]
        await pilot.press("space", "space")
        await pilot.press("slash", *"Lead", "enter")  # one may be out of view now
        await wait_ready(pilot, lambda: app.screen.view.text == "Lead")
        app._notifications.clear()
        await pilot.press("ctrl+backslash")
        await pilot.pause()
        assert not app.marks
        said = [n.message for n in app._notifications]
        assert said == [i18n.t("main.marks.cleared", count=2)] == ["Cleared 2 marks."], said
