"""The error taxonomy: 8 types and their subtypes, explained in English and Japanese.

The texts are data, in ``tui/core/catalog/<type>.toml``: one file per error type,
each entry holding its ``en`` and ``ja`` texts side by side. Keeping both
languages of an entry together means a translator edits them in step and a
missing translation is visible at a glance; one file per type keeps each file
short and mirrors the console's cards. The order of the types comes from
``ERROR_TYPES``, the order of subtypes from their file.

A file looks like::

    code = "association"
    [en]  # title, meaning, resolution
    [ja]
    [[subtypes]]
    code = "association.association_limit"
    origin = "integration"          # or "salesforce"
    en.title = "..."                # and en.meaning, en.resolution, ja.*
    ja.short_title = "..."          # optional: for columns too narrow for the title

The Japanese titles are the help article's own names, character for character,
since admins look an error up there by the name the console shows
(``tests/test_catalog.py`` checks them against the article). Where such a name
is too long for a grid column or a card, ``short_title`` is shown instead.

``origin`` is ``integration`` when the integration's own checks refuse the
record before anything is sent to Salesforce, ``salesforce`` otherwise (the
record was exchanged with Salesforce and failed there, or its Salesforce data
could not be applied to the CRM).

:meth:`Catalog.subtype` never fails: an unknown code falls back to
``other.unknown``, so old ledger rows and codes of a newer service still show
something sensible. :meth:`Catalog.type` raises ``KeyError`` for an unknown type,
since the eight types are fixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from wcwidth import wcswidth

from tui.core.models import ERROR_TYPES
from tui.core.tomlfile import read_toml

Origin = Literal["salesforce", "integration"]

#: The subtype every unrecognised error and unknown code ends up in.
UNKNOWN = "other.unknown"

_NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_SubtypeCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$")]


class CatalogError(Exception):
    """A catalog file is missing, unreadable or invalid; ``str(err)`` names the file and why."""


class Text(BaseModel):
    """What a type or subtype is called, what it means and how to fix it, in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: _NonEmpty
    short_title: _NonEmpty | None = None
    meaning: _NonEmpty
    resolution: _NonEmpty

    def label(self, cells: int) -> str:
        """The title if it fits in ``cells`` terminal cells, else the short title if any."""
        if self.short_title is None or wcswidth(self.title) <= cells:
            return self.title
        return self.short_title


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    en: Text
    ja: Text

    def text(self, lang: str) -> Text:
        """The texts in ``lang`` ("en" or "ja"); ``ValueError`` for any other language."""
        if lang == "ja":
            return self.ja
        if lang == "en":
            return self.en
        raise ValueError(f"unknown language {lang!r}; choose en or ja")


class SubtypeInfo(_Entry):
    """One subtype, e.g. ``picklist.restricted_value``."""

    code: _SubtypeCode
    origin: Origin

    @property
    def type(self) -> str:
        """The code of the type this subtype belongs to."""
        return self.code.partition(".")[0]


class ErrorTypeInfo(_Entry):
    """One of the eight error types with its subtypes, in catalog order."""

    code: str
    subtypes: tuple[SubtypeInfo, ...]


class Catalog:
    """All types and subtypes, looked up by code."""

    def __init__(self, types: Iterable[ErrorTypeInfo]) -> None:
        self.types: tuple[ErrorTypeInfo, ...] = tuple(types)
        self._types = {entry.code: entry for entry in self.types}
        self._subtypes = {sub.code: sub for entry in self.types for sub in entry.subtypes}

    def type(self, code: str) -> ErrorTypeInfo:
        """The type ``code``; ``KeyError`` if it is not one of the eight."""
        return self._types[code]

    def subtype(self, code: str) -> SubtypeInfo:
        """The subtype ``code``, or ``other.unknown`` when the code is not in the catalog."""
        return self._subtypes.get(code) or self._subtypes[UNKNOWN]

    def subtypes_of(self, type_code: str) -> tuple[SubtypeInfo, ...]:
        """The subtypes of one type in catalog order; ``KeyError`` for an unknown type."""
        return self._types[type_code].subtypes

    @property
    def subtype_codes(self) -> tuple[str, ...]:
        """Every subtype code, types in card order."""
        return tuple(self._subtypes)


def _read_type(source: Traversable) -> ErrorTypeInfo:
    entry = read_toml(source, ErrorTypeInfo, CatalogError, "catalog file")
    if entry.code not in ERROR_TYPES:
        raise CatalogError(
            f"catalog file {source}: unknown type {entry.code!r}; "
            f"expected one of {', '.join(ERROR_TYPES)}"
        )
    for sub in entry.subtypes:
        if sub.type != entry.code:
            raise CatalogError(
                f"catalog file {source}: subtype {sub.code!r} must start with {entry.code + '.'!r}"
            )
    if not entry.subtypes:
        raise CatalogError(f"catalog file {source}: type {entry.code!r} has no subtypes")
    return entry


def read_catalog(directory: Path | Traversable) -> Catalog:
    """Read and check every ``*.toml`` of ``directory``: each type once, each code unique."""
    files = sorted(
        (f for f in directory.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name
    )
    by_code: dict[str, ErrorTypeInfo] = {}
    seen: dict[str, str] = {}
    for source in files:
        entry = _read_type(source)
        if entry.code in by_code:
            raise CatalogError(f"catalog file {source}: type {entry.code!r} is defined twice")
        for sub in entry.subtypes:
            if sub.code in seen:
                raise CatalogError(
                    f"catalog file {source}: subtype {sub.code!r} is already in {seen[sub.code]}"
                )
            seen[sub.code] = source.name
        by_code[entry.code] = entry
    missing = [code for code in ERROR_TYPES if code not in by_code]
    if missing:
        raise CatalogError(f"catalog in {directory} lacks the types: {', '.join(missing)}")
    if UNKNOWN not in seen:
        raise CatalogError(f"catalog in {directory} lacks the fallback subtype {UNKNOWN!r}")
    return Catalog(by_code[code] for code in ERROR_TYPES)


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with synchealth (read once, then cached)."""
    return read_catalog(resources.files("tui.core").joinpath("catalog"))
