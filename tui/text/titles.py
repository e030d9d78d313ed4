"""Titles of the catalog's types and subtypes as the console shows them."""

from __future__ import annotations

from functools import lru_cache

from tui.core.catalog import load_catalog
from tui.core.subtype_order import subtype_name
from tui.i18n import current_lang


def type_title(code: str, cells: int | None = None) -> str:
    """A type's catalog title; its short title when ``cells`` are too few for the title."""
    try:
        text = load_catalog().type(code).text(current_lang())
    except KeyError:
        return code
    return text.title if cells is None else text.label(cells)


@lru_cache(maxsize=512)
def subtype_title(code: str, lang: str, cells: int | None = None) -> str:
    """A subtype's catalog title; its short title when the title needs more than ``cells``
    (the names a sort on the Error column follows: tui/core/subtype_order.py)."""
    return subtype_name(code, lang, cells)
