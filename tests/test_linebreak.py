"""Japanese line breaking in the detail pane: never before closing punctuation, never
inside a Latin word, nothing lost, at every width from 30 to 80 cells."""

from __future__ import annotations

import re
from dataclasses import replace

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.visual import Visual, visualize
from textual.widgets import Static

from tui.core.catalog import load_catalog
from tui.i18n import set_lang, strings
from tui.text.linebreak import cells, line_spans, wrap_text
from tui.widgets.detail import DetailPane, error_text, type_text
from tui.widgets.prose import Prose

CLOSING = "、。，．,.)）」』】〕〉》］｝!?！？"
LATIN_WORD = re.compile(r"[A-Za-z0-9]+")


class PaneHost(App):
    def compose(self) -> ComposeResult:
        yield DetailPane()


async def _every_entry_in_japanese(demo_session) -> Text:
    """The pane's text for every type and for every subtype (on a real demo error row)."""
    catalog = load_catalog()
    rows = await demo_session.rows(list(range(1, 400)))
    sample = next(iter(rows.values()))
    by_subtype = {row.subtype: row for row in rows.values()}
    texts = [type_text(entry.code, await demo_session.subtype_counts(entry.code))
             for entry in catalog.types]  # fmt: skip
    for code in catalog.subtype_codes:
        row = by_subtype.get(code) or replace(sample, subtype=code)
        texts.append(error_text(row, None))
    return Text("\n\n").join(texts)


def _check_lines(lines: list[str], width: int, source: str) -> None:
    for line in lines:
        assert not line.lstrip()[:1] or line.lstrip()[0] not in CLOSING, (width, line)
        assert cells(line) <= width, (width, line)
    shown = " ".join(lines)
    assert LATIN_WORD.findall(shown) == LATIN_WORD.findall(source), width
    assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", source), width


async def test_detail_pane_breaks_japanese_lines_properly_at_30_to_80_cells(demo_session):
    set_lang("ja")
    try:
        text = await _every_entry_in_japanese(demo_session)
        app = PaneHost()
        async with app.run_test(size=(80, 40)) as pilot:
            pane = app.query_one(DetailPane)
            body = pane.query_one("#detail-body", Static)
            pane.show(text)
            # The pane itself, resized: what the terminal shows.
            for width in (30, 47, 80):
                await pilot.resize_terminal(width, 40)
                await pilot.pause()
                size = body.size
                assert width - 3 <= size.width <= width
                strips = body.render_lines(Region(0, 0, *size))
                _check_lines([s.text.rstrip() for s in strips], size.width, text.plain)
            # Every width in between, through the same visual the pane's Static draws.
            visual = visualize(body, body.render())
            for width in range(30, 81):
                strips = Visual.to_strips(body, visual, width, None, body.visual_style)
                _check_lines([s.text.rstrip() for s in strips], width, text.plain)
    finally:
        set_lang("en")


def test_a_phrase_wider_than_the_line_folds_without_orphaning_punctuation() -> None:
    line = "あいうえおかきくけこ、さしすせそ。"
    pieces = [line[a:b] for a, b in line_spans(line, 10)]
    assert "".join(pieces) == line
    assert all(cells(p) <= 10 and p[0] not in CLOSING for p in pieces), pieces


def test_latin_words_stay_whole_and_styles_survive_the_breaks() -> None:
    text = Text.assemble(("CRM: ", "dim"), "contact Acme Corp (0031x00000AbcDE)")
    wrapped = wrap_text(text, 12)
    assert wrapped.plain.split("\n") == ["CRM: contact", "Acme Corp", "(0031x00000AbcDE)"]
    assert wrapped.spans[0].style == "dim" and wrapped.plain[: wrapped.spans[0].end] == "CRM: "


def test_indentation_and_blank_lines_are_kept() -> None:
    assert wrap_text(Text("   7 件\n\nend"), 40).plain == "   7 件\n\nend"


class Sample(dict):
    """A value for every placeholder: a number as the console writes one."""

    def __missing__(self, key: str) -> str:
        return "12,345"


class ProseHost(App):
    def compose(self) -> ComposeResult:
        yield Prose("")


async def test_every_long_japanese_locale_string_breaks_properly_in_prose() -> None:
    texts = [text.format_map(Sample()) for text in strings("ja").values() if cells(text) > 30]
    assert len(texts) > 20
    app = ProseHost()
    async with app.run_test(size=(80, 24)) as pilot:
        prose = app.query_one(Prose)
        for text in texts:
            prose.update(text)
            await pilot.pause()
            assert str(prose.render()) == text
            visual = visualize(prose, prose.render())
            for width in range(20, 81, 6):
                strips = Visual.to_strips(prose, visual, width, None, prose.visual_style)
                _check_lines([s.text.rstrip() for s in strips], width, text)
