"""Signing in to Salesforce, against the stand-in on a real loopback port.

Client credentials and JWT bearer against the simulated org's token endpoint (with a
key pair made for this run), a given token, each refusal's message, renewal on 401,
the daily limit, https with and without the stand-in's CA, and that no secret ends
up in a log record, an exception or a repr.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import traceback
from pathlib import Path

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from sfstandin import (
    CLIENT_ID,
    CLIENT_SECRET,
    GIVEN_TOKEN,
    USERNAME,
    Calls,
    KeyPair,
    app_for,
    make_key_pair,
    make_tls_files,
    serve,
    standin,
    standin_in_thread,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.salesforce import SalesforceConnector, StaticToken
from tui.service.salesforce_answers import OrgLimits
from tui.service.salesforce_errors import (
    RequestLimitExceeded,
    SalesforceUnavailable,
    SessionExpired,
    SignInError,
)
from tui.service.sfauth import JWT_BEARER_GRANT, SignInSession
from tui.service.sfauth_methods import (
    LOGIN_AUDIENCE,
    ClientCredentials,
    GivenToken,
    JwtBearer,
    SignIn,
    given_token_from_sf_cli,
    tls_verify,
)
from tui.simorg.ids import make_id
from tui.simorg.oauth import CLIENT_CREDENTIALS, JWT_BEARER
from tui.simorg.state import OrgState


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return make_key_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    return make_key_pair()


def cc(url: str, *, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> ClientCredentials:
    return ClientCredentials(domain_url=url, client_id=client_id, client_secret=SecretStr(secret))


def bearer(
    url: str,
    keys: KeyPair,
    *,
    username: str = USERNAME,
    audience: str = LOGIN_AUDIENCE,
    client_id: str = CLIENT_ID,
) -> JwtBearer:
    return JwtBearer(
        login_url=url,
        client_id=client_id,
        username=username,
        private_key=SecretStr(keys.private_pem),
        audience=audience,
    )


def api(
    sign_in: SignIn, calls: Calls | None = None, version: str = "v62.0", **kw
) -> SalesforceConnector:
    return SalesforceConnector(None, SignInSession(sign_in, **kw), version, on_call=calls)


def leads(n: int) -> list[dict]:
    org = OrgState.from_seed(7)
    return [
        {"attributes": {"type": "Lead"}, "Id": make_id("00Q", org.usable_counter("00Q", k + 1))}
        | {"Title": f"T{k}"}
        for k in range(n)
    ]


# -- the flows --------------------------------------------------------------------


@pytest.mark.parametrize("flow", ["client_credentials", "jwt_bearer"])
async def test_each_flow_signs_in_once_and_finds_the_instance(flow: str, keys: KeyPair) -> None:
    calls = Calls()
    async with standin(connected_app=app_for(keys)) as sf:
        sign_in = cc(sf.url) if flow == "client_credentials" else bearer(sf.url, keys)
        sessions = SignInSession(sign_in)
        connector = SalesforceConnector(None, sessions, on_call=calls)
        first = await connector.limits()
        second = await connector.limits()
        current = await sessions.session()
        await connector.aclose()
    assert first == OrgLimits(max=15000, remaining=14999)
    assert second.remaining == 14998
    assert current.instance_url == sf.url  # learnt from the token answer
    assert current.access_token.get_secret_value() in sf.oauth.issued
    assert sf.oauth.sign_ins == sessions.sign_ins == 1
    assert calls.n == 2


async def test_what_each_flow_sends(keys: KeyPair) -> None:
    canned = CannedTokenEndpoint()
    async with serve(canned.app) as url:
        canned.answer(200, {"access_token": "00Dcanned!token", "instance_url": url})
        await SignInSession(cc(url)).session()
        now = 1_750_000_000.0
        sessions = SignInSession(bearer(url, keys), clock=lambda: now)
        await sessions.session()
        await sessions.aclose()
    assert canned.forms[0] == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assertion = canned.forms[1]["assertion"]
    assert canned.forms[1]["grant_type"] == JWT_BEARER_GRANT
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    claims = jwt.decode(
        assertion,
        keys.public_pem,
        algorithms=["RS256"],
        audience=LOGIN_AUDIENCE,
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": CLIENT_ID,
        "sub": USERNAME,
        "aud": LOGIN_AUDIENCE,
        "exp": 1_750_000_180,
    }


async def test_a_given_token_from_the_sf_cli_reaches_the_org() -> None:
    async with standin() as sf:
        output = orjson.dumps(
            {
                "status": 0,
                "result": {
                    "id": "00D5g000004simORG",
                    "apiVersion": "62.0",
                    "accessToken": GIVEN_TOKEN,
                    "instanceUrl": sf.url + "/",
                    "username": USERNAME,
                    "connectedStatus": "Connected",
                },
                "warnings": ["This command will expose sensitive information..."],
            }
        ).decode()
        given = given_token_from_sf_cli(output)
        connector = api(given)
        limits = await connector.limits()
        await connector.aclose()
    assert given.instance_url == sf.url
    assert limits.max == 15000
    assert sf.oauth.requests == 0  # nothing to sign in to
    assert GIVEN_TOKEN not in repr(given)


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("Warning: update available", "not JSON"),
        ("[]", "not the JSON object"),
        ('{"status": 1, "name": "NoAuthInfoFound", "message": "No authorization information '
         'found for acme."}', "No authorization information found for acme"),
        ('{"status": 0, "result": {"instanceUrl": "https://acme.my.salesforce.com"}}',
         "result.accessToken"),
        ('{"status": 0, "result": {"accessToken": "00Dx!y", "instanceUrl": '
         '"http://acme.my.salesforce.com"}}', "needs https"),
    ],
)  # fmt: skip
def test_sf_cli_output_that_cannot_be_used(output: str, says: str) -> None:
    with pytest.raises(SignInError, match=says) as caught:
        given_token_from_sf_cli(output)
    assert "00Dx!y" not in str(caught.value)


def test_the_token_endpoint_over_plain_http_from_a_thread(keys: KeyPair) -> None:
    with standin_in_thread(connected_app=app_for(keys)) as sf:
        token_url = f"{sf.url}/services/oauth2/token"
        good = httpx.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        odd = httpx.post(token_url, data={"grant_type": "password", "username": USERNAME})
        empty = httpx.post(token_url, data={})
        limits = httpx.get(
            f"{sf.url}/services/data/v62.0/limits/",
            headers={"Authorization": f"Bearer {good.json()['access_token']}"},
        )
    answer = good.json()
    assert good.status_code == 200
    assert answer["instance_url"] == sf.url and answer["token_type"] == "Bearer"
    assert answer["access_token"].startswith("00D")
    assert (odd.status_code, odd.json()) == (
        400,
        {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
    )
    assert empty.json()["error"] == "invalid_request"
    assert limits.status_code == 200 and "Sforce-Limit-Info" in limits.headers


# -- refusals of the token endpoint -------------------------------------------------


REFUSALS = {
    "cc wrong secret": ("cc", {}, {"secret": "not-the-secret"}, 0,
                        ["invalid_client", "consumer key and secret"]),
    "cc unknown app": ("cc", {}, {"client_id": "3MVG9unknown"}, 0,
                       ["invalid_client_id", "consumer key of the connected app"]),
    "cc no run-as": ("cc", {"run_as": None}, {}, 0,
                     ["no client credentials user enabled", "Run As"]),
    "cc flow off": ("cc", {"flows": frozenset({JWT_BEARER})}, {}, 0,
                    ["unsupported_grant_type", "Enable Client Credentials Flow"]),
    "jwt not pre-authorized": ("jwt", {}, {"username": "kenji@sakura-trading.example"}, 0,
                               ["user hasn't approved this consumer", "pre-authorized",
                                "kenji@sakura-trading.example"]),
    "jwt other key": ("jwt-other-key", {}, {}, 0,
                      ["invalid assertion", "certificate uploaded"]),
    "jwt audience": ("jwt", {}, {"audience": "https://login.example.com"}, 0,
                     ["audience is invalid", "https://test.salesforce.com for a sandbox"]),
    "jwt clock behind": ("jwt", {}, {}, -3600, ["expired authorization code", "clock"]),
    "jwt flow off": ("jwt", {"flows": frozenset({CLIENT_CREDENTIALS})}, {}, 0,
                     ["unsupported_grant_type", "Use digital signatures"]),
    "jwt unknown app": ("jwt", {}, {"client_id": "3MVG9unknown"}, 0, ["invalid_client_id"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_each_refusal_says_what_to_check(
    case: str, keys: KeyPair, other_keys: KeyPair
) -> None:
    flow, app_changes, sign_in_changes, clock_offset, says = REFUSALS[case]
    async with standin(connected_app=app_for(keys, **app_changes)) as sf:
        if flow == "cc":
            sign_in: SignIn = cc(sf.url, **sign_in_changes)
        else:
            pair = other_keys if flow == "jwt-other-key" else keys
            sign_in = bearer(sf.url, pair, **sign_in_changes)
        connector = api(sign_in, clock=lambda: time.time() + clock_offset)
        with pytest.raises(SignInError) as caught:
            await connector.limits()
        await connector.aclose()
    message = str(caught.value)
    for words in says:
        assert words in message
    assert CLIENT_SECRET not in message and "PRIVATE KEY" not in message
    assert sf.oauth.sign_ins == 0 and sf.org.api_used == 0  # no REST call was made


class CannedTokenEndpoint:
    """A token endpoint that answers what the test sets, and keeps what it was sent."""

    def __init__(self) -> None:
        self.status, self.body, self.media_type = 200, b"{}", "application/json"
        self.forms: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/services/oauth2/token", self.token, methods=["POST"])])

    def answer(self, status: int, body: object, media_type: str = "application/json") -> None:
        self.status, self.media_type = status, media_type
        self.body = body.encode() if isinstance(body, str) else orjson.dumps(body)

    async def token(self, request: Request) -> Response:
        form = _form(await request.body())
        self.forms.append(form)
        # "{assertion}" in a body stands for the assertion of this very request (echoed)
        body = self.body.replace(b"{assertion}", form.get("assertion", "").encode())
        return Response(body, self.status, media_type=self.media_type)


def _form(raw: bytes) -> dict[str, str]:
    return dict(httpx.QueryParams(raw.decode()).multi_items())


CANNED = [
    ("cc", 400, {"error": "invalid_request", "error_description": "bad request"},
     ["invalid_request", "check that domain_url is the org's address"]),
    ("cc", 400, {"error": "invalid_grant", "error_description": "request not supported on this "
                 "domain"}, ["My Domain address"]),
    ("jwt", 400, {"error": "invalid_grant", "error_description": "authentication failure"},
     ["exists in this org", "https://test.salesforce.com"]),
    ("jwt", 400, {"error": "invalid_grant", "error_description": "ip restricted or invalid login "
                  "hours"}, ["Login IP Ranges"]),
    ("jwt", 400, {"error": "invalid_client", "error_description": "invalid client credentials"},
     ["consumer key of the connected app"]),
    ("cc", 400, {"error": "invalid_grant", "error_description": "login rate limit exceeded"},
     ["wait a few minutes"]),
    ("cc", 400, {"error": "brand_new_error"}, ["brand_new_error", "run-as user"]),
    ("cc", 503, "<html>Down for maintenance</html>", ["HTTP 503", "try again later"]),
    ("jwt", 200, "<html>Welcome to the intranet</html>",
     ["no Salesforce token answer", "login_url"]),
    ("cc", 302, "", ["HTTP 302", "domain_url"]),
    ("cc", 200, {"token_type": "Bearer"}, ["without an access_token"]),
    ("cc", 200, {"access_token": "00Dx!tok", "instance_url": "http://na1.salesforce.example"},
     ["needs https"]),
]  # fmt: skip


@pytest.mark.parametrize(("flow", "status", "body", "says"), CANNED)
async def test_other_token_endpoint_answers(
    flow: str, status: int, body: object, says: list[str], keys: KeyPair
) -> None:
    canned = CannedTokenEndpoint()
    canned.answer(status, body, "text/html" if isinstance(body, str) else "application/json")
    async with serve(canned.app) as url:
        sessions = SignInSession(cc(url) if flow == "cc" else bearer(url, keys))
        with pytest.raises(SignInError) as caught:
            await sessions.session()
        await sessions.aclose()
    for words in says:
        assert words in str(caught.value)
    assert "00Dx!tok" not in str(caught.value)


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        ("not a key at all", "not a private key in PEM form"),
        ("ec", "not an RSA key"),
        ("encrypted", "passphrase"),
    ],
)
async def test_unusable_private_keys(pem: str, says: str) -> None:
    if pem == "ec":
        pem = _pem(ec.generate_private_key(ec.SECP256R1()), serialization.NoEncryption())
    elif pem == "encrypted":
        key = make_key_pair().private_pem
        loaded = serialization.load_pem_private_key(key.encode(), password=None)
        pem = _pem(loaded, serialization.BestAvailableEncryption(b"hunter2"))
    sign_in = JwtBearer(
        login_url="https://login.salesforce.invalid",  # never reached: the key fails first
        client_id=CLIENT_ID,
        username=USERNAME,
        private_key=SecretStr(pem),
        audience=LOGIN_AUDIENCE,
    )
    with pytest.raises(SignInError, match=says) as caught:
        await SignInSession(sign_in).session()
    assert "BEGIN" not in str(caught.value).replace("-----BEGIN PRIVATE KEY-----", "").replace(
        "-----BEGIN RSA PRIVATE KEY-----", ""
    )


def _pem(key, encryption) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


async def test_a_token_endpoint_that_never_answers_or_is_not_there() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts connections into the backlog, never answers
        sessions = SignInSession(cc(f"http://127.0.0.1:{listener.getsockname()[1]}"), timeout=0.3)
        with pytest.raises(SignInError, match="did not answer in time"):
            await sessions.session()
        await sessions.aclose()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        sessions = SignInSession(cc(f"http://127.0.0.1:{closed.getsockname()[1]}"))
        with pytest.raises(SignInError, match=r"cannot reach the token endpoint of 127\.0\.0\.1"):
            await sessions.session()
        await sessions.aclose()


# -- the REST API through a sign-in -------------------------------------------------


async def test_limits_and_the_usage_header(keys: KeyPair) -> None:
    async with standin(connected_app=app_for(keys), daily_limit=5000) as sf:
        first, second = api(cc(sf.url)), api(cc(sf.url))
        assert await first.limits() == OrgLimits(max=5000, remaining=4999)
        assert first.limit_info == (1, 5000)
        assert await second.limits() == OrgLimits(max=5000, remaining=4998)
        assert second.limit_info == (2, 5000)
        async with httpx.AsyncClient(base_url=sf.url) as raw:
            answer = await raw.get(
                "/services/data/v62.0/limits/", headers={"Authorization": f"Bearer {GIVEN_TOKEN}"}
            )
        await first.update(leads(3))
        assert first.limit_info == (4, 5000)
        await first.aclose()
        await second.aclose()
    assert answer.json()["DailyApiRequests"] == {"Max": 5000, "Remaining": 4997}
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=3/5000"


async def test_update_of_201_records_takes_two_calls(keys: KeyPair) -> None:
    calls = Calls()
    async with standin(connected_app=app_for(keys)) as sf:
        connector = api(bearer(sf.url, keys), calls)
        results = await connector.update(leads(201))
        await connector.aclose()
    assert calls.n == 2 and sf.org.api_used == 2
    assert len(results) == 201 and all(r.success and r.created is None for r in results)


async def test_a_refused_token_is_renewed_once_then_the_call_succeeds(keys: KeyPair) -> None:
    calls = Calls()
    async with standin(connected_app=app_for(keys)) as sf:
        sessions = SignInSession(bearer(sf.url, keys))
        connector = SalesforceConnector(None, sessions, on_call=calls)
        await connector.limits()
        sf.oauth.revoke_all()  # the session timed out or an admin revoked it
        limits = await connector.limits()
        await connector.aclose()
    assert limits.remaining == 14998  # the refused request was not counted by the org
    assert sf.oauth.sign_ins == 2
    assert calls.n == 3  # ours counts every request sent, the refused one too


async def test_a_fresh_token_refused_too_is_session_expired(keys: KeyPair) -> None:
    calls = Calls()
    async with standin(connected_app=app_for(keys, token_lifetime=0)) as sf:
        connector = api(cc(sf.url), calls)
        with pytest.raises(SessionExpired) as caught:
            await connector.update(leads(2))
        await connector.aclose()
    assert "INVALID_SESSION_ID" in str(caught.value)
    assert "API Enabled" in str(caught.value)
    assert sf.oauth.sign_ins == 2 and calls.n == 2
    assert sf.org.written == {}


async def test_a_given_token_that_expired_cannot_be_renewed() -> None:
    state = OrgState.from_seed(7)
    state.token_expires_at = 1.0
    calls = Calls()
    async with standin(state) as sf:
        connector = api(GivenToken(access_token=SecretStr(GIVEN_TOKEN), instance_url=sf.url), calls)
        with pytest.raises(SessionExpired, match="Get a new one") as caught:
            await connector.limits()
        await connector.aclose()
    assert calls.n == 1  # no pointless second try with the same token
    assert GIVEN_TOKEN not in str(caught.value)


async def test_concurrent_calls_share_one_sign_in_and_one_renewal(keys: KeyPair) -> None:
    async with standin(connected_app=app_for(keys)) as sf:
        connector = api(cc(sf.url))
        await asyncio.gather(*(connector.limits() for _ in range(8)))
        assert sf.oauth.sign_ins == 1
        sf.oauth.revoke_all()
        await asyncio.gather(*(connector.limits() for _ in range(8)))
        await connector.aclose()
    assert sf.oauth.requests == sf.oauth.sign_ins == 2
    assert sf.org.api_used == 16


async def test_a_failed_sign_in_is_shared_by_those_waiting(keys: KeyPair) -> None:
    async with standin(connected_app=app_for(keys)) as sf:
        sessions = SignInSession(cc(sf.url, secret="wrong"))
        results = await asyncio.gather(
            *(sessions.session() for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, SignInError) for r in results)
        assert sf.oauth.requests == 1
        with pytest.raises(SignInError):  # a later call tries again
            await sessions.session()
        await sessions.aclose()
    assert sf.oauth.requests == 2


async def test_a_spent_daily_limit_stops(keys: KeyPair) -> None:
    async with standin(connected_app=app_for(keys), daily_limit=1) as sf:
        connector = api(cc(sf.url))
        await connector.limits()
        with pytest.raises(RequestLimitExceeded, match="daily Salesforce API requests"):
            await connector.update(leads(2))
        await connector.aclose()
    assert connector.limit_info == (1, 1)
    assert sf.org.written == {}


# -- addresses and TLS ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: cc("http://acme.my.salesforce.com"), "Salesforce needs https"),
        (lambda: GivenToken(access_token=SecretStr("00Dx!y"), instance_url="http://10.0.0.5"),
         "Salesforce needs https"),
        (lambda: JwtBearer(login_url="ftp://login.salesforce.com", client_id="c", username="u",
                           private_key=SecretStr("k"), audience=LOGIN_AUDIENCE), "https://"),
        (lambda: cc("https://acme.my.salesforce.com/services/oauth2/token"), "without a path"),
        (lambda: cc("https://admin:pa55@acme.my.salesforce.com"), "user name or password"),
        (lambda: cc("https://acme.my.salesforce.com", secret=""), "client secret is empty"),
        (lambda: cc("https://acme.my.salesforce.com", client_id=" "), "client_id is empty"),
        (lambda: SalesforceConnector("http://example.com", StaticToken("t")),
         "Salesforce needs https"),
    ],
)  # fmt: skip
def test_addresses_and_settings_that_are_refused(build, says: str) -> None:
    with pytest.raises(SignInError, match=says) as caught:
        build()
    assert "pa55" not in str(caught.value)


def test_loopback_http_is_accepted_and_verification_cannot_be_turned_off() -> None:
    assert cc("http://127.0.0.1:8443/").domain_url == "http://127.0.0.1:8443"
    assert cc("http://localhost:1").domain_url == "http://localhost:1"
    with pytest.raises(ValueError, match="never turned off"):
        SalesforceConnector("https://acme.my.salesforce.com", StaticToken("t"), verify=False)
    with pytest.raises(ValueError, match="never turned off"):
        SignInSession(cc("https://acme.my.salesforce.com"), verify=False)


async def test_https_stand_in_is_trusted_only_with_its_ca(tmp_path: Path, keys: KeyPair) -> None:
    tls = make_tls_files(tmp_path)
    async with standin(connected_app=app_for(keys), tls=tls) as sf:
        assert sf.url.startswith("https://127.0.0.1:")
        untrusted = api(cc(sf.url))
        with pytest.raises(SignInError, match="certificate") as sign_in_refused:
            await untrusted.limits()
        await untrusted.aclose()
        given = api(GivenToken(access_token=SecretStr(GIVEN_TOKEN), instance_url=sf.url))
        with pytest.raises(SalesforceUnavailable, match="certificate"):
            await given.limits()
        await given.aclose()
        verify = tls_verify(tls.ca_file)
        trusted = SalesforceConnector(None, SignInSession(cc(sf.url), verify=verify), verify=verify)
        limits = await trusted.limits()
        await trusted.aclose()
    assert "ca_file" in str(sign_in_refused.value)
    assert limits.max == 15000 and sf.oauth.sign_ins == 1


@pytest.mark.parametrize("content", [None, "not a certificate"])
def test_a_ca_file_that_cannot_be_used(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "corporate-ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SignInError, match=r"corporate-ca\.pem \(ca_file\) cannot be used"):
        tls_verify(path)


async def test_the_service_signs_in_from_its_config(tmp_path: Path, keys: KeyPair) -> None:
    """SQLite only: about signing in, which reads and writes nothing in the ledger."""
    tls = make_tls_files(tmp_path)
    async with standin(connected_app=app_for(keys), tls=tls, daily_limit=7000) as sf:
        config = ServiceConfig(
            db_path=tmp_path / "ledger.sqlite3", sign_in=bearer(sf.url, keys), ca_file=tls.ca_file
        )
        service = SyncHealthService(config)
        await service.start()
        try:
            usage = await service.usage_report()
        finally:
            await service.stop()
    assert usage.limits_error is None
    assert usage.salesforce_limit == 7000 and usage.org_used == 1
    assert sf.oauth.sign_ins == 1
    assert keys.private_pem not in repr(config)


# -- secret hygiene ---------------------------------------------------------------------


async def test_no_secret_token_or_assertion_in_logs_errors_or_reprs(
    caplog: pytest.LogCaptureFixture, keys: KeyPair
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    seen: list[str] = []

    def note(*things: object) -> None:
        for thing in things:
            if isinstance(thing, BaseException):
                seen.extend([str(thing), repr(thing), "".join(traceback.format_exception(thing))])
            else:
                seen.append(repr(thing))

    async with standin(connected_app=app_for(keys), daily_limit=3) as sf:
        refused = SignInSession(cc(sf.url, client_id="3MVG9nobody"))  # sends the real secret
        with pytest.raises(SignInError) as failed_sign_in:
            await refused.session()
        note(failed_sign_in.value, refused)
        sessions = SignInSession(cc(sf.url))
        connector = SalesforceConnector(None, sessions)
        await connector.limits()
        tokens = set(sf.oauth.issued)
        sf.oauth.revoke_all()
        await connector.limits()  # renewed after a 401
        tokens |= sf.oauth.issued
        await connector.limits()
        with pytest.raises(RequestLimitExceeded) as failed_call:
            await connector.limits()
        note(failed_call.value, connector, sessions, cc(sf.url), await sessions.session())
        config = ServiceConfig(db_path=Path("unused.sqlite3"), sign_in=cc(sf.url))
        note(config)
        await connector.aclose()

    canned = CannedTokenEndpoint()  # echoes the assertion back in its refusal
    async with serve(canned.app) as url:
        jwt_sessions = SignInSession(bearer(url, keys))
        canned.answer(200, {})
        with pytest.raises(SignInError):
            await jwt_sessions.session()
        # each sign-in signs a new assertion (iat/exp move on with the clock): echo this one
        canned.answer(400, {"error": "invalid_grant", "error_description": "bad {assertion}"})
        with pytest.raises(SignInError) as echoed:
            await jwt_sessions.session()
        note(echoed.value, jwt_sessions)
        await jwt_sessions.aclose()
    assert "bad ***" in str(echoed.value)

    records = caplog.records
    assert any(r.name.startswith("httpx") for r in records)  # httpx's logs were captured
    assert any(r.name == "tui.service.sfauth" for r in records)
    seen += [r.getMessage() for r in records] + [repr(r.args) for r in records] + [caplog.text]
    everything = "\n".join(seen)
    assert len(tokens) == 2
    key_body = "".join(keys.private_pem.splitlines()[1:-1])
    assertions = [form["assertion"] for form in canned.forms]
    for secret in [CLIENT_SECRET, *tokens, *assertions, keys.private_pem.splitlines()[1]]:
        assert secret not in everything
    assert key_body not in everything.replace("\n", "")
