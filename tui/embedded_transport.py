"""The embedded service's transport (part of the composition root, tui/embedded.py).

In a module of its own because it is an httpx transport: the console opens its session
and shows its cache without importing httpx, which comes with the first request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tui.embedded import StartingService


class StartingTransport(httpx.AsyncBaseTransport):
    """The first request starts the service, and every request waits for that start,
    then goes to the service's own transport."""

    def __init__(self, owner: StartingService) -> None:
        self._owner = owner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = self._owner.started()
        try:
            # shielded: a request given up on (timeout, cancel) does not cancel the start
            embedded = await asyncio.shield(start)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not start.cancelled() or (current is not None and current.cancelling()):
                raise  # this request was cancelled, not the start
            raise httpx.ConnectError(
                "the embedded service was closed before it started", request=request
            ) from None
        except Exception as exc:
            raise httpx.ConnectError(
                f"the embedded service did not start: {exc}", request=request
            ) from exc
        return await embedded.transport.handle_async_request(request)
