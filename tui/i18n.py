"""Console strings in English and Japanese.

Strings live in ``tui/locale/<area>.<lang>.toml`` as flat tables: a key
``[grid] empty = "..."`` is looked up as ``t("grid.empty")``. Every area file
exists in both languages with the same keys (``tests/test_i18n.py``).
Placeholders use ``str.format`` names: ``t("resync.confirm", count=3)``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

_current: Lang = "en"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def strings(lang: Lang) -> dict[str, str]:
    """All strings of one language, keyed by dotted name."""
    merged: dict[str, str] = {}
    for entry in sorted(resources.files("tui.locale").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(f".{lang}.toml"):
            merged.update(_flatten(tomllib.loads(entry.read_text(encoding="utf-8"))))
    return merged


def set_lang(lang: Lang) -> None:
    global _current
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    _current = lang


def current_lang() -> Lang:
    return _current


def t(key: str, /, **values: object) -> str:
    """The string ``key`` in the current language (the key itself if missing)."""
    text = strings(_current).get(key) or strings("en").get(key, key)
    return text.format(**values) if values else text
