"""The Sync Health service's wiring: its parts and the Starlette app (docs/api.md).

``SyncHealthService(config)`` owns the parts; ``.asgi`` is the app, built from the
route table of ``tui/service/api/routes.py``. Under uvicorn the app's lifespan calls
:meth:`SyncHealthService.start` / :meth:`~SyncHealthService.stop`; in-process users
(``httpx.ASGITransport`` runs no lifespan) call them directly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request

from tui.core.models import HourBucket, Usage
from tui.service import callcount, history
from tui.service.api.problems import AnswerCrashes, ApiProblem, on_http, on_problem
from tui.service.api.routes import ROUTES
from tui.service.api.table import starlette_routes
from tui.service.auth import BearerAuth
from tui.service.causes import CauseIndex
from tui.service.config import ServiceConfig
from tui.service.connect import open_connector
from tui.service.db import DatabaseError, DatabaseUnavailable
from tui.service.doctor import Doctor
from tui.service.engine import EngineQueue
from tui.service.ignores import Ignores
from tui.service.jobs import ResyncJobs
from tui.service.lease import AlwaysHeld, Leases, leases_for
from tui.service.ledger import Ledger
from tui.service.notify.channels import Channels
from tui.service.notify.notifier import Notifier
from tui.service.replicas import Replicas
from tui.service.resync import ResyncEngine
from tui.service.retries import RetryWorker
from tui.service.salesforce import CallKind, Withdraw
from tui.service.tokens import Tokens
from tui.service.usage import OrgLimits, UsageLedger

log = logging.getLogger("synchealth.service")


class SyncHealthService:
    """``leases``: what this replica may run once across replicas (tui/service/lease.py);
    by default all of it, as the one process on a SQLite ledger."""

    def __init__(self, config: ServiceConfig, leases: Leases | None = None) -> None:
        self.config = config
        self.ledger = Ledger(config.database or config.db_path)
        self.tokens = Tokens(self.ledger)
        self.leases: Leases = leases or leases_for(config.database)
        self.replicas = Replicas(self.ledger, isinstance(self.leases, AlwaysHeld), config.heartbeat)
        self.usage = UsageLedger(
            self.ledger, config.clock, config.limits_ttl, config.default_allocation
        )
        self.connector = open_connector(config, on_call=self._on_call)
        self.resync = ResyncEngine(
            self.ledger, self.usage, self.connector, config.clock, self._note_limit_info,
            owner=self.replicas.replica_id,
        )  # fmt: skip
        self.engine = EngineQueue(self.ledger, config.clock, config.engine_request_ttl)
        run = self.engine.resync if config.resync_mode == "engine" else self.resync.run
        self.jobs = ResyncJobs(
            self.ledger, self.usage, run, config.clock, config.job_recheck,
            may_run=lambda: self.leases.held("jobs"),
        )  # fmt: skip
        self.causes = CauseIndex(self.ledger, config.clock)
        self.notifier = Notifier(
            self.ledger,
            self.usage,
            Channels(config.smtp, config.webhook_url, config.ca_file),
            config.clock,
            self.org_name,
            config.notify_interval,
            self.causes.catch_up,
            may_run=lambda: self.leases.held("notifier"),
        )
        self.ignores = Ignores(self.ledger, self.causes, config.clock)
        self.doctor = Doctor(
            self.ledger,
            self.usage,
            self.connector,
            self.notifier,
            config.clock,
            self._note_limit_info,
            lambda: self.retries.status(),
        )
        self.retries = RetryWorker(
            self.ledger, self.usage, run, config.clock, self.notifier.announce,
            config.retry_interval, self.ignores.expire,
            may_run=lambda: self.leases.held("retries"),
        )  # fmt: skip
        self._running = False
        #: The org's name as last read: what health says while the database is away.
        self.known_org_name = config.org_name
        self.asgi = self._build_app()

    # -- life --------------------------------------------------------------

    async def start(self) -> None:
        """Open the ledger; requests left 'started' by a dead process (replica) become
        'interrupted' (tui/service/replicas.py)."""
        if self._running:
            return
        await self.ledger.open()
        await self.org_name()
        await self.replicas.start()
        await self.usage.load()
        await self.notifier.start()
        self.jobs.start()
        self.retries.start()
        self._running = True

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        try:
            await self.retries.stop()
            await self.jobs.stop()
            await self.notifier.stop()
            try:
                await self.replicas.stop()
            except DatabaseUnavailable as exc:  # a stop must end, and say what it left
                log.warning(
                    "stopping without the ledger's database (%s): this replica's started "
                    "resyncs become 'interrupted' when another replica or the next start "
                    "sweeps them",
                    exc,
                )
        finally:
            await self.leases.close()
            await self.connector.aclose()
            await self.ledger.close()

    # -- Salesforce plumbing -----------------------------------------------

    async def _on_call(self, kind: CallKind) -> Withdraw:
        """The connector's hook: the call is in the usage ledger before it is sent (a
        ledger that cannot be written raises, and nothing is sent)."""
        call = await self.usage.record_call(*kind)
        callcount.note_call()

        async def withdraw() -> None:
            callcount.note_call(-1)
            try:
                await self.usage.withdraw_call(call)
            except DatabaseError as exc:  # the error that errs towards the allocation
                log.warning("a Salesforce call that never left stays counted: %s", exc)

        return withdraw

    def _note_limit_info(self) -> None:
        info = self.connector.limit_info
        if info is not None:
            self.usage.note_limit_info(used=info[0], limit=info[1])

    async def _fetch_limits(self) -> OrgLimits:
        try:
            limits = await self.connector.limits()
        finally:
            self._note_limit_info()
        return OrgLimits(limits.max, limits.used, self.config.clock())

    # -- answers -----------------------------------------------------------

    async def org_name(self) -> str:
        self.known_org_name = await self.ledger.meta("org_name") or self.config.org_name
        return self.known_org_name

    async def usage_report(self) -> Usage:
        view = await self.usage.limits(self._fetch_limits)
        hourly = await self.usage.hourly()
        limits = view.limits
        error = view.error
        if limits is None and error is None:
            error = "Salesforce has not reported the org's limits yet."
        return Usage(
            used=sum(calls for _, calls in hourly),
            allocated=await self.usage.allocated(),
            salesforce_limit=limits.max if limits else 0,
            org_used=limits.used if limits else 0,
            hourly=[HourBucket(hour=hour, calls=calls) for hour, calls in hourly],
            as_of=self.config.clock(),
            limits_as_of=limits.as_of if limits else None,
            limits_error=error,
            retries_paused=(await self.retries.status()).paused,
        )

    async def remember(
        self, kind: str, ref: str | None, request: Request, summary: dict[str, Any]
    ) -> None:
        actor = history.actor_of(request)
        await history.record(self.ledger, self.config.clock(), kind, ref, actor, summary)

    # -- the app -----------------------------------------------------------

    def _build_app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = Starlette(
            routes=starlette_routes(self, ROUTES),
            middleware=[
                Middleware(AnswerCrashes),
                Middleware(
                    BearerAuth,
                    token=self.config.api_token,
                    tokens=self.tokens,
                    clock=self.config.clock,
                ),
            ],
            exception_handlers={ApiProblem: on_problem, HTTPException: on_http},
            lifespan=lifespan,
        )
        app.router.redirect_slashes = False  # /v1/health/ is not /v1/health: 404, not 307
        return app
