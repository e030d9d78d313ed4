"""Issue 16 points 1-3: what ``export`` writes into, what reaches a terminal, NUL bytes.

Real files only: a FIFO with a reading process, a character device node made with
mknod (a private twin of /dev/full), symlinks, read-only files, a pty as the CLI's
stdout, and the CLI run as a process on a cache left by an earlier run. SQLite only:
no ledger is read, only the console's cache (a SQLite file on every install).
"""

from __future__ import annotations

import csv
import io
import os
import pty
import select
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui.data.cache import Cache
from tui.data.export import ExportError, export_csv

NASTY_NAME = "\x1b]0;PWNED-TITLE\x07Acme"
CLEARING_MESSAGE = "before\x1b[2Jafter"
NUL_CELL = "NUL\x00BYTE"
DEAD_URL = "http://127.0.0.1:9"


def row(id: int, name: str, message: str = "msg") -> list:
    return [
        id, id, "picklist", "picklist.restricted_value", "contact", f"r{id}", name, "Lead",
        "00Q1", "to_salesforce", "CODE", message, ["Status"], "2025-05-01T00:00:00Z",
        "2025-06-01T00:00:00Z", 1, "open",
    ]  # fmt: skip


ROWS = [row(1, NASTY_NAME, CLEARING_MESSAGE), row(2, NUL_CELL, f"msg {NUL_CELL}"), row(3, "plain")]


@pytest.fixture
async def cache(tmp_path: Path):
    c = await Cache.open(tmp_path / "cache.sqlite3")
    await c.apply_changes([list(r) for r in ROWS], 3)
    yield c
    await c.close()


def cells(data: bytes) -> dict[int, list[str]]:
    table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return {int(r[0]): r for r in table[1:]}


# -- point 1: what is not a regular file is never replaced ---------------------------------


async def test_a_fifo_is_written_in_place_not_replaced(cache: Cache, tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    n = await export_csv(cache, fifo)
    out, _ = reader.communicate(timeout=30)
    assert n == 3 and set(cells(out)) == {1, 2, 3}
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


async def test_a_full_device_gives_a_clear_error_and_stays_a_device(
    cache: Cache, tmp_path: Path
) -> None:
    device = _full_device(tmp_path)
    with pytest.raises(ExportError, match="No space left on device"):
        await export_csv(cache, device)
    assert stat.S_ISCHR(device.lstat().st_mode)


def _full_device(where: Path) -> Path:
    """A character device node with /dev/full's numbers (1, 7), inside the test's folder."""
    device = where / "full"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("mknod needs CAP_MKNOD")
    return device


async def test_a_symlink_is_written_through_and_stays_a_link(cache: Cache, tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    await export_csv(cache, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert set(cells(real.read_bytes())) == {1, 2, 3}
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


async def test_a_dangling_symlink_or_a_link_to_a_folder_is_refused(
    cache: Cache, tmp_path: Path
) -> None:
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(ExportError, match="which does not exist"):
        await export_csv(cache, dangling)
    assert dangling.is_symlink() and not (tmp_path / "nowhere.csv").exists()
    folder = tmp_path / "folder-link"
    folder.symlink_to(tmp_path)
    with pytest.raises(ExportError, match="link to a folder"):
        await export_csv(cache, folder)


async def test_a_read_only_file_is_refused_and_left_alone(cache: Cache, tmp_path: Path) -> None:
    locked = tmp_path / "locked.csv"
    locked.write_text("keep me")
    locked.chmod(0o444)
    with pytest.raises(ExportError, match="read-only"):
        await export_csv(cache, locked)
    assert locked.read_text() == "keep me" and stat.S_IMODE(locked.stat().st_mode) == 0o444


async def test_a_replaced_regular_file_keeps_its_mode(cache: Cache, tmp_path: Path) -> None:
    private = tmp_path / "private.csv"
    private.write_text("old")
    private.chmod(0o600)
    await export_csv(cache, private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert set(cells(private.read_bytes())) == {1, 2, 3}


# -- the CLI, as a process, on the cache an earlier run left (the service is down) --------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """SYNCHEALTH_* dirs whose cache for DEAD_URL holds ROWS, as left by an earlier run."""
    import asyncio

    from tui.data import paths

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    env.update(
        SYNCHEALTH_DATA_DIR=str(tmp_path / "data"),
        SYNCHEALTH_CACHE_DIR=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LC_ALL="C.UTF-8",
    )
    with pytest.MonkeyPatch.context() as patch:  # puts back what was set before
        patch.setenv("SYNCHEALTH_CACHE_DIR", env["SYNCHEALTH_CACHE_DIR"])
        path = paths.cache_path_for(DEAD_URL)

    async def fill() -> None:
        c = await Cache.open(path)
        await c.apply_changes([list(r) for r in ROWS], 3)
        await c.set_meta("last_refresh", "2025-06-16T09:00:00+00:00")
        await c.close()

    asyncio.run(fill())
    return env


def export_cli(env: dict[str, str], *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui", "export", "--url", DEAD_URL, *args],
        capture_output=True,
        env=env,
        timeout=120,
        **kw,
    )


def test_cli_export_to_a_full_device_exits_non_zero(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    device = _full_device(tmp_path)
    done = export_cli(cli_env, "-o", str(device))
    assert done.returncode == 1
    assert b"No space left on device" in done.stderr and b"errors written" not in done.stderr
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_cli_export_to_stdout_on_a_full_device_exits_non_zero(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    with open(_full_device(tmp_path), "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "tui", "export", "--url", DEAD_URL],
            stdout=full,
            stderr=subprocess.PIPE,
            env=cli_env,
            timeout=120,
        )
    assert done.returncode == 1
    assert b"No space left on device" in done.stderr and b"Traceback" not in done.stderr
    assert b"Exception ignored" not in done.stderr


def test_cli_export_through_a_link_to_stdout(cli_env: dict[str, str], tmp_path: Path) -> None:
    link = tmp_path / "to-stdout.csv"
    link.symlink_to("/dev/stdout")
    done = export_cli(cli_env, "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert set(cells(done.stdout)) == {1, 2, 3}
    assert link.is_symlink() and os.readlink(link) == "/dev/stdout"


# -- point 2: control characters never reach a terminal -----------------------------------


def _run_on_pty(env: dict[str, str], *args: str) -> tuple[int, bytes]:
    """Run ``synchealth export`` with stdout a pty; what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "export", "--url", DEAD_URL, *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    received = bytearray()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    proc.communicate(timeout=120)
    stop.set()
    reader.join()
    os.close(master)
    return proc.returncode, bytes(received)


def test_cli_export_to_a_terminal_escapes_control_characters(cli_env: dict[str, str]) -> None:
    code, shown = _run_on_pty(cli_env)
    assert code == 0
    assert b"\x1b" not in shown and b"\x07" not in shown and b"\x00" not in shown
    text = shown.decode("utf-8")
    assert "\\x1b]0;PWNED-TITLE\\x07Acme" in text and "before\\x1b[2Jafter" in text
    assert "NUL\\x00BYTE" in text


def test_cli_export_to_a_file_stays_exact(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "exact.csv"
    done = export_cli(cli_env, "-o", str(out))
    assert done.returncode == 0, done.stderr
    body = cells(out.read_bytes())
    assert body[1][6] == NASTY_NAME and body[1][11] == CLEARING_MESSAGE


@pytest.mark.parametrize(
    ("call", "stream"), [("say('export', ", "stderr"), ("show(", "stdout")], ids=["say", "show"]
)
def test_cli_messages_on_a_terminal_are_escaped(call: str, stream: str) -> None:
    """What a command prints (here quoting a record name) reaches a tty escaped."""
    master, slave = pty.openpty()
    code = f"from tui.commands.say import say, show; {call}'cannot use ' + {NASTY_NAME!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], **{stream: slave})
    os.close(slave)
    proc.wait(timeout=60)
    shown = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert b"\x1b" not in shown and b"\\x1b]0;PWNED-TITLE\\x07Acme" in shown


# -- point 3: a NUL byte does not cut a cell ----------------------------------------------


async def test_a_nul_byte_stays_in_its_cell(cache: Cache, tmp_path: Path) -> None:
    out = tmp_path / "nul.csv"
    await export_csv(cache, out)
    body = cells(out.read_bytes())
    assert body[2][6] == NUL_CELL and body[2][11] == f"msg {NUL_CELL}"
    assert body[3][6] == "plain"  # rows without a NUL take the usual (printf) form
