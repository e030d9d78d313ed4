"""Files of failed records, read one record at a time as ``POST /v1/errors`` items.

Three kinds, told apart by their first line (:func:`read_failures`):

- JSON Lines: one item per line, already in the shape of docs/api.md.
- Bulk API 2.0 ``failedResults`` CSV: ``sf__Id``, ``sf__Error``, then the columns of
  the job's data (``GET /services/data/vXX.X/jobs/ingest/{jobId}/failedResults/``).
- Data Loader error CSV (``error*.csv``): the columns of the loaded file plus ``ERROR``
  (in its Bulk API 2.0 mode Data Loader saves the job's failedResults file instead).

Neither CSV names its object, so the caller gives it (:class:`CsvOptions`), with what
is known of the columns (:mod:`tui.data.failure_columns`: a describe, a Data Loader
mapping). A row becomes an item whose payload re-sends that row's fields: by ``Id``
when the row has one, else upserted on the external id column, else recorded but not
resyncable.
Rows are read lazily from an iterator of byte lines, so a file of any size streams;
each :class:`Entry` carries the physical line numbers of its row (a quoted cell may
span lines) and either an item or the reason it was refused.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from tui.core.sobjects import OBJECT_OF_PREFIX
from tui.data.failure_columns import COLUMN, ColumnMap, FileRefused, ObjectFields

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

_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_RECORD_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,255}")
#: ``CODE:message`` then, from the Bulk APIs, ``:Field1,Field2 --``; from Data Loader's
#: Bulk mode, a new line and ``Error fields: Field1, Field2``.
_CODED = re.compile(r"\A(?P<code>[A-Z][A-Z0-9_]{2,99}):(?P<rest>.*)\Z", re.DOTALL)
_BARE_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,99}")
_BULK_FIELDS = re.compile(r":(?P<fields>[^:]*?)\s*--\s*\Z")
_LOADER_FIELDS = re.compile(r"\r?\nError fields: (?P<fields>.*)\Z", re.DOTALL)
_NUMBER = re.compile(r"-?\d{1,18}(?:\.\d{1,18})?")
_NUMBER_KINDS = frozenset({"double", "currency", "percent", "int", "long", "number"})


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
    coded = _CODED.match(text)
    if coded is None:
        return {"statusCode": NO_CODE, "message": text, "fields": []}
    rest, fields = coded["rest"], ""
    for pattern in (_BULK_FIELDS, _LOADER_FIELDS):
        found = pattern.search(rest)
        if found is not None:
            rest, fields = rest[: found.start()], found["fields"]
            break
    names = [f.strip() for f in fields.split(",") if _FIELD.fullmatch(f.strip())]
    return {"statusCode": coded["code"], "message": rest.strip(), "fields": names}


# -- reading -----------------------------------------------------------------------------


def read_failures(lines: Iterable[bytes], options: CsvOptions) -> FailureFile:
    """The kind of the file (from its first line that is not blank) and its entries.

    Raises :class:`FileRefused` when the header is unknown or the options do not fit it.
    """
    source = iter(lines)
    skipped: list[bytes] = []
    for raw in source:
        skipped.append(_without_bom(raw) if not skipped else raw)
        if skipped[-1].strip():
            break
    else:
        return FailureFile(EMPTY, iter(()))
    replay = _chain(skipped, source)
    if skipped[-1].lstrip().startswith(b"{"):
        return FailureFile(JSON_LINES, _json_lines(replay))
    return _csv_file(replay, options)


def _without_bom(raw: bytes) -> bytes:
    return raw.removeprefix(codecs.BOM_UTF8)


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _json_lines(lines: Iterator[bytes]) -> Iterator[Entry]:
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > MAX_ITEM_BYTES:
            yield Entry(number, number, reason="the line is larger than a batch may be (4 MB)")
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Entry(number, number, reason=f"not valid JSON ({exc.msg})")
            continue
        yield Entry(number, number, item=item, raw=line)


class _DecodedLines:
    """Byte lines decoded for :mod:`csv`, counting physical lines and noting bad bytes.

    A line that does not decode is decoded with ``surrogateescape`` (so the CSV's
    structure holds) and its number kept in ``undecodable`` with the first bad byte.
    """

    def __init__(self, lines: Iterator[bytes], encoding: str) -> None:
        self._lines = lines
        self.encoding = encoding
        self.number = 0
        self.undecodable: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        self.number += 1
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.end][:4]
            shown = " ".join(f"0x{b:02X}" for b in bad)
            self.undecodable[self.number] = (
                f"byte {shown} (position {exc.start + 1} on the line) is not {self.encoding} text"
            )
            return raw.decode(self.encoding, "surrogateescape")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where things are in the header of a CSV failure file."""

    kind: str
    header: list[str]
    error: int
    ids: tuple[int, ...]  # sf__Id first, then the Id column
    fields: tuple[tuple[int, str, str | None], ...]  # (index, field, relationship)
    external_id: tuple[int, str] | None  # (index, field)
    sobject: str
    fields_known: ObjectFields | None
    constants: Mapping[str, str]


def _csv_file(lines: Iterator[bytes], options: CsvOptions) -> FailureFile:
    try:
        codecs.lookup(options.encoding)
    except LookupError as exc:
        raise FileRefused(
            f"--encoding {options.encoding!r} is not an encoding Python knows "
            "(utf-8, cp932, shift_jis, euc_jp, latin-1...)"
        ) from exc
    decoded = _DecodedLines(lines, options.encoding)
    reader = csv.reader(decoded, strict=True)
    csv.field_size_limit(MAX_ITEM_BYTES)  # process-wide in Python; the default is 128 kB
    try:
        header = next(reader)
        while not header:  # blank lines before the header
            header = next(reader)
    except csv.Error as exc:
        raise FileRefused(f"line {decoded.number}: the header is not CSV ({exc})") from exc
    except StopIteration:  # only blank rows: the caller found a line that was not blank
        raise FileRefused(f"no header line; expected {EXPECTED_HEADERS}") from None
    if decoded.undecodable:
        line, where = next(iter(decoded.undecodable.items()))
        raise FileRefused(f"line {line}: the header's {where}; {SHIFT_JIS_HINT}")
    header = [cell.strip() for cell in header]
    line = decoded.number
    if options.sobject is None:
        raise FileRefused(_object_needed(_kind_of(header, line), header, reader))
    layout = _layout(header, line, options)
    return FailureFile(layout.kind, _csv_rows(reader, decoded, layout))


def _object_needed(kind: str, header: list[str], reader: Any) -> str:
    """Why ``--object`` is needed, with the object the first row's id points at, if any."""
    text = (
        f"--object SOBJECT is needed: a {kind} does not say which Salesforce object its rows "
        "are (for example --object Contact)"
    )
    id_columns = [i for i, name in enumerate(header) if name.lower() in ("sf__id", "id")]
    try:
        cells: list[str] = next(reader, [])
    except csv.Error:
        return text
    ids = [cells[i] for i in id_columns if i < len(cells) and _SF_ID.fullmatch(cells[i])]
    sobject = OBJECT_OF_PREFIX.get(ids[0][:3]) if ids else None
    if sobject is None:
        return text
    return f"{text}; its first row's id starts with {ids[0][:3]}, the prefix of {sobject}"


def _kind_of(header: list[str], line: int) -> str:
    """Which failure file the header at ``line`` starts, or why it is none."""
    names = set(header)
    lower = {h.lower() for h in header}
    if "sf__Created" in names:
        raise FileRefused(
            "this is a Bulk API 2.0 successfulResults file (it has sf__Created): it holds "
            "the records that were saved; ingest the job's failedResults file instead"
        )
    if "sf__Error" in names:
        return BULK
    if "ERROR" in names:
        return DATA_LOADER
    if lower >= {"id", "success", "created", "error"} and len(lower) == 4:
        raise FileRefused(
            "this is a Bulk API 1.0 batch result (Id, Success, Created, Error): it holds no "
            "fields to re-send; ingest Data Loader's error file or a Bulk API 2.0 "
            "failedResults file instead"
        )
    if "STATUS" in names:
        raise FileRefused(
            "this looks like a Data Loader success file (it has STATUS, no ERROR): ingest "
            "the error file Data Loader wrote next to it"
        )
    looks_like_data = any(_SF_ID.fullmatch(h) or _CODED.match(h) for h in header)
    first = ", ".join(repr(h) for h in header[:5]) + (", ..." if len(header) > 5 else "")
    missing = (
        "the file has no header line (its first line holds data)"
        if looks_like_data
        else f"the header ({first}) is not one synchealth knows"
    )
    raise FileRefused(f"line {line}: {missing}; expected {EXPECTED_HEADERS}")


def _layout(header: list[str], line: int, options: CsvOptions) -> _Layout:
    kind = _kind_of(header, line)
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise FileRefused(f"line {line}: the column {name!r} appears twice in the header")
        seen.add(name.lower())
    if options.sobject is None or not _FIELD.fullmatch(options.sobject):
        raise FileRefused(f"--object {options.sobject!r} is not a Salesforce API name")
    known = options.fields
    sobject = known.sobject if known is not None else options.sobject
    error_column = "sf__Error" if kind == BULK else "ERROR"
    # sf__Id first: the Id of the record as Salesforce saw it, then the job's own Id column
    ids = sorted(
        (i for i, name in enumerate(header) if name == "sf__Id" or name.lower() == "id"),
        key=lambda i: header[i] != "sf__Id",
    )
    fields: list[tuple[int, str, str | None]] = []
    not_names: list[str] = []
    unknown: list[str] = []
    mapping = options.column_map
    for index, name in enumerate(header):
        if name == error_column or index in ids:
            continue
        if mapping is not None:  # what Data Loader loaded the column into; else nothing
            targets = mapping.columns.get(name.lower(), ())
        elif COLUMN.fullmatch(name) is None or name.startswith("sf__"):
            not_names.append(name)
            continue
        else:
            targets = (name,)
        for target in targets:
            column = COLUMN.fullmatch(target)
            assert column is not None  # checked above, or by read_sdl
            field, rel = column["field"], column["rel"]
            if rel is not None:
                fields.append((index, field, rel[:-1]))
            elif known is None:
                fields.append((index, field, None))
            elif field.lower() in known.names:
                fields.append((index, known.names[field.lower()], None))
            else:
                unknown.append(target)
    if not_names:
        raise FileRefused(
            f"line {line}: these columns are not Salesforce field names, so their values "
            f"cannot be re-sent: {', '.join(map(repr, not_names))} (a Data Loader error file "
            "carries the columns of the file it loaded: give the load's mapping with --map "
            "FILE.sdl)"
        )
    if unknown and known is not None:
        raise FileRefused(
            f"line {line}: these columns are not fields of {sobject} (as {known.source} lists "
            f"them): {', '.join(unknown)}; is --object {options.sobject} the job's object?"
        )
    external_id = _external_id_column(options.external_id, fields, known is not None)
    return _Layout(
        kind=kind,
        header=header,
        error=header.index(error_column),
        ids=tuple(ids),
        fields=tuple(fields),
        external_id=external_id,
        sobject=sobject,
        fields_known=known,
        constants=dict(mapping.constants) if mapping is not None else {},
    )


def _external_id_column(
    wanted: str | None, fields: list[tuple[int, str, str | None]], known: bool
) -> tuple[int, str] | None:
    """The external id column and its field name, renamed in ``fields`` to the name given
    when the object's fields are not known (the column's may be Data Loader's capitals)."""
    if wanted is None:
        return None
    for n, (index, field, rel) in enumerate(fields):
        if rel is None and field.lower() == wanted.lower():
            if not known:
                fields[n] = (index, wanted, None)
            return index, fields[n][1]
    columns = ", ".join(field for _, field, rel in fields if rel is None)
    raise FileRefused(
        f"--external-id {wanted}: the file has no such column; its field columns are {columns}"
    )


def _csv_rows(reader: Any, decoded: _DecodedLines, layout: _Layout) -> Iterator[Entry]:
    last = decoded.number
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            why = (
                f"a cell is larger than {MAX_ITEM_BYTES // 2**20} MB"
                if "field limit" in str(exc)
                else f"not CSV ({exc}); a quote that is never closed takes the rest of the "
                "file into one cell"
            )
            raise FileRefused(
                f"lines {last + 1}-{decoded.number}: {why}. Nothing from this line on was sent"
            ) from exc
        first, last = last + 1, decoded.number
        if not cells:
            continue
        bad = [n for n in range(first, last + 1) if n in decoded.undecodable]
        if bad:
            yield Entry(
                bad[0],
                last,
                reason=f"{decoded.undecodable[bad[0]]}; {SHIFT_JIS_HINT}",
            )
            continue
        yield _row_entry(cells, first, last, layout)


def _row_entry(cells: list[str], first: int, last: int, layout: _Layout) -> Entry:
    header = layout.header
    if len(cells) != len(header):
        return Entry(
            first,
            last,
            reason=f"has {len(cells)} cells where the header has {len(header)} columns",
        )
    size = sum(map(len, cells))
    if size > MAX_ITEM_BYTES:
        return Entry(first, last, reason="the row is larger than a batch may be (4 MB)")
    error_text = cells[layout.error].strip()
    if not error_text:
        return Entry(
            first,
            last,
            reason=f"{header[layout.error]} is empty: a failed row says why it failed",
        )
    sf_id = next((cells[i].strip() for i in layout.ids if cells[i].strip()), None)
    if sf_id is not None and not _SF_ID.fullmatch(sf_id):
        return Entry(
            first,
            last,
            reason=f"{sf_id[:40]!r} is not a Salesforce id of 15 or 18 letters and digits",
        )
    fields: dict[str, Any] = dict(layout.constants)
    for index, field, rel in layout.fields:
        text = cells[index]
        if text == "":
            continue  # an empty cell changes nothing in a Bulk or Data Loader job
        value = None if text == BULK_NULL else _typed(layout, field, rel, text)
        if rel is not None:
            fields.setdefault(rel, {})[field] = value
        else:
            fields[field] = value
    salesforce: dict[str, Any] = {"object": layout.sobject}
    ext_index, ext_field = layout.external_id or (None, "")
    ext_value = cells[ext_index].strip() if ext_index is not None else ""
    if sf_id is not None:
        salesforce["id"] = sf_id
    elif ext_value:
        fields.pop(ext_field, None)
        salesforce["external_id"] = {"field": ext_field, "value": ext_value}
    salesforce["fields"] = fields
    item = {
        "object_type": layout.sobject.lower(),
        "record_id": _record_id(sf_id, ext_value, cells),
        "record_name": _record_name(fields),
        "salesforce": salesforce,
        "errors": [parse_error_text(error_text)],
    }
    return Entry(
        first,
        last,
        item=item,
        raw=orjson.dumps(item, option=orjson.OPT_SORT_KEYS),
        resyncable=sf_id is not None or bool(ext_value),
    )


def _typed(layout: _Layout, field: str, rel: str | None, text: str) -> Any:
    """A cell as JSON: numbers and checkboxes typed when the object's fields are known."""
    known = layout.fields_known
    if known is None or rel is not None:
        return text
    kind = known.kinds.get(field, "")
    if kind in _NUMBER_KINDS and _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _record_id(sf_id: str | None, ext_value: str, cells: list[str]) -> str:
    """The record's id in the ledger: its Salesforce id, its external id, else the row's hash."""
    if sf_id is not None:
        return sf_id
    if _RECORD_ID.fullmatch(ext_value):
        return ext_value
    digest = hashlib.sha256("\x1f".join(cells).encode("utf-8", "surrogatepass")).hexdigest()
    return f"row-{digest[:20]}"


def _record_name(fields: Mapping[str, Any]) -> str:
    by_lower = {name.lower(): value for name, value in fields.items()}

    def text(name: str) -> str:  # Data Loader's columns may be in capitals
        value = by_lower.get(name.lower())
        return value.strip() if isinstance(value, str) else ""

    person = " ".join(p for p in (text("FirstName"), text("LastName")) if p)
    return text("Name") or person or text("Subject") or text("Email")
