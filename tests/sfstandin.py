"""A Salesforce stand-in on a real loopback port, for any test that needs one.

The simulated org (tui/simorg: REST subset + OAuth token endpoint) served by uvicorn
on 127.0.0.1 at a free port, over http or https, either as an asyncio task of the
test's loop (:func:`standin`) or in a thread with its own loop (:func:`standin_in_thread`,
for synchronous tests and subprocesses). :func:`serve` / :func:`serve_in_thread`
serve any other ASGI app the same way.

Key material is made fresh on every run and never written to the repository:
:func:`make_key_pair` (the RSA key of a JWT bearer connected app, with the
certificate one would upload) and :func:`make_tls_files` (a throwaway CA and a
server certificate for 127.0.0.1, for an https stand-in).

    async with standin(connected_app=app_for(keys)) as sf:
        sign_in = ClientCredentials(sf.url, CLIENT_ID, SecretStr(CLIENT_SECRET))
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette

from tui.simorg.app import create_simorg
from tui.simorg.oauth import ConnectedApp, TokenIssuer
from tui.simorg.state import OrgState

#: The consumer key of the stand-in's connected app, and its run-as / pre-authorized user.
CLIENT_ID = "3MVG9standin.synchealth.consumer.key"
USERNAME = "integration@sakura-trading.example"
#: A fresh consumer secret per test run, so a leak check cannot pass by luck.
CLIENT_SECRET = f"standin-secret-{secrets.token_hex(16)}"
#: The fixed token create_simorg also accepts (a "given" token).
GIVEN_TOKEN = f"00Dstandin!{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class KeyPair:
    """An RSA key pair for the JWT bearer flow; ``certificate_pem`` is what gets uploaded."""

    private_pem: str
    public_pem: str
    certificate_pem: str


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # give this as ca_file to trust the stand-in
    cert_file: Path
    key_file: Path


@dataclass
class StandIn:
    url: str  # http(s)://127.0.0.1:PORT, also the instance_url it answers
    app: Starlette

    @property
    def org(self) -> OrgState:
        return self.app.state.org

    @property
    def oauth(self) -> TokenIssuer:
        return self.app.state.oauth


class Calls:
    """A connector's ``on_call`` hook that counts: ``n`` requests announced and not
    withdrawn (those that may have reached Salesforce)."""

    def __init__(self) -> None:
        self.n = 0

    async def __call__(self, kind: tuple[str, str]) -> Any:
        self.n += 1

        async def withdraw() -> None:
            self.n -= 1

        return withdraw


def make_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "synchealth JWT test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        public_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA and a certificate it signed for 127.0.0.1 / localhost, as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "synchealth test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key_file.chmod(0o600)
    return files


def app_for(keys: KeyPair | None = None, **changes: Any) -> ConnectedApp:
    """The stand-in's connected app: both flows on, USERNAME run-as and pre-authorized."""
    app = ConnectedApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        run_as=USERNAME,
        jwt_certificate=keys.certificate_pem if keys else None,
        pre_authorized=frozenset({USERNAME}),
    )
    return replace(app, **changes)


def _server(app: Any, tls: TlsFiles | None) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        ssl_certfile=str(tls.cert_file) if tls else None,
        ssl_keyfile=str(tls.key_file) if tls else None,
    )
    return uvicorn.Server(config)


def _bound_socket() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def _url(port: int, tls: TlsFiles | None) -> str:
    return f"{'https' if tls else 'http'}://127.0.0.1:{port}"


@asynccontextmanager
async def serve(app: Any, tls: TlsFiles | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port as a task of the running loop; yields its URL."""
    server = _server(app, tls)
    sock, port = _bound_socket()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("the stand-in stopped before it started")
            await asyncio.sleep(0.005)
        yield _url(port, tls)
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextmanager
def serve_in_thread(app: Any, tls: TlsFiles | None = None) -> Iterator[str]:
    """Serve ``app`` on a free loopback port from a thread with its own loop."""
    server = _server(app, tls)
    sock, port = _bound_socket()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, name="sf-standin", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the stand-in stopped before it started: {failure}")
            thread.join(0.005)
        yield _url(port, tls)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _simorg(
    state: OrgState | None, connected_app: ConnectedApp | None, daily_limit: int
) -> Starlette:
    return create_simorg(
        state or OrgState.from_seed(7),
        access_token=GIVEN_TOKEN,
        daily_limit=daily_limit,
        connected_app=connected_app,
    )


@asynccontextmanager
async def standin(
    state: OrgState | None = None,
    *,
    connected_app: ConnectedApp | None = None,
    daily_limit: int = 15000,
    tls: TlsFiles | None = None,
) -> AsyncIterator[StandIn]:
    """The simulated org on loopback, served by the running event loop."""
    app = _simorg(state, connected_app, daily_limit)
    async with serve(app, tls) as url:
        yield StandIn(url, app)


@contextmanager
def standin_in_thread(
    state: OrgState | None = None,
    *,
    connected_app: ConnectedApp | None = None,
    daily_limit: int = 15000,
    tls: TlsFiles | None = None,
) -> Iterator[StandIn]:
    """The simulated org on loopback, served from a thread (for synchronous tests)."""
    app = _simorg(state, connected_app, daily_limit)
    with serve_in_thread(app, tls) as url:
        yield StandIn(url, app)
