"""The client's typed exceptions (each a :class:`~tui.data.problem.Problem`: a lead in
the session's language and a technical detail, never the token), and a failed answer
of the service turned into one. httpx is imported only where an answer or a transport
failure is read: the console's start opens its cache with these, before any request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from tui.data.problem import Problem
from tui.i18n import service_words

if TYPE_CHECKING:
    import httpx


class ServiceError(Problem):
    """Something went wrong talking to the service (see :class:`Problem`)."""

    def __init__(
        self, detail: str, *, status: int | None = None, code: str = "", lead: str = ""
    ) -> None:
        super().__init__(detail, lead=lead)
        self.status = status
        self.code = code


#: Called as ``listener(failure, attempt, retries)`` before a request is tried again (the
#: console shows it), so a slow or failing service is never waited on silently.
RetryListener = Callable[[ServiceError, int, int], None]


class ServiceUnavailable(ServiceError):
    """The service is down, too slow, or failed (5xx); or it is up but its ledger's
    database is not (503 ``database_unavailable``: the service is degraded)."""

    @property
    def kind(self) -> str:
        if self.code == "slow":
            return "slow"
        if self.code == DATABASE_UNAVAILABLE:
            return "database"
        return "service_error" if self.status is not None else "unreachable"


class ServiceUnauthorized(ServiceError):
    """The service refused our token (401/403)."""

    @property
    def kind(self) -> str:
        return "unauthorized"


class ServiceRejected(ServiceError):
    """The service understood the request and said no (404/409/422/429...)."""

    @property
    def kind(self) -> str:
        return "rate_limited" if self.status == 429 else "rejected"


class BadResponse(ServiceError):
    """The service answered something we cannot read."""

    @property
    def kind(self) -> str:
        return "bad_answer"


class BadServiceURL(ServiceError):
    """The service URL cannot be used (malformed, or not http/https)."""

    @property
    def kind(self) -> str:
        return "bad_url"


DATABASE_UNAVAILABLE = "database_unavailable"


def database_away() -> ServiceUnavailable:
    """The service up, its database not: what a 503 ``database_unavailable`` means, and a
    health answer saying so (the console's own words; the service's are for its log)."""
    return ServiceUnavailable(
        "", status=503, code=DATABASE_UNAVAILABLE, lead=service_words(DATABASE_UNAVAILABLE)
    )


def check_service_url(url: str) -> str:
    """``url`` without a trailing slash, or BadServiceURL saying what is wrong with it."""
    from tui.config import check_url

    try:
        return check_url(url)
    except ValueError as exc:
        raise BadServiceURL(f"The service URL {url!r} {exc}.") from None


def transport_reason(exc: httpx.TransportError) -> str:
    """Why the service could not be reached, in a few words."""
    import httpx

    text = str(exc).strip()
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({text})" if text else "connection failed"
    return text or type(exc).__name__


def decoded(response: httpx.Response, where: str) -> Any:
    """The JSON of a successful answer; BadResponse when it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise BadResponse(
            f"{where} answered {response.request.url.path} with something that is not JSON "
            f"(HTTP {response.status_code}, {len(response.content)} bytes).",
            status=response.status_code,
        ) from exc


def _service_words(response: httpx.Response) -> tuple[str, str]:
    """The (code, message) of an ``{"error": {...}}`` body, or empty strings."""
    try:
        body = orjson.loads(response.content)
        error = body["error"]
        return str(error.get("code", "")), str(error.get("message", "")).strip()
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return "", ""


def failure_of(response: httpx.Response, where: str) -> ServiceError:
    """The exception a non-2xx answer of ``where`` means, in the service's own words."""
    status = response.status_code
    code, message = _service_words(response)
    lead = service_words(code)  # the console's own words, when it knows the code
    if status in (401, 403):
        return ServiceUnauthorized(
            f"{where} refused our token (HTTP {status}). Check the token given with --token "
            "or SYNCHEALTH_TOKEN.",
            status=status,
            code=code,
        )
    if status >= 500:
        return ServiceUnavailable(
            "" if lead else message or f"{where} failed (HTTP {status}). Try again in a moment.",
            status=status,
            code=code,
            lead=lead,
        )
    return ServiceRejected(
        "" if lead else message or f"{where} refused the request (HTTP {status}).",
        status=status,
        code=code,
        lead=lead,
    )
