"""What a channel sends, and how it says that sending failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DeliveryError(Exception):
    """A channel could not deliver; ``str(err)`` says what happened, for people.

    ``permanent`` failures (a refused recipient, a webhook answering 404) are not
    retried: the same message would be refused the same way.
    """

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message, self.permanent = message, permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message on its way: the same text on every attempt.

    ``delivery_id`` (the outbox row) names the message to the receiver: the email's
    Message-ID and the webhook's ``delivery_id``, so a receiver can drop a repeat.
    """

    delivery_id: int
    kind: str
    subject: str
    body: str
    created: datetime
    data: dict[str, Any] = field(default_factory=dict)
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sent:
    """A delivery the receiver accepted; ``warning`` notes a partial refusal."""

    detail: str
    warning: str = ""
