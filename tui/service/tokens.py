"""Named API tokens: who may call the service, and under which name the audit trail
records what they did (docs/configuration.md, "API tokens").

A token is ``shk_`` and 43 characters of ``secrets.token_urlsafe(32)`` (256 random
bits); the ledger keeps only its SHA-256. A slow password hash (bcrypt, scrypt) is for
secrets people choose and can guess; a 256-bit random value cannot be guessed, so one
fast hash is enough, and it lets every request find its token by an indexed lookup.
Tokens are never deleted, only revoked: once any token was added, every request needs
a valid one even when all are revoked, so revoking the last token never opens the
service. The single ``api_token`` of the configuration is the token named
:data:`CONFIG_TOKEN_NAME`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tui.service.ledger import Ledger, iso

#: The name the audit trail gives the configuration's single ``api_token``.
CONFIG_TOKEN_NAME = "api_token"
#: Lets secret scanners and people tell a synchealth token from other strings.
TOKEN_PREFIX = "shk_"
NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
#: last_used and last_refused are written at most this often per token.
TOUCH_EVERY = timedelta(minutes=1)


class TokenRefused(Exception):
    """A token command that cannot be done; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    created: str
    created_by: str
    last_used: str | None
    revoked: str | None
    revoked_by: str | None
    last_refused: str | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a presented token is: ``name`` None means unknown; ``revoked`` set means
    it was valid until then."""

    name: str | None
    revoked: str | None = None
    #: This use was written on the token (last_used or last_refused), as it is once a minute.
    noted: bool = False

    @property
    def valid(self) -> bool:
        return self.name is not None and self.revoked is None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """``name`` if it can name a token; else TokenRefused saying what a name may be."""
    if not name.strip():
        raise TokenRefused("a token needs a name, e.g. 'synchealth serve tokens add alice'")
    if NAME_RULE.fullmatch(name) is None:
        raise TokenRefused(
            f"{name!r} cannot name a token: use 1 to 40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name == CONFIG_TOKEN_NAME:
        raise TokenRefused(
            f"{CONFIG_TOKEN_NAME!r} is the name of the configuration's api_token; choose another"
        )
    return name


class Tokens:
    """The named tokens of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._touched: dict[str, datetime] = {}

    async def add(self, name: str, actor: str, now: datetime) -> str:
        """A new token named ``name``; the only time its value is known."""
        check_name(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._ledger.transaction() as conn:
            async with conn.execute(
                "INSERT INTO api_tokens(name, digest, created, created_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO NOTHING",
                (name, digest(token), iso(now), actor),
            ) as cur:
                added = cur.rowcount == 1
            if not added:
                raise TokenRefused(
                    f"a token named {name!r} exists already (revoked ones keep their name); "
                    "choose another name"
                )
            await Ledger.add_history(conn, now, "token", name, actor, {"action": "added"})
        return token

    async def revoke(self, name: str, actor: str, now: datetime) -> None:
        async with self._ledger.transaction() as conn:
            async with conn.execute(
                "SELECT revoked FROM api_tokens WHERE name = ?", (name,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise TokenRefused(
                    f"no token is named {name!r}; 'synchealth serve tokens list' shows them"
                )
            if row[0] is not None:
                raise TokenRefused(f"the token {name!r} was revoked already, at {row[0]}")
            await conn.execute(
                "UPDATE api_tokens SET revoked = ?, revoked_by = ? WHERE name = ?",
                (iso(now), actor, name),
            )
            await Ledger.add_history(conn, now, "token", name, actor, {"action": "revoked"})

    async def listed(self) -> list[TokenInfo]:
        async with self._ledger.reader.execute(
            "SELECT name, created, created_by, last_used, revoked, revoked_by, last_refused "
            "FROM api_tokens ORDER BY created, name"
        ) as cur:
            return [TokenInfo(*row) for row in await cur.fetchall()]

    async def any(self) -> bool:
        """True once any token was added (revoked ones count: see the module doc)."""
        async with self._ledger.reader.execute("SELECT 1 FROM api_tokens LIMIT 1") as cur:
            return await cur.fetchone() is not None

    async def verify(self, token: str, now: datetime) -> Verdict:
        """Which token ``token`` is; notes its use (or its refusal) at most once a minute."""
        async with self._ledger.reader.execute(
            "SELECT name, revoked FROM api_tokens WHERE digest = ?", (digest(token),)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Verdict(None)
        name, revoked = row
        column = "last_used" if revoked is None else "last_refused"
        key = f"{column}:{name}"
        last = self._touched.get(key)
        noted = last is None or now - last >= TOUCH_EVERY
        if noted:
            self._touched[key] = now
            async with self._ledger.transaction() as conn:
                await conn.execute(
                    f"UPDATE api_tokens SET {column} = ? WHERE name = ?", (iso(now), name)
                )
        return Verdict(name, revoked, noted)
