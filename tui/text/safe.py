"""Text from Salesforce or the CRM is data: make it harmless to draw.

Control characters (escape codes included), bidi overrides and line breaks are
shown as visible escapes instead of reaching the terminal. The result is meant
for rich ``Text``/``Segment`` objects, never for markup.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from tui.text.terminal import escape_table

_SPACES = {"\t": " ", "\n": " ", "\r": " "}
_TABLE: dict[int, str] = escape_table() | {ord(c): r for c, r in _SPACES.items()}


def clean(value: object) -> str:
    """``value`` as a one-line string with every control character made visible."""
    return str(value).translate(_TABLE)


def fit(text: str, width: int) -> str:
    """``text`` padded or cut to exactly ``width`` cells (CJK counts double), with an ellipsis."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def fit_right(text: str, width: int) -> str:
    """Like :func:`fit`, but aligned to the right."""
    length = cell_len(text)
    if length >= width:
        return fit(text, width)
    return " " * (width - length) + text
