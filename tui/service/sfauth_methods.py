"""The three ways of signing in to Salesforce, as settings (see ``tui/service/sfauth.py``
for the sign-in itself), and the TLS settings the service reaches Salesforce with."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
import orjson
from pydantic import SecretStr

from tui.service.salesforce import salesforce_url
from tui.service.salesforce_errors import SignInError

#: How long a JWT assertion is valid; Salesforce wants at most a few minutes.
JWT_LIFETIME = 180
LOGIN_AUDIENCE = "https://login.salesforce.com"
TEST_AUDIENCE = "https://test.salesforce.com"


def _secret(value: SecretStr | str, what: str) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    if not secret.get_secret_value().strip():
        raise SignInError(f"{what} is empty")
    return secret


def _text(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SignInError(f"{what} is empty")
    return value.strip()


@dataclass(frozen=True)
class ClientCredentials:
    """OAuth 2.0 client credentials flow, at the org's My Domain URL."""

    domain_url: str  # https://acme.my.salesforce.com
    client_id: str  # consumer key
    client_secret: SecretStr  # consumer secret

    def __post_init__(self) -> None:
        url = salesforce_url(self.domain_url, "domain_url (the org's My Domain URL)")
        object.__setattr__(self, "domain_url", url)
        object.__setattr__(self, "client_id", _text(self.client_id, "client_id"))
        object.__setattr__(self, "client_secret", _secret(self.client_secret, "the client secret"))


@dataclass(frozen=True)
class JwtBearer:
    """OAuth 2.0 JWT bearer flow, RS256."""

    login_url: str  # where the token is asked: login, test or the My Domain URL
    client_id: str  # consumer key (iss)
    username: str  # sub
    private_key: SecretStr  # PEM text; the caller reads the file
    audience: str  # aud: https://login.salesforce.com or https://test.salesforce.com

    def __post_init__(self) -> None:
        object.__setattr__(self, "login_url", salesforce_url(self.login_url, "login_url"))
        object.__setattr__(self, "client_id", _text(self.client_id, "client_id"))
        object.__setattr__(self, "username", _text(self.username, "username"))
        object.__setattr__(self, "private_key", _secret(self.private_key, "the private key"))
        object.__setattr__(self, "audience", _text(self.audience, "audience").rstrip("/"))


@dataclass(frozen=True)
class GivenToken:
    """An access token obtained elsewhere, with the instance URL it belongs to."""

    access_token: SecretStr
    instance_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "access_token", _secret(self.access_token, "the access token"))
        object.__setattr__(self, "instance_url", salesforce_url(self.instance_url, "instance_url"))


SignIn = ClientCredentials | JwtBearer | GivenToken


def given_token_from_sf_cli(json_text: str) -> GivenToken:
    """The token in the output of ``sf org display --target-org ALIAS --json``."""
    how = "run 'sf org display --target-org ALIAS --json' and keep exactly what it prints"
    try:
        data = orjson.loads(json_text)
    except orjson.JSONDecodeError:
        raise SignInError(f"the sf CLI output is not JSON: {how}") from None
    if not isinstance(data, dict):
        raise SignInError(f"the sf CLI output is not the JSON object sf prints: {how}")
    if data.get("status") != 0:
        said = data.get("message") if isinstance(data.get("message"), str) else ""
        raise SignInError(
            f"the sf CLI reported a failure (status {data.get('status')!r}"
            + (f": {said[:200]}" if said else "")
            + "); log in with 'sf org login web --alias ALIAS' and run it again"
        )
    result = data.get("result")
    token = result.get("accessToken") if isinstance(result, dict) else None
    url = result.get("instanceUrl") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token or not isinstance(url, str) or not url:
        raise SignInError(
            "the sf CLI output has no result.accessToken and result.instanceUrl: "
            f"{how} (the org must be logged in with sf)"
        )
    return GivenToken(access_token=SecretStr(token), instance_url=url)


def tls_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """What httpx should verify certificates with: the usual CAs, plus ``ca_file``.

    The extra bundle is for TLS-inspecting proxies that re-sign traffic with their
    own CA; verification itself is never turned off.
    """
    if ca_file is None:
        return True
    context = ssl.create_default_context(cafile=certifi.where())
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SignInError(
            f"the CA bundle {ca_file} (ca_file) cannot be used: {reason}; it must be a file "
            "of PEM certificates (-----BEGIN CERTIFICATE-----)"
        ) from None
    return context
