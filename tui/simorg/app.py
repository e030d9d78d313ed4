"""The simulated org: an ASGI app speaking the Salesforce REST subset synchealth uses.

Routes: ``GET /services/data/`` (versions), ``GET /services/data/vXX.X/limits/``,
``PATCH /services/data/vXX.X/composite/sobjects`` (update),
``PATCH /services/data/vXX.X/composite/sobjects/{sobject}/{field}`` (upsert by an
external id, see upsert.py) and ``POST /services/oauth2/token`` (sign-in, see
oauth.py). REST requests need ``Authorization: Bearer <token>``: the fixed
``access_token`` or one the token endpoint issued; a wrong, expired or revoked token
gets 401 INVALID_SESSION_ID. Every authorised request counts against the daily limit
and every REST answer carries ``Sforce-Limit-Info``; once the limit is spent the org
answers 403 REQUEST_LIMIT_EXCEEDED. API versions below 30.0 send limit numbers as
strings, as old Salesforce versions did. ``OrgState.unavailable`` makes it answer 503.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.simorg import metadata as md
from tui.simorg.oauth import ConnectedApp, TokenIssuer
from tui.simorg.state import OrgState
from tui.simorg.upsert import apply_upsert, plan_upserts
from tui.simorg.validate import SfError, apply, check_record, err

MAX_RECORDS = 200
_VERSION = re.compile(r"^v(\d+)\.(\d)$")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json([{"message": message, "errorCode": code}], status)


_UNAVAILABLE = "<html><body>Server Unavailable</body></html>"


class _Org:
    def __init__(
        self,
        state: OrgState,
        access_token: str,
        daily_limit: int,
        api_version: str,
        oauth: TokenIssuer,
    ):
        self.state = state
        self.access_token = access_token
        self.daily_limit = daily_limit
        self.api_version = api_version
        self.oauth = oauth

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.state.api_used}/{self.daily_limit}"}

    def gate(self, request: Request) -> Response | None:
        """Answer for a request that may not proceed; counts the one that may."""
        if self.state.unavailable:
            return Response(_UNAVAILABLE, 503, media_type="text/html")
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        fixed = hmac.compare_digest(token.encode(), self.access_token.encode())
        fixed = fixed and self.state.token_valid()
        if not (token and (fixed or self.oauth.accepts(token))):
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        version = request.path_params.get("version")
        if version is not None and not _VERSION.match(version):
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if self.state.api_used >= self.daily_limit:
            return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.state.api_used += 1
        return None

    def finish(self, response: Response) -> Response:
        response.headers.update(self.limit_header())
        return response

    async def versions(self, request: Request) -> Response:
        refused = self.gate(request)
        if refused is not None:
            return self.finish(refused)
        number = self.api_version[1:]
        body = [{"label": "Summer '24", "url": f"/services/data/v{number}", "version": number}]
        return self.finish(_json(body))

    async def limits(self, request: Request) -> Response:
        refused = self.gate(request)
        if refused is not None:
            return self.finish(refused)
        match = _VERSION.match(request.path_params["version"])
        assert match is not None
        as_text = int(match[1]) < 30

        def pair(maximum: int, remaining: int) -> dict[str, Any]:
            if as_text:
                return {"Max": str(maximum), "Remaining": str(remaining)}
            return {"Max": maximum, "Remaining": remaining}

        remaining = max(self.daily_limit - self.state.api_used, 0)
        body = {
            "ConcurrentAsyncGetReportInstances": pair(200, 200),
            "DailyApiRequests": pair(self.daily_limit, remaining),
            "DailyAsyncApexExecutions": pair(250000, 249870),
            "DailyBulkApiBatches": pair(15000, 15000),
            "DataStorageMB": pair(5120, 3811),
            "FileStorageMB": pair(5120, 4968),
            "HourlyTimeBasedWorkflow": pair(1000, 1000),
            "SingleEmail": pair(5000, 4996),
        }
        return self.finish(_json(body))

    async def token(self, request: Request) -> Response:
        if self.state.unavailable:
            return Response(_UNAVAILABLE, 503, media_type="text/html")
        return await self.oauth.endpoint(request)

    async def update(self, request: Request) -> Response:
        refused = self.gate(request)
        if refused is not None:
            return self.finish(refused)
        body = await _records_body(request)
        if isinstance(body, Response):
            return self.finish(body)
        records, all_or_none = body
        problems = [check_record(self.state, r) for r in records]

        def write(index: int) -> dict[str, Any]:
            apply(self.state, records[index])
            return {"id": records[index]["Id"], "success": True, "errors": []}

        return self.finish(_json(_results(problems, all_or_none, write)))

    async def upsert(self, request: Request) -> Response:
        refused = self.gate(request)
        if refused is not None:
            return self.finish(refused)
        sobject, field = request.path_params["sobject"], request.path_params["field"]
        if sobject not in md.FIELDS:
            return self.finish(_error(404, "NOT_FOUND", "The requested resource does not exist"))
        definition = md.FIELDS[sobject].get(field)
        if definition is None:
            return self.finish(
                _error(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {field}",
                )
            )
        if not definition.external_id:
            return self.finish(
                _error(
                    400,
                    "INVALID_FIELD",
                    f"Field name provided, {field} is not an External ID or indexed field "
                    f"for {sobject}",
                )
            )
        body = await _records_body(request)
        if isinstance(body, Response):
            return self.finish(body)
        records, all_or_none = body
        plans = plan_upserts(self.state, sobject, field, records)

        def write(index: int) -> dict[str, Any]:
            plan = plans[index]
            record_id = apply_upsert(self.state, sobject, plan)
            return {"id": record_id, "success": True, "errors": [], "created": plan.created}

        return self.finish(_json(_results([p.errors for p in plans], all_or_none, write)))


async def _records_body(request: Request) -> tuple[list[dict[str, Any]], bool] | Response:
    """The records and allOrNone flag of a collections request, or the 400 answer."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON.")
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return _error(400, "JSON_PARSER_ERROR", "Expected a 'records' array of sObjects.")
    if len(records) > MAX_RECORDS:
        return _error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    return records, bool(body.get("allOrNone"))


def _results(
    problems: list[list[SfError]],
    all_or_none: bool,
    write: Callable[[int], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per-record results in request order; ``write(i)`` saves record i and answers it."""
    if all_or_none and any(problems):
        rolled_back = err(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all records were valid and the request "
            "was using AllOrNone header",
        )
        return [{"success": False, "errors": p or [rolled_back]} for p in problems]
    return [write(i) if not p else {"success": False, "errors": p} for i, p in enumerate(problems)]


def create_simorg(
    state: OrgState | None = None,
    *,
    access_token: str = "00D5g000004simORG!simulated-access-token",
    daily_limit: int = 15000,
    api_version: str = "v62.0",
    connected_app: ConnectedApp | None = None,
) -> Starlette:
    """The simulated org as an ASGI app.

    Its ``OrgState`` is ``app.state.org`` and its token issuer ``app.state.oauth``;
    without a ``connected_app`` every sign-in is refused as an unknown client.
    """
    oauth = TokenIssuer(connected_app)
    org = _Org(state or OrgState.from_seed(), access_token, daily_limit, api_version, oauth)
    collections = "/services/data/{version}/composite/sobjects"
    app = Starlette(
        routes=[
            Route("/services/oauth2/token", org.token, methods=["POST"]),
            Route("/services/data/", org.versions, methods=["GET"]),
            Route("/services/data/{version}/limits/", org.limits, methods=["GET"]),
            Route("/services/data/{version}/limits", org.limits, methods=["GET"]),
            Route(collections, org.update, methods=["PATCH"]),
            Route(collections + "/{sobject}/{field}", org.upsert, methods=["PATCH"]),
        ]
    )
    app.state.org = org.state
    app.state.oauth = oauth
    return app
