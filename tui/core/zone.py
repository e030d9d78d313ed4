"""Which time zone the console shows times in: a flag, then the config file, then the
system's own zone (``TZ``, ``/etc/localtime``).

``None`` stands for the system's zone, looked up again at each conversion, so a
daylight-saving change during a session is followed.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The name that asks for the system's zone explicitly (``--tz local``).
LOCAL = "local"


def zone_named(name: str) -> tzinfo | None:
    """The zone ``name`` (an IANA name such as Asia/Tokyo, ``UTC``, or ``local``).

    ``ValueError`` with a message for a person when there is no such zone.
    """
    name = name.strip()
    if name.lower() == LOCAL:
        return None
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Asia/Tokyo or "
            "Europe/London, UTC, or local"
        ) from None


def resolve_zone(explicit: str | None = None, config: str | None = None) -> tzinfo | None:
    """``explicit`` (``--tz``), else ``config`` (``timezone``), else the system's zone."""
    for name in (explicit, config):
        if name:
            return zone_named(name)
    return None
