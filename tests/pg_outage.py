"""A real ``synchealth serve`` on a PostgreSQL database of its own, and that database
closed to every session and opened again (issue 14, *the database down mid-request*).

Closing is :func:`pg_db.allow_connections`: the server stays up (other tests go on
using it) while this service cannot get back in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pg_db import allow_connections, fresh_database
from pg_harness import demo_ledger
from test_serve_loopback import free_port, wait_for

from tui.profiles import ENV_SECRETS, ENV_SETTINGS
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

ORG_TOKEN = "org-token-for-the-standin"


@dataclass
class Served:
    base: str
    database_url: str
    proc: subprocess.Popen[str]
    #: serve's stderr, once it has stopped.
    log: str = ""


def add_token(database_url: str, name: str) -> str:
    """A named API token added to the ledger with the CLI; the token."""
    made = subprocess.run(
        [sys.executable, "-m", "tui", "serve", "tokens", "add", name, "--db", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return made.stdout.strip()


@asynccontextmanager
async def served_on_own_database(
    tmp_path: Path, size: int = 300, tokens: tuple[str, ...] = ()
) -> AsyncIterator[tuple[Served, dict[str, str]]]:
    """``synchealth serve`` (loopback) on a new database holding a demo ledger of
    ``size`` errors, with the named ``tokens`` added first; and the tokens by name."""
    from sfstandin import serve_in_thread

    with (
        fresh_database() as url,
        serve_in_thread(create_simorg(demo_org_state(7), access_token=ORG_TOKEN)) as org,
    ):
        await demo_ledger(PostgresTarget(url), tmp_path, size)
        made = {name: add_token(url, name) for name in tokens}
        port = free_port()
        clean = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS | ENV_SECRETS}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "serve", "--db", url, "--org-url", org,
             "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**clean, "SALESFORCE_ACCESS_TOKEN": ORG_TOKEN},
        )  # fmt: skip
        served = Served(f"http://127.0.0.1:{port}", url, proc)
        try:
            wait_for(f"{served.base}/v1/health", proc)
            yield served, made
        finally:
            allow_connections(url, True)  # so the database can be dropped
            if proc.poll() is None:
                proc.terminate()
            _, served.log = proc.communicate(timeout=30)
