"""When messages are due: digests by the schedule (pure functions of the settings and
a moment), immediate messages and alerts by :class:`Debounce`.

A *slot* is one scheduled digest time: every day (daily) or every
``digest_weekday`` (weekly) at ``digest_time`` in ``timezone``, as an aware UTC
datetime. Local times that a daylight-saving change skips or repeats resolve the
way :mod:`zoneinfo` does with ``fold=0``: a skipped 02:30 happens at 03:30 of the
new offset, a repeated 01:30 happens the first time.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tui.core.models import NotificationSettings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_DAY = timedelta(days=1)
QUIET = timedelta(seconds=20)
MAX_WAIT = timedelta(seconds=45)


class Debounce:
    """What arrives together makes one message: due once what is pending stayed the same
    for :data:`QUIET`, or :data:`MAX_WAIT` after it was first noticed, whichever is first.

    Kept in memory: after a restart the wait starts again (nothing is lost, the
    notifier's state in the ledger still says what was not announced).
    """

    def __init__(self) -> None:
        self._what: Hashable | None = None
        self._first = self._last = datetime.min.replace(tzinfo=UTC)

    def due(self, what: Hashable, now: datetime) -> bool:
        if self._what is None:
            self._what, self._first, self._last = what, now, now
        elif self._what != what:
            self._what, self._last = what, now
        return now - self._last >= QUIET or now - self._first >= MAX_WAIT

    def reset(self) -> None:
        self._what = None


def is_digest(settings: NotificationSettings) -> bool:
    return settings.frequency in ("daily", "weekly")


def schedule_key(settings: NotificationSettings) -> str:
    """What identifies a schedule; a digest state made under another key is out of date."""
    weekday = settings.digest_weekday if settings.frequency == "weekly" else "-"
    return f"{settings.frequency} {weekday} {settings.digest_time} {settings.timezone}"


def _slot_on(day: date, settings: NotificationSettings) -> datetime | None:
    """The slot on local ``day``, or None when no digest falls on that day."""
    if settings.frequency == "weekly" and WEEKDAYS[day.weekday()] != settings.digest_weekday:
        return None
    hour, minute = map(int, settings.digest_time.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(settings.timezone))
    return local.astimezone(UTC)


def latest_slot(now: datetime, settings: NotificationSettings) -> datetime:
    """The last slot at or before ``now``."""
    day = now.astimezone(ZoneInfo(settings.timezone)).date()
    for back in range(9):
        slot = _slot_on(day - back * _DAY, settings)
        if slot is not None and slot <= now:
            return slot
    raise ValueError(f"no digest slot before {now} for {schedule_key(settings)!r}")


def next_slot(after: datetime, settings: NotificationSettings) -> datetime:
    """The first slot strictly after ``after``."""
    day = after.astimezone(ZoneInfo(settings.timezone)).date()
    for ahead in range(9):
        slot = _slot_on(day + ahead * _DAY, settings)
        if slot is not None and slot > after:
            return slot
    raise ValueError(f"no digest slot after {after} for {schedule_key(settings)!r}")
