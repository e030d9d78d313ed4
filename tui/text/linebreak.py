"""Line breaking for text that mixes Japanese and Latin words.

Textual and Rich wrap only at spaces and fold anything longer at the cell where it
overflows. Japanese has no spaces, so a sentence would be folded anywhere: a line
could start with 、 or 。 and ``Salesforce`` could be cut in two. Here a line breaks
between the phrases BudouX finds and at spaces; only a piece wider than a whole line
is folded, and then between characters, with closing punctuation kept on the line
before it and Latin words kept whole wherever they fit on a line of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import budoux
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from wcwidth import wcswidth, wcwidth

_PARSER = budoux.load_default_japanese_parser()
_WORDS = re.compile(r"\S+\s*|\s+")
_OPENING = "(（「『【［｛〈《["
_CLOSING = "、。，．,.)）」』】〕〉》］｝!?！？ー…:;：；]"
#: Pieces a fold keeps together: a Latin word or one other character, with the opening
#: brackets before it and the closing punctuation and spaces after it.
_LATIN = r"[A-Za-z0-9_@./:\-]+(?:,[0-9]+)*"
_FOLD_UNITS = re.compile(
    rf"[{re.escape(_OPENING)}]*(?:{_LATIN}|.)[{re.escape(_CLOSING)}]*\s*", re.S
)
#: Two characters a break must not come between: inside a Latin word or a number.
_LATIN_JOIN = re.compile(r"[A-Za-z0-9_@./:\-,][A-Za-z0-9_@/\-]")
#: A Latin word too wide for a line (an error code, a path) breaks after _ / . - : @.
_WORD_PARTS = re.compile(r"[^_/.\-:@]+[_/.\-:@]*\s*|[_/.\-:@]+\s*")


def cells(text: str) -> int:
    """The terminal cells ``text`` takes (East Asian wide characters count two)."""
    width = wcswidth(text)
    return width if width >= 0 else sum(max(wcwidth(char), 0) for char in text)


@lru_cache(maxsize=4096)
def _phrases(line: str) -> tuple[str, ...]:
    """BudouX's phrases of ``line``, mended where BudouX cuts a Latin word or a number
    (``12,34`` / ``5``) or leaves closing punctuation at the start of a phrase (it does
    so with ASCII brackets): those go back to the phrase before."""
    if not line.strip():
        return (line,)
    phrases: list[str] = []
    for phrase in _PARSER.parse(line):
        if phrases and _LATIN_JOIN.match(phrases[-1][-1] + phrase[0]):
            phrases[-1] += phrase
            continue
        closing = len(phrase) - len(phrase.lstrip(_CLOSING))
        if phrases and closing:
            phrases[-1] += phrase[:closing]
            phrase = phrase[closing:]
        if phrase:
            phrases.append(phrase)
    return tuple(phrases)


def _pieces(line: str, width: int) -> Iterator[str]:
    """``line`` cut where a break may go: BudouX phrases, then words, then fold units."""
    for phrase in _phrases(line):
        for word in _WORDS.findall(phrase):
            if cells(word.rstrip()) <= width:
                yield word
            else:
                for unit in _FOLD_UNITS.findall(word):
                    fits = cells(unit.rstrip()) <= width
                    yield from [unit] if fits else _WORD_PARTS.findall(unit)


@lru_cache(maxsize=4096)
def line_spans(line: str, width: int) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` of each wrapped line of ``line`` (which holds no newline).

    A wrapped line drops the spaces at its break; indentation at the start stays.
    """
    width = max(width, 1)
    spans: list[tuple[int, int]] = []
    start = end = position = used = 0
    for piece in _pieces(line, width):
        body = piece.rstrip()
        if not body:
            if used or not spans:
                used += cells(piece)
            else:
                start = position + len(piece)
        else:
            if used and used + cells(body) > width:
                spans.append((start, end))
                start, used = position, 0
            used += cells(piece)
            end = position + len(body)
        position += len(piece)
    spans.append((start, max(end, start)))
    return tuple(spans)


def wrap_text(text: Text, width: int) -> Text:
    """``text`` with a newline at each break for ``width`` cells; styles are kept."""
    lines: list[Text] = []
    for paragraph in text.split("\n", allow_blank=True):
        starts = [start for start, _ in line_spans(paragraph.plain, width)[1:]]
        for line in paragraph.divide(starts):
            line.rstrip()
            lines.append(line)
    return Text("\n").join(lines)


class PhraseWrapped:
    """A Rich renderable: ``text`` broken into lines as :func:`wrap_text` does, at the
    width it is drawn at (so a pane that is resized breaks its lines anew).

    The lines go out as they are, not through Rich's own wrapping, which would only
    split them again at spaces; a line Rich measures wider than the width (a lone piece
    wider than the pane) is still folded by Rich.
    """

    def __init__(self, text: Text) -> None:
        self.text = text
        self._segments: dict[int, list[Segment]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if width not in self._segments:
            segments: list[Segment] = []
            for line in wrap_text(self.text, width).split("\n", allow_blank=True):
                if line.cell_len > width:
                    segments += console.render(line, options)
                else:
                    segments += [*line.render(console), Segment.line()]
            self._segments[width] = segments
        yield from self._segments[width]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return self.text.__rich_measure__(console, options)

    def __str__(self) -> str:
        return self.text.plain
