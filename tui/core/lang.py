"""The languages: which one (a flag, then the config file, then the locale) and their
plural rule. Every module that names a language uses :data:`Lang` from here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

#: Locale variables in POSIX precedence: the first one set decides the messages' language.
LOCALE_VARS: tuple[str, ...] = ("LC_ALL", "LC_MESSAGES", "LANG")


def _checked(value: str, origin: str) -> Lang:
    if value not in LANGS:
        raise ValueError(f"unknown language {value!r} in {origin}; choose en or ja")
    return value


def resolve_lang(
    explicit: str | None = None,
    config: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Lang:
    """``explicit`` (a flag), else ``config``, else the locale, else English.

    Only the first non-empty locale variable counts, as in POSIX: ``LC_ALL=C``
    with ``LANG=ja_JP.UTF-8`` means English. A locale starting with "ja" means
    Japanese. ``environ`` defaults to ``os.environ``.
    """
    if explicit:
        return _checked(explicit, "the command line")
    if config:
        return _checked(config, "the configuration")
    env = os.environ if environ is None else environ
    for name in LOCALE_VARS:
        value = env.get(name)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def plural_form(lang: Lang, n: int) -> str:
    """The plural form ``n`` takes in ``lang``: ``one`` or ``other`` (Japanese has no plural)."""
    return "one" if lang == "en" and n == 1 else "other"


def counted(n: int, noun: str) -> str:
    """``n`` and an English ``noun``, plural unless n is 1: ``counted(2, "call")`` is 2 calls.

    For the service's and the command line's messages, which are English only.
    """
    return f"{n:,} {noun}{'' if plural_form('en', n) == 'one' else 's'}"


def fill(table: Mapping[str, str], key: str, lang: Lang, values: dict[str, object]) -> str | None:
    """String ``key`` of ``table`` with ``values`` filled in; None when the table lacks it.

    An int ``count`` picks the plural form (``key.one`` / ``key.other``) and is written
    with thousands separators.
    """
    count = values.get("count")
    number = count if isinstance(count, int) and not isinstance(count, bool) else None
    forms = [key]
    if number is not None:
        values = {**values, "count": f"{number:,}"}
        forms.append(f"{key}.{plural_form(lang, number)}")
    forms.append(f"{key}.other")
    text = next((table[name] for name in forms if name in table), None)
    if text is None:
        return None
    return text.format(**values) if values else text
