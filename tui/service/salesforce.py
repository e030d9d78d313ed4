"""The one way synchealth reaches Salesforce: a small REST connector over httpx.

It speaks the subset the service needs: ``GET /limits/``, sObject Collections
update ``PATCH /composite/sobjects`` and upsert by an external id
``PATCH /composite/sobjects/{sobject}/{field}`` (at most 200 records per call,
``allOrNone`` false). Every HTTP request actually sent is reported through
``on_call`` so the usage ledger counts it, and the last ``Sforce-Limit-Info`` header
is kept.

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
"""

from __future__ import annotations

import contextvars
import html
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import SplitResult, urlsplit

import httpx
from pydantic import SecretStr

from tui.core.apiversion import MIN_API_VERSION, check_api_version
from tui.core.limits import RECORDS_PER_CALL
from tui.service.auth import is_loopback

#: sObject Collections accepts at most this many records per request.
MAX_RECORDS_PER_CALL = RECORDS_PER_CALL

#: What the request being sent is for: (kind, sObject). Kinds: limits, versions,
#: describe, update, upsert; the sObject is "" for limits and versions, and the
#: records' types joined by "+" for an update of several objects.
_call: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "salesforce_call", default=("other", "")
)


def call_kind() -> tuple[str, str]:
    """(kind, sObject) of the request being sent, for an ``on_call`` hook to read."""
    return _call.get()


#: One part of ``Sforce-Limit-Info``: ``api-usage=25/5000`` or
#: ``per-app-api-usage=17/250(appName=sample-app)``; parts are split by ``;`` or ``,``.
_LIMIT_PART = re.compile(r"\s*([A-Za-z-]+)=(\d+)/(\d+)")


class SalesforceError(Exception):
    """Salesforce could not do what was asked; the message says why."""


class SignInError(SalesforceError):
    """Signing in to Salesforce failed; the message says what to check, never a secret."""


class SessionExpired(SalesforceError):
    """The access token was refused, even after one refresh."""


class RequestLimitExceeded(SalesforceError):
    """The org has spent its daily API requests; nothing more may be sent today."""


class SalesforceBusy(SalesforceError):
    """A short-lived limit (concurrent long requests, 420/429): nothing was done, retry soon."""


class SalesforceUnavailable(SalesforceError):
    """Salesforce could not be reached, timed out or answered with a server error."""


class SalesforceProtocolError(SalesforceError):
    """Salesforce answered with something that is not the JSON it should send."""


class SalesforceNotFound(SalesforceError):
    """Salesforce answered 404: the resource does not exist or the user may not see it."""


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
    #: Upserts only: True when the record was inserted, False when updated.
    created: bool | None = None


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
        on_call: Callable[[], None] | None = None,
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
        body = await self._request("GET", f"{self._base}/limits/", kind=("limits", ""))
        try:
            daily = body["DailyApiRequests"]
            return OrgLimits(max=int(daily["Max"]), remaining=int(daily["Remaining"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SalesforceProtocolError(
                "Salesforce's limits answer has no readable DailyApiRequests Max/Remaining"
            ) from exc

    async def versions(self) -> list[str]:
        """The API versions the org serves (``GET /services/data/``), e.g. ``["31.0", ...]``."""
        body = await self._request("GET", "/services/data/", kind=("versions", ""))
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
                "GET", f"{self._base}/sobjects/{sobject}/describe", kind=("describe", sobject)
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
                json={"allOrNone": False, "records": chunk},
                kind=(kind, sobject if sobject is not None else _record_types(chunk)),
            )
            results.extend(_record_results(body, len(chunk), what))
        return results

    async def _request(
        self, method: str, path: str, json: Any = None, kind: tuple[str, str] = ("other", "")
    ) -> Any:
        token = _call.set(kind)
        try:
            return await self._request_as(method, path, json)
        finally:
            _call.reset(token)

    async def _request_as(self, method: str, path: str, json: Any) -> Any:
        session = await self._sessions.session()
        response = await self._send(method, path, json, session)
        if response.status_code == 401:
            session = await self._sessions.session(stale=session)
            response = await self._send(method, path, json, session)
            if response.status_code == 401:
                code, _ = _first_error(_json_or_none(response))
                raise SessionExpired(
                    "Salesforce refused the access token even after a refresh "
                    f"({code or 'HTTP 401'}); {self._sessions.expired_advice}"
                )
        return _body_or_raise(response)

    async def _send(self, method: str, path: str, json: Any, session: OrgSession) -> httpx.Response:
        """Send one request; ``on_call`` counts it unless it never left (no connection)."""
        headers = {
            "Authorization": f"Bearer {session.access_token.get_secret_value()}",
            "Accept": "application/json",
        }
        url = session.instance_url + path
        request = self._client.build_request(method, url, json=json, headers=headers)
        try:
            response = await self._client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SalesforceUnavailable(
                transport_failure(exc, f"Salesforce at {request.url.host}")
            ) from None
        except httpx.TransportError as exc:
            self._count()  # it may have reached Salesforce and been counted there
            raise SalesforceUnavailable(
                transport_failure(exc, f"Salesforce at {request.url.host}")
            ) from None
        self._count()
        self._note_limit_info(response)
        return response

    def _count(self) -> None:
        if self._on_call is not None:
            self._on_call()

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


def org_api_usage(header: str) -> tuple[int, int] | None:
    """(used, max) of the ``api-usage`` part of a ``Sforce-Limit-Info`` header.

    Only the part named exactly ``api-usage`` is the org's figure; ``per-app-api-usage``
    (a connected app's share) may come first.
    """
    for part in re.split(r"[;,]", header):
        match = _LIMIT_PART.match(part)
        if match and match[1].lower() == "api-usage":
            return int(match[2]), int(match[3])
    return None


_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _body_or_raise(response: httpx.Response) -> Any:
    status = response.status_code
    if 300 <= status < 400:
        raise SalesforceError(_redirect_message(response))
    body = _json_or_none(response)
    if status in (420, 429):
        raise SalesforceBusy(_busy_message(f"HTTP {status}", _first_error(body)[1]))
    page = _html_page(response) if body is None else None
    if status >= 500:
        what = f"a server error (HTTP {status})"
        raise SalesforceUnavailable(f"Salesforce answered with {what}{page or ''}")
    if page is not None:
        raise SalesforceUnavailable(
            f"Salesforce answered HTTP {status} with a web page instead of its API's JSON{page}"
        )
    if body is None:
        raise SalesforceProtocolError(
            f"Salesforce answered HTTP {status} with a body that is not JSON"
        )
    if status < 400:
        return body
    code, message = _first_error(body)
    if code == "REQUEST_LIMIT_EXCEEDED":
        if "concurrent" in message.lower():
            raise SalesforceBusy(_busy_message(code, message))
        raise RequestLimitExceeded(
            "the org has used all of its daily Salesforce API requests"
            f"{f' ({message})' if message else ''}; nothing more can be sent until the "
            "24-hour window frees some"
        )
    if status == 410:
        raise SalesforceError(
            f"Salesforce no longer serves this API version (HTTP 410 {code or 'GONE'}): "
            f"set api_version to v{max(MIN_API_VERSION.values())}.0 or later"
        )
    said = f": {message}" if message else " without saying why"
    refused = SalesforceNotFound if status == 404 else SalesforceError
    raise refused(f"Salesforce refused the request (HTTP {status} {code or 'error'}){said}")


def _busy_message(what: str, message: str) -> str:
    detail = f"{what}: {message}" if message else what
    return f"Salesforce is busy, retry in a minute ({detail})"


def _redirect_message(response: httpx.Response) -> str:
    target = httpx.URL(response.headers.get("location", ""))
    where = f" to {target.host}" if target.host else ""
    return (
        f"Salesforce redirected the request{where} (HTTP {response.status_code}) instead of "
        "answering it, so nothing was done: the instance URL must be the org's My Domain "
        "address (https://NAME.my.salesforce.com) and the session must be valid"
    )


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _html_page(response: httpx.Response) -> str | None:
    """What an HTML answer says, as ``": <text>"`` for a message; None if it is not HTML."""
    text = response.text if response.content else ""
    looks_like_html = text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
    if "html" not in response.headers.get("content-type", "").lower() and not looks_like_html:
        return None
    if "maintenance" in text.lower():
        return " (it is down for maintenance; try again later, see status.salesforce.com)"
    title = _TITLE.search(text)
    said = html.unescape(_TAG.sub(" ", title[1] if title else text))
    said = " ".join(said.split())[:120]
    return f" ({said})" if said else ""


def _first_error(body: Any) -> tuple[str, str]:
    """(errorCode, message) of an error answer: an array of errors or one error object.

    Both are cut to a length a message can carry (an Apex stack trace can be long).
    """
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        code, message = str(first.get("errorCode") or ""), str(first.get("message") or "")
        return code[:80], message if len(message) <= 500 else message[:499] + "…"
    return "", ""


def _record_results(body: Any, expected: int, what: str) -> list[RecordResult]:
    if not isinstance(body, list) or len(body) != expected:
        raise SalesforceProtocolError(
            f"Salesforce answered {what} of {expected} records with "
            f"{len(body) if isinstance(body, list) else 'no'} results"
        )
    results = []
    for item in body:
        if not isinstance(item, dict) or "success" not in item:
            raise SalesforceProtocolError("Salesforce sent a record result without 'success'")
        errors = item.get("errors") or []
        if not isinstance(errors, list):
            raise SalesforceProtocolError("Salesforce sent record errors that are not a list")
        created = _flag(item.get("created"))
        record_id = item.get("id")
        results.append(
            RecordResult(
                record_id if isinstance(record_id, str) and record_id else None,
                _flag(item["success"]) is True,
                errors,
                created,
            )
        )
    return results


def _flag(value: Any) -> bool | None:
    """A JSON boolean, also when sent as the string "true"/"false"; None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None
