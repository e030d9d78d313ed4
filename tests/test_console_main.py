"""The main screen driven with Textual's Pilot, on the embedded simulated org."""

from __future__ import annotations

import socket
import sqlite3

import pytest

from tui.core.models import ERROR_TYPES
from tui.data.session import ViewFilter
from tui.embedded import open_data_session
from tui.screens.health import DETAIL_DELAY, HealthScreen
from tui.screens.records import RecordsScreen
from tui.widgets.cards import CardStrip, ErrorCard
from tui.widgets.detail import DetailPane
from tui.widgets.errorgrid import ErrorGrid
from tui.widgets.header import OfflineBanner, StatusHeader

WIDE = (160, 50)


def grid_of(app) -> ErrorGrid:
    return app.screen.query_one(ErrorGrid)


def shown_ids(grid: ErrorGrid) -> list[int | None]:
    """Ids of the rows on screen, top to bottom (None for a row not loaded)."""
    top = round(grid.scroll_y)
    rows = [grid.row_at(i) for i in range(top, min(grid.total, top + grid.page_height))]
    return [None if row is None else row.id for row in rows]


async def view_ids(app) -> list[int]:
    """Every id of the grid's view, in its order (the grid itself holds only pages)."""
    grid = grid_of(app)
    names = grid.order.names
    return list(await app.session.view_ids(grid.view, grid.sort, grid.descending, names=names))


def detail_text(app) -> str:
    return app.screen.query_one(DetailPane).shown.plain


async def test_cards_move_with_arrows_and_hjkl_and_enter_narrows_the_grid(make_app, wait_ready):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        strip = app.screen.query_one(CardStrip)
        everything = grid_of(app).total
        strip.focus()
        await pilot.press("l", "right")
        assert strip.index == 2
        await pilot.press("h")
        assert strip.index == 1
        await pilot.press("left", "left")
        assert strip.index == len(ERROR_TYPES) - 1  # wraps around
        await pilot.press("right", "right", "right")  # duplicate (index 2)
        # pick the first type with errors, so narrowing has something to show
        cards = list(app.screen.query(ErrorCard))
        target = next(i for i, card in enumerate(cards) if card.errors)
        strip.index = target
        await pilot.press("enter")
        code = ERROR_TYPES[target]
        await wait_ready(pilot, lambda: app.screen.view.type == code)
        grid = grid_of(app)
        assert grid.has_focus
        assert grid.total == cards[target].errors < everything
        rows = await app.session.rows((await view_ids(app))[:100])
        assert rows and {row.type for row in rows.values()} == {code}
        assert cards[target].has_class("-active")
        await pilot.press("escape")  # widens again
        await wait_ready(pilot, lambda: app.screen.view.type is None)
        assert grid_of(app).total == everything


async def test_zero_cards_are_dimmed_and_all_eight_are_shown(make_app, wait_ready):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        cards = list(app.screen.query(ErrorCard))
        assert [card.type_code for card in cards] == list(ERROR_TYPES)
        counts = {c.type: c for c in await app.session.type_counts()}
        for card in cards:
            assert card.errors == counts[card.type_code].errors
            assert card.records == counts[card.type_code].records
            assert card.has_class("-zero") == (card.errors == 0)


async def test_marks_range_all_clear_and_they_survive_refresh_sort_and_filter(make_app, wait_ready):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 10)
        grid = grid_of(app)
        ids = await view_ids(app)
        first = ids[0]
        await pilot.press("space")  # marks row 0, cursor moves to row 1
        assert app.marks == {first}
        assert grid.cursor == 1
        await pilot.press("j", "j", "j")  # cursor on row 4
        await pilot.press("ctrl+space")
        assert app.marks == set(ids[0:5])
        await pilot.press("space")  # unmarks row 4
        assert app.marks == set(ids[0:4])
        marked = set(app.marks)

        await pilot.press("ctrl+r")
        await wait_ready(pilot)
        assert app.marks == marked
        await pilot.press("s")  # sort by another column
        await wait_ready(pilot, lambda: grid_of(app).sort != "last_seen")
        assert app.marks == marked
        row = (await app.session.rows([first]))[first]
        await pilot.press("slash")
        await pilot.press(*row.record_name[:6])
        await wait_ready(pilot, lambda: app.screen.view.text == row.record_name[:6].strip())
        assert app.marks == marked
        assert "marked" in str(app.screen.query_one("#view-status").render())
        await pilot.press("escape")
        await wait_ready(pilot, lambda: app.screen.view.text == "")

        await pilot.press("ctrl+a")
        everything = set(await view_ids(app))
        await wait_ready(pilot, lambda: app.marks == everything)
        await pilot.press("ctrl+backslash")
        assert app.marks == set()


async def test_slash_filters_by_text_and_escape_clears(make_app, wait_ready):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        everything = grid_of(app).total
        some_id = (await view_ids(app))[everything // 2]
        name = (await app.session.rows([some_id]))[some_id].record_name
        needle = name[:8]
        await pilot.press("slash")
        await pilot.press(*needle)
        await wait_ready(pilot, lambda: app.screen.view.text == needle.strip())
        grid = grid_of(app)
        assert 0 < grid.total < everything
        assert some_id in await view_ids(app)
        assert grid.total == await app.session.count(ViewFilter(text=needle.strip()))
        await pilot.press("enter")  # back to the grid, filter kept
        assert grid.has_focus and app.screen.view.text
        await pilot.press("slash", "escape")
        await wait_ready(pilot, lambda: app.screen.view.text == "")
        assert grid_of(app).total == everything
        assert not app.screen.query_one("#filter").display


async def test_the_filter_waits_for_typing_to_pause_then_shows_rows_and_exact_count(
    make_app, wait_ready, monkeypatch
):
    from textual import events

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        assert app.session.cache.search_ready
        looked_up, page = [], app.session.view_page

        async def recording(f, order, **where):
            if f.text:
                looked_up.append(f.text)
            return await page(f, order, **where)

        monkeypatch.setattr(app.session, "view_page", recording)
        # one burst, as a terminal hands over keys typed faster than it is read (or pasted)
        for key, char in (("slash", "/"), *((c, c) for c in "acme")):
            app.post_message(events.Key(key, char))
        await wait_ready(pilot, lambda: app.screen.view.text == "acme")
        assert set(looked_up) == {"acme"}  # looked up once typing paused, not "a", "ac"...
        grid = grid_of(app)
        expected = await view_ids(app)
        assert expected  # the demo has Acme records
        assert grid.total == len(expected) == await app.session.count(ViewFilter(text="acme"))
        assert shown_ids(grid) == expected[: grid.page_height]
        status = str(app.screen.query_one("#view-status").render())
        assert f"{len(expected):,} rows" in status and "counting" not in status


async def test_affected_records_view_marks_records_errors_and_escape_returns(make_app, wait_ready):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        strip = app.screen.query_one(CardStrip)
        cards = list(app.screen.query(ErrorCard))
        strip.index = next(i for i, card in enumerate(cards) if card.records)
        code = strip.current
        strip.focus()
        await pilot.press("v")
        assert isinstance(app.screen, RecordsScreen)
        screen = app.screen
        await wait_ready(pilot, lambda: screen.grid.row_at_cursor() is not None)
        view = ViewFilter(type=code)
        assert screen.grid.total == await app.session.affected_count(view)
        first, second = screen.grid._rows[0], screen.grid._rows[1]
        await pilot.press("space", "space")  # two records, pressed faster than the cache answers
        await wait_ready(pilot)
        expected = await app.session.error_ids_for_records(
            view, [first.record_id, second.record_id]
        )
        assert expected and app.marks == set(expected)
        assert screen.marked_records == {
            (first.object_type, first.record_id),
            (second.object_type, second.record_id),
        }
        assert "records" in str(screen.query_one("#records-title").render())
        await pilot.press("escape")
        assert isinstance(app.screen, HealthScreen)
        assert app.marks == set(expected)  # marks outlive the view
        await wait_ready(pilot)
        assert f"{len(expected)} marked" in str(app.screen.query_one("#view-status").render())


async def test_detail_pane_explains_a_card_and_a_row(make_app, wait_ready):
    from tui.core.catalog import load_catalog

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        catalog = load_catalog()
        strip = app.screen.query_one(CardStrip)
        strip.focus()
        await pilot.press("l")
        code = strip.current
        await wait_ready(pilot)
        text = detail_text(app)
        info = catalog.type(code).text("en")
        assert info.title in text and info.meaning[:40] in text
        assert info.resolution[:40] in text
        for sub in catalog.subtypes_of(code):
            assert sub.text("en").title in text

        grid_of(app).focus()
        await pilot.press("j")
        await pilot.pause(DETAIL_DELAY * 3)  # the pane follows once the cursor rests
        await wait_ready(pilot)
        row = grid_of(app).row_at_cursor()
        text = detail_text(app)
        assert catalog.subtype(row.subtype).text("en").meaning[:40] in text
        assert row.sf_code in text and row.message[:30] in text
        assert row.record_name in text and str(row.attempts) in text
        # one colon a line: the reason reads as an aside ("none: automatic..." read as two labels)
        assert "Automatic retry: none (automatic retries are off)" in text, text


async def test_a_new_view_comes_with_the_rows_it_shows(make_app, wait_ready):
    """A card, the sort, back: the rows on screen come with the view's count, so no frame
    of placeholders is drawn and the grid asks for no page of them by position."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        grid = grid_of(app)
        await pilot.press("pagedown", "pagedown")  # the cursor off the first page
        await wait_ready(pilot)
        asked: list[dict[str, object]] = []
        real = grid.loader

        async def spy(view, order, **where):
            asked.append(where)
            return await real(view, order, **where)

        grid.loader = spy
        cards = list(app.screen.query(ErrorCard))
        strip = app.screen.query_one(CardStrip)
        strip.focus()
        strip.index = max(range(len(cards)), key=lambda i: cards[i].errors)
        code = strip.current
        for keys, done in (
            (("enter",), lambda: app.screen.view.type == code),
            (("s",), lambda: grid.sort == "subtype"),
            (("escape",), lambda: app.screen.view.type is None),
        ):
            await pilot.press(*keys)
            await wait_ready(pilot, done)
            assert None not in shown_ids(grid), keys
        by_position = [where for where in asked if "after" not in where and "before" not in where]
        assert by_position == []
        assert asked, "the rows next to the page are still fetched ahead, by keyset"


async def test_the_affected_records_view_opens_with_its_first_rows(make_app, wait_ready):
    """The records on screen come with the view's counts: the grid asks for none of them
    once counted (only the rows below them, ahead)."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        session, asked = app.session, []
        real = session.affected_records

        async def spy(view, offset=0, limit=200):
            screen = app.screen
            counted = isinstance(screen, RecordsScreen) and screen.grid.count > 0
            asked.append((offset, counted))
            return await real(view, offset=offset, limit=limit)

        session.affected_records = spy
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, RecordsScreen)
        await wait_ready(pilot, lambda: screen.grid.row_at_cursor() is not None)
        top = round(screen.grid.scroll_y)
        shown = range(top, top + screen.grid.page_height)
        assert all(screen.grid.row_at(i) is not None for i in shown if i < screen.grid.total)
        assert asked[0] == (0, False)  # with the counts
        assert [offset for offset, counted in asked if counted and offset in shown] == []


async def test_a_hidden_detail_pane_asks_for_nothing_and_catches_up_when_shown(
    make_app, wait_ready
):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        session, asked = app.session, []
        real = session.error_detail

        async def spy(error_id):
            asked.append(error_id)
            return await real(error_id)

        session.error_detail = spy
        await pilot.press("d", "j", "j")
        await pilot.pause(DETAIL_DELAY * 3)
        await wait_ready(pilot)
        assert asked == []
        await pilot.press("d")
        await wait_ready(pilot, lambda: bool(asked))
        await wait_ready(pilot)
        row = grid_of(app).row_at_cursor()
        assert asked == [row.id]
        assert row.message[:30] in detail_text(app)


async def test_offline_opens_on_the_cache_and_says_so(make_app, wait_ready, synchealth_env):
    session = await open_data_session(cache_path=synchealth_env["cache_file"], demo_size=2000)
    await session.refresh()
    cached = await session.count(ViewFilter())
    await session.close()
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(url=f"http://127.0.0.1:{port}")
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        assert grid_of(app).total == cached
        banner = app.screen.query_one(OfflineBanner)
        assert banner.display
        assert "cannot be reached" in str(banner.render())
        assert "offline" in str(app.screen.query_one(StatusHeader).render())


async def test_japanese_shows_japanese_titles(make_app, wait_ready):
    from tui.core.catalog import load_catalog

    app = make_app(lang="ja")
    try:
        async with app.run_test(size=WIDE) as pilot:
            await wait_ready(pilot, lambda: grid_of(app).total > 0)
            card = app.screen.query_one(ErrorCard)
            title = load_catalog().type(card.type_code).text("ja").title
            assert title in str(card.render())
            assert "エラー" in str(card.render())
            header = grid_of(app).render_line(0).text
            assert "メッセージ" in header
    finally:
        from tui.i18n import set_lang

        set_lang("en")


async def test_record_names_with_markup_and_escape_codes_show_as_typed(
    make_app, wait_ready, synchealth_env
):
    session = await open_data_session(cache_path=synchealth_env["cache_file"], demo_size=2000)
    await session.refresh()
    await session.close()
    nasty = "[bold]x[/] \x1b[31mred"
    with sqlite3.connect(synchealth_env["cache_file"]) as db:
        error_id = db.execute("SELECT id FROM errors WHERE status = 'open' LIMIT 1").fetchone()[0]
        db.execute("UPDATE errors SET record_name = ? WHERE id = ?", (nasty, error_id))
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        await pilot.press("slash", *"[bold]")
        await wait_ready(pilot, lambda: app.screen.view.text == "[bold]")
        grid = grid_of(app)
        ids = await view_ids(app)
        assert error_id in ids
        grid.focus()
        grid.cursor = ids.index(error_id)
        await wait_ready(pilot, lambda: grid.row_at_cursor() is not None)
        line = grid.render_line(1 + grid.cursor - round(grid.scroll_y)).text
        assert "[bold]x[/] \\x1b" in line  # cut to the column width, drawn as typed
        assert "\x1b" not in line
        await wait_ready(pilot)
        text = detail_text(app)
        assert "[bold]x[/] \\x1b[31mred" in text and "\x1b" not in text


async def test_sort_key_cycles_and_flips(make_app, wait_ready):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        await pilot.press("s")
        await wait_ready(pilot, lambda: grid_of(app).sort == "subtype")
        grid = grid_of(app)
        names = grid.order.names  # the Error column's names: the order is theirs
        expected = await app.session.view_ids(ViewFilter(), "subtype", False, names=names)
        top = round(grid.scroll_y)
        assert shown_ids(grid) == list(expected[top : top + grid.page_height])
        await pilot.press("S")
        await wait_ready(pilot, lambda: grid_of(app).descending)
        expected = await app.session.view_ids(ViewFilter(), "subtype", True, names=names)
        top = round(grid.scroll_y)
        assert shown_ids(grid) == list(expected[top : top + grid.page_height])
        assert "▼" in grid_of(app).render_line(0).text


async def test_pages_read_by_keyset_and_from_the_end_follow_the_view_order(make_app, wait_ready):
    """Page-down (keyset after the last row), end (read backwards), page-up (keyset before)."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 0)
        grid = grid_of(app)
        expected = await view_ids(app)
        assert grid.total == len(expected)
        for keys in (("pagedown",) * 3, ("end",), ("pageup",) * 2, ("home",)):
            await pilot.press(*keys)
            await wait_ready(pilot)
            top = round(grid.scroll_y)
            assert shown_ids(grid) == expected[top : top + grid.page_height]
            assert grid.cursor_id == expected[grid.cursor]


def test_usage_gauge_warns_at_75_and_90_percent_of_the_allocation() -> None:
    from tui.widgets.usage import level, sparkline

    assert level(749, 1000) == "ok"
    assert level(750, 1000) == "warn"
    assert level(899, 1000) == "warn"
    assert level(900, 1000) == "danger"
    assert level(5, 0) == "danger"
    assert sparkline([0, 5, 10]) == "▁▄█"
    assert sparkline([0, 0]) == "▁▁"


async def test_usage_gauge_colour_class_follows_the_usage(make_app, wait_ready):
    from tui.widgets.usage import UsageGauge

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: app.usage is not None)
        gauge = app.screen.query_one(UsageGauge)
        base = app.usage
        gauge.show(base.model_copy(update={"used": 80, "allocated": 100}))
        assert gauge.has_class("-warn") and not gauge.has_class("-ok")
        gauge.show(base.model_copy(update={"used": 95, "allocated": 100}))
        assert gauge.has_class("-danger")
        assert "95 / 100 allocated (95%)" in str(gauge.render())


async def test_the_header_weighs_the_app_name_again_on_every_resize(make_app, wait_ready):
    """In Japanese at 80 columns there is no room for "synchealth │"; at 160 there is, the
    moment the terminal grows, and it goes again when it shrinks (the line never cut)."""
    from rich.cells import cell_len

    from tui import i18n

    app = make_app(lang="ja")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot, lambda: app.session is not None and app.session.online)
            header = app.screen.query_one(StatusHeader)

            def line() -> str:
                return header.render_line(0).text.strip()

            assert not line().startswith("synchealth"), line()
            for width, named in ((160, True), (80, False), (120, True)):
                await pilot.resize_terminal(width, 24)
                await pilot.pause()
                assert line().startswith("synchealth │") == named, (width, line())
                assert cell_len(line()) <= header.content_region.width, (width, line())
    finally:
        i18n.set_lang("en")


@pytest.mark.parametrize(
    ("lang", "sizes"), [("ja", ((80, 24), (220, 50))), ("en", ((60, 24), (80, 24)))]
)
async def test_the_error_column_sorts_by_the_names_it_shows(make_app, wait_ready, lang, sizes):
    """``s`` sorts by the Error column: in the order of its (localized, maybe short)
    names, not of the subtype codes behind them; resized, it follows the new names."""
    import unicodedata

    from tui import i18n

    def key(name: str) -> str:
        return unicodedata.normalize("NFKC", name).casefold()

    app = make_app(lang=lang)
    try:
        async with app.run_test(size=sizes[0]) as pilot:
            await wait_ready(pilot, lambda: grid_of(app).total > 0)
            await pilot.press("s")
            await wait_ready(pilot)
            grid = grid_of(app)
            assert grid.sort == "subtype" and not grid.descending
            grid.cursor = grid.total // 5  # among subtypes a resize puts in another order
            await wait_ready(pilot)
            for size in sizes:
                await pilot.resize_terminal(*size)
                await wait_ready(pilot)
                columns = grid.columns(grid.scrollable_content_region.width)
                at = [c.key for c in columns].index("subtype")
                assert grid.order.names.cells == columns[at].width
                rows = await app.session.view_page(grid.view, grid.order, limit=grid.total)
                shown = [grid.cells(row, columns)[at] for row in rows]
                assert len(shown) == grid.total
                assert shown == sorted(shown, key=key), (lang, size, sorted(set(shown)))
                held = {i: grid.row_at(i) for i in range(grid.total)}  # the rows it drew or will
                stale = [i for i, row in held.items() if row is not None and row.id != rows[i].id]
                assert not stale, (size, stale[:5])
                assert any(row is not None for row in held.values())
    finally:
        i18n.set_lang("en")
