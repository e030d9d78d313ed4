"""The one way synchealth reaches Salesforce: a small REST connector over httpx.

It speaks the subset the service needs: ``GET /limits/``, sObject Collections
update ``PATCH /composite/sobjects`` and upsert by an external id
``PATCH /composite/sobjects/{sobject}/{field}`` (at most 200 records per call,
``allOrNone`` false). Every HTTP request is announced to ``on_call`` (:data:`CallHook`)
before it is sent, so the usage ledger has it before Salesforce can count it, and the
last ``Sforce-Limit-Info`` header is kept.

Where to send and which token to use come from a :class:`SessionProvider`: a fixed
instance URL with a :class:`TokenProvider` (the demo, tests, a given token), or a
sign-in (tui/service/sfauth.py) that learns the instance URL from the token answer.
A 401 asks the provider for a fresh session once; a second 401 is final.

Failures become :class:`SalesforceError` subclasses whose messages a person can act
on; the access token never appears in them. Every answer a real org gives is read
(docs/integrating.md, "What Salesforce answers"): error bodies as an array or a
single object, ``success`` sent as a string, ``Sforce-Limit-Info`` parts in any
order, HTML pages (maintenance), redirects to a sign-in page, 420/429, and the two
``REQUEST_LIMIT_EXCEEDED`` limits told apart: the daily one
(:class:`RequestLimitExceeded`) and the short-lived concurrency one
(:class:`SalesforceBusy`). Salesforce is only reached over https (plain http only on
this machine, for stand-ins) and certificates are always checked.

The exceptions are in ``salesforce_errors``, the reading of answers in
``salesforce_answers``.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import SplitResult, urlsplit

import httpx
from pydantic import SecretStr

from tui.core.apiversion import check_api_version
from tui.core.limits import RECORDS_PER_CALL
from tui.service.auth import is_loopback
from tui.service.salesforce_answers import (
    OrgLimits,
    RecordResult,
    body_or_raise,
    first_error,
    json_or_none,
    org_api_usage,
    record_results,
)
from tui.service.salesforce_errors import (
    SalesforceError,
    SalesforceNotFound,
    SalesforceProtocolError,
    SalesforceUnavailable,
    SessionExpired,
    SignInError,
)

_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")

#: sObject Collections accepts at most this many records per request.
MAX_RECORDS_PER_CALL = RECORDS_PER_CALL

#: What a request is for: (kind, sObject). Kinds: limits, versions, describe, update,
#: upsert; the sObject is "" for limits and versions, and the records' types joined by
#: "+" for an update of several objects.
CallKind = tuple[str, str]
#: Takes back a call announced to a :data:`CallHook` that never left this machine.
Withdraw = Callable[[], Awaitable[None]]
#: Awaited with the request's :data:`CallKind` before each request is sent (a request
#: goes only once it returns); what it returns is awaited when no connection could be
#: made, so the request cannot have reached Salesforce.
CallHook = Callable[[CallKind], Awaitable[Withdraw]]


@dataclass(frozen=True, slots=True)
class OrgSession:
    """A signed-in session: the bearer token and the org's instance URL (no trailing /)."""

    access_token: SecretStr
    instance_url: str


class TokenProvider(Protocol):
    async def token(self, refresh: bool = False) -> str:
        """The current access token; a fresh one when ``refresh`` is true."""
        ...


@runtime_checkable
class SessionProvider(Protocol):
    """Hands out sessions; ``stale`` is one Salesforce just refused (answered 401)."""

    @property
    def expired_advice(self) -> str:
        """What to tell the user when even a fresh session is refused."""

    async def session(self, stale: OrgSession | None = None) -> OrgSession: ...

    async def aclose(self) -> None: ...


class StaticToken:
    """A fixed access token: a refresh yields the same token, so a second 401 is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, refresh: bool = False) -> str:
        return self._token

    def __repr__(self) -> str:
        return "StaticToken(***)"


class FixedInstance:
    """A :class:`SessionProvider` for a known instance URL and a token provider."""

    expired_advice = "sign in to the org again and give the service the new access token"

    def __init__(self, instance_url: str, tokens: TokenProvider) -> None:
        self._url = salesforce_url(instance_url, "the org URL")
        self._tokens = tokens

    async def session(self, stale: OrgSession | None = None) -> OrgSession:
        token = await self._tokens.token(refresh=stale is not None)
        return OrgSession(SecretStr(token), self._url)

    async def aclose(self) -> None:
        """Nothing to close: the token provider belongs to the caller."""

    def __repr__(self) -> str:
        return f"FixedInstance({self._url!r}, {self._tokens!r})"


def salesforce_url(url: str, what: str) -> str:
    """``url`` without a trailing slash, if Salesforce may be reached there.

    Only https, except plain http to this machine (a stand-in in tests); just the
    address, without a path, user name or password.
    """
    example = "for example https://acme.my.salesforce.com"
    parts = _split(url)
    host = parts.hostname if parts is not None else None
    if parts is None or not host or parts.scheme not in ("https", "http"):
        raise SignInError(f"{what} must be an https:// address, {example}; got {url!r}")
    if parts.scheme == "http" and not is_loopback(host):
        raise SignInError(
            f"{what} {url!r} uses plain http://: Salesforce needs https:// "
            "(plain http is only accepted for a stand-in on this machine)"
        )
    if parts.username is not None or parts.password is not None:
        raise SignInError(f"{what} must not carry a user name or password; {example}")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise SignInError(
            f"{what} must be only the address, without a path, {example}; got {url!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _split(url: str) -> SplitResult | None:
    """The parts of ``url``; None when urlsplit refuses it (an unclosed "[::1") or its
    port is not a number."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def transport_failure(exc: httpx.TransportError, where: str) -> str:
    """A sentence about a request to ``where`` that failed below HTTP.

    ``where`` names the server ("Salesforce at acme.my.salesforce.com"); nothing
    secret is in ``exc`` (httpx does not put headers or bodies in its messages).
    """
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in reason:
        detail = reason.rsplit("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return (
            f"the TLS certificate of {where} could not be verified ({detail or reason}); if a "
            "TLS-inspecting proxy sits in between, give its CA bundle as ca_file "
            "(verification is never turned off)"
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot reach {where}: connecting timed out (check the address, proxy, firewall)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot reach {where}: {reason} (check the address, proxy and network)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} did not answer in time ({type(exc).__name__})"
    return f"the connection to {where} failed ({type(exc).__name__})"


class SalesforceConnector:
    """Salesforce's REST API for the service.

    ``instance_url`` with a :class:`TokenProvider`, or ``None`` with a
    :class:`SessionProvider` (which then names the instance); the connector owns the
    provider from then on and closes it in :meth:`aclose`. ``verify`` is an
    ``ssl.SSLContext`` with extra CAs (see ``sfauth.tls_verify``) or True.
    """

    def __init__(
        self,
        instance_url: str | None,
        token_provider: TokenProvider | SessionProvider,
        api_version: str = "v62.0",
        transport: httpx.AsyncBaseTransport | None = None,
        on_call: CallHook | None = None,
        timeout: float | httpx.Timeout = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        if instance_url is not None:
            self._sessions: SessionProvider = FixedInstance(instance_url, token_provider)  # type: ignore[arg-type]
        elif isinstance(token_provider, SessionProvider):
            self._sessions = token_provider
        else:
            raise TypeError("without an instance URL the provider must be a SessionProvider")
        if verify is False:
            raise ValueError("TLS verification is never turned off for Salesforce")
        try:
            self._base = f"/services/data/{check_api_version(api_version)}"
        except ValueError as exc:
            raise SalesforceError(f"api_version {exc}") from None
        self._on_call = on_call
        self._limit_info: tuple[int, int] | None = None
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout, verify=verify)

    def __repr__(self) -> str:
        return f"SalesforceConnector({self._sessions!r})"

    @property
    def limit_info(self) -> tuple[int, int] | None:
        """(used, max) from the last ``Sforce-Limit-Info`` header, if any was seen."""
        return self._limit_info

    async def aclose(self) -> None:
        try:
            await self._client.aclose()
        finally:
            await self._sessions.aclose()

    async def limits(self) -> OrgLimits:
        body = await self._request("GET", f"{self._base}/limits/", ("limits", ""))
        try:
            daily = body["DailyApiRequests"]
            return OrgLimits(max=int(daily["Max"]), remaining=int(daily["Remaining"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SalesforceProtocolError(
                "Salesforce's limits answer has no readable DailyApiRequests Max/Remaining"
            ) from exc

    async def versions(self) -> list[str]:
        """The API versions the org serves (``GET /services/data/``), e.g. ``["31.0", ...]``."""
        body = await self._request("GET", "/services/data/", ("versions", ""))
        if not isinstance(body, list):
            raise SalesforceProtocolError("Salesforce's list of API versions is not a list")
        return [str(v["version"]) for v in body if isinstance(v, dict) and "version" in v]

    @property
    def api_version(self) -> str:
        """The version this connector calls, e.g. ``v62.0``."""
        return self._base.rsplit("/", 1)[1]

    async def describe(self, sobject: str) -> dict[str, Any] | None:
        """``GET /sobjects/{sobject}/describe`` as the integration user sees the object;
        None when Salesforce answers 404 (no such object, or no access to it)."""
        if not _API_NAME.fullmatch(sobject):
            raise SalesforceError(f"{sobject!r} is not a Salesforce sObject API name")
        try:
            body = await self._request(
                "GET", f"{self._base}/sobjects/{sobject}/describe", ("describe", sobject)
            )
        except SalesforceNotFound:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
            raise SalesforceProtocolError(f"Salesforce's describe of {sobject} has no fields")
        return body

    async def update(self, records: list[dict[str, Any]]) -> list[RecordResult]:
        """Update records with sObject Collections, 200 per call, results in request order."""
        return await self._collections(
            f"{self._base}/composite/sobjects", records, "an update", "update", None
        )

    async def upsert(
        self, sobject: str, external_id_field: str, records: list[dict[str, Any]]
    ) -> list[RecordResult]:
        """Insert or update ``sobject`` records matched by ``external_id_field``.

        Each record carries ``attributes.type`` and the external id field, not ``Id``.
        200 per call; results in request order, with ``created`` set.
        """
        for name, what in ((sobject, "sObject"), (external_id_field, "external id field")):
            if not _API_NAME.fullmatch(name):
                raise SalesforceError(f"{name!r} is not a Salesforce {what} API name")
        path = f"{self._base}/composite/sobjects/{sobject}/{external_id_field}"
        return await self._collections(path, records, f"an upsert of {sobject}", "upsert", sobject)

    async def _collections(
        self,
        path: str,
        records: list[dict[str, Any]],
        what: str,
        kind: str,
        sobject: str | None,
    ) -> list[RecordResult]:
        """Send ``records`` in chunks; each call is counted as ``kind`` of ``sobject``
        (None: the chunk's own record types)."""
        results: list[RecordResult] = []
        for start in range(0, len(records), MAX_RECORDS_PER_CALL):
            chunk = records[start : start + MAX_RECORDS_PER_CALL]
            body = await self._request(
                "PATCH",
                path,
                (kind, sobject if sobject is not None else _record_types(chunk)),
                {"allOrNone": False, "records": chunk},
            )
            results.extend(record_results(body, len(chunk), what))
        return results

    async def _request(self, method: str, path: str, kind: CallKind, json: Any = None) -> Any:
        session = await self._sessions.session()
        response = await self._send(method, path, kind, json, session)
        if response.status_code == 401:
            session = await self._sessions.session(stale=session)
            response = await self._send(method, path, kind, json, session)
            if response.status_code == 401:
                code, _ = first_error(json_or_none(response))
                raise SessionExpired(
                    "Salesforce refused the access token even after a refresh "
                    f"({code or 'HTTP 401'}); {self._sessions.expired_advice}"
                )
        return body_or_raise(response)

    async def _send(
        self, method: str, path: str, kind: CallKind, json: Any, session: OrgSession
    ) -> httpx.Response:
        """Send one request, announced to ``on_call`` first; withdrawn if it never left (no
        connection). Any later failure may have reached Salesforce: it stays counted."""
        headers = {
            "Authorization": f"Bearer {session.access_token.get_secret_value()}",
            "Accept": "application/json",
        }
        url = session.instance_url + path
        request = self._client.build_request(method, url, json=json, headers=headers)
        withdraw = None if self._on_call is None else await self._on_call(kind)
        try:
            response = await self._client.send(request)
        except httpx.TransportError as exc:
            never_left = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            if never_left and withdraw is not None:
                await withdraw()
            raise SalesforceUnavailable(
                transport_failure(exc, f"Salesforce at {request.url.host}")
            ) from None
        self._note_limit_info(response)
        return response

    def _note_limit_info(self, response: httpx.Response) -> None:
        usage = org_api_usage(response.headers.get("Sforce-Limit-Info", ""))
        if usage is not None:
            self._limit_info = usage


def _record_types(records: list[dict[str, Any]]) -> str:
    """The sObject types of ``records`` (``attributes.type``), sorted and joined by "+"."""
    types = {
        str(r["attributes"].get("type") or "")
        for r in records
        if isinstance(r.get("attributes"), dict)
    }
    return "+".join(sorted(t for t in types if t))
