"""Text bound for a terminal: control characters are shown, never obeyed.

A name or message from Salesforce or the CRM may hold escape sequences
(``\\x1b]0;title\\x07`` retitles a terminal, ``\\x1b[2J`` clears it). Whatever the
console draws or a command prints to a terminal goes through this table first:
C0 and C1 controls, DEL and the bidi overrides become visible ``\\xNN`` / ``\\uNNNN``
escapes. Output that goes to a file or a pipe stays exact.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO, TextIO

CONTROL_CODES: tuple[int, ...] = (
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)


def escape_table(keep: str = "") -> dict[int, str]:
    """str.translate table: every control code to its visible escape, except ``keep``."""
    return {
        code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        for code in CONTROL_CODES
        if chr(code) not in keep
    }


#: For lines of text: line breaks and tabs stay, every other control is escaped.
_LINES = escape_table(keep="\n\t")


def for_terminal(text: str) -> str:
    """``text`` with every control character but newline and tab made visible.

    CRLF line ends become LF first, so a CSV reads as lines rather than ``\\x0d``.
    """
    return text.replace("\r\n", "\n").translate(_LINES)


def is_terminal(stream: TextIO | BinaryIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class TerminalWriter(io.RawIOBase):
    """A binary stream that writes UTF-8 to ``target`` through :func:`for_terminal`.

    Used for the CSV when stdout is a terminal. Bytes are decoded incrementally, so a
    character (or a CRLF) split between two writes is kept whole.
    """

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        text = self._held + self._utf8.decode(bytes(data))
        self._held = "\r" if text.endswith("\r") else ""
        if self._held:
            text = text[:-1]
        self._target.write(for_terminal(text).encode("utf-8"))
        return len(data)

    def flush(self) -> None:
        if self._held:
            self._target.write(for_terminal(self._held).encode("utf-8"))
            self._held = ""
        self._target.flush()
