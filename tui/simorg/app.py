"""The simulated org: an ASGI app speaking the Salesforce REST subset synchealth uses.

Routes: ``GET /services/data/`` (versions; no token needed, not counted),
``GET /services/data/vXX.X/limits/``, ``GET /services/data/vXX.X/sobjects/{sobject}/describe``
(describe.py), ``PATCH /services/data/vXX.X/composite/sobjects``
(update, 42.0+), ``PATCH /services/data/vXX.X/composite/sobjects/{sobject}/{field}``
(upsert by an external id, 46.0+, see upsert.py), the single-record upsert
``PATCH /services/data/vXX.X/sobjects/{sobject}/{field}/{value}`` and
``POST /services/oauth2/token`` (sign-in, see oauth.py).

REST requests need ``Authorization: Bearer <token>``: the fixed ``access_token`` or
one the token endpoint issued; a wrong, expired or revoked token gets 401
INVALID_SESSION_ID. Versions 7.0-30.0 are retired (410 GONE), unknown versions,
routes and resources a version does not have answer 404 NOT_FOUND, a wrong method
405 METHOD_NOT_ALLOWED, each as Salesforce's JSON error array. Every authorised
request counts against the daily limit and every REST answer carries
``Sforce-Limit-Info``. Like a real org, usage may run past ``Max``
(``api-usage=110018/100000``): Salesforce blocks calls only some way past the
allocation, at a ceiling it does not publish; here ``overage`` (a fraction of the
limit) sets it, and from there the org answers 403 REQUEST_LIMIT_EXCEEDED
"TotalRequests Limit exceeded.". ``OrgState.busy`` answers the concurrency limit
(403 "ConcurrentPerOrgLongTxn Limit exceeded.") to that many requests;
``OrgState.unavailable`` makes it answer 503.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.core import sobjects as md
from tui.core.limits import RECORDS_PER_CALL
from tui.simorg.describe import describe
from tui.simorg.oauth import ConnectedApp, TokenIssuer
from tui.simorg.state import OrgState
from tui.simorg.upsert import apply_upsert, plan_upserts
from tui.simorg.validate import SfError, apply, check_record, err, record_id_of

MAX_RECORDS = RECORDS_PER_CALL
_VERSION = re.compile(r"^v(\d+)\.0$")
#: The oldest version the org serves; 7.0-30.0 answer 410 (retired in Summer '25,
#: https://help.salesforce.com/s/articleView?id=000354473&type=1).
OLDEST_VERSION = 31
RETIRED_VERSIONS = range(7, OLDEST_VERSION)
#: The first version that has each route (sObject Collections update came in 42.0,
#: its upsert in 46.0); older versions answer 404 for it.
SINCE = {"update": 42, "upsert": 46}
NOT_FOUND = "The requested resource does not exist"
BUSY_MESSAGE = "ConcurrentPerOrgLongTxn Limit exceeded."
_SEASONS = ("Spring", "Summer", "Winter")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json([{"message": message, "errorCode": code}], status, headers)


_UNAVAILABLE = "<html><body>Server Unavailable</body></html>"


def _gone(version: int) -> Response:
    return _error(
        410,
        "GONE",
        f"API version {version}.0 is retired and no longer available; "
        f"use version {OLDEST_VERSION}.0 or later.",
    )


_PATH_VERSION = re.compile(r"^/services/data/v(\d+)\.0(/|$)")


def release_label(version: int) -> str:
    """The release a version came with: 60 is Spring '24, 62 Winter '25, 30 Spring '14."""
    step = version - 60
    return f"{_SEASONS[step % 3]} '{24 + (step + 1) // 3:02d}"


class _Org:
    def __init__(
        self,
        state: OrgState,
        access_token: str,
        daily_limit: int,
        api_version: str,
        oauth: TokenIssuer,
        overage: float,
    ):
        self.state = state
        self.access_token = access_token
        self.daily_limit = daily_limit
        self.latest = int(float(api_version.lstrip("v")))
        self.oauth = oauth
        self.blocked_at = daily_limit + int(daily_limit * overage)

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.state.api_used}/{self.daily_limit}"}

    def gate(self, request: Request, route: str) -> Response | None:
        """Answer for a request that may not proceed; counts the one that may."""
        if self.state.unavailable:
            return Response(_UNAVAILABLE, 503, media_type="text/html")
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        fixed = hmac.compare_digest(token.encode(), self.access_token.encode())
        fixed = fixed and self.state.token_valid()
        if not (token and (fixed or self.oauth.accepts(token))):
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        match = _VERSION.match(request.path_params.get("version", ""))
        version = int(match[1]) if match else 0
        if version in RETIRED_VERSIONS:
            return _gone(version)
        if not max(SINCE.get(route, 0), OLDEST_VERSION) <= version <= self.latest:
            return _error(404, "NOT_FOUND", NOT_FOUND)
        if self.state.api_used >= self.blocked_at:
            return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.state.api_used += 1
        if self.state.busy > 0:
            self.state.busy -= 1
            return _error(403, "REQUEST_LIMIT_EXCEEDED", BUSY_MESSAGE)
        return None

    def finish(self, response: Response) -> Response:
        response.headers.update(self.limit_header())
        return response

    async def versions(self, request: Request) -> Response:
        if self.state.unavailable:
            return Response(_UNAVAILABLE, 503, media_type="text/html")
        body = [
            {"label": release_label(n), "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
            for n in range(OLDEST_VERSION, self.latest + 1)
        ]
        return _json(body)

    async def limits(self, request: Request) -> Response:
        refused = self.gate(request, "limits")
        if refused is not None:
            return self.finish(refused)

        def pair(maximum: int, remaining: int) -> dict[str, Any]:
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

    async def describe(self, request: Request) -> Response:
        """``GET /sobjects/{sobject}/describe``: the object as the integration user sees it."""
        refused = self.gate(request, "describe")
        if refused is not None:
            return self.finish(refused)
        version = int(request.path_params["version"][1:-2])
        body = describe(request.path_params["sobject"], version)
        if body is None:
            return self.finish(_error(404, "NOT_FOUND", NOT_FOUND))
        return self.finish(_json(body))

    async def token(self, request: Request) -> Response:
        if self.state.unavailable:
            return Response(_UNAVAILABLE, 503, media_type="text/html")
        return await self.oauth.endpoint(request)

    async def update(self, request: Request) -> Response:
        refused = self.gate(request, "update")
        if refused is not None:
            return self.finish(refused)
        body = await _records_body(request)
        if isinstance(body, Response):
            return self.finish(body)
        records, all_or_none = body
        problems = [check_record(self.state, r) for r in records]

        def write(index: int) -> dict[str, Any]:
            apply(self.state, records[index])
            return {"id": record_id_of(records[index]), "success": True, "errors": []}

        return self.finish(_json(_results(problems, all_or_none, write)))

    def _external_field(self, sobject: str, field: str) -> Response | None:
        """The 404/400 answer when ``field`` of ``sobject`` cannot match records."""
        if sobject not in md.FIELDS:
            return _error(404, "NOT_FOUND", NOT_FOUND)
        definition = md.FIELDS[sobject].get(field)
        if definition is None:
            return _error(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field}",
            )
        if not definition.external_id:
            return _error(
                400,
                "INVALID_FIELD",
                f"Field name provided, {field} is not an External ID or indexed field "
                f"for {sobject}",
            )
        return None

    async def upsert(self, request: Request) -> Response:
        refused = self.gate(request, "upsert")
        if refused is not None:
            return self.finish(refused)
        sobject, field = request.path_params["sobject"], request.path_params["field"]
        wrong = self._external_field(sobject, field)
        if wrong is not None:
            return self.finish(wrong)
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

    async def upsert_one(self, request: Request) -> Response:
        """``PATCH /sobjects/{sobject}/{field}/{value}``: 201 created, 200 updated, 400 refused."""
        refused = self.gate(request, "single_upsert")
        if refused is not None:
            return self.finish(refused)
        params = request.path_params
        sobject, field, value = params["sobject"], params["field"], params["value"]
        wrong = self._external_field(sobject, field)
        if wrong is not None:
            return self.finish(wrong)
        try:
            fields = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            fields = None
        if not isinstance(fields, dict):
            return self.finish(
                _error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.")
            )
        record = {**fields, "attributes": {"type": sobject}, field: value}
        (plan,) = plan_upserts(self.state, sobject, field, [record])
        if plan.errors:
            return self.finish(_json([_rest_error(e) for e in plan.errors], 400))
        record_id = apply_upsert(self.state, sobject, plan)
        answer = {"id": record_id, "success": True, "errors": [], "created": plan.created}
        return self.finish(_json(answer, 201 if plan.created else 200))


def _rest_error(error: SfError) -> dict[str, Any]:
    """A collections error in the shape of a single-record REST error."""
    return {
        "message": error["message"],
        "errorCode": error["statusCode"],
        "fields": error.get("fields", []),
    }


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
    return records, body.get("allOrNone") is True


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


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and wrong methods, in Salesforce's JSON error array.

    Every resource of a retired version is gone, known to this org or not.
    """
    assert isinstance(exc, HTTPException)
    retired = _PATH_VERSION.match(request.url.path)
    if retired and int(retired[1]) in RETIRED_VERSIONS:
        return _gone(int(retired[1]))
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return _error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
            {"Allow": allowed} if allowed else None,
        )
    if exc.status_code == 404:
        return _error(404, "NOT_FOUND", NOT_FOUND)
    return _error(exc.status_code, "BAD_REQUEST", str(exc.detail))


def create_simorg(
    state: OrgState | None = None,
    *,
    access_token: str = "00D5g000004simO!simulated-access-token",
    daily_limit: int = 15000,
    api_version: str = "v62.0",
    connected_app: ConnectedApp | None = None,
    overage: float = 0.1,
) -> Starlette:
    """The simulated org as an ASGI app.

    Its ``OrgState`` is ``app.state.org`` and its token issuer ``app.state.oauth``;
    without a ``connected_app`` every sign-in is refused as an unknown client.
    ``api_version`` is the newest version it serves; calls are refused from
    ``daily_limit * (1 + overage)`` on.
    """
    oauth = TokenIssuer(connected_app)
    org = _Org(
        state or OrgState.from_seed(), access_token, daily_limit, api_version, oauth, overage
    )
    collections = "/services/data/{version}/composite/sobjects"
    sobjects = "/services/data/{version}/sobjects"
    app = Starlette(
        routes=[
            Route("/services/oauth2/token", org.token, methods=["POST"]),
            Route("/services/data/", org.versions, methods=["GET"]),
            Route("/services/data", org.versions, methods=["GET"]),
            Route("/services/data/{version}/limits/", org.limits, methods=["GET"]),
            Route("/services/data/{version}/limits", org.limits, methods=["GET"]),
            Route(f"{sobjects}/{{sobject}}/describe", org.describe, methods=["GET"]),
            Route(f"{sobjects}/{{sobject}}/describe/", org.describe, methods=["GET"]),
            Route(collections, org.update, methods=["PATCH"]),
            Route(collections + "/{sobject}/{field}", org.upsert, methods=["PATCH"]),
            Route(
                "/services/data/{version}/sobjects/{sobject}/{field}/{value}",
                org.upsert_one,
                methods=["PATCH"],
            ),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.org = org.state
    app.state.oauth = oauth
    return app
