"""An ignore's expiry as a person types it, for the console's dialog and the CLI.

``7d`` is a number of days, sent as such so the service's clock counts them; a date
(``2026-12-31``, ``2026/12/31``, full-width digits typed with a Japanese IME) is the
midnight that starts it in the given zone; an ISO-8601 time with its zone is taken as is.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, tzinfo

from tui.i18n import t

_DAYS = re.compile(r"(\d{1,4})\s*d", re.IGNORECASE)
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


class BadExpiry(ValueError):
    """The typed expiry cannot be used; the message (in the language) says why."""


def start_of_day(day: date, zone: tzinfo | None) -> datetime:
    """Midnight at the start of ``day`` in ``zone`` (None: the system's zone), aware."""
    if zone is None:
        return datetime.combine(day, time()).astimezone()
    return datetime.combine(day, time(), tzinfo=zone)


def parse_until(text: str, now: datetime, zone: tzinfo | None) -> datetime | int:
    """Days (int) or an aware time after ``now``; :class:`BadExpiry` otherwise."""
    typed = unicodedata.normalize("NFKC", text).strip()
    days = _DAYS.fullmatch(typed)
    if days is not None:
        if not 1 <= int(days.group(1)) <= 3660:
            raise BadExpiry(t("ignore.days_invalid", text=typed))
        return int(days.group(1))
    found = _DATE.fullmatch(typed)
    if found is not None:
        try:
            day = date(*(int(part) for part in found.groups()))
        except ValueError:
            raise BadExpiry(t("ignore.date_invalid", text=typed)) from None
        if day <= now.astimezone(zone).date():
            raise BadExpiry(t("ignore.date_past", date=day.isoformat()))
        return start_of_day(day, zone)
    try:
        moment = datetime.fromisoformat(typed.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadExpiry(t("ignore.date_invalid", text=typed))
    if moment <= now:
        raise BadExpiry(t("ignore.date_past", date=typed))
    return moment
