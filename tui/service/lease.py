"""Leases: what must run in one replica at a time (the notifier, retries, resync jobs).

Several ``synchealth serve`` processes may share one PostgreSQL database. Each of
them runs the background loops, but a loop does its round only while its replica
holds that loop's lease. A lease is a session-level PostgreSQL advisory lock
(``pg_try_advisory_lock``) taken on one connection the replica keeps for its leases
alone: when the process dies, or its connection does, PostgreSQL ends the session
and drops the lock, and the next replica to ask (each asks once per round of its
loop) takes it over. Nothing else is needed to fail over, and a lease cannot be held
by two live sessions.

On SQLite the service is one process, so every lease is always held
(:class:`AlwaysHeld`).

The keys use PostgreSQL's two-key form ``(class, id)``: the class is
:data:`LEASE_CLASS`, the id a CRC32 of the lease's name and its *scope*, the schema
the ledger's tables are in (the session's ``current_schema()``, ``public`` unless the
URL sets a search path), so that ledgers in separate schemas of one database do not
share leases. Advisory locks of the one-key form (the ledger's write lock) are another
key space and never conflict with these.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import zlib
from typing import Any, Literal, Protocol

import psycopg

from tui.service.db import PostgresTarget

log = logging.getLogger("synchealth.lease")

#: The lease session's ``application_name``, then the process id: ``pg_stat_activity``
#: (with ``pg_locks``) shows which replica holds which lease.
APPLICATION = "synchealth leases"
#: The names of what runs once across replicas.
LeaseName = Literal["notifier", "retries", "jobs"]
LEASE_NAMES: tuple[LeaseName, ...] = ("notifier", "retries", "jobs")
#: Seconds a replica that lost its lease session waits before it asks again, so that a
#: replica whose connection breaks does not take its leases straight back.
COOLDOWN = 10.0
#: The first key of every synchealth lease: "SH" in ASCII.
LEASE_CLASS = 0x5348


def lease_key(name: str, scope: str = "") -> int:
    """The second key of a lease: a signed 32-bit CRC of ``scope/name``."""
    crc = zlib.crc32(f"{scope}/{name}".encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class Leases(Protocol):
    """Whether this replica may run one of the once-only loops now."""

    async def held(self, name: LeaseName) -> bool: ...

    def holding(self) -> list[LeaseName]: ...

    async def close(self) -> None: ...


class AlwaysHeld:
    """One process on a SQLite ledger: it runs everything."""

    async def held(self, name: LeaseName) -> bool:
        return True

    def holding(self) -> list[LeaseName]:
        return list(LEASE_NAMES)

    async def close(self) -> None:
        return None


class AdvisoryLeases:
    """Leases as session advisory locks on one PostgreSQL connection of this replica.

    :meth:`held` answers from what this session holds; for a lease it does not hold
    it tries to take it (``pg_try_advisory_lock`` never waits). When the connection
    is gone every lease is lost at once; after :data:`COOLDOWN` seconds (in which the
    other replicas take them over) it connects again and asks like any. A lease is
    never given up while the process lives, so it stays with one replica until that
    replica stops or dies.
    """

    def __init__(
        self,
        conninfo: str,
        scope: str | None = None,
        cooldown: float = COOLDOWN,
        password: str | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._password = password  # given apart from the URL (a password file)
        #: None: the session's current schema, where the ledger's tables are
        self._scope = scope
        self._cooldown = cooldown
        self._lost_at: float | None = None  # monotonic time the leases were last lost
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._held: set[LeaseName] = set()
        self._lock = asyncio.Lock()  # one statement at a time on the connection

    def holding(self) -> list[LeaseName]:
        """The leases this replica held when it last looked (the doctor, the health)."""
        return [name for name in LEASE_NAMES if name in self._held]

    async def held(self, name: LeaseName) -> bool:
        async with self._lock:
            if self._lost_at is not None and time.monotonic() - self._lost_at < self._cooldown:
                return False  # a replica that just lost its session lets another take over
            try:
                conn = await self._connection()
                if name in self._held:
                    await conn.execute("SELECT 1")  # still our session: the lock is ours
                    return True
                cur = await conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)",
                    (LEASE_CLASS, lease_key(name, await self._scope_of(conn))),
                )
                row = await cur.fetchone()
            except psycopg.Error as exc:
                await self._lost(f"the lease connection failed: {exc}")
                return False
            if row is not None and row[0]:
                self._held.add(name)
                log.info("this replica now runs the %s", name)
                return True
            return False

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            if self._held:
                await self._lost("the lease connection closed")
            extra: dict[str, Any] = {"application_name": f"{APPLICATION} {os.getpid()}",
                                     "connect_timeout": 5}  # fmt: skip
            if self._password is not None:
                extra["password"] = self._password
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, **extra
            )
        return self._conn

    async def _scope_of(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> str:
        if self._scope is None:
            cur = await conn.execute("SELECT current_schema()")
            row = await cur.fetchone()
            self._scope = str(row[0]) if row is not None else "public"
        return self._scope

    async def _lost(self, why: str) -> None:
        if self._held:
            log.warning("%s; leases lost: %s", why, ", ".join(sorted(self._held)))
            self._lost_at = time.monotonic()
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            await conn.close()

    async def close(self) -> None:
        """Give every lease back (closing the session releases its advisory locks)."""
        async with self._lock:
            self._held.clear()
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()


def leases_for(target: PostgresTarget | None) -> Leases:
    """The leases of a service on ``target``: advisory locks on PostgreSQL, else (one
    process on a SQLite file) always held."""
    if target is None:
        return AlwaysHeld()
    return AdvisoryLeases(target.url, password=target.password)
