"""The one way synchealth reaches Salesforce: a small REST connector over httpx.

It speaks the subset the service needs: ``GET /limits/`` and sObject Collections
``PATCH /composite/sobjects`` (at most 200 records per call, ``allOrNone`` false).
Every HTTP request actually sent is reported through ``on_call`` so the usage
ledger counts it, and the last ``Sforce-Limit-Info`` header is kept.

Failures become :class:`SalesforceError` subclasses whose messages a person can act
on; the access token never appears in them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

#: sObject Collections accepts at most this many records per request.
MAX_RECORDS_PER_CALL = 200

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class TokenProvider(Protocol):
    async def token(self, refresh: bool = False) -> str:
        """The current access token; a fresh one when ``refresh`` is true."""
        ...


class StaticToken:
    """A fixed access token: a refresh yields the same token, so a second 401 is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, refresh: bool = False) -> str:
        return self._token

    def __repr__(self) -> str:
        return "StaticToken(***)"


class SalesforceError(Exception):
    """Salesforce could not do what was asked; the message says why."""


class SessionExpired(SalesforceError):
    """The access token was refused, even after one refresh."""


class RequestLimitExceeded(SalesforceError):
    """The org has spent its daily API requests; nothing more may be sent today."""


class SalesforceUnavailable(SalesforceError):
    """Salesforce could not be reached, timed out or answered with a server error."""


class SalesforceProtocolError(SalesforceError):
    """Salesforce answered with something that is not the JSON it should send."""


@dataclass(frozen=True, slots=True)
class OrgLimits:
    """The org's DailyApiRequests limit."""

    max: int
    remaining: int

    @property
    def used(self) -> int:
        return self.max - self.remaining


@dataclass(frozen=True, slots=True)
class RecordResult:
    """One record's outcome in an sObject Collections answer."""

    id: str | None
    success: bool
    errors: list[dict[str, Any]] = field(default_factory=list)


class SalesforceConnector:
    def __init__(
        self,
        instance_url: str,
        token_provider: TokenProvider,
        api_version: str = "v62.0",
        transport: httpx.AsyncBaseTransport | None = None,
        on_call: Callable[[], None] | None = None,
        timeout: float | httpx.Timeout = 30.0,
    ) -> None:
        self._tokens = token_provider
        self._base = f"/services/data/{api_version}"
        self._on_call = on_call
        self._limit_info: tuple[int, int] | None = None
        self._client = httpx.AsyncClient(
            base_url=instance_url.rstrip("/"), transport=transport, timeout=timeout
        )

    @property
    def limit_info(self) -> tuple[int, int] | None:
        """(used, max) from the last ``Sforce-Limit-Info`` header, if any was seen."""
        return self._limit_info

    async def aclose(self) -> None:
        await self._client.aclose()

    async def limits(self) -> OrgLimits:
        body = await self._request("GET", f"{self._base}/limits/")
        try:
            daily = body["DailyApiRequests"]
            return OrgLimits(max=int(daily["Max"]), remaining=int(daily["Remaining"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SalesforceProtocolError(
                "Salesforce's limits answer has no readable DailyApiRequests Max/Remaining"
            ) from exc

    async def update(self, records: list[dict[str, Any]]) -> list[RecordResult]:
        """Update records with sObject Collections, 200 per call, results in request order."""
        results: list[RecordResult] = []
        for start in range(0, len(records), MAX_RECORDS_PER_CALL):
            chunk = records[start : start + MAX_RECORDS_PER_CALL]
            body = await self._request(
                "PATCH",
                f"{self._base}/composite/sobjects",
                json={"allOrNone": False, "records": chunk},
            )
            results.extend(_record_results(body, len(chunk)))
        return results

    async def _request(self, method: str, path: str, json: Any = None) -> Any:
        refreshed = False
        while True:
            token = await self._tokens.token(refresh=refreshed)
            response = await self._send(method, path, json, token)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                continue
            return _body_or_raise(response)

    async def _send(self, method: str, path: str, json: Any, token: str) -> httpx.Response:
        """Send one request; ``on_call`` counts it unless it never left (no connection)."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        request = self._client.build_request(method, path, json=json, headers=headers)
        try:
            response = await self._client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SalesforceUnavailable(
                f"cannot reach Salesforce at {self._client.base_url.host}: {type(exc).__name__}"
            ) from None
        except httpx.TimeoutException as exc:
            self._count()  # it may have reached Salesforce and been counted there
            raise SalesforceUnavailable(
                f"Salesforce did not answer in time ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            self._count()
            raise SalesforceUnavailable(
                f"the connection to Salesforce failed ({type(exc).__name__})"
            ) from None
        self._count()
        self._note_limit_info(response)
        return response

    def _count(self) -> None:
        if self._on_call is not None:
            self._on_call()

    def _note_limit_info(self, response: httpx.Response) -> None:
        header = response.headers.get("Sforce-Limit-Info")
        if header and (match := _LIMIT_INFO.search(header)):
            self._limit_info = (int(match[1]), int(match[2]))


def _body_or_raise(response: httpx.Response) -> Any:
    status = response.status_code
    if status >= 500:
        raise SalesforceUnavailable(f"Salesforce answered with a server error (HTTP {status})")
    try:
        body = response.json()
    except ValueError:
        raise SalesforceProtocolError(
            f"Salesforce answered HTTP {status} with a body that is not JSON"
        ) from None
    if status < 400:
        return body
    code, message = _first_error(body)
    if status == 401:
        raise SessionExpired(
            "Salesforce refused the access token even after a refresh "
            f"({code or 'HTTP 401'}); sign in to the org again"
        )
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        raise RequestLimitExceeded(
            "the org has used all of its daily Salesforce API requests; "
            "nothing more can be sent until the 24-hour window frees some"
        )
    raise SalesforceError(
        f"Salesforce refused the request (HTTP {status} {code or 'error'}): {message}"
    )


def _first_error(body: Any) -> tuple[str, str]:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    return "", ""


def _record_results(body: Any, expected: int) -> list[RecordResult]:
    if not isinstance(body, list) or len(body) != expected:
        raise SalesforceProtocolError(
            f"Salesforce answered an update of {expected} records with "
            f"{len(body) if isinstance(body, list) else 'no'} results"
        )
    results = []
    for item in body:
        if not isinstance(item, dict) or "success" not in item:
            raise SalesforceProtocolError("Salesforce sent a record result without 'success'")
        errors = item.get("errors") or []
        if not isinstance(errors, list):
            raise SalesforceProtocolError("Salesforce sent record errors that are not a list")
        results.append(RecordResult(item.get("id"), bool(item["success"]), errors))
    return results
