"""What a failure file is read into: an ``Entry`` per record, the kinds of file, the
options of a CSV, and a Salesforce error as the Bulk APIs or Data Loader write it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tui.data.failure_columns import ColumnMap, ObjectFields

#: The largest line or row sent as one item: below the service's 5 MB body limit.
MAX_ITEM_BYTES = 4 * 1024 * 1024
#: The code given to an error whose text names none (Data Loader writes only the message).
NO_CODE = "NO_STATUS_CODE"
#: Bulk API's way of writing "set this field to null" in a CSV cell.
BULK_NULL = "#N/A"

BULK, DATA_LOADER, JSON_LINES, EMPTY = (
    "Bulk API 2.0 failedResults CSV",
    "Data Loader error CSV",
    "JSON Lines",
    "empty file",
)
EXPECTED_HEADERS = (
    "a Bulk API 2.0 failedResults CSV (sf__Id, sf__Error, then the job's fields), "
    "a Data Loader error CSV (the loaded file's columns and ERROR) or JSON Lines "
    "(one POST /v1/errors item per line)"
)
SHIFT_JIS_HINT = (
    "if the file was saved as Shift_JIS (Excel or Data Loader on Japanese Windows), "
    "run again with --encoding cp932"
)

FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
#: ``CODE:message`` then, from the Bulk APIs, ``:Field1,Field2 --``; from Data Loader's
#: Bulk mode, a new line and ``Error fields: Field1, Field2``.
CODED = re.compile(r"\A(?P<code>[A-Z][A-Z0-9_]{2,99}):(?P<rest>.*)\Z", re.DOTALL)
_BARE_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,99}")
_BULK_FIELDS = re.compile(r":(?P<fields>[^:]*?)\s*--\s*\Z")
_LOADER_FIELDS = re.compile(r"\r?\nError fields: (?P<fields>.*)\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of the file: an item to send, or the reason it was refused."""

    first_line: int
    last_line: int
    item: Any = None
    reason: str = ""
    #: Bytes that identify the item for the batch id (the JSON line, or the item built).
    raw: bytes = b""
    #: False for a row with neither an Id nor an external id value: a resync cannot send it.
    resyncable: bool = True


@dataclass(frozen=True, slots=True)
class CsvOptions:
    sobject: str | None = None
    external_id: str | None = None
    encoding: str = "utf-8"
    fields: ObjectFields | None = None
    column_map: ColumnMap | None = None


@dataclass
class FailureFile:
    """What :func:`read_failures` found: the kind of file and its entries (lazy)."""

    kind: str
    entries: Iterator[Entry]

    @property
    def unit(self) -> str:
        return "row" if self.kind in (BULK, DATA_LOADER) else "item"


# -- error text --------------------------------------------------------------------------


def parse_error_text(text: str) -> dict[str, Any]:
    """A Salesforce error as the Bulk APIs or Data Loader write it, as an error mapping.

    ``REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`` gives
    code, message and fields; a text without a leading code (Data Loader's SOAP mode
    writes the message alone) gets :data:`NO_CODE`.
    """
    text = text.strip()
    if _BARE_CODE.fullmatch(text):
        return {"statusCode": text, "message": "", "fields": []}
    coded = CODED.match(text)
    if coded is None:
        return {"statusCode": NO_CODE, "message": text, "fields": []}
    rest, fields = coded["rest"], ""
    for pattern in (_BULK_FIELDS, _LOADER_FIELDS):
        found = pattern.search(rest)
        if found is not None:
            rest, fields = rest[: found.start()], found["fields"]
            break
    names = [f.strip() for f in fields.split(",") if FIELD_NAME.fullmatch(f.strip())]
    return {"statusCode": coded["code"], "message": rest.strip(), "fields": names}
