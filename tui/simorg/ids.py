"""Salesforce record ids as the simulated org makes and reads them.

A simulated id is ``<key prefix><"5g00000"><5 base62 digits of a counter>`` (15
characters), plus Salesforce's 3-character case-safe suffix for the 18-character
form. Encoding a counter in the id lets the org derive whether a record exists
from the id alone, so it never holds a million records in memory.
"""

from __future__ import annotations

import string

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_CHARS = string.ascii_uppercase + "012345"
POD = "5g00000"
COUNTER_DIGITS = 5
MAX_COUNTER = 62**COUNTER_DIGITS - 1

_ID_CHARS = frozenset(ALPHABET)


def suffix(id15: str) -> str:
    """Salesforce's case-safe suffix: one character per 5-character chunk."""
    out = []
    for start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_CHARS[bits])
    return "".join(out)


def make_id(prefix: str, counter: int) -> str:
    """The 18-character id of record number ``counter`` of a key prefix."""
    if not 0 <= counter <= MAX_COUNTER:
        raise ValueError(f"counter {counter} does not fit in a simulated id")
    digits = []
    n = counter
    for _ in range(COUNTER_DIGITS):
        n, r = divmod(n, 62)
        digits.append(ALPHABET[r])
    id15 = prefix + POD + "".join(reversed(digits))
    return id15 + suffix(id15)


def is_well_formed(value: object) -> bool:
    """A 15- or 18-character alphanumeric id whose suffix, if any, is right."""
    if not isinstance(value, str) or len(value) not in (15, 18):
        return False
    if not _ID_CHARS.issuperset(value):
        return False
    return len(value) == 15 or suffix(value[:15]) == value[15:]


def parse_id(value: str) -> tuple[str, int | None]:
    """(key prefix, counter) of a well-formed id; the counter is None for foreign ids."""
    prefix, pod, digits = value[:3], value[3:10], value[10:15]
    if pod != POD:
        return prefix, None
    counter = 0
    for ch in digits:
        counter = counter * 62 + ALPHABET.index(ch)
    return prefix, counter
