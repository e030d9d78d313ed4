"""Text from Salesforce or the CRM is data: make it harmless to draw.

Control characters (escape codes included), bidi overrides and line breaks are
shown as visible escapes instead of reaching the terminal. The result is meant
for rich ``Text``/``Segment`` objects, never for markup.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

_SPACES = {"\t": " ", "\n": " ", "\r": " "}
_CONTROL = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_TABLE: dict[int, str] = {
    code: _SPACES.get(chr(code), f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in _CONTROL
}


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
