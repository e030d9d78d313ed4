"""The webhook channel: one JSON POST per message.

The body is ``{"text": ..., "synchealth": {...}}``: ``text`` is what Slack's incoming
webhooks (and Mattermost's, and many chat bridges) show; ``synchealth`` carries the
same facts as data for other receivers. A webhook URL is a secret (whoever has it
can post), so messages about it name only its host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from tui.service.auth import is_loopback
from tui.service.notify.delivery import DeliveryError, Outgoing, Sent

TIMEOUT = 10.0
#: Answers worth trying again later; other 4xx mean the URL or the payload is wrong.
_RETRYABLE = {408, 425, 429}


def check_webhook_url(url: str) -> str:
    """``url`` if it can carry a secret safely: https, or http to a loopback host."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or not host or parts.scheme not in ("https", "http"):
        raise ValueError("the webhook URL must be an https:// URL with a host")
    if parts.scheme == "http" and not is_loopback(host):
        raise ValueError(
            f"the webhook URL to {host} must use https:// (the URL is a secret; plain http "
            "is only allowed to a loopback address)"
        )
    return url.strip()


def webhook_host(url: str) -> str:
    return urlsplit(url).hostname or ""


def slack_escape(text: str) -> str:
    """Slack reads ``<...>`` as links and mentions; CRM data must show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(outgoing: Outgoing) -> dict[str, Any]:
    return {
        "text": slack_escape(f"{outgoing.subject}\n\n{outgoing.body}"),
        "synchealth": {
            "delivery_id": outgoing.delivery_id,
            "kind": outgoing.kind,
            "subject": outgoing.subject,
            "created": outgoing.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            **outgoing.data,
        },
    }


def _answer_text(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return f": {text[:200]}" if text else ""


async def post_webhook(client: httpx.AsyncClient, url: str, outgoing: Outgoing) -> Sent:
    """POST one message; what the receiver answered, or :class:`DeliveryError`."""
    host = webhook_host(url)
    try:
        response = await client.post(
            url,
            json=payload(outgoing),
            headers={"X-Synchealth-Delivery": str(outgoing.delivery_id)},
            timeout=TIMEOUT,
        )
    except httpx.TimeoutException:
        raise DeliveryError(f"the webhook at {host} did not answer within {TIMEOUT:g} s") from None
    except httpx.ConnectError as exc:
        reason = str(exc.__cause__ or exc) or type(exc).__name__
        raise DeliveryError(f"the webhook at {host} could not be reached: {reason}") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"the webhook at {host} failed: {type(exc).__name__}") from None
    status = response.status_code
    if 200 <= status < 300:
        return Sent(f"the webhook at {host} answered HTTP {status}")
    if 300 <= status < 400:
        raise DeliveryError(
            f"webhook answered HTTP {status} (a redirect; configure the final URL)", permanent=True
        )
    raise DeliveryError(
        f"webhook answered HTTP {status}{_answer_text(response)}",
        permanent=400 <= status < 500 and status not in _RETRYABLE,
    )
