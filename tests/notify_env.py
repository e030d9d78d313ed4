"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP
webhook receiver on loopback ports, and a Sync Health service on a real ledger whose
clock the test moves, on either engine. Errors arrive through the service's own
``POST /v1/errors``."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from clock import Clock
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pg_harness import service_target
from pydantic import SecretStr

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.service.notify.smtp import SmtpServer
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

ORG_TOKEN = "00Dtest!token"
ORG_NAME = "Acme org"
SMTP_USER = "bot@acme.example"
SMTP_PASSWORD = "pa55-w0rd-TOPSECRET"
SENDER = "Sync Health <synchealth@acme.example>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- SMTP ---------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; answers DATA with ``refusals`` first."""

    messages: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    unknown_recipients: set[str] = field(default_factory=set)
    logins: list[str] = field(default_factory=list)  # AUTH mechanisms that succeeded

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.unknown_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        raw = envelope.original_content
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))  # type: ignore[arg-type]
        return "250 2.0.0 OK queued"

    def authenticator(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)  # a failure answers 535


@dataclass
class SmtpRunning:
    mailbox: Mailbox
    port: int
    ca_file: Path | None = None

    def server(self, **overrides: Any) -> SmtpServer:
        """An :class:`SmtpServer` pointing here (plain, no login, unless overridden)."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "sender": SENDER,
            "timeout": 5,
        }
        return SmtpServer(**{**values, **overrides})


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def smtp_server(
    mailbox: Mailbox | None = None,
    *,
    auth: bool = False,
    starttls_dir: Path | None = None,
    mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
) -> Iterator[SmtpRunning]:
    """A real SMTP server on a loopback port. With ``starttls_dir`` it offers STARTTLS
    (a self-signed certificate written there) and requires it; with ``auth`` it wants
    the login ``SMTP_USER`` / ``SMTP_PASSWORD`` by one of ``mechanisms``."""
    mailbox = mailbox or Mailbox()
    port = free_port()
    kwargs: dict[str, Any] = {}
    ca_file = None
    if starttls_dir is not None:
        ca_file, key_file = self_signed(starttls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ca_file, key_file)
        kwargs |= {"tls_context": context, "require_starttls": True}
    if auth:
        kwargs |= {
            "authenticator": mailbox.authenticator,
            "auth_required": True,
            "auth_require_tls": starttls_dir is not None,
            "auth_exclude_mechanism": [m for m in ("LOGIN", "PLAIN") if m not in mechanisms],
        }
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpRunning(mailbox, port, ca_file)
    finally:
        controller.stop()


# -- webhook ------------------------------------------------------------------------------


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class WebhookReceiver:
    """An HTTP server on a loopback port that records POSTs; ``answers`` are popped first."""

    def __init__(self) -> None:
        self.posts: list[Posted] = []
        self.answers: list[tuple[int, str]] = []
        self.delay = 0.0  # seconds to wait before answering
        self.arrived = threading.Event()  # set when a POST comes in
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.arrived.set()
                time.sleep(receiver.delay)
                status, text = receiver.answers.pop(0) if receiver.answers else (200, "ok")
                if status < 300:
                    receiver.posts.append(Posted(self.path, dict(self.headers), json.loads(raw)))
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/services/T0001/B0002/SeCrEtPaTh123") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the service --------------------------------------------------------------------------


@dataclass
class NotifyEnv:
    """A service on the ledger ``db`` (a SQLite file or a PostgreSQL schema) with
    notifications driven by ``tick()`` at ``clock``'s time."""

    db: Path | PostgresTarget
    clock: Clock
    smtp: SmtpServer | None = None
    webhook_url: str | None = None
    ca_file: Path | None = None
    service: SyncHealthService = field(init=False)
    client: httpx.AsyncClient = field(init=False)
    _record: int = 0

    async def start(self, **config: Any) -> NotifyEnv:
        """Start the service; ``config`` overrides its settings (e.g. ``notify_interval``)."""
        self.service = SyncHealthService(self.config(**config))
        await self.service.start()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.service.asgi), base_url="http://synchealth.test"
        )
        return self

    async def stop(self) -> None:
        await self.client.aclose()
        await self.service.stop()

    def config(self, **overrides: Any) -> ServiceConfig:
        transport = httpx.ASGITransport(
            app=create_simorg(demo_org_state(7), access_token=ORG_TOKEN)
        )
        values: dict[str, Any] = {
            **service_target(self.db),
            "org_token": ORG_TOKEN,
            "org_transport": transport,
            "org_name": ORG_NAME,
            "clock": self.clock,
            "mode": "simulated",
            "smtp": self.smtp,
            "webhook_url": SecretStr(self.webhook_url) if self.webhook_url else None,
            "ca_file": self.ca_file,
            "notify_interval": None,
        }
        return ServiceConfig(**{**values, **overrides})

    async def restart(self) -> None:
        """A new service process on the same ledger."""
        await self.stop()
        await self.start()

    async def tick(self) -> None:
        await self.service.notifier.tick()

    async def settings(self, **values: Any) -> dict[str, Any]:
        answer = await self.client.put("/v1/notifications", json=values)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def report(self, count: int = 1, kind: str = "duplicate", name: str = "") -> list[int]:
        """``count`` new failed records, reported like the sync engine does."""
        items = []
        for _ in range(count):
            self._record += 1
            items.append(_item(self._record, kind, name or f"Jane Doe {self._record}"))
        answer = await self.client.post("/v1/errors", json={"errors": items})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["created"] == count, body
        return body["error_ids"]

    async def use_calls(self, calls: int) -> None:
        """Count ``calls`` Salesforce calls of the integration at the current time."""
        for _ in range(calls):
            await self.service.usage.record_call()

    async def status(self) -> dict[str, Any]:
        answer = await self.client.get("/v1/notifications/status")
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def deliveries(self) -> list[dict[str, Any]]:
        answer = await self.client.get("/v1/notifications/status")
        assert answer.status_code == 200, answer.text
        return answer.json()["deliveries"]


_ERRORS = {
    "duplicate": {
        "statusCode": "DUPLICATES_DETECTED",
        "message": "Use one of these records?",
        "fields": [],
    },
    "picklist": {
        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "message": "bad value for restricted picklist field: Hot Lead",
        "fields": ["Status"],
    },
    "required": {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [LastName]",
        "fields": ["LastName"],
    },
}


def _item(n: int, kind: str, name: str) -> dict[str, Any]:
    return {
        "object_type": "contact",
        "record_id": f"crm-{n}",
        "record_name": name,
        "salesforce": {"object": "Contact", "fields": {"LastName": name, "Email": f"p{n}@x.co"}},
        "errors": [_ERRORS[kind]],
    }


def body_of(mail: Received) -> str:
    """The decoded plain-text body, with plain newlines."""
    return mail.message.get_content().replace("\r\n", "\n")


def at(text: str) -> datetime:
    """``2025-03-10T09:00`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
