"""The simulated org: an ASGI app speaking the Salesforce REST subset synchealth uses.

Routes: ``GET /services/data/`` (versions), ``GET /services/data/vXX.X/limits/`` and
``PATCH /services/data/vXX.X/composite/sobjects``. Requests need
``Authorization: Bearer <access_token>``; a wrong or expired token gets 401
INVALID_SESSION_ID. Every authorised request counts against the daily limit and
every answer carries ``Sforce-Limit-Info``; once the limit is spent the org answers
403 REQUEST_LIMIT_EXCEEDED. API versions below 30.0 send limit numbers as strings,
as old Salesforce versions did. ``OrgState.unavailable`` makes it answer 503.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.simorg.state import OrgState
from tui.simorg.validate import apply, check_record, err

MAX_RECORDS = 200
_VERSION = re.compile(r"^v(\d+)\.(\d)$")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json([{"message": message, "errorCode": code}], status)


class _Org:
    def __init__(self, state: OrgState, access_token: str, daily_limit: int, api_version: str):
        self.state = state
        self.access_token = access_token
        self.daily_limit = daily_limit
        self.api_version = api_version

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.state.api_used}/{self.daily_limit}"}

    def gate(self, request: Request) -> Response | None:
        """Answer for a request that may not proceed; counts the one that may."""
        if self.state.unavailable:
            return Response(
                "<html><body>Server Unavailable</body></html>", 503, media_type="text/html"
            )
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        if not (
            token and hmac.compare_digest(token, self.access_token) and self.state.token_valid()
        ):
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

    async def update(self, request: Request) -> Response:
        refused = self.gate(request)
        if refused is not None:
            return self.finish(refused)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self.finish(
                _error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON.")
            )
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            return self.finish(
                _error(400, "JSON_PARSER_ERROR", "Expected a 'records' array of sObjects.")
            )
        if len(records) > MAX_RECORDS:
            return self.finish(
                _error(
                    400,
                    "EXCEEDED_ID_LIMIT",
                    f"record limit reached. cannot submit more than {MAX_RECORDS} records "
                    "into this call",
                )
            )
        problems = [check_record(self.state, r) for r in records]
        if body.get("allOrNone") and any(problems):
            rolled_back = err(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request "
                "was using AllOrNone header",
            )
            results = [{"success": False, "errors": [p or rolled_back]} for p in problems]
            return self.finish(_json(results))
        results = []
        for record, problem in zip(records, problems, strict=True):
            if problem is None:
                apply(self.state, record)
                results.append({"id": record["Id"], "success": True, "errors": []})
            else:
                results.append({"success": False, "errors": [problem]})
        return self.finish(_json(results))


def create_simorg(
    state: OrgState | None = None,
    *,
    access_token: str = "00D5g000004simORG!simulated-access-token",
    daily_limit: int = 15000,
    api_version: str = "v62.0",
) -> Starlette:
    """The simulated org as an ASGI app; its ``OrgState`` is ``app.state.org``."""
    org = _Org(state or OrgState.from_seed(), access_token, daily_limit, api_version)
    app = Starlette(
        routes=[
            Route("/services/data/", org.versions, methods=["GET"]),
            Route("/services/data/{version}/limits/", org.limits, methods=["GET"]),
            Route("/services/data/{version}/limits", org.limits, methods=["GET"]),
            Route("/services/data/{version}/composite/sobjects", org.update, methods=["PATCH"]),
        ]
    )
    app.state.org = org.state
    return app
