"""The doctor's sentences as codes: :func:`say` makes one, :func:`phrased` puts a list of
them into words from a table of strings.

The codes are the keys of ``[doctor.said]`` in ``tui/locale/doctor.en.toml``; that file
is also where the service takes the English ``found`` and ``fix`` of its API answers, so
the English a client reads and the one the console shows are one text. The console
renders the same codes from its own language's file (``doctor.ja.toml``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources

from tui.core.catalog import load_catalog
from tui.core.doctor_models import CheckStatus, DoctorCheck, Phrase, PhraseValue
from tui.core.lang import Lang, fill
from tui.core.tomlfile import flatten_strings

#: Where the phrases are in a table of strings: ``doctor.said.<code>``.
PREFIX = "doctor.said."


@cache
def english() -> dict[str, str]:
    """The English strings of the doctor (``doctor.en.toml``), keyed by dotted name."""
    text = resources.files("tui.locale").joinpath("doctor.en.toml").read_text(encoding="utf-8")
    return flatten_strings(tomllib.loads(text))


def codes() -> set[str]:
    """Every code the doctor can say (the service's and the console's own checks)."""
    names = {k.removeprefix(PREFIX) for k in english() if k.startswith(PREFIX)}
    return {n.removesuffix(".one").removesuffix(".other") for n in names}


def say(code: str, **params: PhraseValue) -> Phrase:
    """The phrase ``code``; a code the English file lacks is a programming error."""
    if code not in codes():
        raise KeyError(f"the doctor has no phrase {code!r} in doctor.en.toml")
    return Phrase(code=code, params=params)


def _value(name: str, value: PhraseValue, lang: Lang, table: Mapping[str, str]) -> object:
    """A parameter as the sentence shows it: a number with thousands separators (``count``
    is left to pick the plural form), ``types`` as catalog titles, lists joined."""
    if isinstance(value, int):
        return value if name == "count" else f"{value:,}"
    if not isinstance(value, list):
        return value
    if name == "types":
        value = [_type_title(v, lang) for v in value]
    return table.get("doctor.list_sep", ", ").join(value)


def _type_title(code: str, lang: Lang) -> str:
    try:
        return load_catalog().type(code).text(lang).title
    except KeyError:
        return code


def phrased(phrases: list[Phrase], table: Mapping[str, str], lang: Lang) -> str | None:
    """The phrases in ``table``'s words, joined; None when one is unknown to the table or
    its parameters do not fit the sentence (a newer service: show its English instead)."""
    said: list[str] = []
    for phrase in phrases:
        values = {k: _value(k, v, lang, table) for k, v in phrase.params.items()}
        try:
            text = fill(table, PREFIX + phrase.code, lang, values)
            if text is not None and not values:
                text = text.format()  # a sentence that names values it was not given
        except (KeyError, IndexError, ValueError):
            return None
        if text is None:
            return None
        said.append(text)
    return table.get("doctor.join", "; ").join(said)


def in_english(phrases: list[Phrase]) -> str:
    """The phrases as the API's English ``found`` or ``fix``."""
    text = phrased(phrases, english(), "en")
    if text is None:
        raise KeyError(f"the phrases {phrases!r} do not fit doctor.en.toml")
    return text


def check(
    id: str,
    status: CheckStatus,
    found: Phrase | list[Phrase],
    fix: Phrase | None = None,
    subject: str = "",
) -> DoctorCheck:
    """A check from its phrases, with their English as ``found`` and ``fix``."""
    found_codes = found if isinstance(found, list) else [found]
    fix_codes = [fix] if fix is not None else []
    return DoctorCheck(
        id=id,
        subject=subject,
        status=status,
        found=in_english(found_codes),
        fix=in_english(fix_codes),
        found_codes=found_codes,
        fix_codes=fix_codes,
    )
