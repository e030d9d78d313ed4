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

A new or regular file is written to a temporary name in the target folder and renamed
over the target only when complete (keeping the old file's mode); a device, a FIFO or
a symlink is written in place, never replaced (``write_file``).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import stat
import tempfile
from collections.abc import Callable, Generator, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from tui.core.catalog import UNKNOWN, load_catalog
from tui.core.lang import Lang
from tui.core.models import ERROR_TYPES
from tui.data.cache import Cache, ViewFilter
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
#: The only cells that can hold a NUL: the service refuses control characters in ids,
#: codes and object names (tui/service/ingest.py), and the titles are our catalog's.
_FREE_TEXT = ("record_name", "message", "fields")
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
    printf (like length()) stops a text at its first NUL, while replace() and ``||``
    keep it: a line whose free text holds a NUL is built by concatenation, so the cell
    keeps the NUL byte exactly as the engine reported it (docs/reliability.md); every
    other line takes the faster printf.
    """
    formats: list[str] = []
    args: list[str] = []
    joined: list[str] = []
    texts: list[str] = []
    for column in EXPORT_COLUMNS:
        if column in _INTEGERS:
            formats.append("%d")
            args.append(_INTEGERS[column])
            joined.append(_INTEGERS[column])
            continue
        if column == "type" and type_titles:
            cases = " ".join(
                f"WHEN {_sql_text(code)} THEN {_sql_text(title)}"
                for code, title in type_titles.items()
            )
            expr = f"CASE e.type {cases} ELSE e.type END"
        else:
            expr = _TEXT_EXPR.get(column, f"e.{column}")
        formats.append('"%w"')
        args.append(expr)
        joined.append(f"""'"' || replace({expr}, '"', '""') || '"'""")
        if column in _FREE_TEXT:
            texts.append(expr)
    has_nul = " OR ".join(f"instr({expr}, char(0))" for expr in texts)
    exact = " || ',' || ".join(joined)
    fast = f"printf('{','.join(formats)}', {', '.join(args)})"
    return f"CASE WHEN {has_nul} THEN {exact} ELSE {fast} END"


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


def column_titles(lang: Lang) -> tuple[str, ...]:
    """The header in words of ``lang`` (from the locale files), in EXPORT_COLUMNS order."""
    words = strings(lang)
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


def _fail(path: Path, exc: OSError) -> ExportError:
    if isinstance(exc, PermissionError):
        return ExportError(f"Cannot export to {path}: permission denied.")
    return ExportError(f"Cannot export to {path}: {exc.strerror or exc}.")


def _existing(path: Path) -> os.stat_result | None:
    """``lstat`` of ``path`` (the link itself for a symlink), None when nothing is there."""
    try:
        return path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _fail(path, exc) from exc


def _check_new(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        raise ExportError(f"Cannot export to {path}: the folder {parent} does not exist.")
    if not parent.is_dir():
        raise ExportError(f"Cannot export to {path}: {parent} is not a folder.")


def _check_link(path: Path) -> None:
    """A symlink is written through (in place), never renamed over: check where it leads."""
    try:
        target = path.stat()
    except FileNotFoundError as exc:
        raise ExportError(
            f"Cannot export to {path}: it is a link to {os.readlink(path)}, which does not exist."
        ) from exc
    except OSError as exc:
        raise _fail(path, exc) from exc
    if stat.S_ISDIR(target.st_mode):
        raise ExportError(f"Cannot export to {path}: it is a link to a folder. Give a file name.")


def _write_in_place(
    path: Path,
    blocks: Iterable[tuple[bytes, int]],
    bom: bool,
    progress: Callable[[int], None] | None,
    header_row: Sequence[str],
) -> int:
    """Write into what ``path`` names (a device, a FIFO, through a symlink): no rename."""
    try:
        with open(path, "wb", buffering=1 << 20) as stream:
            return write_stream(stream, blocks, bom=bom, progress=progress, header_row=header_row)
    except OSError as exc:
        raise _fail(path, exc) from exc


def _write_replacing(
    path: Path,
    blocks: Iterable[tuple[bytes, int]],
    bom: bool,
    progress: Callable[[int], None] | None,
    header_row: Sequence[str],
    mode: int,
) -> int:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except PermissionError as exc:
        raise ExportError(
            f"Cannot export to {path}: permission denied to write in {path.parent}."
        ) from exc
    except OSError as exc:
        raise _fail(path, exc) from exc
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
        raise _fail(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return written


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
    mode: int | None = None,
    header_row: Sequence[str] = EXPORT_COLUMNS,
) -> int:
    """Write the CSV to ``path``; how depends on what is there (docs/reliability.md).

    A new path or a regular file: a temporary file beside it, renamed over it only when
    complete (on any failure ``path`` is left as it was); an existing file keeps its
    mode, a read-only one is refused. A new file gets ``mode`` (default 0666 less the
    umask). A symlink, a device or a FIFO is written in place: never replaced.
    """
    path = Path(path).expanduser()
    found = _existing(path)
    if found is None:
        _check_new(path)
        chosen = (0o666 & ~_umask()) if mode is None else mode
        return _write_replacing(path, blocks, bom, progress, header_row, chosen)
    if stat.S_ISDIR(found.st_mode):
        raise ExportError(f"Cannot export to {path}: it is a folder. Give a file name.")
    if stat.S_ISLNK(found.st_mode):
        _check_link(path)
        return _write_in_place(path, blocks, bom, progress, header_row)
    if not stat.S_ISREG(found.st_mode):
        return _write_in_place(path, blocks, bom, progress, header_row)
    if not found.st_mode & 0o222:
        raise ExportError(f"Cannot export to {path}: the file is read-only.")
    return _write_replacing(path, blocks, bom, progress, header_row, stat.S_IMODE(found.st_mode))


async def export_csv(
    cache: Cache,
    target: Path | BinaryIO,
    *,
    f: ViewFilter | None = None,
    ids: Sequence[int] | None = None,
    lang: Lang = "en",
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
    return await write_target(target, blocks, bom=bom, progress=report, header_row=header_row)


async def write_target(
    target: Path | BinaryIO,
    blocks: Iterable[tuple[bytes, int]],
    *,
    bom: bool,
    progress: Callable[[int], None] | None,
    header_row: Sequence[str],
) -> int:
    """In a thread: :func:`write_file` to a path, :func:`write_stream` to a stream."""
    if isinstance(target, (str, Path)):
        return await asyncio.to_thread(
            write_file, Path(target), blocks, bom=bom, progress=progress, header_row=header_row
        )
    try:
        return await asyncio.to_thread(
            write_stream, target, blocks, bom=bom, progress=progress, header_row=header_row
        )
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise ExportError(f"Cannot write the export: {exc.strerror or exc}.") from exc
