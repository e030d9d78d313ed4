"""The words of notifications, in the language of the settings (not the console's).

Texts live in ``messages.<lang>.toml`` next to this module. The console's
:mod:`tui.i18n` keeps one process-wide language; the service may write English for
one team and Japanese for another, so every lookup here names its language.
Bodies are meant for a phone: :func:`wrap` breaks text at 40 display columns,
counting East Asian wide characters as two.
"""

from __future__ import annotations

import tomllib
import unicodedata
from datetime import datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from tui.core.catalog import load_catalog
from tui.core.lang import LANGS, Lang, plural_form
from tui.core.tomlfile import flatten_strings

#: The widest line a body should have, in display columns.
WIDTH = 40


@cache
def messages(lang: Lang) -> dict[str, str]:
    """Every text of one language, keyed by dotted name (``body.by_type``)."""
    source = resources.files(__package__).joinpath(f"messages.{lang}.toml")
    return flatten_strings(tomllib.loads(source.read_text(encoding="utf-8")))


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes (wide and full-width characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(word: str, width: int) -> list[str]:
    """Split one word that is wider than ``width`` into pieces that fit."""
    pieces, piece = [], ""
    for ch in word:
        if piece and columns(piece + ch) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return [*pieces, piece] if piece else pieces


def wrap(text: str, indent: str = "", width: int = WIDTH) -> list[str]:
    """``text`` in lines of at most ``width`` columns, each starting with ``indent``.

    Breaks at spaces where there are any, else inside the word (Japanese has no
    spaces). Line breaks in ``text`` are kept.
    """
    room = max(width - columns(indent), 8)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if columns(candidate) <= room:
                line = candidate
                continue
            if line:
                lines.append(line)
            *full, line = _cut(word, room)
            lines.extend(full)
        lines.append(line)
    return [f"{indent}{line}".rstrip() for line in lines]


class Text:
    """Lookups in one language: ``text("body.by_type")``, ``text.count("body.more", 3)``."""

    def __init__(self, lang: Lang) -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; choose en or ja")
        self.lang = lang
        self._strings = messages(lang)

    def __call__(self, key: str, /, **values: object) -> str:
        return self._strings[key].format(**values)

    def count(self, key: str, count: int, /, **values: object) -> str:
        """``key_one`` for exactly one, else ``key_other``; ``count`` is shown with separators."""
        form = plural_form(self.lang, count)
        return self(f"{key}_{form}", count=f"{count:,}", **values)

    def type_title(self, code: str) -> str:
        try:
            return load_catalog().type(code).text(self.lang).title
        except KeyError:
            return code

    def subtype_title(self, code: str) -> str:
        return load_catalog().subtype(code).text(self.lang).title

    def object_name(self, code: str) -> str:
        return self._strings.get(f"object.{code}", code)

    def weekday(self, code: str) -> str:
        return self(f"weekday.{code}")


def local_time(moment: datetime, zone: str) -> str:
    """``2025-03-10 09:00`` in ``zone``: the same unambiguous form in every language."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
