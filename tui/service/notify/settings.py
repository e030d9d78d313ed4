"""Notification settings as the API takes them, and as the ledger keeps them.

A ``PUT`` replaces the whole settings: omitted keys take their defaults, unknown keys
and wrong JSON types are refused, and every refusal names the field. Settings stored
by an older synchealth (which had ``channels``) are read leniently: unknown keys are
dropped, and unreadable settings count as "off" (with a warning in the log) rather
than stopping the service.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from tui.core.invalid import explain
from tui.core.notify_models import NotificationSettings
from tui.service.ledger import Ledger

KEY = "notifications"
log = logging.getLogger("synchealth.notify")


async def load_settings(ledger: Ledger) -> NotificationSettings:
    stored = await ledger.setting(KEY)
    try:
        return NotificationSettings.model_validate(stored or {}, extra="ignore")  # older keys
    except ValidationError as exc:
        log.warning("stored notification settings are not valid, treating them as off: %s",
                    explain(exc))  # fmt: skip
        return NotificationSettings()
