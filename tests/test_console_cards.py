"""The error-type cards as a person reads them at 80 columns: every card worded alike,
no title cut mid-word (a short title instead), counts with thousands separators."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from rich.cells import cell_len

from tui import i18n
from tui.core.catalog import load_catalog
from tui.core.models import ERROR_TYPES
from tui.widgets.cards import CardStrip, ErrorCard

#: Counts of a million-error ledger (the bench's), where the words stop fitting.
MILLION = {
    "association": (61_600, 59_600, 0),
    "custom_code": (136_000, 132_000, 0),
    "duplicate": (83_600, 78_700, 0),
    "permissions": (79_300, 77_600, 0),
    "picklist": (250_000, 233_000, 0),
    "field_mapping": (57_100, 55_900, 0),
    "property_value": (202_000, 188_000, 0),
    "other": (8_856, 8_835, 0),
}

#: Counts of the 20,000-error demo (``--demo-size 20000``): "1,225件/1,187レコード" is
#: two cells wider than a card at 80 columns.
TWENTY_THOUSAND = {
    "association": (1_225, 1_187, 0),
    "custom_code": (2_717, 2_652, 0),
    "duplicate": (1_655, 1_556, 0),
    "permissions": (1_582, 1_550, 0),
    "picklist": (5_023, 4_667, 0),
    "field_mapping": (1_163, 1_134, 0),
    "property_value": (4_042, 3_775, 0),
    "other": (182, 182, 0),
}


def lines_of(card: ErrorCard) -> list[str]:
    return [card.render_line(y).text.strip() for y in range(card.size.height)]


def counts_shape(text: str) -> str:
    """The wording of a counts text with its numbers taken out ("# err/# rec")."""
    return re.sub(r"[0-9][0-9,.]*[kM]?", "#", text)


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("height", [24, 22])
async def test_at_80_columns_every_card_reads_alike_and_no_title_is_cut(
    make_app: Callable[..., Any], wait_ready: Any, lang: str, height: int
) -> None:
    app = make_app(lang=lang)
    try:
        async with app.run_test(size=(80, height)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            strip = app.screen.query_one(CardStrip)
            for counts in (None, MILLION):
                if counts is not None:
                    strip.set_counts(counts)
                    await pilot.pause()
                cards = list(strip.query(ErrorCard))
                shapes = set()
                for card in cards:
                    text = load_catalog().type(card.type_code).text(lang)
                    lines = lines_of(card)
                    title = lines[0] if height >= 24 else lines[0].rsplit(" ", 1)[0].strip()
                    assert "…" not in lines[0], lines
                    assert title in (text.title, text.short_title), lines
                    shown = lines[-1] if height >= 24 else lines[0].rsplit(" ", 1)[1]
                    assert "…" not in shown, lines
                    shapes.add(counts_shape(shown))
                    assert not re.search(r"\d{4}", shown), shown  # 1,259, never 1259
                assert len(shapes) == 1, shapes  # one wording for all eight cards
    finally:
        i18n.set_lang("en")


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("counts", [TWENTY_THOUSAND, MILLION], ids=["20k", "1M"])
async def test_at_80_columns_the_cards_keep_their_words_at_thousands(
    make_app: Callable[..., Any], wait_ready: Any, lang: str, counts: dict[str, Any]
) -> None:
    """Counts past 1,000 are abbreviated (1.2k) before the words "errors"/"records" go."""
    app = make_app(lang=lang)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            strip = app.screen.query_one(CardStrip)
            strip.set_counts(counts)
            await pilot.pause()
            words = [w.strip() for w in re.split(r"\{\w+\}", i18n.t("main.cards.counts_short"))]
            for card in strip.query(ErrorCard):
                shown = lines_of(card)[-1]
                assert "…" not in shown, shown
                assert all(w in shown for w in words if w), (shown, words)
    finally:
        i18n.set_lang("en")


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_at_80_columns_the_grid_names_every_error_uncut(
    make_app: Callable[..., Any], wait_ready: Any, lang: str
) -> None:
    app = make_app(lang=lang)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            grid = app.screen.grid
            await wait_ready(pilot, lambda: grid.total > 0)
            column = next(c for c in grid.columns(grid.size.width) if c.key == "subtype")
            assert column.width == 18
            shown = 0
            for y in range(1, grid.size.height):
                named = grid.render_line(y).crop(0, 21).text  # mark, space, the 18 cells
                if named.strip():
                    shown += 1
                    assert "…" not in named, grid.render_line(y).text
            assert shown >= 5
    finally:
        i18n.set_lang("en")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_subtype_has_a_name_that_fits_the_narrow_grid_column(lang: str) -> None:
    catalog = load_catalog()
    for code in ERROR_TYPES:
        for subtype in catalog.subtypes_of(code):
            assert cell_len(subtype.text(lang).label(18)) <= 18, subtype.code


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_at_80_columns_the_records_view_names_objects_uncut(
    make_app: Callable[..., Any], wait_ready: Any, lang: str
) -> None:
    """ "コンタ …" and "Opportuni…" were cut while the record's name had 40 cells."""
    from tui.screens.records import RecordsScreen

    app = make_app(lang=lang)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            await pilot.press("v")
            screen = app.screen
            assert isinstance(screen, RecordsScreen)
            await wait_ready(pilot, lambda: screen.grid.row_at_cursor() is not None)
            grid = screen.grid
            columns, widths = grid._layout(grid.size.width)
            header = grid.render_line(0).text
            assert i18n.t("main.records.sf_object") in header, header
            keys = [c.key for c in columns]
            seen = set()
            for row in list(grid._rows.values())[:20]:
                cells = dict(zip(keys, grid.cells(row, columns), strict=True))
                for key in ("object", "sf_object"):
                    width = widths[keys.index(key)]
                    assert cell_len(cells[key]) <= width, (key, cells[key], width)
                    seen.add(cells[key])
            assert "Opportunity" in seen or "Account" in seen
    finally:
        i18n.set_lang("en")


async def test_every_card_is_as_wide_as_the_others_at_any_width(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    """At 160 columns the first card was a cell narrower than the seven others (a grid
    of 1fr columns rounds each share); cards line up in every layout, after a resize too."""
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_ready(pilot, lambda: app.screen.grid.total > 0)
        for width in (160, 150, 121, 100, 81, 160):
            await pilot.resize_terminal(width, 50)
            await pilot.pause()
            cards = list(app.screen.query(ErrorCard))
            widths = {card.region.width for card in cards}
            assert len(widths) == 1, (width, [card.region.width for card in cards])
            strip = app.screen.query_one(CardStrip)
            assert max(card.region.right for card in cards) <= strip.content_region.right


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_at_160_columns_the_bordered_cards_keep_their_words_at_a_million(
    make_app: Callable[..., Any], wait_ready: Any, lang: str
) -> None:
    """Seen in tmux at 160x50 in Japanese on the 1,000,000-error demo: "59,566 レコー…".
    Numbers are shortened (59.5k) for all eight cards before a word is cut."""
    app = make_app(lang=lang)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_ready(pilot, lambda: app.screen.grid.total > 0)
            strip = app.screen.query_one(CardStrip)
            strip.set_counts(MILLION)
            await pilot.pause()
            shapes = set()
            for card in strip.query(ErrorCard):
                errors, records = lines_of(card)[1:3]
                assert "…" not in errors + records, (errors, records)
                assert records.endswith(i18n.t("main.cards.records")), records
                shapes.add(counts_shape(records))
            assert len(shapes) == 1, shapes  # one wording for all eight cards
    finally:
        i18n.set_lang("en")
