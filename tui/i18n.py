"""Console strings in English and Japanese.

Strings live in ``tui/locale/<area>.<lang>.toml`` as flat tables: a key
``[grid] empty = "..."`` is looked up as ``t("grid.empty")``. Every area file
exists in both languages with the same keys (``tests/test_i18n.py``).
Placeholders use ``str.format`` names: ``t("resync.confirm", count=3)``.

A string that names a number of things is a table of plural forms,
``rows = { one = "{count} row", other = "{count} rows" }``; Japanese has no plural
and gives ``other`` only. ``t(key, count=n)`` with an int ``n`` picks the form and
writes ``n`` with thousands separators. The rule is :func:`tui.core.lang.plural_form`;
:func:`tui.core.lang.counted` applies it to the service's and the command line's
messages, which are English only.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from tui.core.lang import LANGS, Lang, fill
from tui.core.tomlfile import flatten_strings

_current: Lang = "en"


@cache
def strings(lang: Lang) -> dict[str, str]:
    """All strings of one language, keyed by dotted name."""
    merged: dict[str, str] = {}
    for entry in sorted(resources.files("tui.locale").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(f".{lang}.toml"):
            merged.update(flatten_strings(tomllib.loads(entry.read_text(encoding="utf-8"))))
    return merged


def set_lang(lang: Lang) -> None:
    global _current
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    _current = lang


def current_lang() -> Lang:
    return _current


def t(key: str, /, **values: object) -> str:
    """The string ``key`` in the current language (the key itself if missing).

    An int ``count`` picks the plural form of a string that has them and is written with
    thousands separators; any other ``count`` gets the ``other`` form.
    """
    for lang in (_current, "en"):
        text = fill(strings(lang), key, lang, values)
        if text is not None:
            return text
    return key


def crm_object(code: str) -> str:
    """The name of a CRM object (``contact``...) in the current language; others as they are."""
    key = f"main.objects.{code}"
    return t(key) if key in strings("en") else code


def service_words(code: str) -> str:
    """The console's own words (current language) for a refusal code of the service it
    knows; empty for any other code (then the service's message is the detail)."""
    key = f"main.service.{code}"
    return t(key) if code and key in strings("en") else ""
