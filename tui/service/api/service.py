"""What the handlers use of the service: its parts, named by a protocol so the handlers
need not import the module that wires them (``tui/service/app.py``)."""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request

from tui.core.models import Usage
from tui.service.causes import CauseIndex
from tui.service.config import ServiceConfig
from tui.service.doctor import Doctor
from tui.service.engine import EngineQueue
from tui.service.ignores import Ignores
from tui.service.jobs import ResyncJobs
from tui.service.lease import Leases
from tui.service.ledger import Ledger
from tui.service.notify.notifier import Notifier
from tui.service.replicas import Replicas
from tui.service.resync import ResyncEngine
from tui.service.retries import RetryWorker
from tui.service.usage import UsageLedger


class Service(Protocol):
    config: ServiceConfig
    ledger: Ledger
    usage: UsageLedger
    resync: ResyncEngine
    engine: EngineQueue
    jobs: ResyncJobs
    notifier: Notifier
    causes: CauseIndex
    doctor: Doctor
    retries: RetryWorker
    ignores: Ignores
    leases: Leases
    replicas: Replicas
    known_org_name: str

    async def org_name(self) -> str: ...

    async def usage_report(self) -> Usage: ...

    async def remember(
        self, kind: str, ref: str | None, request: Request, summary: dict[str, Any]
    ) -> None:
        """Write a history entry (``GET /v1/history``) for what this request did."""
