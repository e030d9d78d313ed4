"""The Sync Health service: error ledger, usage ledger, resync engine and the HTTP API.

``SyncHealthService`` and ``ServiceConfig`` load lazily, so reading ``schema.sql``
(the demo generator does) does not pull in Starlette and the connector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.service.app import SyncHealthService
    from tui.service.config import ServiceConfig

__all__ = ["ServiceConfig", "SyncHealthService"]


def __getattr__(name: str) -> Any:
    if name == "SyncHealthService":
        from tui.service.app import SyncHealthService

        return SyncHealthService
    if name == "ServiceConfig":
        from tui.service.config import ServiceConfig

        return ServiceConfig
    raise AttributeError(f"module 'tui.service' has no attribute {name!r}")
