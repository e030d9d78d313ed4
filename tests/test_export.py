"""Streaming CSV export: exact cells, formula escaping, BOM, atomic and safe writing.

The exports are read from the console's cache, a SQLite file on every install; the CLI
runs on the embedded demo (a SQLite ledger by design) and, in
:func:`test_cli_export_of_a_served_ledger_matches_its_rows`, against a real
``synchealth serve`` on each engine."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from pg_harness import ledger_rows
from test_tokens import serving

from tui.data.cache import Cache, ViewFilter
from tui.data.export import (
    EXPORT_COLUMNS,
    LINE,
    ExportError,
    column_titles,
    escape_block,
    escape_cell,
    export_csv,
    subtype_titles,
    type_titles,
    write_file,
)
from tui.service.db import parse_target

TRICKY = [
    "=1+2",
    "+81 3 1234",
    "-5",
    "@SUM(A1)",
    "\tTabbed",
    "\rReturn",
    'say "hi", then =go',
    'x,"=y',
    '"=quoted"',
    ',"-',
    "line one\nline two",
    "ローソン, 渋谷店",
    "plain",
    "",
    "a;b",
]


def row(id: int, name: str, message: str = "msg", status: str = "open", **kw: object) -> list:
    return [
        id, id, "picklist", "picklist.restricted_value", "contact", f"r{id}", name, "Lead",
        kw.get("sf_id", "00Q1"), "to_salesforce", kw.get("sf_code", "CODE"), message,
        kw.get("fields", ["LeadSource", "Status"]), "2025-05-01T00:00:00Z",
        "2025-06-01T00:00:00Z", 2, status,
    ]  # fmt: skip


@pytest.fixture
async def cache(tmp_path: Path):
    c = await Cache.open(tmp_path / "cache.sqlite3")
    rows = [row(i + 1, name, message=name[::-1]) for i, name in enumerate(TRICKY)]
    rows.append(row(100, "Nobody", sf_id=None, fields=[], status="resolved", sf_code="=CMD"))
    rows.append(row(101, "Unknown sub"))
    rows[-1][3] = "picklist.no_such_subtype"
    await c.apply_changes(rows, 101)
    yield c
    await c.close()


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


async def test_cells_round_trip_and_formulas_are_escaped(cache: Cache, tmp_path: Path) -> None:
    out = tmp_path / "errors.csv"
    n = await export_csv(cache, out)
    assert n == len(TRICKY) + 2
    table = read(out)
    assert tuple(table[0]) == EXPORT_COLUMNS
    body = {int(r[0]): dict(zip(EXPORT_COLUMNS, r, strict=True)) for r in table[1:]}
    titles = subtype_titles("en")
    for i, name in enumerate(TRICKY, 1):
        cells = body[i]
        assert cells["record_name"] == escape_cell(name), name
        assert cells["message"] == escape_cell(name[::-1]), name
        assert cells["subtype_title"] == titles["picklist.restricted_value"]
        assert cells["fields"] == "LeadSource;Status"
        assert cells["attempts"] == "2"
    assert body[1]["record_name"] == "'=1+2"
    assert body[5]["record_name"] == "'\tTabbed"
    assert body[7]["record_name"] == 'say "hi", then =go'  # only the first character counts
    assert body[100]["sf_id"] == "" and body[100]["fields"] == ""
    assert body[100]["sf_code"] == "'=CMD"
    assert body[101]["subtype_title"] == titles[""]
    # no cell of the file starts like a formula
    for r in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in r)


def test_block_escaping_matches_the_cell_rule() -> None:
    """escape_block over csv lines quoted like LINE equals escape_cell on each cell."""

    def quoted(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"'

    lines = []
    for a in TRICKY:
        for b in TRICKY:
            lines.append(f"7,{quoted(a)},{quoted(b)},3\r\n")
    block = escape_block("".join(lines).encode("utf-8")).decode("utf-8")
    parsed = list(csv.reader(io.StringIO(block, newline="")))
    expected = [["7", escape_cell(a), escape_cell(b), "3"] for a in TRICKY for b in TRICKY]
    assert parsed == expected


async def test_filter_ids_bom_and_japanese_titles(cache: Cache, tmp_path: Path) -> None:
    out = tmp_path / "marked.csv"
    n = await export_csv(cache, out, ids=[12, 3, 999, 1], bom=True, lang="ja")
    assert n == 3
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,type,")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r[0] for r in table[1:]] == ["12", "3", "1"]  # the order asked
    assert table[1][3] == subtype_titles("ja")["picklist.restricted_value"]
    assert table[1][3] != subtype_titles("en")["picklist.restricted_value"]

    resolved = tmp_path / "resolved.csv"
    assert await export_csv(cache, resolved, f=ViewFilter(status="resolved")) == 1
    assert read(resolved)[1][0] == "100"
    assert not out.with_suffix(".csv.tmp").exists()


async def test_streams_in_many_blocks_with_progress(tmp_path: Path) -> None:
    c = await Cache.open(tmp_path / "big.sqlite3")
    try:
        await c.apply_changes([row(i, f"n{i}") for i in range(1, 5001)], 5000)
        blocks = list(c.iter_lines("printf('%d', e.id)", None, None, {"": "?"}, chunk=700))
        assert len(blocks) == 8 and all(rows <= 700 for _, rows in blocks)
        expected = "".join(f"{i}\r\n" for i in range(1, 5001)).encode()
        assert b"".join(b for b, _ in blocks) == expected
        seen: list[int] = []
        buffer = io.BytesIO()
        n = await export_csv(c, buffer, f=ViewFilter(text="n4"), progress=seen.append)
        assert n == 1111  # n4, n40..n49, n400..n499, n4000..n4999
        assert seen and seen[-1] == n
        assert buffer.getvalue().count(b"\r\n") == n + 1
    finally:
        await c.close()


async def test_replaces_an_existing_file_atomically(cache: Cache, tmp_path: Path) -> None:
    out = tmp_path / "errors.csv"
    out.write_text("old contents")
    await export_csv(cache, out)
    assert read(out)[0][0] == "id"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".errors")] == []
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "missing" / "out.csv", "does not exist"),
        (lambda d: d, "is a folder"),
    ],
)
async def test_unwritable_targets(cache: Cache, tmp_path: Path, make, words: str) -> None:
    target = make(tmp_path / "t")
    (tmp_path / "t").mkdir()
    before = sorted(p.name for p in (tmp_path / "t").iterdir())
    with pytest.raises(ExportError, match=words):
        await export_csv(cache, target)
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
async def test_permission_denied_leaves_nothing(cache: Cache, tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="permission denied"):
            await export_csv(cache, locked / "out.csv")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


async def test_a_failure_midway_leaves_the_old_file(cache: Cache, tmp_path: Path) -> None:
    out = tmp_path / "errors.csv"
    out.write_text("old contents")

    def boom(n: int) -> None:
        raise RuntimeError("disk on fire")

    blocks = cache.iter_lines(LINE, None, None, subtype_titles("en"))
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_file(out, blocks, progress=boom)
    assert out.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".errors")] == []


@pytest.fixture(scope="module")
def cli_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A private demo ledger (2000 errors): the CLI's service writes usage into it."""
    from tui.embedded import ensure_demo_ledger

    data = tmp_path_factory.mktemp("cli-data")
    ensure_demo_ledger(2000, data)
    return {"data": data}


def run_cli(dirs: dict[str, Path], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        SYNCHEALTH_DATA_DIR=str(dirs["data"]),
        SYNCHEALTH_CACHE_DIR=str(tmp_path / "cache"),
        LC_ALL="C",
    )
    return subprocess.run(
        [sys.executable, "-m", "tui", "export", *args], capture_output=True, env=env, timeout=120
    )


def test_cli_export_to_a_file_and_to_stdout(cli_dirs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "picklist.csv"
    done = run_cli(cli_dirs, tmp_path, "--type", "picklist", "--bom", "--raw", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,")
    table = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"), newline="")))
    assert len(table) > 1 and {r[1] for r in table[1:]} == {"picklist"}
    assert {r[16] for r in table[1:]} == {"open"}
    assert f"{len(table) - 1:,} errors written" in done.stderr.decode()

    piped = run_cli(cli_dirs, tmp_path, "--status", "all", "--lang", "ja")
    assert piped.returncode == 0, piped.stderr
    rows = list(csv.reader(io.StringIO(piped.stdout.decode("utf-8"), newline="")))
    assert len(rows) == 2001  # header + every demo error
    # without --raw the header and the type cells are in the session's language
    assert tuple(rows[0]) == column_titles("ja") and rows[0][0] != "id"
    assert {r[1] for r in rows[1:]} <= set(type_titles("ja").values())
    assert {r[16] for r in rows[1:]} == {"open", "resolved"}
    assert piped.stderr == b""  # no progress when stderr is not a terminal


def test_cli_export_to_an_unwritable_path_fails_cleanly(
    cli_dirs: dict[str, Path], tmp_path: Path
) -> None:
    done = run_cli(cli_dirs, tmp_path, "-o", str(tmp_path / "no" / "such" / "dir.csv"))
    assert done.returncode == 1
    assert b"does not exist" in done.stderr and done.stdout == b""
    assert not (tmp_path / "no").exists()


def test_cli_export_with_the_service_down_and_no_cache(
    cli_dirs: dict[str, Path], tmp_path: Path
) -> None:
    done = run_cli(
        cli_dirs,
        tmp_path,
        "--url",
        "http://127.0.0.1:9",
        "-o",
        str(tmp_path / "x.csv"),
    )
    assert done.returncode == 1
    assert b"no cached copy" in done.stderr and b"Cannot reach" in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_cli_export_of_a_served_ledger_matches_its_rows(tmp_path: Path, engine: str) -> None:
    """Every error of a served ledger, through the change feed into the cache and out as
    CSV, cell for cell as the ledger holds it (texts, times and counts alike)."""
    with serving(engine, tmp_path) as (url, db, _):
        done = run_cli({"data": tmp_path / "data"}, tmp_path, "--url", url, "--status", "all",
                       "--raw")  # fmt: skip
        columns = [c for c in EXPORT_COLUMNS if c != "subtype_title"]
        sql = f"SELECT {', '.join(columns)} FROM errors ORDER BY id"
        held = asyncio.run(ledger_rows(parse_target(db), sql))
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout.decode("utf-8"), newline="")))
    assert len(table) == len(held) == 200
    for line, row in zip(sorted(table, key=lambda r: int(r["id"])), held, strict=True):
        want = dict(zip(columns, row, strict=True))
        want["fields"] = ";".join(orjson.loads(want["fields"]))
        assert {c: line[c] for c in columns} == {c: escape_cell(str(v or "")) for c, v in
                                                 want.items()}  # fmt: skip
