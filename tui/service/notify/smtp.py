"""Email over SMTP: the server settings, the MIME message, and one delivery.

:mod:`smtplib` is blocking, so :func:`send_email` runs it in a worker thread. Every
failure becomes a :class:`DeliveryError` naming the SMTP code, the step and the
server (``SMTP 535 authentication failed at smtp.example.com:587: ...``); the
password never appears in one.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tui.core.lang import counted
from tui.core.notify_models import is_email_address
from tui.service.auth import is_loopback
from tui.service.notify.delivery import DeliveryError, Outgoing, Sent

Security = Literal["starttls", "tls", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}


class SmtpServer(BaseModel):
    """Where email goes out: service configuration, never an API setting.

    ``security`` is ``starttls`` (plain connection upgraded to TLS, port 587),
    ``tls`` (TLS from the start, port 465) or ``none`` (no encryption; a login is
    then only allowed to a loopback relay). ``port`` defaults by security.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)  # the password

    host: str = Field(min_length=1)
    security: Security = "starttls"
    port: int = Field(
        0, ge=0, le=65535, validate_default=True, description="0: the default of `security`."
    )
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(description="The From address: bot@example.com or 'Name <bot@...>'.")
    timeout: float = Field(20.0, gt=0, description="Seconds to wait for the server.")

    @field_validator("port")
    @classmethod
    def _default_port(cls, port: int, info: ValidationInfo) -> int:
        return port or DEFAULT_PORTS[info.data.get("security", "starttls")]

    @model_validator(mode="after")
    def _coherent(self) -> SmtpServer:
        if not self.host.strip():
            raise ValueError("the SMTP host must not be blank")
        if not is_email_address(parseaddr(self.sender)[1]):
            raise ValueError(
                f"the SMTP sender {self.sender!r} is not an address like bot@example.com"
            )
        if (self.username is None) != (self.password is None):
            raise ValueError("an SMTP login needs both a username and a password")
        if self.username is not None and self.security == "none" and not is_loopback(self.host):
            raise ValueError(
                "an SMTP login without TLS would send the password in clear text; "
                "set the security to starttls or tls"
            )
        return self

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        """``smtp.example.com:587 STARTTLS as bot@x``: where mail goes, no secret."""
        security = {"starttls": "STARTTLS", "tls": "TLS", "none": "no TLS"}[self.security]
        login = f" as {self.username}" if self.username else ", no login"
        return f"{self.where} {security}{login}"


def build_email(server: SmtpServer, outgoing: Outgoing) -> EmailMessage:
    """A UTF-8 plain-text message; the Message-ID is fixed by the outbox row, so a
    repeat after a crash carries the same id and mail systems can drop it."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = outgoing.subject
    msg["From"] = server.sender
    msg["To"] = ", ".join(outgoing.recipients)
    msg["Date"] = format_datetime(outgoing.created)
    domain = parseaddr(server.sender)[1].rpartition("@")[2]
    stamp = outgoing.created.strftime("%Y%m%d%H%M%S")
    msg["Message-ID"] = f"<synchealth.{stamp}.{outgoing.delivery_id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Synchealth-Kind"] = outgoing.kind
    cte = "7bit" if outgoing.body.isascii() else "base64"
    msg.set_content(outgoing.body, charset="utf-8", cte=cte)
    return msg


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).strip()


def _explain(exc: BaseException, server: SmtpServer, step: str) -> DeliveryError:
    """One sentence a person can act on; 5xx replies are permanent, 4xx are worth a retry."""
    where = server.where
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in exc.recipients.items()
        )
        codes = [code for code, _ in exc.recipients.values()]
        return DeliveryError(
            f"SMTP {codes[0]} every recipient was refused at {where}: {refused}",
            permanent=all(code >= 500 for code in codes),
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"SMTP {exc.smtp_code} authentication failed at {where}: {_reply(exc)}",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return DeliveryError(
            f"SMTP {exc.smtp_code} the sender {exc.sender} was refused at {where}: {_reply(exc)}",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        what = "message refused" if step == "send" else f"{step} refused"
        return DeliveryError(
            f"SMTP {exc.smtp_code} {what} at {where}: {_reply(exc)}",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if step == "starttls":
            return DeliveryError(
                f"the SMTP server at {where} does not offer STARTTLS; set the security to "
                "tls (port 465) or none",
                permanent=True,
            )
        return DeliveryError(
            f"the SMTP server at {where} does not offer a login (AUTH); many servers offer "
            "it only over TLS, so check the security setting",
            permanent=True,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"the SMTP server at {where} closed the connection during {step}")
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryError(f"SMTP {step} failed at {where}: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"the TLS certificate of the SMTP server at {where} could not be verified "
            f"({exc.verify_message}); if a proxy or a private CA signs it, add that CA "
            "with ca_file"
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS with the SMTP server at {where} failed: {exc.reason}")
    if isinstance(exc, TimeoutError):
        return DeliveryError(
            f"the SMTP server at {where} did not answer within {server.timeout:g} s ({step})"
        )
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(f"the SMTP server at {where} refused the connection")
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"the SMTP host {server.host} could not be found ({exc.strerror})")
    if isinstance(exc, OSError):
        return DeliveryError(
            f"the SMTP server at {where} could not be reached: {exc.strerror or exc}"
        )
    return DeliveryError(f"sending email through {where} failed ({type(exc).__name__})")


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).strip()


def _send_blocking(
    server: SmtpServer, msg: EmailMessage, recipients: list[str], context: ssl.SSLContext
) -> Sent:
    step = "connect"
    envelope_from = parseaddr(server.sender)[1]
    try:
        local = socket.gethostname()
        if server.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, local, timeout=server.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, local, timeout=server.timeout)
        with smtp:
            step = "EHLO"
            smtp.ehlo()
            if server.security == "starttls":
                step = "starttls"
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.username is not None and server.password is not None:
                step = "login"
                smtp.login(server.username, server.password.get_secret_value())
            step = "send"
            refused = smtp.send_message(msg, from_addr=envelope_from, to_addrs=recipients)
    except Exception as exc:
        raise _explain(exc, server, step) from None
    accepted = len(recipients) - len(refused)
    detail = f"accepted by {server.where} for {accepted} of {counted(len(recipients), 'recipient')}"
    if not refused:
        return Sent(detail)
    listed = ", ".join(f"{addr} ({code} {_text(text)})" for addr, (code, text) in refused.items())
    return Sent(detail, f"SMTP refused some recipients at {server.where}: {listed}")


async def send_email(
    server: SmtpServer, msg: EmailMessage, recipients: list[str], context: ssl.SSLContext
) -> Sent:
    """Deliver ``msg`` to ``recipients``; what the server said, or :class:`DeliveryError`."""
    return await asyncio.to_thread(_send_blocking, server, msg, recipients, context)
