"""CSV export of every row: tui.data.export.export_csv vs the sqlite3 command-line shell.

Both read the same filled cache file and write the same 17 columns (the shell gets the
subtype titles as a temp table, as the export does) in id order to a file.
Target (DESIGN.md section 7): export_csv within 2x the shell's time.

    python bench/export.py [--size N]
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

from _common import filled_cache, parse_size, workdir

from tui.data.cache import Cache
from tui.data.export import EXPORT_COLUMNS, export_csv, subtype_titles

SHELL = shutil.which("sqlite3") or "/usr/bin/sqlite3"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def shell_script(out: Path, lang: str) -> str:
    """The sqlite3 shell commands writing the export's columns as CSV to ``out``."""
    titles = subtype_titles(lang)
    values = ",".join(f"({_quote(k)},{_quote(v)})" for k, v in titles.items())
    columns = ", ".join(
        "coalesce(t.title, (SELECT title FROM temp.titles WHERE subtype = '')) AS subtype_title"
        if c == "subtype_title"
        else f"e.{c}"
        for c in EXPORT_COLUMNS
    )
    return (
        "CREATE TEMP TABLE titles (subtype TEXT PRIMARY KEY, title TEXT);\n"
        f"INSERT INTO temp.titles VALUES {values};\n"
        f".output {out}\n"
        f"SELECT {columns} FROM errors e LEFT JOIN temp.titles t ON t.subtype = e.subtype "
        "ORDER BY e.id;\n"
        ".output stdout\n"
    )


def _runs(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in seconds)


def run_shell(db: Path, out: Path) -> float:
    script = shell_script(out, "en")
    started = time.perf_counter()
    subprocess.run(
        [SHELL, "-readonly", "-csv", "-header", str(db)], input=script, text=True, check=True
    )
    return time.perf_counter() - started


async def run_export(db: Path, out: Path) -> tuple[float, int]:
    cache = await Cache.open(db)
    try:
        started = time.perf_counter()
        rows = await export_csv(cache, out, lang="en")
        return time.perf_counter() - started, rows
    finally:
        await cache.close()


async def main(size: int) -> None:
    db = await filled_cache(size)
    root = workdir(size)
    ours_out, shell_out = root / "export-ours.csv", root / "export-shell.csv"
    run_shell(db, shell_out)  # warm the page cache for both
    ours, shell = [], []
    for _ in range(3):
        seconds, rows = await run_export(db, ours_out)
        ours.append(seconds)
        shell.append(run_shell(db, shell_out))
    best_ours, best_shell = min(ours), min(shell)
    print(
        f"rows: {rows:,}; files: export_csv {ours_out.stat().st_size / 2**20:,.0f} MB "
        f"(every text cell quoted), shell {shell_out.stat().st_size / 2**20:,.0f} MB"
    )
    print(f"export_csv:    {best_ours:.2f} s (best of 3; runs {_runs(ours)})")
    print(f"sqlite3 -csv:  {best_shell:.2f} s (best of 3; runs {_runs(shell)})")
    print(f"ratio: {best_ours / best_shell:.2f}x (target <= 2x)")
    ours_out.unlink()
    shell_out.unlink()


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
