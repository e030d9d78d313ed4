"""The composition root of the default run: the service and the simulated org, in process.

It is the one module that wires the console's data layer to the service and the simulated
org (docs/architecture.md); :func:`open_data_session` is how the console and the CLI open
a session, on a service at a URL or on this embedded demo.

The demo ledger lives in the user's data dir (built on first run); the service reaches
the simulated org through ``httpx.ASGITransport``, and the console reaches the service
the same way, so the whole stack runs the real HTTP code with no sockets.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tui.data import paths
from tui.data.session import DataSession

if TYPE_CHECKING:
    from tui.simorg.demo import DemoSummary

LEDGER_NAME = "demo-ledger.sqlite3"
#: The URL the console uses for the in-process service (never resolved).
EMBEDDED_URL = "http://synchealth.embedded"


@dataclass
class EmbeddedService:
    """A running in-process service; ``transport`` reaches it. Close with ``aclose()``."""

    service: object
    transport: httpx.AsyncBaseTransport
    ledger: Path
    base_url: str = EMBEDDED_URL

    @property
    def cache_key(self) -> str:
        """What names this service's cache file."""
        return f"embedded:{self.ledger}"

    async def aclose(self) -> None:
        await self.service.stop()  # type: ignore[attr-defined]


def build_demo_ledger(
    path: Path, size: int, *, seed: int = 7, now: datetime | None = None
) -> DemoSummary:
    """Write the demo ledger of ``size`` errors to the new file ``path``, in one transaction,
    through the service's own bulk load."""
    from tui.service.ledger_load import LedgerLoad
    from tui.simorg.demo import write_demo_ledger

    if size < 0:
        raise ValueError("the demo size cannot be negative")
    started = time.perf_counter()
    with LedgerLoad(path) as load:
        summary = write_demo_ledger(load, path, size, seed=seed, now=now)
    return replace(summary, seconds=time.perf_counter() - started)


def ensure_demo_ledger(size: int, data_dir: Path | None = None) -> Path:
    """The demo ledger, built with ``size`` errors if it does not exist yet.

    It is built under a temporary name and renamed, so a run killed halfway never
    leaves a half-built ledger behind.
    """
    ledger = (data_dir or paths.data_dir()) / LEDGER_NAME
    if ledger.exists():
        return ledger
    building = ledger.with_name(f"{ledger.name}.building-{secrets.token_hex(4)}")
    try:
        build_demo_ledger(building, size)
        building.replace(ledger)
    finally:
        for leftover in (
            building,
            *(building.with_name(building.name + s) for s in ("-wal", "-shm")),
        ):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return ledger


async def start_embedded(demo_size: int = 5000, data_dir: Path | None = None) -> EmbeddedService:
    """Start the service on the demo ledger, talking to an in-process simulated org."""
    from tui.service import ServiceConfig, SyncHealthService
    from tui.simorg import create_simorg
    from tui.simorg.demo import DEMO_ORG_CALLS_TODAY, demo_org_state

    ledger = ensure_demo_ledger(demo_size, data_dir)
    org_token = secrets.token_urlsafe(24)
    org = create_simorg(demo_org_state(calls_today=DEMO_ORG_CALLS_TODAY), access_token=org_token)
    config = ServiceConfig(
        db_path=ledger,
        org_token=org_token,
        org_transport=httpx.ASGITransport(app=org),
        org_name="Simulated org",
        mode="simulated",
    )
    service = SyncHealthService(config)
    await service.start()  # ASGITransport does not run lifespan events
    return EmbeddedService(service, httpx.ASGITransport(app=service.asgi), ledger)


async def open_data_session(
    *, url: str | None = None, demo_size: int = 5000, **options: Any
) -> DataSession:
    """A console session on the service at ``url``; ``url`` None starts the embedded demo.

    ``options`` are :meth:`DataSession.open`'s (token, cache_path, timeout...). The
    embedded service is the session's to close.
    """
    if url is not None:
        return await DataSession.open(url, **options)
    embedded = await start_embedded(demo_size)
    return await DataSession.open(
        embedded.base_url,
        transport=embedded.transport,
        cache_key=embedded.cache_key,
        owned=embedded,
        **options,
    )
