"""Streaming CSV export of sync errors.

Rows come from the cache in chunks (``Cache.iter_select``) and go straight to
``csv.writer.writerows``: the whole set is never in memory. Cells that a spreadsheet
would run as a formula (starting with = + - @, a tab or a carriage return) get a
leading single quote; that escaping and the subtype titles are done inside SQLite's
SELECT, so the Python side is one tight loop. A file is written to a temporary name
in the target folder and renamed over the target only when complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from tui.data.cache import Cache, ViewFilter
from tui.data.catalog import UNKNOWN, load_catalog

#: Header of the CSV, in column order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "type", "subtype", "subtype_title", "object_type", "record_id", "record_name",
    "sf_object", "sf_id", "direction", "sf_code", "message", "fields", "first_seen",
    "last_seen", "attempts", "status",
)  # fmt: skip

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_SQL_STARTS = "'=', '+', '-', '@', char(9), char(13)"


class ExportError(Exception):
    """The export could not be written; ``message`` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def escape_cell(value: str) -> str:
    """``value`` made safe for a spreadsheet (the rule the SQL below applies)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _safe(expr: str) -> str:
    return f"CASE WHEN substr({expr}, 1, 1) IN ({_SQL_STARTS}) THEN '''' || {expr} ELSE {expr} END"


_TITLE = "coalesce(t.title, (SELECT title FROM temp.titles WHERE subtype = ''))"

#: The SELECT list for ``Cache.iter_select`` producing EXPORT_COLUMNS, escaped.
SELECT = ", ".join(
    [
        "e.id",
        *(_safe(f"e.{c}") for c in ("type", "subtype")),
        _safe(_TITLE),
        *(
            _safe(f"e.{c}")
            for c in (
                "object_type",
                "record_id",
                "record_name",
                "sf_object",
                "sf_id",
                "direction",
                "sf_code",
                "message",
                "fields",
                "first_seen",
                "last_seen",
            )  # fmt: skip
        ),
        "e.attempts",
        _safe("e.status"),
    ]
)


def subtype_titles(lang: str) -> dict[str, str]:
    """Subtype code -> title in ``lang``; '' maps to the title of unknown subtypes."""
    catalog = load_catalog()
    titles = {code: catalog.subtype(code).text(lang).title for code in catalog.subtype_codes}
    titles[""] = catalog.subtype(UNKNOWN).text(lang).title
    return titles


def write_stream(
    stream: BinaryIO,
    chunks: Iterable[list[tuple]],
    *,
    bom: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the header and every chunk as UTF-8 CSV to a binary stream; rows written."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
    try:
        if bom:
            text.write("\ufeff")
        writer = csv.writer(text)
        writer.writerow(EXPORT_COLUMNS)
        written = 0
        for chunk in chunks:
            writer.writerows(chunk)
            written += len(chunk)
            if progress is not None:
                progress(written)
        text.flush()
    finally:
        text.detach()
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
    chunks: Iterable[list[tuple]],
    *,
    bom: bool = False,
    progress: Callable[[int], None] | None = None,
    mode: int = 0o644,
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
            written = write_stream(stream, chunks, bom=bom, progress=progress)
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
) -> int:
    """Export the errors of ``f`` (all statuses when None) or ``ids`` to a file or stream.

    The work runs in a thread; ``progress`` (rows written so far) is called on the
    event loop's thread.
    """
    loop = asyncio.get_running_loop()
    report = None
    if progress is not None:

        def report(n: int) -> None:
            loop.call_soon_threadsafe(progress, n)

    titles = subtype_titles(lang)
    chunks = cache.iter_select(SELECT, f, ids, titles)
    if isinstance(target, (str, Path)):
        mode = 0o666 & ~_umask()
        return await asyncio.to_thread(
            write_file, Path(target), chunks, bom=bom, progress=report, mode=mode
        )
    return await asyncio.to_thread(write_stream, target, chunks, bom=bom, progress=report)
