"""The two channels behind one interface: is it configured, where does it go, send.

Secrets (the SMTP password, the webhook URL) live only here; :meth:`Channels.scrub`
takes them out of any text before it is stored, answered or logged.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import SecretStr

from tui.core.models import Channel, ChannelStatus
from tui.service.notify.delivery import DeliveryError, Outgoing, Sent
from tui.service.notify.smtp import SmtpServer, build_email, send_email
from tui.service.notify.webhook import post_webhook, webhook_host

CHANNELS: tuple[Channel, ...] = ("email", "webhook")
_HIDDEN = "***"


class _Scrubbed(logging.Filter):
    """httpx logs every request URL at INFO; a webhook URL must not reach the log."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._scrub(record.getMessage()), None
        return True


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``ca_file`` (a TLS-inspecting proxy's or a private CA)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class Channels:
    def __init__(
        self,
        smtp: SmtpServer | None,
        webhook_url: SecretStr | None,
        ca_file: Path | None = None,
    ) -> None:
        self.smtp = smtp
        self._webhook_url = webhook_url
        self._ca_file = ca_file
        self._client: httpx.AsyncClient | None = None
        secrets = []
        if smtp is not None and smtp.password is not None:
            secrets.append(smtp.password.get_secret_value())
        if webhook_url is not None:
            url = webhook_url.get_secret_value()
            secrets += [url, url.split("//", 1)[-1].partition("/")[2]]
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)
        self._log_filter = _Scrubbed(self.scrub)

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext:
        """Made on the first send: loading the system's CAs costs ~0.1-0.3 s of a start."""
        return tls_context(self._ca_file)

    def configured(self, channel: Channel) -> bool:
        return (self.smtp if channel == "email" else self._webhook_url) is not None

    def missing(self, channel: Channel) -> str:
        """Why ``channel`` cannot send (it is not configured); for the delivery log and 409s."""
        if channel == "email":
            return (
                "email is not configured on the service: it needs an SMTP server "
                "(smtp_host and smtp_sender in the profile's [notify] table)"
            )
        return (
            "the webhook is not configured on the service: it needs a webhook URL "
            "(webhook_url_env or webhook_url_file in the profile's [notify] table)"
        )

    def status(self) -> dict[str, ChannelStatus]:
        email = ChannelStatus(
            configured=self.smtp is not None,
            target=self.smtp.describe() if self.smtp else "",
        )
        url = self._webhook_url.get_secret_value() if self._webhook_url else ""
        webhook = ChannelStatus(configured=bool(url), target=webhook_host(url) if url else "")
        return {"email": email, "webhook": webhook}

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _HIDDEN)
        return text

    async def send(self, channel: Channel, outgoing: Outgoing) -> Sent:
        """Deliver once; what the receiver said, or :class:`DeliveryError` (already scrubbed)."""
        try:
            if channel == "email":
                if self.smtp is None:
                    raise DeliveryError(self.missing("email"), permanent=True)
                if not outgoing.recipients:
                    raise DeliveryError("the email has no recipients", permanent=True)
                message = build_email(self.smtp, outgoing)
                said = await send_email(self.smtp, message, list(outgoing.recipients), self._tls)
            else:
                if self._webhook_url is None:
                    raise DeliveryError(self.missing("webhook"), permanent=True)
                if self._client is None:
                    logging.getLogger("httpx").addFilter(self._log_filter)
                    self._client = httpx.AsyncClient(verify=self._tls, follow_redirects=False)
                url = self._webhook_url.get_secret_value()
                said = await post_webhook(self._client, url, outgoing)
        except DeliveryError as exc:
            raise DeliveryError(self.scrub(exc.message), exc.permanent) from None
        return Sent(self.scrub(said.detail), self.scrub(said.warning))

    async def aclose(self) -> None:
        logging.getLogger("httpx").removeFilter(self._log_filter)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
