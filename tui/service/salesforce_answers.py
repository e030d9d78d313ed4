"""Salesforce's answers read: limits, sObject Collections results, error bodies as an
array or a single object, HTML pages, redirects, ``Sforce-Limit-Info`` (see
docs/integrating.md, "What Salesforce answers")."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tui.core.apiversion import MIN_API_VERSION
from tui.service.salesforce_errors import (
    RequestLimitExceeded,
    SalesforceBusy,
    SalesforceError,
    SalesforceNotFound,
    SalesforceProtocolError,
    SalesforceUnavailable,
)

#: One part of ``Sforce-Limit-Info``: ``api-usage=25/5000`` or
#: ``per-app-api-usage=17/250(appName=sample-app)``; parts are split by ``;`` or ``,``.
_LIMIT_PART = re.compile(r"\s*([A-Za-z-]+)=(\d+)/(\d+)")


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


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def body_or_raise(response: httpx.Response) -> Any:
    status = response.status_code
    if 300 <= status < 400:
        raise SalesforceError(_redirect_message(response))
    body = json_or_none(response)
    if status in (420, 429):
        raise SalesforceBusy(_busy_message(f"HTTP {status}", first_error(body)[1]))
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
    code, message = first_error(body)
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


def first_error(body: Any) -> tuple[str, str]:
    """(errorCode, message) of an error answer: an array of errors or one error object.

    Both are cut to a length a message can carry (an Apex stack trace can be long).
    """
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        code, message = str(first.get("errorCode") or ""), str(first.get("message") or "")
        return code[:80], message if len(message) <= 500 else message[:499] + "…"
    return "", ""


def record_results(body: Any, expected: int, what: str) -> list[RecordResult]:
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
