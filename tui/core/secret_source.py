"""Reading a secret from an environment variable or a file only its owner can read.

Tokens, client secrets, private keys and passwords never sit in the config file
itself; the file names where each one is. A secret file whose permissions let
other users read or change it is refused, whoever runs synchealth (root too): the
permission bits are checked here, not left to the kernel. Errors name the variable
or the file and what to do, never the secret.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

#: A secret file larger than this is almost certainly the wrong file.
MAX_SECRET_BYTES = 64 * 1024


class SecretSourceError(Exception):
    """A secret cannot be read; ``str(err)`` says which one, where from, and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> SecretStr | None:
    """The value of ``$name`` with surrounding whitespace removed; None when unset or blank."""
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    return SecretStr(value) if value else None


def required_secret_from_env(
    name: str, what: str, environ: Mapping[str, str] | None = None
) -> SecretStr:
    """Like :func:`secret_from_env`, but a missing value is an error naming the variable.

    ``what`` names the secret in the message, e.g. ``"the client secret"``.
    """
    value = secret_from_env(name, environ)
    if value is None:
        raise SecretSourceError(f"{what} is to be read from ${name}, which is not set")
    return value


def _permissions_problem(mode: int) -> str | None:
    if mode & 0o044:
        return "it can be read by other users"
    if mode & 0o022:
        return "it can be changed by other users"
    if mode & 0o011:
        return "other users have access to it"
    return None


def _check_opened(fd: int, path: Path, what: str) -> None:
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise SecretSourceError(f"cannot read {what}: {path} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise SecretSourceError(f"cannot read {what}: {path} is not a regular file")
    problem = _permissions_problem(info.st_mode)
    if problem is not None:
        raise SecretSourceError(
            f"refusing to read {what} from {path}: {problem} "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run chmod 600 {path}"
        )
    if info.st_size > MAX_SECRET_BYTES:
        raise SecretSourceError(
            f"refusing to read {what} from {path}: {info.st_size:,} bytes is too large "
            "for a secret; is it the right file?"
        )


def secret_from_file(path: Path, what: str) -> SecretStr:
    """The text of ``path`` without surrounding whitespace, if only its owner can use it.

    The checks run on the opened file (``fstat``), so the file that is checked is the
    file that is read; ``O_NONBLOCK`` keeps a FIFO from hanging the open.
    """
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SecretSourceError(f"cannot read {what}: the file {path} does not exist") from None
    except PermissionError:
        raise SecretSourceError(
            f"cannot read {what} from {path}: permission denied (the file must belong to "
            "the user who runs synchealth)"
        ) from None
    except OSError as exc:
        raise SecretSourceError(f"cannot read {what} from {path}: {exc.strerror}") from None
    try:
        _check_opened(fd, path, what)
    except SecretSourceError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_SECRET_BYTES + 1)
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretSourceError(f"cannot read {what} from {path}: it is not UTF-8 text") from None
    if not text:
        raise SecretSourceError(f"cannot read {what}: the file {path} is empty")
    return SecretStr(text)


def read_secret(
    what: str,
    *,
    env: str | None = None,
    file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SecretStr | None:
    """The secret named by ``env`` (must be set) or ``file``; None when neither is given."""
    if env is not None and file is not None:
        raise SecretSourceError(f"{what}: give an environment variable or a file, not both")
    if env is not None:
        return required_secret_from_env(env, what, environ)
    if file is not None:
        return secret_from_file(file, what)
    return None
