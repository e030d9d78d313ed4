"""Times as people read them: relative ("5m ago") and in the user's time zone.

The zone is set once for the session (:func:`set_zone`, from ``--tz`` or the config's
``timezone``); ``None``, the default, is the system's zone.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from tui.i18n import t

_zone: tzinfo | None = None


def set_zone(zone: tzinfo | None) -> None:
    """Show times in ``zone`` from now on (``None``: the system's zone)."""
    global _zone
    _zone = zone


def in_zone(moment: datetime) -> datetime:
    """``moment`` in the session's time zone."""
    return moment.astimezone(_zone)


def session_zone() -> tzinfo | None:
    """The session's time zone (None: the system's)."""
    return _zone


@lru_cache(maxsize=4096)
def parse_time(value: str) -> datetime | None:
    """An ISO-8601 string (``Z`` allowed) as an aware datetime, or None."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ago(value: str | datetime | None, now: datetime) -> str:
    """How long before ``now``, in the largest whole unit."""
    moment = parse_time(value) if isinstance(value, str) else value
    if moment is None:
        return "-"
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return t("main.time.just_now")
    if seconds < 3600:
        return t("main.time.minutes", n=seconds // 60)
    if seconds < 86400:
        return t("main.time.hours", n=seconds // 3600)
    return t("main.time.days", n=seconds // 86400)


def duration(seconds: float) -> str:
    """A time still to wait, rounded up: "20 s" below two minutes, else whole minutes."""
    if seconds < 120:
        return t("main.time.seconds_left", n=max(1, math.ceil(seconds)))
    return t("main.time.minutes_left", n=math.ceil(seconds / 60))


def stamp(value: str | datetime | None) -> str:
    """``YYYY-MM-DD HH:MM JST``: date, time and zone, as the detail pane shows them."""
    moment = parse_time(value) if isinstance(value, str) else value
    if moment is None:
        return "-"
    return in_zone(moment).strftime("%Y-%m-%d %H:%M %Z")


def clock(moment: datetime) -> str:
    """``HH:MM:SS`` in the session's time zone (the header's "refreshed at")."""
    return in_zone(moment).strftime("%H:%M:%S")
