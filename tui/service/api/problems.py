"""Error answers: every non-2xx body is ``{"error": {"code", "message"}}`` (docs/api.md)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tui.core.models import ApiError
from tui.service.db import DatabaseAway, DatabaseUnavailable

log = logging.getLogger("tui.service")


class ApiProblem(Exception):
    """Answer ``status`` with ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ErrorAnswer(BaseModel):
    """The body of every non-2xx answer, as :func:`problem` builds it."""

    error: ApiError


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, BaseModel):
            return content.model_dump_json().encode()
        return orjson.dumps(content)


def problem(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message}}, status, headers=headers)


async def on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem(exc.status, exc.code, exc.message)


async def on_http(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 in the API's error shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem(404, "not_found", f"There is no endpoint at {request.url.path}.")
    if exc.status_code == 405:
        return problem(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}.",
            headers=dict(exc.headers or {}),
        )
    return problem(exc.status_code, "http_error", str(exc.detail))


class AnswerCrashes:
    """A bug in a handler is logged and answered as a JSON 500, and goes no further.

    Starlette's own last-resort handler answers too, but then re-raises, and uvicorn
    drops the connection: the client's next request on it would fail. Here nothing is
    re-raised unless the answer had already started.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except DatabaseUnavailable as exc:
            if started:
                raise
            # an outage is logged once where it starts (tui/service/db/outage.py)
            level = logging.DEBUG if isinstance(exc, DatabaseAway) else logging.WARNING
            log.log(level, "%s %s: %s", scope.get("method"), scope.get("path"), exc)
            await problem(
                503,
                "database_unavailable",
                f"The ledger's database cannot be reached now ({exc}); nothing was changed "
                "by this request if it wrote: try it again shortly.",
                headers={"Retry-After": "5"},
            )(scope, receive, send)
        except Exception as exc:
            if started:
                raise
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            answer = problem(
                500,
                "internal_error",
                f"The Sync Health service failed on this request ({type(exc).__name__}); "
                "its log has the details.",
            )
            await answer(scope, receive, send)
