"""The life of the cache file: where it may live, what a SQLite failure means, moving a
damaged file aside. The queries are in :mod:`tui.data.cache`; this module never opens
a connection of its own.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Literal

from tui.data.problem import Problem

#: Files up to this size get ``PRAGMA quick_check`` at every open (about 0.1 s per
#: 25 MiB here); bigger ones are checked when a read fails (the ``.damaged`` marker).
CHECK_AT_OPEN_LIMIT = 64 * 1024 * 1024

FailureKind = Literal["locked", "corrupt", "other"]


class CacheError(Problem):
    """The cache cannot be used; ``detail`` says why (see :class:`Problem`)."""

    @property
    def kind(self) -> str:
        return "cache"


class CacheDamaged(CacheError):
    """A read or write hit a damaged page: the file must be moved aside and rebuilt."""


def classify_failure(exc: sqlite3.Error) -> FailureKind:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "locked"
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or (
        "not a database" in text or "malformed" in text
    ):
        return "corrupt"
    return "other"


def check_location(path: Path) -> None:
    """Make the cache's folder and refuse a path that can never hold the cache.

    Says what is wrong with the file itself, so it is not mistaken for the service.
    As root, mode bits do not deny access: only the checks SQLite would fail on apply.
    """
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise CacheError(f"Cannot use the cache folder {folder}: it is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"Cannot create the cache folder {folder}: {exc.strerror or exc}."
        ) from exc
    if path.is_dir():
        raise CacheError(f"Cannot open the cache file {path}: it is a folder, not a file.")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise CacheError(f"Cannot open the cache file {path}: no permission to read and write it.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CacheError(f"Cannot open the cache file {path}: no permission to write in {folder}.")


def damage_marker(path: Path) -> Path:
    """Left beside the file when a query hit a damaged page, so the next open checks it."""
    return path.with_name(path.name + ".damaged")


def should_check(path: Path) -> bool:
    """Whether the open runs ``PRAGMA quick_check``: small files always, others if marked."""
    if damage_marker(path).exists():
        return True
    try:
        return 0 < path.stat().st_size <= CHECK_AT_OPEN_LIMIT
    except OSError:
        return False


def move_aside(path: Path) -> Path:
    """Rename the damaged file (and its -wal, -shm) to ``<name>.corrupt-<stamp>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.replace(target)
        damage_marker(path).unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(target.with_name(target.name + suffix))
    except OSError as exc:
        raise CacheError(
            f"The cache file {path} is damaged and could not be moved aside: {exc}"
        ) from exc
    return target


def damaged_notice(reason: object, moved: Path) -> str:
    return (
        f"The cache file was damaged ({reason}); it was moved to {moved} "
        "and a fresh cache is being built from the service."
    )
