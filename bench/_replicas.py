"""The processes of ``replicas_load.py``: a fresh PostgreSQL database, the simulated
org alone (``python -m tui.simorg``) and the ``synchealth serve`` replicas on loopback
ports, and which replica holds a lease."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

ADMIN = os.environ.get("SYNCHEALTH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN_ENV = "BENCH_SF_TOKEN"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    """The org and the replicas as processes on loopback ports."""

    def __init__(
        self, db_url: str, replicas: int, workdir: Path, org_latency: float, heartbeat: float
    ) -> None:
        (workdir / "none.toml").write_text("")  # no profile: every setting is a flag here
        self.env = {**os.environ, TOKEN_ENV: uuid.uuid4().hex,
                    "SYNCHEALTH_CONFIG": str(workdir / "none.toml"),
                    "SYNCHEALTH_DATA_DIR": str(workdir),
                    "SYNCHEALTH_HEARTBEAT": str(heartbeat)}  # fmt: skip
        self.org_port = free_port()
        self.org = subprocess.Popen(
            [sys.executable, "-m", "tui.simorg", "--port", str(self.org_port),
             "--token-env", TOKEN_ENV, "--daily-limit", "1000000",
             "--latency", str(org_latency)], env=self.env
        )  # fmt: skip
        self.ports = [free_port() for _ in range(replicas)]
        self.procs = [self._serve(db_url, port) for port in self.ports]
        self.alive = list(range(replicas))

    def _serve(self, db_url: str, port: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "tui", "serve", "--host", "127.0.0.1",
                   "--port", str(port), "--db", db_url,
                   "--org-url", f"http://127.0.0.1:{self.org_port}",
                   "--org-token-env", TOKEN_ENV, "--org-name", "Bench org"]  # fmt: skip
        return subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def pick(self, avoid: int | None = None, blind: bool = False) -> int:
        """A replica to send to, not ``avoid``; ``blind``: as a load balancer that has not
        noticed a replica died would (the caller retries elsewhere when it is refused)."""
        pool = range(len(self.ports)) if blind else self.alive
        return random.choice([i for i in pool if i != avoid] or list(pool))

    async def ready(self, client: httpx.AsyncClient) -> None:
        for url in [f"http://127.0.0.1:{self.org_port}/services/data/"] + [
            self.url(i) + "/v1/health" for i in self.alive
        ]:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise SystemExit(f"{url} never answered")

    def pids(self) -> dict[str, list[int]]:
        """The processes by name (a killed replica's pid stays: its figures are kept)."""
        out = {f"replica {i}": [p.pid] for i, p in enumerate(self.procs)}
        return out | {"org": [self.org.pid]}

    def kill(self, pid: int) -> int:
        index = next(i for i, p in enumerate(self.procs) if p.pid == pid)
        os.kill(pid, signal.SIGKILL)
        self.procs[index].wait()
        self.alive.remove(index)
        return index

    def stop(self) -> None:
        for proc in [*self.procs, self.org]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.procs, self.org]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)


def lease_holder(db_url: str, lease: str) -> int | None:
    """The pid of the serve process holding ``lease`` (its lease session names it)."""
    from tui.service.lease import LEASE_CLASS, lease_key

    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s",
            (LEASE_CLASS, lease_key(lease, "public") & 0xFFFFFFFF),
        ).fetchone()
    return None if row is None else int(str(row[0]).rsplit(" ", 1)[1])
