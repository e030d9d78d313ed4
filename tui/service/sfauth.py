"""Signing in to Salesforce without a person at a browser.

Three ways, one per dataclass (docs/integrating.md, "Signing in to Salesforce"):

* :class:`ClientCredentials`: the connected app's consumer key and secret, posted
  to the org's My Domain; the token acts as the app's run-as user.
* :class:`JwtBearer`: an RS256 JWT (iss = consumer key, sub = username, aud = login
  or test URL, exp = 3 minutes) signed with the private key whose certificate is
  uploaded to the connected app.
* :class:`GivenToken`: an access token and instance URL obtained elsewhere, e.g.
  what ``sf org display --json`` prints (:func:`given_token_from_sf_cli`). It cannot
  be renewed: once Salesforce refuses it, the user must bring a new one.

:class:`SignInSession` signs in on first use, keeps the token and instance URL, and
signs in again when the connector reports a refused token; concurrent callers share
one sign-in. The token endpoint's ``{"error", "error_description"}`` answers become
:class:`SignInError` messages that say what to check. No message, log record or
repr carries the client secret, the private key, the JWT or a token.

The three ways as settings, and the TLS settings, are in ``tui/service/sfauth_methods.py``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from pydantic import SecretStr

from tui.service.salesforce import OrgSession, salesforce_url, transport_failure
from tui.service.salesforce_errors import SessionExpired, SignInError
from tui.service.sfauth_methods import (
    JWT_LIFETIME,
    LOGIN_AUDIENCE,
    TEST_AUDIENCE,
    ClientCredentials,
    GivenToken,
    JwtBearer,
    SignIn,
)

log = logging.getLogger(__name__)

TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class SignInSession:
    """A :class:`~tui.service.salesforce.SessionProvider` that signs in with a :data:`SignIn`."""

    def __init__(
        self,
        sign_in: SignIn,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if verify is False:
            raise ValueError("TLS verification is never turned off for Salesforce")
        self._how = sign_in
        self._transport = transport
        self._verify = verify
        self._timeout = timeout
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._current: OrgSession | None = None
        self._finished = 0  # sign-in attempts that ended, well or not
        self._failure: str | None = None
        self.sign_ins = 0  # successful sign-ins (a given token counts once)

    def __repr__(self) -> str:
        return f"SignInSession({self._how!r})"

    @property
    def expired_advice(self) -> str:
        how = self._how
        if isinstance(how, GivenToken):
            return "get a new access token and restart the service"
        user = f"the user {how.username}" if isinstance(how, JwtBearer) else "the run-as user"
        return (
            f"a freshly issued token was refused too: check that {user} is active and has "
            "the API Enabled permission, and that the connected app's OAuth scopes include "
            "'Manage user data via APIs (api)'"
        )

    async def session(self, stale: OrgSession | None = None) -> OrgSession:
        """The current session; a new sign-in if there is none or ``stale`` is current."""
        finished_before = self._finished
        async with self._lock:
            current = self._current
            if current is not None and current is not stale:
                return current
            if self._finished != finished_before and self._failure is not None:
                raise SignInError(self._failure)  # it failed just now, while this one waited
            if stale is not None and isinstance(self._how, GivenToken):
                raise SessionExpired(
                    f"Salesforce refused the given access token for {self._how.instance_url}: "
                    "it has expired or was revoked, and the service cannot renew a given "
                    "token. Get a new one (for example with 'sf org display --json') and "
                    "restart the service"
                )
            self._current, self._failure = None, None
            try:
                self._current = await self._sign_in()
            except SignInError as exc:
                self._failure = str(exc)
                log.warning("%s", exc)
                raise
            finally:
                self._finished += 1
            self.sign_ins += 1
            return self._current

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- the flows ---------------------------------------------------------------

    async def _sign_in(self) -> OrgSession:
        how = self._how
        if isinstance(how, GivenToken):
            return OrgSession(how.access_token, how.instance_url)
        if isinstance(how, ClientCredentials):
            form = {
                "grant_type": "client_credentials",
                "client_id": how.client_id,
                "client_secret": how.client_secret.get_secret_value(),
            }
            secrets = [how.client_secret.get_secret_value()]
            base_url = how.domain_url
        else:
            assertion = self._assertion(how)
            form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
            secrets = [assertion, how.private_key.get_secret_value()]
            base_url = how.login_url
        answer = await self._post(base_url, form, secrets)
        session = _session_from(answer, self._where(base_url))
        log.info("signed in to Salesforce (%s); instance %s", self._flow, session.instance_url)
        return session

    def _assertion(self, how: JwtBearer) -> str:
        # Imported here: PyJWT and cryptography cost ~70 ms, and most runs never sign a JWT.
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

        try:
            key = serialization.load_pem_private_key(
                how.private_key.get_secret_value().encode(), password=None
            )
        except (ValueError, TypeError) as exc:
            encrypted = "encrypted" in str(exc).lower() or "password" in str(exc).lower()
            raise SignInError(
                "the private key (private_key_file) cannot be used: "
                + (
                    "it is protected by a passphrase; store it unencrypted, readable only "
                    "by the service's user"
                    if encrypted
                    else "it is not a private key in PEM form "
                    "(-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
                )
            ) from None
        if not isinstance(key, RSAPrivateKey):
            raise SignInError(
                "the private key (private_key_file) is not an RSA key; the JWT bearer flow "
                "signs with RS256, so make an RSA key pair (see docs/integrating.md)"
            )
        now = int(self._clock())
        claims = {
            "iss": how.client_id,
            "sub": how.username,
            "aud": how.audience,
            "exp": now + JWT_LIFETIME,
        }
        return jwt.encode(claims, key, algorithm="RS256")

    async def _post(self, base_url: str, form: dict[str, str], secrets: list[str]) -> Any:
        url = base_url + TOKEN_PATH
        where = self._where(base_url)
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, verify=self._verify
            )
        try:
            response = await self._client.post(
                url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as exc:
            raise SignInError(
                f"signing in to Salesforce ({self._flow}) failed: {transport_failure(exc, where)}"
            ) from None
        status = response.status_code
        if status >= 500:
            raise SignInError(
                f"{where} answered HTTP {status} to the sign-in ({self._flow}); Salesforce "
                "may be down or in maintenance: try again later (status.salesforce.com)"
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SignInError(
                f"{where} answered the sign-in ({self._flow}) with HTTP {status} and no "
                f"Salesforce token answer: check that {self._url_setting} is the org's "
                "Salesforce address"
            )
        if status != 200 or "error" in body:
            raise SignInError(self._refusal(body, status, where, secrets))
        return body

    def _refusal(self, body: dict[str, Any], status: int, where: str, secrets: list[str]) -> str:
        error = _scrub(str(body.get("error") or f"HTTP {status}"), secrets, 60)
        description = _scrub(str(body.get("error_description") or ""), secrets, 200)
        said = f"{error}: {description}" if description else error
        advice = _advice(self._how, error, description.lower())
        return f"Salesforce refused the sign-in ({self._flow}) at {where} ({said}). {advice}"

    @property
    def _flow(self) -> str:
        return "client credentials" if isinstance(self._how, ClientCredentials) else "JWT bearer"

    @property
    def _url_setting(self) -> str:
        return "domain_url" if isinstance(self._how, ClientCredentials) else "login_url"

    @staticmethod
    def _where(base_url: str) -> str:
        return f"the token endpoint of {httpx.URL(base_url).host}"


def _session_from(answer: dict[str, Any], where: str) -> OrgSession:
    token, url = answer.get("access_token"), answer.get("instance_url")
    if not isinstance(token, str) or not token or not isinstance(url, str) or not url:
        raise SignInError(
            f"{where} answered without an access_token and instance_url; it does not look "
            "like Salesforce's token endpoint"
        )
    return OrgSession(SecretStr(token), salesforce_url(url, "the instance URL Salesforce sent"))


def _scrub(text: str, secrets: Iterable[str], limit: int) -> str:
    """``text`` cut to ``limit`` characters, with any secret it echoes masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_PRE_AUTHORIZE = (
    "under Manage > Edit Policies set Permitted Users to 'Admin approved users are "
    "pre-authorized', then add a profile or permission set that {user} has"
)
#: invalid_grant descriptions (lower case, matched as substrings) -> what to check.
_GRANT_ADVICE: tuple[tuple[str, str], ...] = (
    ("hasn't approved this consumer", "{user} is not pre-authorized for the connected app: "
     + _PRE_AUTHORIZE + "."),
    ("not admin approved", "{user} is not pre-authorized for the connected app: "
     + _PRE_AUTHORIZE + "."),
    ("invalid assertion", "Salesforce could not verify the JWT: the certificate uploaded to "
     "the connected app must be the one made from private_key_file, client_id must be that "
     "app's consumer key, and username must be a user of this org (sandbox usernames end "
     "with the sandbox name)."),
    ("audience is invalid", "The audience {audience!r} is not accepted: use "
     f"{LOGIN_AUDIENCE} for production and developer orgs, {TEST_AUDIENCE} for a sandbox."),
    ("expired", "The JWT had already expired when Salesforce read it: make sure this "
     "machine's clock is right (use NTP); each JWT is valid for 3 minutes."),
    ("no client credentials user enabled", "Choose a run-as user for the client credentials "
     "flow in the connected app's policies (Manage > Edit Policies > Client Credentials "
     "Flow > Run As)."),
    ("not supported on this domain", "The client credentials flow only works at the org's "
     "My Domain address (https://NAME.my.salesforce.com), not login.salesforce.com or "
     "test.salesforce.com: set domain_url to it."),
    ("ip restricted", "The user's profile does not allow sign-ins from this machine's IP "
     "address or at this time: check its Login IP Ranges and Login Hours."),
    ("login hours", "The user's profile does not allow sign-ins at this time: check its "
     "Login Hours."),
    ("inactive user", "{user} is inactive: reactivate the user or choose another."),
    ("inactive org", "The org is inactive or locked: ask Salesforce or the org's admin."),
    ("authentication failure", "Check that {user} exists in this org, is active and not "
     "locked out, and that its Login IP Ranges allow this machine{sandbox}."),
)  # fmt: skip


def _advice(how: SignIn, error: str, description: str) -> str:
    """What to check for one token endpoint refusal (``description`` in lower case)."""
    jwt_flow = isinstance(how, JwtBearer)
    user = f"the user {how.username!r}" if isinstance(how, JwtBearer) else "the run-as user"
    audience = how.audience if isinstance(how, JwtBearer) else ""
    sandbox = "; for a sandbox use login_url and audience https://test.salesforce.com"
    if error == "invalid_client_id":
        return (
            "Check client_id: it must be the consumer key of the connected app (a new app can "
            "take a few minutes before Salesforce accepts it)."
        )
    if error == "invalid_client":
        if jwt_flow:
            return "Check client_id: it must be the consumer key of the connected app."
        return "Check the consumer key and secret of the connected app (client_id, client secret)."
    if error == "unsupported_grant_type":
        if jwt_flow:
            return (
                "The connected app does not accept the JWT bearer flow here: tick 'Use digital "
                "signatures' with the certificate in its OAuth settings, and check login_url."
            )
        return (
            "Turn on 'Enable Client Credentials Flow' in the connected app's OAuth settings, "
            "and use the org's My Domain address as domain_url."
        )
    if error.startswith("rate_limit") or "rate limit" in description:
        return "Too many sign-ins in a short time: wait a few minutes before trying again."
    for phrase, text in _GRANT_ADVICE:
        if phrase in description:
            return text.format(user=user, audience=audience, sandbox=sandbox if jwt_flow else "")
    if error == "invalid_request":
        setting = "login_url" if jwt_flow else "domain_url"
        return f"Salesforce did not accept the request: check that {setting} is the org's address."
    if jwt_flow:
        return (
            "Check username, that the certificate on the connected app matches "
            "private_key_file, and that the user is pre-authorized for the app."
        )
    return "Check the connected app's client credentials settings and its run-as user."
