"""The composition root of the default run: the service and the simulated org, in process.

It is the one module that wires the console's data layer to the service and the simulated
org (docs/architecture.md); :func:`open_data_session` is how the console and the CLI open
a session, on a service at a URL or on this embedded demo.

The demo ledger lives in the user's data dir (built on first run); the service reaches
the simulated org through ``httpx.ASGITransport``, and the console reaches the service
the same way, so the whole stack runs the real HTTP code with no sockets.

The console's session opens on the cache at once: the embedded service starts only when
the session first asks it something (:class:`StartingService`), so a full cache is on
screen while the service's modules load and the ledger opens (issue 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.data import paths
from tui.data.session import DataSession

if TYPE_CHECKING:
    import httpx

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
        return cache_key_of(self.ledger)

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


def cache_key_of(ledger: Path) -> str:
    """What names the cache file of the embedded service on ``ledger``."""
    return f"embedded:{ledger}"


def demo_ledger_path(data_dir: Path | None = None) -> Path:
    """Where the demo ledger is (or will be built)."""
    return (data_dir or paths.data_dir()) / LEDGER_NAME


def ensure_demo_ledger(size: int, data_dir: Path | None = None) -> Path:
    """The demo ledger, built with ``size`` errors if it does not exist yet.

    It is built under a temporary name and renamed, so a run killed halfway never
    leaves a half-built ledger behind.
    """
    ledger = demo_ledger_path(data_dir)
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


#: What the embedded service needs beyond the console: loaded in a thread by
#: :func:`start_embedded`, so the console's screen keeps drawing meanwhile.
SERVICE_MODULES = ("tui.service", "tui.simorg", "tui.simorg.demo")


def _import_service() -> None:
    for name in SERVICE_MODULES:
        importlib.import_module(name)


async def start_embedded(demo_size: int = 5000, data_dir: Path | None = None) -> EmbeddedService:
    """Start the service on the demo ledger, talking to an in-process simulated org.

    The service's modules are imported and a missing ledger is built in a worker thread,
    so the event loop (the console's screen) is not held while they load.
    """
    await asyncio.to_thread(_import_service)
    import httpx

    from tui.service import ServiceConfig, SyncHealthService
    from tui.simorg import create_simorg
    from tui.simorg.demo import DEMO_ORG_CALLS_TODAY, demo_org_state

    ledger = await asyncio.to_thread(ensure_demo_ledger, demo_size, data_dir)
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
    try:
        await service.start()  # ASGITransport does not run lifespan events
    except BaseException:
        # a start cut short (the console quit) or failed leaves nothing open; the reason
        # it failed is what is raised, not a fault of the stop
        with contextlib.suppress(Exception):
            await service.stop()
        raise
    return EmbeddedService(service, httpx.ASGITransport(app=service.asgi), ledger)


class StartingService:
    """The embedded service, started on first use; the session owns it (``aclose``)."""

    def __init__(self, start: Callable[[], Awaitable[EmbeddedService]]) -> None:
        self._start = start
        self._task: asyncio.Task[EmbeddedService] | None = None
        self._closed = False
        self._transport: httpx.AsyncBaseTransport | None = None

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """What reaches the service, starting it on the first request (made on first use,
        so opening the console's session does not import httpx)."""
        if self._transport is None:
            from tui.embedded_transport import StartingTransport

            self._transport = StartingTransport(self)
        return self._transport

    def started(self) -> asyncio.Task[EmbeddedService]:
        """The start, begun by the first call (a start that failed is not tried again)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._start())
            if self._closed:
                self._task.cancel()
        return self._task

    @property
    def running(self) -> bool:
        """Whether the service has started and answers."""
        task = self._task
        return task is not None and task.done() and not task.cancelled() and not task.exception()

    async def aclose(self) -> None:
        """Stop the service, or cut its start short; requests after this fail to connect."""
        task = self._task
        if self._closed or task is None:
            self._closed = True
            return
        self._closed = True
        if not task.done():
            task.cancel()
        (outcome,) = await asyncio.gather(task, return_exceptions=True)
        if isinstance(outcome, EmbeddedService):
            await outcome.aclose()


async def open_data_session(
    *, url: str | None = None, demo_size: int = 5000, **options: Any
) -> DataSession:
    """A console session on the service at ``url``; ``url`` None: on the embedded demo.

    ``options`` are :meth:`DataSession.open`'s (token, cache_path, timeout...). The
    embedded service starts on the session's first request, not here: the cache can be
    shown first. It is the session's to close.
    """
    if url is not None:
        return await DataSession.open(url, **options)
    starting = StartingService(lambda: start_embedded(demo_size))
    return await DataSession.open(
        EMBEDDED_URL,
        transport=lambda: starting.transport,
        cache_key=cache_key_of(demo_ledger_path()),
        owned=starting,
        **options,
    )
