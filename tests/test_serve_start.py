"""Issue 16 points 7 and 14: ``synchealth serve`` with a ledger path it cannot use.

Each case runs the real command as a process: it must exit non-zero at once with one
line on stderr (no traceback), and create nothing. SQLite only: the cases are ledger
files; a PostgreSQL URL that cannot be used is tests/test_serve_postgres.py's.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_serve_loopback import free_port


def serve_once(db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    return subprocess.run(
        [sys.executable, "-m", "tui", "serve", "--demo", "--demo-size", "20", "--db", str(db),
         "--port", str(free_port())],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def _noise(path: Path, head: bytes = b"") -> Path:
    path.write_bytes(head + random.Random(7).randbytes(8192))
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: _noise(d / "noise.sqlite3"), "is not a SQLite file"),
        (lambda d: _noise(d / "fake.sqlite3", b"SQLite format 3\x00"), "file is not a database"),
        (lambda d: d, "is a folder"),
        (lambda d: d / "nonexistent" / "x.sqlite3", "does not exist; create it first"),
    ],
    ids=["not-sqlite", "sqlite-header-then-noise", "folder", "missing-folder"],
)
def test_serve_with_an_unusable_ledger_says_so_in_one_line(tmp_path: Path, make, words) -> None:
    db = make(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    done = serve_once(db)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("synchealth serve: ")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing created


async def test_a_ledger_that_fails_to_open_leaves_no_thread_behind(tmp_path: Path) -> None:
    """The thread of a half-opened connection kept a failed ``serve`` from ever exiting."""
    import asyncio
    import threading

    from tui.service.ledger import Ledger, LedgerError

    before = set(threading.enumerate())
    ledger = Ledger(_noise(tmp_path / "fake.sqlite3", b"SQLite format 3\x00"))
    with pytest.raises(LedgerError, match="not a database"):
        await ledger.open()
    for _ in range(100):  # a closed connection's thread ends just after close() returns
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        if not left:
            break
        await asyncio.sleep(0.02)
    assert left == []
