"""The route table's parts: an :class:`Endpoint` declares everything about one route
(the Starlette route and the OpenAPI operation are both built from it), and
:func:`starlette_routes` turns the table into routes, one per path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.service.api.inputs import Body, IntQuery, PathParam, TextQuery
from tui.service.api.service import Service


@dataclass
class Call:
    """A request as its endpoint declared it: read and checked before the handler runs."""

    request: Request
    query: dict[str, Any]  # int of an IntQuery, str | None of a TextQuery
    path: dict[str, Any]
    body: Any


Handler = Callable[[Service, Call], Awaitable[Response]]


@dataclass(frozen=True, eq=False)  # hashed by identity: the document is cached per table
class Endpoint:
    """One route: what it takes, what it answers, and its error answers by status."""

    method: str
    path: str
    handler: Handler
    summary: str
    answer: type[BaseModel] | None  # None: any JSON object (the OpenAPI document)
    body: Body | None = None
    query: tuple[IntQuery | TextQuery, ...] = ()
    params: tuple[PathParam, ...] = ()
    #: status -> the ``code`` values of that status's ``{"error": ...}`` answers
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: the 2xx statuses it answers with ``answer``
    ok: tuple[int, ...] = (200,)
    #: the media type of the 2xx answer (``application/x-ndjson``: lines, no model)
    media_type: str = "application/json"

    async def call(self, service: Service, request: Request) -> Response:
        return await self.handler(
            service,
            Call(
                request=request,
                query={q.name: q.read(request) for q in self.query},
                path={p.name: p.read(request) for p in self.params},
                body=None if self.body is None else await self.body.read(request),
            ),
        )


def starlette_routes(service: Service, table: Sequence[Endpoint]) -> list[Route]:
    """One Starlette route per path, so a 405 lists every method of the path in Allow."""
    paths: dict[str, dict[str, Endpoint]] = {}
    for endpoint in table:
        paths.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    return [
        Route(path, _dispatch(service, by_method), methods=list(by_method))
        for path, by_method in paths.items()
    ]


def _dispatch(
    service: Service, by_method: dict[str, Endpoint]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await by_method[method].call(service, request)

    return endpoint
