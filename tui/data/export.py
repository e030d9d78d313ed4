"""Streaming CSV export of sync errors.

Each CSV line is formatted inside SQLite (``printf``) by the cache's export thread
(``Cache.iter_lines``), a block of lines at a time, so Python only moves a few big
strings and the whole set is never in memory. Text cells are always quoted (``%w``
doubles the quotes inside), which every CSV reader reads exactly as it reads
csv.writer's output; the header is written by the csv module.

Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) get a leading single quote. In a block every text cell starts with
``,"``, while a quote inside a cell is always doubled, so ``,"`` followed by
anything but another quote is exactly the start of a cell: one regular expression
over the block escapes them all (``escape_block``), much faster than a test per cell.

A file is written to a temporary name in the target folder and renamed over the
target only when complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Generator, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from tui.data.cache import Cache, ViewFilter
from tui.data.catalog import UNKNOWN, load_catalog
from tui.data.models import ERROR_TYPES
from tui.i18n import strings

#: Header of the CSV, in column order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "type", "subtype", "subtype_title", "object_type", "record_id", "record_name",
    "sf_object", "sf_id", "direction", "sf_code", "message", "fields", "first_seen",
    "last_seen", "attempts", "status",
)  # fmt: skip

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_CELL_TO_ESCAPE = re.compile(rb',"(?=[=+\-@\t\r])')

_TITLE = "coalesce(t.title, (SELECT title FROM temp.titles WHERE subtype = ''))"
_INTEGERS = {"id": "e.id", "attempts": "e.attempts"}
#: Text cells that are not just the column (printf would write NULL as "(NULL)").
_TEXT_EXPR = {"subtype_title": _TITLE, "sf_id": "ifnull(e.sf_id, '')"}


class ExportError(Exception):
    """The export could not be written; ``message`` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def escape_cell(value: str) -> str:
    """``value`` made safe for a spreadsheet: the rule ``escape_block`` applies."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def escape_block(block: bytes) -> bytes:
    """Escape every formula-like text cell of a block of LINE lines (see the module doc)."""
    return _CELL_TO_ESCAPE.sub(b",\"'", block)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def line_sql(type_titles: dict[str, str] | None = None) -> str:
    """The SELECT expression for ``Cache.iter_lines``: one CSV line in EXPORT_COLUMNS order.

    With ``type_titles`` the type cell holds the type's title instead of its code.
    """
    formats: list[str] = []
    args: list[str] = []
    for column in EXPORT_COLUMNS:
        if column in _INTEGERS:
            formats.append("%d")
            args.append(_INTEGERS[column])
        elif column == "type" and type_titles:
            cases = " ".join(
                f"WHEN {_sql_text(code)} THEN {_sql_text(title)}"
                for code, title in type_titles.items()
            )
            formats.append('"%w"')
            args.append(f"CASE e.type {cases} ELSE e.type END")
        else:
            formats.append('"%w"')
            args.append(_TEXT_EXPR.get(column, f"e.{column}"))
    return f"printf('{','.join(formats)}', {', '.join(args)})"


#: The machine line: codes, as the service names them.
LINE = line_sql()


def subtype_titles(lang: str) -> dict[str, str]:
    """Subtype code -> title in ``lang``; '' maps to the title of unknown subtypes."""
    catalog = load_catalog()
    titles = {code: catalog.subtype(code).text(lang).title for code in catalog.subtype_codes}
    titles[""] = catalog.subtype(UNKNOWN).text(lang).title
    return titles


def type_titles(lang: str) -> dict[str, str]:
    """Type code -> title in ``lang``."""
    catalog = load_catalog()
    return {code: catalog.type(code).text(lang).title for code in ERROR_TYPES}


def column_titles(lang: str) -> tuple[str, ...]:
    """The header in words of ``lang`` (from the locale files), in EXPORT_COLUMNS order."""
    words = strings(lang)  # type: ignore[arg-type]
    return tuple(words.get(f"export.columns.{column}", column) for column in EXPORT_COLUMNS)


def write_stream(
    stream: BinaryIO,
    blocks: Iterable[tuple[bytes, int]],
    *,
    bom: bool = False,
    progress: Callable[[int], None] | None = None,
    header_row: Sequence[str] = EXPORT_COLUMNS,
) -> int:
    """Write the header and the blocks of CSV lines as UTF-8 to a binary stream; rows."""
    header = io.StringIO(newline="")
    csv.writer(header).writerow(header_row)
    stream.write((("\ufeff" if bom else "") + header.getvalue()).encode("utf-8"))
    written = 0
    try:
        for block, rows in blocks:
            stream.write(escape_block(block))
            written += rows
            if progress is not None:
                progress(written)
    finally:
        if isinstance(blocks, Generator):
            blocks.close()  # stop the cache's export thread now, not at garbage collection
    stream.flush()
    return written


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise ExportError(f"Cannot export to {path}: it is a folder. Give a file name.")
    parent = path.parent
    if not parent.exists():
        raise ExportError(f"Cannot export to {path}: the folder {parent} does not exist.")
    if not parent.is_dir():
        raise ExportError(f"Cannot export to {path}: {parent} is not a folder.")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file(
    path: Path,
    blocks: Iterable[tuple[bytes, int]],
    *,
    bom: bool = False,
    progress: Callable[[int], None] | None = None,
    mode: int = 0o644,
    header_row: Sequence[str] = EXPORT_COLUMNS,
) -> int:
    """Write the CSV to a temporary file beside ``path``, then rename it over ``path``.

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path).expanduser()
    _check_target(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except PermissionError as exc:
        raise ExportError(
            f"Cannot export to {path}: permission denied to write in {path.parent}."
        ) from exc
    except OSError as exc:
        raise ExportError(f"Cannot export to {path}: {exc.strerror or exc}.") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as stream:
            written = write_stream(
                stream, blocks, bom=bom, progress=progress, header_row=header_row
            )
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, PermissionError):
            raise ExportError(f"Cannot export to {path}: permission denied.") from exc
        raise ExportError(f"Cannot export to {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return written


async def export_csv(
    cache: Cache,
    target: Path | BinaryIO,
    *,
    f: ViewFilter | None = None,
    ids: Sequence[int] | None = None,
    lang: str = "en",
    bom: bool = False,
    progress: Callable[[int], None] | None = None,
    raw: bool = True,
) -> int:
    """Export the errors of ``f`` (every status when None) or ``ids`` to a file or stream.

    ``ids`` are written in their order. ``raw`` keeps the machine header and type codes;
    otherwise the header and the type cells are in the words of ``lang``. The work runs
    in threads; ``progress`` (rows written so far) is called on the event loop's thread.
    Returns the number of rows written.
    """
    loop = asyncio.get_running_loop()
    report = None
    if progress is not None:
        callback = progress

        def report(n: int) -> None:
            loop.call_soon_threadsafe(callback, n)

    line = LINE if raw else line_sql(type_titles(lang))
    header_row = EXPORT_COLUMNS if raw else column_titles(lang)
    blocks = cache.iter_lines(line, f, ids, subtype_titles(lang))
    if isinstance(target, (str, Path)):
        mode = 0o666 & ~_umask()
        return await asyncio.to_thread(
            write_file,
            Path(target),
            blocks,
            bom=bom,
            progress=report,
            mode=mode,
            header_row=header_row,
        )
    return await asyncio.to_thread(
        write_stream, target, blocks, bom=bom, progress=report, header_row=header_row
    )
