"""What a request carries, read as its route declares it: query and path parameters and
the JSON body, each refused with a 422 (or 404, 413) that says why."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from tui.core.invalid import explain
from tui.core.limits import MAX_ID
from tui.service.api.problems import ApiProblem

_ASCII_INT = re.compile(r"-?[0-9]+")


def ascii_int(raw: str) -> int | None:
    """``raw`` as an int when it is ASCII digits (Python's int() also takes ١٢٣ and １２３)."""
    return int(raw) if _ASCII_INT.fullmatch(raw) else None


@dataclass(frozen=True)
class IntQuery:
    """A whole-number query parameter from ``low`` to ``high``; absent or empty: ``default``."""

    name: str
    default: int
    low: int
    high: int
    description: str

    def read(self, request: Request) -> int:
        raw = request.query_params.get(self.name)
        if raw is None or raw == "":
            return self.default
        value = ascii_int(raw)
        if value is None or not self.low <= value <= self.high:
            raise ApiProblem(
                422,
                "invalid_parameter",
                f"'{self.name}' must be a whole number from {self.low:,} to {self.high:,}, "
                f"got {raw!r}.",
            )
        return value

    def schema(self) -> dict[str, Any]:
        bounds = {"minimum": self.low, "maximum": self.high, "default": self.default}
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": {"type": "integer", **bounds},
        }


@dataclass(frozen=True)
class TextQuery:
    """A text query parameter; absent: None (empty is a value, and refused if it does
    not fit). The handler checks it and says why it refuses one; ``schema`` tells
    clients the shape it wants."""

    name: str
    description: str
    schema_extra: tuple[tuple[str, Any], ...] = ()  # e.g. (("pattern", "..."),)

    def read(self, request: Request) -> str | None:
        return request.query_params.get(self.name)

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": {
                "type": "string",
                **{k: list(v) if isinstance(v, tuple) else v for k, v in self.schema_extra},
            },
        }


@dataclass(frozen=True)
class PathParam:
    """A path segment: text, or an error id (ASCII digits; one no row can have is a 404)."""

    name: str
    description: str
    is_error_id: bool = False

    def read(self, request: Request) -> str | int:
        raw: str = request.path_params[self.name]
        if not self.is_error_id:
            return raw
        value = ascii_int(raw)
        if value is None:
            raise ApiProblem(
                422, "invalid_parameter", f"An error id is a whole number (0-9), got {raw!r}."
            )
        if not 0 <= value <= MAX_ID:
            raise ApiProblem(404, "not_found", f"No sync error has the id {value}.")
        return value

    def schema(self) -> dict[str, Any]:
        kind = (
            {"type": "integer", "minimum": 0, "maximum": MAX_ID}
            if self.is_error_id
            else {"type": "string"}
        )
        return {
            "name": self.name,
            "in": "path",
            "required": True,
            "description": self.description,
            "schema": kind,
        }


Refusal = Callable[[ValidationError], ApiProblem]


@dataclass(frozen=True)
class Body:
    """A JSON body checked by ``model`` (strict, unknown keys refused) before the handler.

    ``code`` names a refusal; ``refuse`` builds it when one code and ``explain`` do
    not say enough. ``checked=False`` leaves the decoded JSON to the handler (a batch
    of reports is judged item by item); the model then only documents it.
    """

    model: type[BaseModel]
    code: str
    example: str
    max_bytes: int | None = None
    refuse: Refusal | None = None
    checked: bool = True

    async def read(self, request: Request) -> Any:
        raw = await request.body() if self.max_bytes is None else await _capped(request, self)
        if not raw.strip():
            raise ApiProblem(
                422, "missing_body", f"The request needs a JSON body, for example {self.example}."
            )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiProblem(
                422,
                "invalid_json",
                f"The body is not valid JSON ({exc}); send for example {self.example}.",
            ) from exc
        if not self.checked:
            return body
        try:
            return self.model.model_validate(body, strict=True)
        except ValidationError as exc:
            if self.refuse is not None:
                raise self.refuse(exc) from None
            raise ApiProblem(422, self.code, f"{explain(exc)}.") from None


async def _capped(request: Request, body: Body) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``max_bytes``."""
    limit = body.max_bytes or 0
    too_large = ApiProblem(
        413,
        "body_too_large",
        f"The body is larger than {limit // 1024 // 1024} MB; nothing was recorded. Send "
        "smaller batches.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
