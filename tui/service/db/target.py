"""What ``--db`` names: a SQLite file, or a PostgreSQL database by URL.

A PostgreSQL URL's password may be in the URL, in ``PGPASSWORD`` or ``PGPASSFILE``
(libpq reads those), or in an owner-only file given apart (``--db-password-file``,
the profile's ``db_password_file``); it is never shown: :func:`redact` is what
messages, logs and /v1/health print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from tui.core.secret_source import SecretSourceError, secret_from_file
from tui.service.db.base import DatabaseError

_PG_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    url: str
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"PostgresTarget({redact(self.url)!r})"

    def __str__(self) -> str:
        return redact(self.url)


def is_postgres(text: str) -> bool:
    return text.startswith(_PG_SCHEMES)


def parse_target(text: str, password_file: Path | None = None) -> Path | PostgresTarget:
    """``--db``'s value as a path or a PostgreSQL target; a URL that does not parse
    raises :class:`DatabaseError` naming the URL without its password."""
    if text.startswith("sqlite://"):
        path = text.removeprefix("sqlite://")
        if not path.startswith("/"):
            raise DatabaseError(f"{text!r}: a SQLite URL is sqlite:///absolute/path")
        return Path(path)
    if not is_postgres(text):
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise DatabaseError(
                f"the database URL {redact(text)} has the scheme {scheme!r}; "
                "give postgresql://USER@HOST:PORT/DB, sqlite:///PATH or a file path"
            )
        return Path(text)
    try:
        parts = conninfo_to_dict(text)
    except Exception as exc:  # psycopg.ProgrammingError, and ValueError on a bad port
        raise DatabaseError(
            f"the database URL {redact(text)} does not parse; give postgresql://USER@HOST:PORT/DB"
        ) from exc
    port = parts.get("port")
    if port is not None and not str(port).isdigit():
        raise DatabaseError(
            f"the database URL {redact(text)} has a port that is not a number; a password "
            "holding '/', ':' or '@' is written percent-encoded (%2F, %3A, %40)"
        )
    if "@" in str(parts.get("host") or ""):  # libpq took a password's '@' for the host's
        raise DatabaseError(
            f"the database URL {redact(text)} has '@' in its host; a password holding '@' "
            "is written %40"
        )
    password = None
    if password_file is not None:
        try:
            password = secret_from_file(password_file, "the database password")
        except SecretSourceError as exc:
            raise DatabaseError(exc.message) from None
    return PostgresTarget(text, None if password is None else password.get_secret_value())


def redact(url: str) -> str:
    """``url`` with the password (``user:secret@``, ``password=``) replaced by ``***``.

    The user part is everything before the last '@': libpq reads a password's
    unencoded '/', '?' or '@' in ways a URL parser would not, and hiding too much of a
    URL in a message costs nothing.
    """
    head, sep, rest = url.partition("://")
    if sep and "@" in rest:
        user, _, host = rest.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        rest = f"{user}@{host}"
    out = head + sep + rest
    return re.sub(r"(password=)[^&\s]*", r"\1***", out, flags=re.IGNORECASE)
