"""The one toast that announces errors new to the console, grouped by type."""

from __future__ import annotations

from tui.core.models import ERROR_TYPES
from tui.i18n import t
from tui.text.titles import type_title

#: Types named in the toast; the errors of the others are summed as "n more".
SHOWN_TYPES = 3


def arrivals_text(new_errors: dict[str, int]) -> str:
    """The toast's text, e.g. ``12 new sync errors: 5 Duplicate, 4 Picklist, 2 Other, 1 more``."""
    order: dict[str, int] = {code: i for i, code in enumerate(ERROR_TYPES)}
    ranked = sorted(
        ((code, n) for code, n in new_errors.items() if n > 0),
        key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]),
    )
    parts = [
        t("main.arrivals.type_count", count=f"{n:,}", type=type_title(code))
        for code, n in ranked[:SHOWN_TYPES]
    ]
    rest = sum(n for _, n in ranked[SHOWN_TYPES:])
    if rest:
        parts.append(t("main.arrivals.more", count=f"{rest:,}"))
    total = sum(n for _, n in ranked)
    types = t("main.arrivals.separator").join(parts)
    return t("main.arrivals.new", count=total, types=types)
