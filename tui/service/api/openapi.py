"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

pydantic writes the schemas (request bodies in validation mode, answers in
serialization mode); this module only lays them out as operations. docs/api.md says
why no library: spectree and apispec would each want the routes declared their way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from tui import __version__
from tui.service.api.problems import ErrorAnswer
from tui.service.api.table import Endpoint

REF = "#/components/schemas/{model}"
_OPEN = "This service has no API token: it accepts every request, and so listens on loopback only."
#: The schema of an answer without a model, by media type.
_ANY = {
    "application/json": {"type": "object"},
    "application/x-ndjson": {"type": "string"},
    "application/vnd.sqlite3": {"type": "string", "format": "binary"},
}
_BEARER = "This service has an API token: send it as 'Authorization: Bearer <token>'."


def document(table: Sequence[Endpoint], *, secured: bool) -> dict[str, Any]:
    """The document of ``table`` as this service runs: with bearer security or without."""
    return _document(tuple(table), secured)


@cache
def _document(table: tuple[Endpoint, ...], secured: bool) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorAnswer, "serialization")]
    for e in table:
        if e.answer is not None:
            models.append((e.answer, "serialization"))
        if e.body is not None:
            models.append((e.body.model, "validation"))
    refs, schemas = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in table:
        answer = refs[(e.answer, "serialization")] if e.answer else _ANY[e.media_type]
        body = refs[(e.body.model, "validation")] if e.body else None
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, answer, body, secured)
    components: dict[str, Any] = {"schemas": schemas.get("$defs", {})}
    if secured:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sync Health API",
            "version": __version__,
            "description": _BEARER if secured else _OPEN,
        },
        "components": components,
        "security": [{"bearer": []}] if secured else [],
        "paths": paths,
    }


def _operation(
    e: Endpoint, answer: dict[str, Any], body: dict[str, Any] | None, secured: bool
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(status): {"description": "OK", "content": {e.media_type: {"schema": answer}}}
        for status in e.ok
    }
    for status, codes in sorted(_errors(e, secured).items()):
        responses[str(status)] = {
            "description": ", ".join(codes),
            "content": {"application/json": {"schema": _error_schema(codes)}},
        }
    out: dict[str, Any] = {
        "summary": e.summary,
        "operationId": e.method.lower() + re.sub(r"[^a-z0-9]+", "_", e.path.lower()),
        "responses": responses,
    }
    parameters = [p.schema() for p in e.params] + [q.schema() for q in e.query]
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return out


def _errors(e: Endpoint, secured: bool) -> dict[int, tuple[str, ...]]:
    """The endpoint's own error answers and those every endpoint of its kind can give."""
    out = {status: list(codes) for status, codes in e.errors.items()}

    def add(status: int, *codes: str) -> None:
        known = out.setdefault(status, [])
        known.extend(c for c in codes if c not in known)

    if e.query or e.params:
        add(422, "invalid_parameter")
    if any(p.is_error_id for p in e.params):
        add(404, "not_found")
    if e.body is not None:
        add(422, "missing_body", "invalid_json")
    if secured:
        add(401, "unauthorized")
    return {status: tuple(codes) for status, codes in out.items()}


def _error_schema(codes: tuple[str, ...]) -> dict[str, Any]:
    """``ErrorAnswer`` with its ``code`` narrowed to those this status can carry."""
    return {
        "allOf": [{"$ref": REF.format(model="ErrorAnswer")}],
        "properties": {"error": {"properties": {"code": {"enum": list(codes)}}}},
    }
