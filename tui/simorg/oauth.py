"""The simulated org's OAuth 2.0 token endpoint, for a headless integration.

``POST /services/oauth2/token`` (form-encoded) serves the two flows a service
uses without a person at a browser:

* client credentials: ``grant_type=client_credentials``, ``client_id`` and
  ``client_secret`` of the connected app; the token acts as the app's run-as user;
* JWT bearer: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an
  RS256 ``assertion`` whose ``iss`` is the consumer key, ``sub`` the username,
  ``aud`` the login or test URL and ``exp`` a few minutes ahead, signed with the key
  whose certificate was uploaded to the connected app.

Failures answer HTTP 400 ``{"error", "error_description"}`` with the codes and
descriptions Salesforce uses. Issued tokens are accepted by the REST routes until
they expire (``token_lifetime``) or :meth:`TokenIssuer.revoke_all` is called.

The answer has the fields Salesforce's token endpoint returns: ``access_token``
(the 15-character org id, ``!``, the secret part), ``scope``, ``instance_url`` (the
address the request came to), ``id`` (the identity URL on the login host, with the
18-character org and user ids) and ``token_type``. The client credentials answer
also has ``issued_at`` (milliseconds, as a string) and ``signature``: Base64
HMAC-SHA256 of ``id`` + ``issued_at`` keyed with the consumer secret (jsforce's
``TokenResponse``, https://jsforce.github.io/jsforce/types/oauth2.TokenResponse.html);
the JWT bearer answer has neither (as recorded in
github.com/oschweitzer/salesforce-jwt-bearer-token-flow's README).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tui.core.sobjects import KEY_PREFIX
from tui.simorg.ids import make_id, suffix

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_HOST = "https://login.salesforce.com"
LOGIN_AUDIENCES = frozenset({LOGIN_HOST, "https://test.salesforce.com"})
ORG_ID15 = "00D5g000004simO"
ORG_ID = ORG_ID15 + suffix(ORG_ID15)


@dataclass(frozen=True)
class ConnectedApp:
    """A connected app registered in the simulated org, with what each flow checks."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    #: The user a client credentials token acts as; None: that flow has no run-as user.
    run_as: str | None = None
    #: PEM of the certificate (or its public key) uploaded for the JWT bearer flow.
    jwt_certificate: str | None = field(default=None, repr=False)
    #: Usernames pre-authorized for the app (through their profile or a permission set).
    pre_authorized: frozenset[str] = frozenset()
    audiences: frozenset[str] = LOGIN_AUDIENCES
    flows: frozenset[str] = frozenset({CLIENT_CREDENTIALS, JWT_BEARER})
    token_lifetime: float = 7200.0


class OAuthFailure(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class TokenIssuer:
    """Issues access tokens for one connected app and says which are still valid."""

    def __init__(self, app: ConnectedApp | None, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock
        self.requests = 0  # token requests answered, refused ones included
        self.sign_ins = 0  # successful token answers
        self._issued: dict[str, float] = {}  # token -> when it stops being accepted

    def accepts(self, token: str) -> bool:
        expires = self._issued.get(token)
        return expires is not None and self.clock() < expires

    @property
    def issued(self) -> frozenset[str]:
        """Every token issued and not revoked (tests look for leaks of them)."""
        return frozenset(self._issued)

    def revoke_all(self) -> None:
        """Forget every issued token, as a session timeout or an admin's revoke does."""
        self._issued.clear()

    async def endpoint(self, request: Request) -> Response:
        self.requests += 1
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            user, login_host = self._grant(form)
        except OAuthFailure as failure:
            body = {"error": failure.error, "error_description": failure.description}
            return Response(orjson.dumps(body), 400, media_type="application/json")
        assert self.app is not None
        token = f"{ORG_ID15}!{secrets.token_urlsafe(48)}"
        issued_at = self.clock()
        self._issued[token] = issued_at + self.app.token_lifetime
        self.sign_ins += 1
        identity = f"{login_host}/id/{ORG_ID}/{user}"
        answer = {
            "access_token": token,
            "scope": "api",
            "instance_url": str(request.base_url).rstrip("/"),
            "id": identity,
            "token_type": "Bearer",
        }
        if form.get("grant_type") == CLIENT_CREDENTIALS and self.app.client_secret:
            issued_ms = str(int(issued_at * 1000))
            answer["issued_at"] = issued_ms
            answer["signature"] = _signature(identity + issued_ms, self.app.client_secret)
        return Response(orjson.dumps(answer), 200, media_type="application/json")

    def _grant(self, form: dict[str, str]) -> tuple[str, str]:
        """The user id the token acts as and the login host of its identity URL.

        OAuthFailure when the request is refused.
        """
        grant = form.get("grant_type")
        if not grant:
            raise OAuthFailure("invalid_request", "grant type required")
        if grant not in (CLIENT_CREDENTIALS, JWT_BEARER):
            raise OAuthFailure("unsupported_grant_type", "grant type not supported")
        if grant == CLIENT_CREDENTIALS:
            return self._client_credentials(form), LOGIN_HOST
        return self._jwt_bearer(form)

    def _known_app(self, client_id: object, grant: str) -> ConnectedApp:
        app = self.app
        if app is None or not isinstance(client_id, str) or not client_id:
            raise OAuthFailure("invalid_client_id", "client identifier invalid")
        if not _same(client_id, app.client_id):
            raise OAuthFailure("invalid_client_id", "client identifier invalid")
        if grant not in app.flows:
            raise OAuthFailure("unsupported_grant_type", "grant type not supported")
        return app

    def _client_credentials(self, form: dict[str, str]) -> str:
        app = self._known_app(form.get("client_id"), CLIENT_CREDENTIALS)
        secret = form.get("client_secret") or ""
        if app.client_secret is None or not _same(secret, app.client_secret):
            raise OAuthFailure("invalid_client", "invalid client credentials")
        if app.run_as is None:
            raise OAuthFailure("invalid_grant", "no client credentials user enabled")
        return _user_id(1)

    def _jwt_bearer(self, form: dict[str, str]) -> tuple[str, str]:
        import jwt  # here: PyJWT costs ~70 ms at start-up and the demo never signs in

        assertion = form.get("assertion")
        if not assertion:
            raise OAuthFailure("invalid_request", "assertion required")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise OAuthFailure("invalid_grant", "invalid assertion") from None
        app = self._known_app(claims.get("iss"), JWT_BEARER)
        if app.jwt_certificate is None:
            raise OAuthFailure("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                _public_key(app.jwt_certificate),
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "require": ["sub", "exp"]},
            )
        except jwt.InvalidTokenError:
            raise OAuthFailure("invalid_grant", "invalid assertion") from None
        audience = _accepted_audience(claims.get("aud"), app.audiences)
        if audience is None:
            raise OAuthFailure("invalid_grant", "audience is invalid")
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= self.clock():
            raise OAuthFailure("invalid_grant", "expired authorization code")
        subject = claims["sub"]
        if not isinstance(subject, str) or subject not in app.pre_authorized:
            raise OAuthFailure("invalid_grant", "user hasn't approved this consumer")
        return _user_id(1 + sorted(app.pre_authorized).index(subject)), audience


def _accepted_audience(aud: object, accepted: frozenset[str]) -> str | None:
    """The accepted audience ``aud`` names; a JWT may give one string or a list (RFC 7519)."""
    named = aud if isinstance(aud, list) else [aud]
    return next((a for a in named if isinstance(a, str) and a in accepted), None)


def _signature(text: str, key: str) -> str:
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _same(given: str, expected: str) -> bool:
    """Compare without telling through timing how much of a guess was right."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _public_key(pem: str) -> RSAPublicKey:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    data = pem.encode()
    key = (
        x509.load_pem_x509_certificate(data).public_key()
        if b"BEGIN CERTIFICATE" in data
        else serialization.load_pem_public_key(data)
    )
    if not isinstance(key, RSAPublicKey):
        raise OAuthFailure("invalid_grant", "invalid assertion")
    return key


def _user_id(n: int) -> str:
    return make_id(KEY_PREFIX["User"], n)
