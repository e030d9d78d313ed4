"""The subtypes in the order of the names the grid's Error column shows them by.

A sort on that column follows these names, not the codes: ``picklist.invalid_deal_stage``
is "商談フェーズが無効" in Japanese and "Invalid deal stage" in English, so an order of
codes reads as shuffled in both. The name shown depends on the column's width (a short
title where the title does not fit), so the order does too. Names compare NFKC-folded
and case-folded (a full-width "Ｅ" as "e"); Japanese names by their characters, not by
their reading, which the catalog does not hold; equal names by code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from tui.core.catalog import load_catalog


def subtype_name(code: str, lang: str, cells: int | None = None) -> str:
    """The name the console shows for a subtype: its title, or its short title when the
    title needs more than ``cells``; an unknown code is named as ``other.unknown``."""
    text = load_catalog().subtype(code).text(lang)
    return text.title if cells is None else text.label(cells)


def shown_order(codes: Iterable[str], lang: str, cells: int | None) -> tuple[str, ...]:
    """``codes`` in the order of their names in ``lang`` at ``cells`` (see the module)."""

    def key(code: str) -> tuple[str, str]:
        name = unicodedata.normalize("NFKC", subtype_name(code, lang, cells)).casefold()
        return (name, code)

    return tuple(sorted(set(codes), key=key))
