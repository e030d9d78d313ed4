"""Who may call the service: the bearer token check, and what counts as loopback."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from tui.service.db import DatabaseUnavailable
from tui.service.tokens import CONFIG_TOKEN_NAME, Tokens

log = logging.getLogger("synchealth.auth")
#: How often a service without tokens looks whether one was added.
ASK_EVERY = timedelta(seconds=1)


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: addresses only this machine reaches."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: Where the auth middleware leaves the name of the token a request was let in with.
TOKEN_SCOPE = "synchealth.token"
#: Set on a health request let in without a valid token (see :class:`BearerAuth`).
ANONYMOUS_SCOPE = "synchealth.anonymous"
HEALTH_PATH = "/v1/health"
NEEDED = "This Sync Health service needs an API token: send it as 'Authorization: Bearer <token>'."
NOT_VALID = "The API token is not valid for this Sync Health service."


class BearerAuth:
    """Every HTTP request needs ``Authorization: Bearer <token>`` once a token exists:
    the configuration's ``api_token`` (named :data:`~tui.service.tokens.CONFIG_TOKEN_NAME`)
    or a named token of the ledger (tui/service/tokens.py). The name goes into the
    request's scope under :data:`TOKEN_SCOPE`: the audit trail's actor.

    The configuration's token is compared with :func:`hmac.compare_digest` so the time
    taken does not tell how much of a guess was right; a named token is found by its
    SHA-256, which tells nothing of the token. Whether the ledger holds tokens is asked
    again at most once a second while it holds none (a token the CLI adds applies within
    that second); once it does, it always will (tokens are revoked, never deleted).

    ``GET /v1/health`` needs no token: a load balancer's probe has none, and with the
    database away a named token cannot be checked. A health request without a valid
    token (or whose token cannot be checked now) goes in under :data:`ANONYMOUS_SCOPE`,
    and its answer names neither the org nor the replica.
    """

    def __init__(
        self, app: ASGIApp, token: str | None, tokens: Tokens, clock: Callable[[], datetime]
    ) -> None:
        self.app = app
        self.token = None if token is None else token.encode()
        self.tokens = tokens
        self.clock = clock
        self._named = False
        self._asked: datetime | None = None

    async def _named_tokens(self, now: datetime) -> bool:
        if not self._named and (self._asked is None or now - self._asked >= ASK_EVERY):
            self._asked = now
            self._named = await self.tokens.any()
        return self._named

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = self.clock()
        if scope.get("path") == HEALTH_PATH:
            await self._let_health_in(scope, now)
            await self.app(scope, receive, send)
            return
        if self.token is None and not await self._named_tokens(now):
            await self.app(scope, receive, send)
            return
        name, code, message = await self._check(
            dict(scope["headers"]).get(b"authorization", b""), now
        )
        if name is None:
            await _refuse(send, code, message)
            return
        scope[TOKEN_SCOPE] = name
        await self.app(scope, receive, send)

    async def _let_health_in(self, scope: Scope, now: datetime) -> None:
        name: str | None = None
        try:
            if self.token is None and not await self._named_tokens(now):
                return  # no token needed: health says everything
            name = (await self._check(dict(scope["headers"]).get(b"authorization", b""), now))[0]
        except DatabaseUnavailable:
            pass  # the token cannot be checked now: health says what it may say to anyone
        if name is None:
            scope[ANONYMOUS_SCOPE] = True
        else:
            scope[TOKEN_SCOPE] = name

    async def _check(self, header: bytes, now: datetime) -> tuple[str | None, str, str]:
        """(the token's name, "", "") when ``header`` lets the request in, else (None,
        the refusal's code, its message)."""
        if not header:
            return None, "unauthorized", NEEDED
        scheme, _, value = header.partition(b" ")
        value = value.strip()
        if scheme.lower() != b"bearer" or not value:
            return None, "unauthorized", NOT_VALID
        if self.token is not None and hmac.compare_digest(value, self.token):
            return CONFIG_TOKEN_NAME, "", ""
        try:
            verdict = await self.tokens.verify(value.decode(), now)
        except UnicodeDecodeError:
            return None, "unauthorized", NOT_VALID
        if verdict.valid:
            return verdict.name, "", ""
        if verdict.revoked is None:
            return None, "unauthorized", NOT_VALID
        if verdict.noted:
            log.warning("refused the revoked API token %r", verdict.name)
        return (
            None,
            "token_revoked",
            (
                f"The API token {verdict.name!r} was revoked at {verdict.revoked}; ask an admin "
                "of the service for a new one ('synchealth serve tokens add NAME')."
            ),
        )


async def _refuse(send: Send, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
