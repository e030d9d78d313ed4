"""What the notification form's text fields accept, with messages a person can act on.

Each parser takes what was typed and returns the value to save, or raises
:class:`FieldError` with a localised message. Full-width characters typed with a
Japanese IME (digits, commas, ``＠``, ``：``) count as their ASCII twins. The service
checks the same rules again (``NotificationSettings``); these give the reason in the
console's language while the admin types.
"""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tui.core.models import (
    ALERT_ERRORS_MAX,
    ALERT_MINUTES_MAX,
    MAX_RECIPIENTS,
    MAX_THRESHOLDS,
    is_email_address,
)
from tui.i18n import t

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_LIST_SEPARATORS = re.compile(r"[,;、\s]+")


class FieldError(ValueError):
    """What is wrong with a field's text, in the console's language."""


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _items(text: str) -> list[str]:
    return [item for item in _LIST_SEPARATORS.split(_normal(text)) if item]


def parse_digest_time(text: str) -> str:
    """``HH:MM`` on a 24-hour clock; ``9:05`` becomes ``09:05``."""
    match = _TIME.fullmatch(_normal(text))
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise FieldError(t("modals.notifications.bad_time", text=text.strip()))
    return f"{int(match[1]):02d}:{match[2]}"


def parse_timezone(text: str) -> str:
    """An IANA time zone name the system knows, e.g. ``Asia/Tokyo``."""
    name = _normal(text)
    try:
        if not name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder of zones
        raise FieldError(t("modals.notifications.bad_zone", text=text.strip())) from None
    return name


def parse_recipients(text: str) -> list[str]:
    """Addresses separated by commas (or spaces, semicolons); repeats are dropped."""
    addresses = _items(text)
    for address in addresses:
        if not is_email_address(address):
            raise FieldError(t("modals.notifications.bad_address", text=address))
    unique: dict[str, str] = {}
    for address in addresses:
        unique.setdefault(address.lower(), address)
    if len(unique) > MAX_RECIPIENTS:
        raise FieldError(
            t("modals.notifications.too_many_recipients", max=MAX_RECIPIENTS, count=len(unique))
        )
    return list(unique.values())


def parse_thresholds(text: str) -> list[int]:
    """Whole percents from 1 to 100 (``%`` allowed), each once, returned ascending."""
    values: list[int] = []
    for item in _items(text):
        number = item.removesuffix("%")
        if not number.isdigit() or not 1 <= int(number) <= 100:
            raise FieldError(t("modals.notifications.bad_threshold", text=item))
        if int(number) in values:
            raise FieldError(t("modals.notifications.repeated_threshold", value=int(number)))
        values.append(int(number))
    if not values:
        raise FieldError(t("modals.notifications.no_thresholds"))
    if len(values) > MAX_THRESHOLDS:
        raise FieldError(
            t("modals.notifications.too_many_thresholds", max=MAX_THRESHOLDS, count=len(values))
        )
    return sorted(values)


def _whole(text: str, most: int, key: str) -> int:
    number = _normal(text).replace(",", "")
    if not number.isdigit() or not 1 <= int(number) <= most:
        raise FieldError(t(f"modals.notifications.{key}", text=text.strip(), max=f"{most:,}"))
    return int(number)


def parse_alert_errors(text: str) -> int:
    """Alert mode's N: how many new errors of a cause make it grow fast."""
    return _whole(text, ALERT_ERRORS_MAX, "bad_alert_errors")


def parse_alert_minutes(text: str) -> int:
    """Alert mode's M: the window, in minutes, the N errors are counted in."""
    return _whole(text, ALERT_MINUTES_MAX, "bad_alert_minutes")
