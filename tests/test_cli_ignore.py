"""``synchealth ignore`` / ``unignore`` against a real service over HTTP on loopback
(uvicorn on a free port) on a ledger of each engine: a SQLite file, then a schema of the
real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pg_harness import ledger_rows
from test_cli_ingest import API_TOKEN, served
from test_ingest import open_ids

from tui.cli import main
from tui.i18n import set_lang
from tui.service.db import PostgresTarget


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def status_of(db: Path | PostgresTarget, ids: list[int]) -> list[str]:
    found = dict(asyncio.run(ledger_rows(db, "SELECT id, status FROM errors")))
    return [found[i] for i in ids]


def test_ignore_and_unignore_from_the_command_line(
    tmp_path: Path, ledger_target: Path | PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(tmp_path, ledger_target) as (url, _, db):
        auth = ("--url", url, "--token", API_TOKEN)
        ids = asyncio.run(open_ids(db, limit=3))
        code, out, err = run(capsys, "ignore", *map(str, ids), "--reason", "CRM fix", "--until",
                             "7d", *auth)  # fmt: skip
        assert (code, out, err) == (0, "Ignored 3 errors.\n", "")
        assert status_of(db, ids) == ["ignored"] * 3
        sql = "SELECT reason, expires_at FROM ignores"
        ((reason, expires),) = asyncio.run(ledger_rows(db, sql))
        assert reason == "CRM fix" and expires is not None

        code, out, err = run(capsys, "unignore", str(ids[0]), str(ids[0] + 10_000_000), *auth)
        assert code == 1 and "No sync error has the id" in err and out == ""
        assert status_of(db, ids) == ["ignored"] * 3  # nothing changed

        code, out, _ = run(capsys, "unignore", str(ids[0]), *auth)
        assert (code, out) == (0, "1 error is open again.\n")
        code, out, _ = run(capsys, "unignore", *map(str, ids), *auth)
        assert out == "2 errors are open again.\n1 error was not ignored and stays as it is.\n"
        assert status_of(db, ids) == ["open"] * 3

        try:
            code, out, _ = run(capsys, "ignore", str(ids[1]), "--reason", "後で", "--lang", "ja",
                               *auth)  # fmt: skip
            assert (code, out) == (0, "1 件のエラーを無視しました。\n")
        finally:
            set_lang("en")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("1", "--reason", "x", "--until", "2001-01-01"), "is not after today"),
        (("1", "--reason", "x", "--until", "soon"), "is not a date"),
        (("1", "--reason", "x", "--until", "0d"), "from 1 to 3660 days"),
        (("1", "--reason", "   "), "Give a reason"),
        (("--reason", "x"), "name error ids or --cause KEY"),
        (("1", "--cause", "0123456789abcdef", "--reason", "x"), "name error ids or --cause KEY"),
    ],
)
def test_bad_input_is_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    code, out, err = run(capsys, "ignore", *args, "--url", "http://127.0.0.1:9")
    assert code == 2 and out == "" and says in err


def test_a_missing_reason_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["ignore", "1"])
    assert stopped.value.code == 2 and "--reason" in capsys.readouterr().err
