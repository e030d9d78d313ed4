"""The eight error-type cards: open errors and affected records per type, the
ignored errors apart ("+12 ignored"), and a sparkline of new errors per day (the
service's daily figures)."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from tui.core.models import ERROR_TYPES
from tui.i18n import t
from tui.text.safe import fit
from tui.text.titles import type_title

#: Cards per row in the compact (two-row) layout; up/down move by this much there.
COMPACT_COLUMNS = 4


#: A card's counts as worded: a ``main.cards`` text, "pair" (errors/records) or "errors"
#: (open errors alone), its numbers in ``short`` form, or ``compact`` (1.2k from 1,000).
Style = tuple[str, bool]

#: How a card's counts may be worded, richest first, per layout: two lines (title, then
#: the counts) and one line (title and counts). The strip picks one for all its cards;
#: the words stay (numbers abbreviated first) as long as any wording with them fits.
TWO_LINE_STYLES: tuple[Style, ...] = (
    ("counts", False), ("counts_short", False), ("counts_short", True), ("pair", False),
    ("pair", True),
)  # fmt: skip
ONE_LINE_STYLES: tuple[Style, ...] = (("pair", False), ("errors", False))
#: Bordered cards (wide layout): errors and records on lines of their own, their
#: numbers in full, then ``short``, then compact, so "132,670 レコード" never loses its word.
TALL_STYLES: tuple[Style, ...] = (("full", False), ("short", False), ("short", True))


def short(number: int, *, compact: bool = False) -> str:
    """A count in at most five characters: 1,234, 12.3k, 123k, 1.2M; ``compact``, in at
    most four: 999, 1.2k, 12k, 123k, 1.2M, 12M (cut, never rounded up to a longer one)."""
    if number < (1_000 if compact else 10_000):
        return f"{number:,}"
    if number < (10_000 if compact else 100_000):
        return f"{number // 100 / 10:.1f}k"
    if number < 1_000_000:
        return f"{number // 1000}k"
    if number < 10_000_000 or not compact:
        return f"{number // 100_000 / 10:.1f}M"
    return f"{number // 1_000_000}M"


class ErrorCard(Static):
    """One type: its title, open errors and affected records, and its ignored errors
    apart when there are any; zero cards are dimmed."""

    def __init__(self, type_code: str) -> None:
        super().__init__(id=f"card-{type_code}")
        self.type_code = type_code
        self.errors = 0
        self.records = 0
        self.ignored = 0
        self.loaded = False

    def compose(self) -> ComposeResult:
        # hidden until the service's figures arrive: an empty line would read as "none new"
        yield Sparkline([], summary_function=max, classes="-pending")

    def set_trend(self, new_per_day: list[int]) -> None:
        spark = self.query_one(Sparkline)
        spark.data = new_per_day
        spark.remove_class("-pending")

    def set_counts(self, errors: int, records: int, ignored: int = 0) -> None:
        self.errors, self.records, self.ignored, self.loaded = errors, records, ignored, True
        self.set_class(errors == 0, "-zero")
        self._show_ignored()
        self.refresh()

    def on_resize(self) -> None:
        self._show_ignored()

    def ignored_words(self, width: int) -> str:
        """The ignored errors in at most ``width`` cells ("+12 ignored", else "+12")."""
        if not self.ignored:
            return ""
        words = t("main.cards.ignored", count=self.ignored)
        return words if cell_len(words) <= width else f"+{short(self.ignored)}"

    def _show_ignored(self) -> None:
        """In the card's bottom border (the bordered layout), apart from the open counts."""
        self.border_subtitle = self.ignored_words(max(1, self.size.width - 2))

    def _with_ignored(self, text: str, width: int) -> str:
        """Borderless two-line layout: ``text`` and the ignored errors, if they fit."""
        joined = f"{text} {self.ignored_words(width - cell_len(text) - 1)}".rstrip()
        return joined if cell_len(joined) <= width else text

    def counts_text(self, style: Style) -> str:
        """The open errors and records worded in ``style`` (of the *_STYLES)."""
        if not self.loaded:
            return "…"
        words, compact = style
        errors = short(self.errors, compact=compact)
        records = short(self.records, compact=compact)
        if words == "pair":
            return f"{errors}/{records}"
        if words == "errors":
            return errors
        return t(f"main.cards.{words}", errors=errors, records=records)

    def tall_counts(self, style: Style) -> tuple[str, str]:
        """The errors line and the records line of a bordered card, in ``style``."""
        words, compact = style

        def number(n: int) -> str:
            if not self.loaded:
                return "…"
            return f"{n:,}" if words == "full" else short(n, compact=compact)

        return (
            f"{number(self.errors)} {t('main.cards.errors')}",
            f"{number(self.records)} {t('main.cards.records')}",
        )

    def fits(self, style: Style, width: int, lines: int) -> bool:
        """Whether ``style`` fits ``width`` cells uncut (on one line: beside the title,
        or its short title)."""
        if lines >= 3:
            return all(cell_len(line) <= width for line in self.tall_counts(style))
        counts = cell_len(self.counts_text(style))
        if lines > 1:
            return counts <= width
        title_width = width - counts - 1
        return cell_len(type_title(self.type_code, title_width)) <= title_width

    def _style(self, lines: int) -> Style:
        styles = ONE_LINE_STYLES if lines == 1 else TWO_LINE_STYLES if lines == 2 else TALL_STYLES
        if isinstance(self.parent, CardStrip):
            return self.parent.style_for(lines, styles)
        width = self.content_region.width
        return next((s for s in styles if self.fits(s, width, lines)), styles[-1])

    def render(self) -> Text:
        width = self.content_region.width
        title = type_title(self.type_code, width)
        lines = self.content_region.height
        if lines >= 3:
            errors, records = self.tall_counts(self._style(lines))
            return Text.assemble(
                (fit(title, width), "bold"), "\n", (fit(errors, width), "bold"), "\n",
                fit(records, width),
            )  # fmt: skip
        counts = self.counts_text(self._style(lines))
        if lines == 2:
            counts = self._with_ignored(counts, width)
            return Text.assemble((fit(title, width), "bold"), "\n", fit(counts, width))
        title_width = max(1, width - cell_len(counts) - 1)
        title = type_title(self.type_code, title_width)
        return Text.assemble((fit(title, title_width), "bold"), " ", counts)

    def on_click(self) -> None:
        if isinstance(self.parent, CardStrip):
            self.parent.index = ERROR_TYPES.index(self.type_code)


class CardStrip(Widget, can_focus=True):
    """Holds the cards and a cursor over them; arrows or h/l move, enter narrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1)", "Previous card", show=False, id="cards.left"),
        Binding("right,l", "move(1)", "Next card", show=False, id="cards.right"),
        Binding("up,k", "move_row(-1)", "Card above", show=False, id="cards.up"),
        Binding("down,j", "move_row(1)", "Card below", show=False, id="cards.down"),
        Binding("enter", "choose", "Open", id="cards.open"),
    ]

    index: reactive[int] = reactive(0, init=False)

    class Highlighted(Message):
        """The cursor is on another card."""

        def __init__(self, type_code: str) -> None:
            super().__init__()
            self.type_code = type_code

    class Chosen(Message):
        """Enter on a card: narrow the grid to this type."""

        def __init__(self, type_code: str) -> None:
            super().__init__()
            self.type_code = type_code

    def compose(self) -> ComposeResult:
        for code in ERROR_TYPES:
            yield ErrorCard(code)

    @property
    def current(self) -> str:
        return ERROR_TYPES[self.index]

    def set_trends(self, new_per_day: dict[str, list[int]]) -> None:
        for card in self.query(ErrorCard):
            card.set_trend(new_per_day.get(card.type_code, []))

    def style_for(self, lines: int, styles: tuple[Style, ...]) -> Style:
        """The richest of ``styles`` every card fits, so all eight read alike (the last
        one, cut if need be, when none fits them all)."""
        cards = list(self.query(ErrorCard))
        for style in styles:
            if all(card.fits(style, card.content_region.width, lines) for card in cards):
                return style
        return styles[-1]

    def set_counts(self, counts: dict[str, tuple[int, int, int]]) -> None:
        """type -> (open errors, records, ignored errors)."""
        for card in self.query(ErrorCard):
            card.set_counts(*counts.get(card.type_code, (0, 0, 0)))

    def set_active(self, type_code: str | None) -> None:
        """Outline the card the grid is narrowed to (None: no narrowing)."""
        for card in self.query(ErrorCard):
            card.set_class(card.type_code == type_code, "-active")

    def on_mount(self) -> None:
        self._show_cursor()

    def on_resize(self) -> None:
        """Cards of one width: columns of ``1fr`` round each card's share, so at 160
        columns the first card was a cell narrower than the seven others. The cells that
        cannot be shared out (fewer than a row's cards) stay at the strip's right end."""
        columns = self.styles.grid_size_columns
        gutter = self.styles.grid_gutter_vertical  # between columns (grid-gutter: rows columns)
        width = max(1, (self.content_region.width - gutter * (columns - 1)) // columns)
        self.styles.grid_columns = str(width)

    def watch_index(self) -> None:
        self._show_cursor()
        self.post_message(self.Highlighted(self.current))

    def _show_cursor(self) -> None:
        for position, card in enumerate(self.query(ErrorCard)):
            card.set_class(position == self.index, "-selected")

    def _compact(self) -> bool:
        """Two rows of cards (narrow terminals)."""
        return self.size.height < 5

    def action_move(self, step: int) -> None:
        self.index = (self.index + step) % len(ERROR_TYPES)

    def action_move_row(self, step: int) -> None:
        if self._compact():
            self.index = (self.index + step * COMPACT_COLUMNS) % len(ERROR_TYPES)

    def action_choose(self) -> None:
        self.post_message(self.Chosen(self.current))

    def on_focus(self) -> None:
        self.post_message(self.Highlighted(self.current))

    def on_click(self) -> None:
        self.focus()
