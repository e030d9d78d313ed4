"""Behaviours a person meets in the running console (issue 12), driven with Pilot on
the embedded simulated org, keys as a terminal sends them."""

from __future__ import annotations

from tui.screens.records import RecordsScreen
from tui.widgets.cards import CardStrip

WIDE = (160, 50)


async def view_ids(app) -> list[int]:
    """Every id of the grid's view in its order (the grid holds only pages)."""
    grid = app.screen.grid
    return list(await app.session.view_ids(grid.view, grid.sort, grid.descending))


async def test_ctrl_at_marks_a_range_as_tmux_sends_ctrl_space(make_app, wait_ready) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 10)
        grid = app.screen.grid
        ids = await view_ids(app)
        await pilot.press("space", "j", "j")  # mark row 0; the cursor goes to row 3
        assert grid.cursor == 3
        await pilot.press("ctrl+@")  # what xterm and tmux deliver for ctrl+space
        assert app.marks == set(ids[0:4])
        await pilot.press("ctrl+backslash", "space", "j")
        await pilot.press("ctrl+space")  # a terminal that reports ctrl+space itself
        assert app.marks == set(ids[3:6])  # marked row 3, cursor on 5
        await pilot.press("question_mark")  # help names both keys
        await pilot.pause()
        keys = {binding_id: shown for binding_id, shown, _ in app.screen.bindings}
        assert "^@" in keys["mark_range"] and "space" in keys["mark_range"]


async def test_v_opens_the_type_of_the_row_being_looked_at(make_app, wait_ready) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        screen = app.screen
        cards = screen.query_one(CardStrip)
        cards.focus()
        await pilot.press("left")  # visit the last card ("other")
        assert cards.current == "other"
        # filter the grid to a picklist subtype's Salesforce code, look at its rows
        await pilot.press("slash", *"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "enter")
        await wait_ready(pilot, lambda: screen.grid.row_at_cursor() is not None)
        assert screen.grid.row_at_cursor().type == "picklist"
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, RecordsScreen)
        assert app.screen.view.type == "picklist"
        await pilot.press("escape")
        await pilot.pause()
        # from the cards, v opens the focused card's type
        cards.focus()
        await pilot.press("right")
        await pilot.press("v")
        await pilot.pause()
        assert app.screen.view.type == cards.current


def _drawn_marks(grid) -> int:
    """Rows the grid draws with the mark dot, as a person sees them."""
    return sum("●" in grid.render_line(y).text for y in range(grid.size.height))


async def test_marks_are_not_drawn_after_a_resync_from_the_records_view(
    make_app, wait_ready
) -> None:
    from tui.screens.resync import ResyncConfirmScreen, ResyncRunScreen

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        await pilot.press("v")
        await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
        records = app.screen
        await wait_ready(pilot, lambda: records.grid.total > 2)
        await pilot.press("space", "space")
        await wait_ready(pilot, lambda: bool(app.marks))
        assert _drawn_marks(records.grid) == 2
        await pilot.press("r")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncConfirmScreen))
        await pilot.press("y")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncRunScreen))
        await wait_ready(pilot, lambda: app.screen.finished)
        await pilot.press("escape")
        await wait_ready(pilot, lambda: app.screen is records)
        assert not app.marks
        assert _drawn_marks(records.grid) == 0
        assert "marked" not in str(records.query_one("#records-title").render())


async def test_allocation_of_zero_warns_and_the_gauge_shows_it_spent(make_app, wait_ready) -> None:
    from textual.widgets import Input, Static

    from tui.i18n import t
    from tui.screens.allocation import AllocationScreen
    from tui.widgets.usage import UsageGauge

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.usage is not None)
        used = app.usage.used
        assert used > 0
        await pilot.press("a")
        await wait_ready(pilot, lambda: isinstance(app.screen, AllocationScreen))
        dialog = app.screen
        assert app.focused is dialog.query_one("#allocation", Input)
        await pilot.press("end", *["backspace"] * 12, "0")
        message = dialog.query_one("#message", Static)
        assert message.has_class("warning")
        assert f"{used:,}" in str(message.render())
        await pilot.press("enter")
        await wait_ready(pilot, lambda: app.usage is not None and app.usage.allocated == 0)
        gauge = app.main_screen.query_one(UsageGauge)
        bar = gauge.render_line(0).text
        assert t("main.usage.no_allocation") in bar and "(0%)" not in bar
        assert "█" in bar and "░" not in bar  # spent: the bar is full, not empty
        assert gauge.has_class("-danger")


def test_gauge_share_at_its_edges() -> None:
    from tui.i18n import t
    from tui.widgets.usage import bar_share, share_text

    assert bar_share(3661, 0) == 1.0 and bar_share(0, 0) == 0.0 and bar_share(50, 100) == 0.5
    assert share_text(3661, 0) == t("main.usage.no_allocation")
    assert share_text(150, 100) == "150%"
    # a share that is not nothing never reads 0% (the breakdown showed "1 call 0%"),
    # nor one short of all 100%
    assert share_text(1, 3634) == "<1%" and share_text(0, 3634) == "0%"
    assert share_text(4999, 5000) == ">99%" and share_text(5000, 5000) == "100%"


async def test_the_gauge_shows_the_peak_hour_next_to_the_sparkline(make_app, wait_ready) -> None:
    from tui.i18n import t
    from tui.widgets.usage import UsageGauge

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.usage is not None)
        peak = max(bucket.calls for bucket in app.usage.hourly)
        line = app.screen.query_one(UsageGauge).render_line(1).text
        assert t("main.usage.spark_peak", peak=f"{peak:,}") in line


async def test_export_follows_the_screens_sort_and_filter_in_its_language(
    make_app, wait_ready, tmp_path
) -> None:
    import csv

    from tui import i18n
    from tui.config import Config
    from tui.data.export import column_titles, type_titles
    from tui.screens.export import ExportScreen

    app = make_app(config=Config(export_dir=tmp_path), lang="ja")
    try:
        async with app.run_test(size=WIDE) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            screen = app.screen
            await pilot.press("slash", *"Lead", "enter")  # a text filter
            await pilot.press("s", "s", "s", "s")  # sort by attempts, most first
            await wait_ready(pilot, lambda: screen.grid.sort == "attempts")
            await wait_ready(pilot, lambda: screen.view.text == "Lead")
            shown = await view_ids(app)
            assert 1 < len(shown) < 2000
            await pilot.press("e")
            await wait_ready(pilot, lambda: isinstance(app.screen, ExportScreen))
            await pilot.press("enter")
            await wait_ready(pilot, lambda: app.screen.rows is not None)
            await pilot.press("enter")
            await pilot.pause()
    finally:
        i18n.set_lang("en")
    (written,) = tmp_path.glob("*.csv")
    with written.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert tuple(table[0]) == column_titles("ja")
    assert [int(row[0]) for row in table[1:]] == shown  # the screen's order, not id order
    assert shown != sorted(shown)
    assert {row[1] for row in table[1:]} <= set(type_titles("ja").values())


async def test_hidden_marks_are_named_right_under_the_question(make_app, wait_ready) -> None:
    from textual.containers import VerticalScroll
    from textual.widgets import Static

    from tui import i18n
    from tui.screens.resync import ResyncConfirmScreen

    app = make_app(lang="ja")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            screen = app.screen
            await pilot.press("space", "space", "space")
            await pilot.press("slash", *"Lead", "enter")
            await wait_ready(pilot, lambda: screen.view.text == "Lead")
            hidden = len(app.marks.difference(await view_ids(app)))
            assert hidden > 0
            await pilot.press("ctrl+a", "r")
            await wait_ready(pilot, lambda: isinstance(app.screen, ResyncConfirmScreen))
            dialog = app.screen
            lines = dialog.lines()
            expected = i18n.t("modals.resync.hidden", hidden=f"{hidden:,}")
            assert lines[1] == (expected, "warning hidden-marks")
            warning = dialog.query_one(".warning", Static)
            body = dialog.query_one(VerticalScroll)
            assert body.region.contains_region(warning.region)  # on screen, not scrolled away
    finally:
        i18n.set_lang("en")


def _text(widget) -> str:
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def test_at_80x24_the_footer_keeps_help_and_quit_and_cards_keep_words(
    make_app, wait_ready
) -> None:
    from tui.i18n import t
    from tui.widgets.cards import ErrorCard
    from tui.widgets.keybar import KeyBar

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        footer = _text(app.screen.query_one(KeyBar))
        assert t("main.keys.help") in footer and t("main.keys.quit") in footer
        assert footer.rstrip().endswith(t("main.keys.quit"))
        card = app.screen.query_one("#card-custom_code", ErrorCard)
        worded = {
            t(f"main.cards.{form}", errors=card.errors, records=card.records)
            for form in ("counts", "counts_short")
        }
        assert any(words in _text(card) for words in worded), _text(card)
        header = app.screen.grid.render_line(0).text
        assert t("main.grid.object") in header  # the Object column at 80 columns


async def test_at_160x50_the_footer_lists_n_for_notifications(make_app, wait_ready) -> None:
    from tui.i18n import t
    from tui.widgets.keybar import KeyBar

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        footer = _text(app.screen.query_one(KeyBar))
        assert f" n  {t('main.keys.notifications')} " in footer


async def test_at_60x20_nothing_breaks(make_app, wait_ready) -> None:
    from tui.i18n import t
    from tui.widgets.keybar import KeyBar

    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        screen = app.screen
        footer = _text(screen.query_one(KeyBar))
        assert t("main.keys.help") in footer and t("main.keys.quit") in footer
        assert screen.grid.size.height >= 4  # rows still show
        for key in ("e", "a", "n", "question_mark"):  # every dialog opens and closes
            await pilot.press(key)
            await wait_ready(pilot)
            assert app.screen is not screen
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen


async def test_radio_buttons_and_checkboxes_show_state_by_glyph(demo_session, tmp_path) -> None:
    from modal_host import Host
    from textual.widgets import Checkbox, RadioButton

    from tui.data.session import ViewFilter
    from tui.screens.export import ExportScreen

    screen = ExportScreen(demo_session, ViewFilter(), frozenset(), tmp_path)
    host = Host(screen)
    async with host.run_test(size=WIDE) as pilot:
        await pilot.pause()
        chosen = screen.query_one("#scope-view", RadioButton)
        other = screen.query_one("#scope-all", RadioButton)
        bom = screen.query_one("#bom", Checkbox)
        assert "●" in _text(chosen) and "●" not in _text(other)
        assert not bom.value and "X" not in _text(bom)
        bom.value = True
        other.value = True
        await pilot.pause()
        assert "X" in _text(bom) and "●" in _text(other) and "●" not in _text(chosen)


async def test_notifications_form_shows_no_values_before_the_saved_ones(
    demo_session, monkeypatch
) -> None:
    import asyncio

    from modal_host import Host
    from textual.widgets import Switch

    from tui.i18n import t
    from tui.screens.notifications import NotificationsScreen

    saved = await demo_session.notifications()
    await demo_session.set_notifications(saved.model_copy(update={"enabled": True}))
    gate = asyncio.Event()
    real = demo_session.notifications

    async def slow_service():  # the service answering late
        await gate.wait()
        return await real()

    monkeypatch.setattr(demo_session, "notifications", slow_service)
    screen = NotificationsScreen(demo_session)
    host = Host(screen)
    async with host.run_test(size=WIDE) as pilot:
        await pilot.pause()
        switch = screen.query_one("#enabled", Switch)
        assert not switch.display or not switch.visible or not switch.region.area
        assert t("modals.common.loading") in str(screen.query_one("#message").render())
        gate.set()
        await host.workers.wait_for_complete()
        await pilot.pause()
        assert switch.region.area and switch.value is True
        assert str(screen.query_one(".word-switch .state").render()) == t("modals.switch.on")


async def test_o_switches_the_grid_between_open_resolved_ignored_and_all(
    make_app, wait_ready
) -> None:
    from tui.data.session import ViewFilter
    from tui.i18n import t

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        screen = app.screen
        session = app.session
        opened = screen.grid.total
        resolved = await session.count(ViewFilter(status="resolved"))
        assert resolved > 0
        await pilot.press("o")
        await wait_ready(pilot, lambda: screen.grid.total == resolved)
        rows = await session.rows((await view_ids(app))[:50])
        assert {row.status for row in rows.values()} == {"resolved"}
        assert t("main.view.resolved_errors") in str(screen.query_one("#view-status").render())
        await pilot.press("o")  # no error is ignored in the demo
        await wait_ready(pilot, lambda: screen.view.status == "ignored")
        assert screen.grid.total == 0
        assert t("main.view.ignored_errors") in str(screen.query_one("#view-status").render())
        await pilot.press("o")
        await wait_ready(pilot, lambda: screen.grid.total == opened + resolved)
        assert t("main.view.all_errors") in str(screen.query_one("#view-status").render())
        await pilot.press("o")
        await wait_ready(pilot, lambda: screen.grid.total == opened)


async def test_h_shows_what_a_resync_did_after_its_summary_closed(make_app, wait_ready) -> None:
    from textual.widgets import DataTable

    from tui.data.actor import actor_name
    from tui.i18n import t
    from tui.screens.history import HistoryScreen
    from tui.screens.resync import ResyncConfirmScreen, ResyncRunScreen

    app = make_app(profile="ops")
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        main = app.screen
        await pilot.press("space", "space", "space", "r")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncConfirmScreen))
        await pilot.press("y")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncRunScreen))
        await wait_ready(pilot, lambda: app.screen.finished)
        summary = app.screen.summary
        await pilot.press("escape")
        await wait_ready(pilot, lambda: app.screen is main)
        await pilot.press("H")
        await wait_ready(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen
        finished = history.entries[0]  # the console ran it as a job: its end is newest
        assert (finished.kind, finished.action, finished.errors) == ("job", "finished", 3)
        assert (finished.synced, finished.failed) == (summary.synced, summary.failed)
        at = next(n for n, e in enumerate(history.entries) if e.kind == "resync")
        newest = history.entries[at]
        assert newest.kind == "resync" and newest.errors == 3
        assert (newest.synced, newest.failed) == (summary.synced, summary.failed)
        assert newest.actor == actor_name("ops") and newest.actor.startswith("ops (")
        row = history.query_one("#entries", DataTable).get_row_at(at)
        assert row[1] == actor_name("ops") and row[2] == t("modals.history.resync")
        await pilot.press(*["down"] * at)
        await pilot.pause()
        touched = str(history.query_one("#touched").render())
        assert t("modals.history.touched", count="3") in touched
        for error_id in newest.error_ids:
            assert f"#{error_id} " in touched


async def test_t_explains_every_subtype_of_the_type_zero_ones_too(make_app, wait_ready) -> None:
    from tui.core.catalog import load_catalog
    from tui.i18n import t
    from tui.screens.overview import TypeOverviewScreen

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        main = app.screen
        row_type = main.grid.row_at_cursor().type
        await pilot.press("t")
        await wait_ready(pilot, lambda: isinstance(app.screen, TypeOverviewScreen))
        overview = app.screen
        assert overview.type_code == row_type
        text = str(overview.query_one("#overview").render())
        catalog = load_catalog()
        counts = {c.subtype: c.errors for c in await app.session.subtype_counts(row_type)}
        subtypes = catalog.subtypes_of(row_type)
        for sub in subtypes:
            words = sub.text("en")
            assert words.title in text and words.meaning.split()[0] in text
            assert t("main.overview.open", count=f"{counts.get(sub.code, 0):,}") in text
        await pilot.press("right")
        await wait_ready(pilot)
        assert overview.type_code != row_type
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main
        # from the affected-records view too
        await pilot.press("v")
        await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
        await pilot.press("t")
        await wait_ready(pilot, lambda: isinstance(app.screen, TypeOverviewScreen))
        assert app.screen.type_code == row_type


def test_the_overview_explains_subtypes_with_no_open_errors() -> None:
    from tui.core.catalog import load_catalog
    from tui.i18n import t
    from tui.widgets.detail import overview_text

    text = str(overview_text("picklist", []))  # nothing open at all
    for sub in load_catalog().subtypes_of("picklist"):
        words = sub.text("en")
        assert f"{words.title}  {t('main.overview.open', count='0')}" in text
        assert words.meaning in text and words.resolution in text


async def test_records_view_copies_salesforce_ids_and_soql(make_app, wait_ready, tmp_path) -> None:
    from textual.widgets import Button, Input

    from tui.config import Config
    from tui.screens.copy_ids import CopyIdsScreen

    app = make_app(config=Config(export_dir=tmp_path))
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        await pilot.press("v")
        await wait_ready(pilot, lambda: isinstance(app.screen, RecordsScreen))
        records = app.screen
        await wait_ready(pilot, lambda: records.grid.total > 3)
        rows = [records.grid._rows[i] for i in range(3)]
        with_id = [r for r in rows[:2] if r.sf_id]
        assert with_id
        await pilot.press("space", "space")
        await wait_ready(pilot)
        await pilot.press("c")
        await wait_ready(pilot, lambda: isinstance(app.screen, CopyIdsScreen))
        dialog = app.screen
        assert dialog.export.count == len(with_id)
        await pilot.press("escape")  # leaves without copying
        await pilot.pause()
        assert app.screen is records and app.clipboard == ""
        await pilot.press("c")
        await wait_ready(pilot, lambda: isinstance(app.screen, CopyIdsScreen))
        app.screen.query_one("#copy", Button).press()  # ids, to the clipboard (OSC 52)
        await pilot.pause()
        assert app.screen is records
        assert app.clipboard == "".join(f"{r.sf_id}\n" for r in with_id)
        await pilot.press("c")
        await wait_ready(pilot, lambda: isinstance(app.screen, CopyIdsScreen))
        dialog = app.screen
        await pilot.press("down", "space")  # what: SOQL
        await pilot.press("tab", "down", "space")  # where: a file
        path = dialog.query_one("#path", Input)
        assert path.display and path.value.endswith(".soql")
        dialog.query_one("#copy", Button).press()
        await pilot.pause()
        assert app.screen is records
    (written,) = tmp_path.glob("*.soql")
    soql = written.read_text(encoding="utf-8")
    assert soql.startswith("SELECT Id FROM ") and all(f"'{r.sf_id}'" in soql for r in with_id)


async def test_keys_typed_right_after_slash_never_reach_the_grid(make_app, wait_ready) -> None:
    from textual import events
    from textual.widgets import Input

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        main = app.screen
        for key, char in (("slash", "/"), ("e", "e"), ("r", "r")):  # one burst, as a paste
            app.post_message(events.Key(key, char))
        await pilot.pause()
        await pilot.pause()
        assert app.screen is main  # "e" did not open the export, "r" no resync
        box = main.query_one("#filter", Input)
        assert app.focused is box
        assert box.value == "er"  # and none of them was lost on the way
