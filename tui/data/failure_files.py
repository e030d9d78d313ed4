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
from collections.abc import Iterable, Iterator

import orjson

from tui.data.failure_csv import csv_file
from tui.data.failure_entries import (
    EMPTY,
    JSON_LINES,
    MAX_ITEM_BYTES,
    CsvOptions,
    Entry,
    FailureFile,
)

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
    return csv_file(replay, options)


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
