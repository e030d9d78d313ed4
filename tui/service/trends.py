"""Daily figures per type and per cause (``trend_days``), ``GET /v1/trends``.

Each day of each series (``all``, ``type:<type>``, ``cause:<cause>``) holds the errors
first seen that day (new), resolved that day, failing again that day after being
resolved (recurring), and how the open count moved that day (``open_delta``). The
figures move with the change feed: :class:`tui.service.causes.CauseIndex` knows each
changed error's state before and after, and hands both to :class:`TrendTally`, so a
page of figures reads at most a few hundred rows of one series whatever the ledger's
size. "Still open" at the end of a day is the sum of ``open_delta`` up to that day.

Days older than :data:`KEEP_DAYS` are folded, once a day, into the series' row of day
``''``, which keeps the sums (open count, totals since the start) right. A ledger that
had errors before trends existed is counted once by :func:`backfill` from its rows:
each error is new on its first day; its attempt history gives the days it was resolved
and failed again (an error resolved without a history: on its last day), and an error
ignored now leaves the open count on the day of its ignore.

Ignoring an error is not resolving it: it leaves the open count without counting as
resolved, comes back to it without counting as recurring, and counts as resolved only if
its record syncs meanwhile. Figures counted before this was so (``trends_ready`` below
:data:`COUNTED`) are counted anew by the next catch-up.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from tui.core.models import ERROR_TYPES
from tui.core.trend_models import TrendDay, TrendPage, TrendTotals, TypeTrends
from tui.service.db import Connection

#: Days kept day by day (and the most ``GET /v1/trends?days=`` serves).
KEEP_DAYS = 400
ALL = "all"
#: ``(new, resolved, recurring, open_delta)`` in this order everywhere.
_FIGURES = 4
#: ``meta.trends_ready`` of figures counted the way this module counts (version 1
#: counted an ignored error as resolved).
COUNTED = "2"
#: An error's state as ``error_causes.open`` keeps it.
OPEN, RESOLVED, IGNORED = 1, 0, -1


def state_of(status: str) -> int:
    """``error_causes.open`` of an error of ``status`` (open, resolved or ignored)."""
    return OPEN if status == "open" else IGNORED if status == "ignored" else RESOLVED


#: An upsert's SET that adds a day's figures to those stored.
_ADD_FIGURES = ", ".join(
    f"{c} = trend_days.{c} + excluded.{c}" for c in ("new", "resolved", "recurring", "open_delta")
)

_UPSERT = (
    "INSERT INTO trend_days(series, day, new, resolved, recurring, open_delta) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(series, day) DO UPDATE SET " + _ADD_FIGURES
)


def series_of(type_: str, cause: str) -> tuple[str, str, str]:
    """The three series an error of ``type_`` and ``cause`` counts in."""
    return (ALL, f"type:{type_}", f"cause:{cause}")


@dataclass(frozen=True, slots=True)
class ErrorState:
    """What the figures need of an error at one moment."""

    type: str
    cause: str
    state: int  # OPEN, RESOLVED or IGNORED


class TrendTally:
    """Figures of a batch of changes, summed before they are written."""

    def __init__(self) -> None:
        self._rows: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * _FIGURES)

    def add(self, type_: str, cause: str, day: str, figures: tuple[int, int, int, int]) -> None:
        for series in series_of(type_, cause):
            row = self._rows[(series, day)]
            for n, value in enumerate(figures):
                row[n] += value

    def change(
        self,
        before: ErrorState | None,
        after: ErrorState,
        first_day: str,
        last_day: str,
        today: str,
    ) -> None:
        """One error's change, ``last_day`` being the day it changed (its ``last_seen``).

        An ignore, an unignore or an expiry does not move ``last_seen``: a change into or
        out of ignored is counted on ``today``, the day of the catch-up that sees it."""
        if before is None:
            self.add(after.type, after.cause, first_day, (1, 0, 0, 1))
            before = ErrorState(after.type, after.cause, OPEN)
        if before == after:
            return
        if IGNORED in (before.state, after.state):
            last_day = today
        # Leaving open moves the old cause's count, coming back the new one's.
        if before.state == OPEN:
            resolved = int(after.state == RESOLVED)
            self.add(before.type, before.cause, last_day, (0, resolved, 0, -1))
        elif before.state == IGNORED and after.state == RESOLVED:
            self.add(before.type, before.cause, last_day, (0, 1, 0, 0))
        if after.state == OPEN:
            recurring = int(before.state == RESOLVED)
            self.add(after.type, after.cause, last_day, (0, 0, recurring, 1))

    async def write(self, conn: Connection) -> None:
        await conn.insert_rows(
            _UPSERT,
            [
                (series, day, *figures)
                for (series, day), figures in self._rows.items()
                if any(figures)
            ],
        )


#: The changes of state in each error's attempt history (1: failed, 0: resolved), each
#: against the state before it (an error starts open): resolutions and recurrences.
_TRANSITIONS = (
    "SELECT e.type, c.cause, substr(s.at, 1, 10), sum(1 - s.o), sum(s.o) FROM ("
    "SELECT error_id, at, CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END AS o, "
    "LAG(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END, 1, 1) "
    "OVER (PARTITION BY error_id ORDER BY rowid) AS prev "
    "FROM attempts WHERE outcome IN ('failed', 'synced', 'resolved')) s "
    "JOIN errors e ON e.id = s.error_id JOIN error_causes c ON c.error_id = s.error_id "
    "WHERE s.o != s.prev GROUP BY 1, 2, 3"
)
#: Each error new on its first day; a resolved error without a resolving attempt (a
#: large demo keeps no history) resolved on its last day.
_FIRST_AND_UNRECORDED = (
    "SELECT e.type, c.cause, substr(e.first_seen, 1, 10), count(*) FROM errors e "
    "JOIN error_causes c ON c.error_id = e.id GROUP BY 1, 2, 3",
    "SELECT e.type, c.cause, substr(e.last_seen, 1, 10), count(*) FROM errors e "
    "JOIN error_causes c ON c.error_id = e.id WHERE e.status = 'resolved' "
    "AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.error_id = e.id "
    "AND a.outcome IN ('synced', 'resolved')) GROUP BY 1, 2, 3",
)
#: Each error ignored now, out of the open count from the day of its ignore.
_IGNORED = (
    "SELECT e.type, c.cause, substr(i.created, 1, 10), count(*) FROM errors e "
    "JOIN error_causes c ON c.error_id = e.id JOIN ignored_errors g ON g.error_id = e.id "
    "JOIN ignores i ON i.id = g.ignore_id WHERE e.status = 'ignored' GROUP BY 1, 2, 3"
)


async def backfill(conn: Connection) -> None:
    """Inside a transaction: the figures of every error the ledger holds, counted anew.

    Also marks the ignored errors in ``error_causes`` (a ledger of version 1 kept them
    as resolved), so that the changes after it are counted from the right state."""
    await conn.execute("DELETE FROM trend_days")
    await conn.execute(
        "UPDATE error_causes SET open = ? WHERE open != ? AND error_id IN "
        "(SELECT id FROM errors WHERE status = 'ignored')",
        (IGNORED, IGNORED),
    )
    tally = TrendTally()
    new_sql, unrecorded_sql = _FIRST_AND_UNRECORDED
    async with conn.execute(new_sql) as cur:
        for type_, cause, day, n in cur.rows:
            tally.add(type_, cause, day, (n, 0, 0, n))
    async with conn.execute(unrecorded_sql) as cur:
        for type_, cause, day, n in cur.rows:
            tally.add(type_, cause, day, (0, n, 0, -n))
    async with conn.execute(_IGNORED) as cur:
        for type_, cause, day, n in cur.rows:
            tally.add(type_, cause, day, (0, 0, 0, -n))
    async with conn.execute(_TRANSITIONS) as cur:
        for type_, cause, day, resolved, recurred in cur.rows:
            tally.add(type_, cause, day, (0, resolved, recurred, recurred - resolved))
    await tally.write(conn)


async def prune(conn: Connection, today: date) -> None:
    """Inside a transaction: fold the days before the kept window into day ``''``.

    The window is the :data:`KEEP_DAYS` days up to today, or up to the last day
    anything happened if that is earlier (a ledger left alone keeps its last figures).
    """
    async with conn.execute("SELECT max(day) FROM trend_days WHERE series = ?", (ALL,)) as cur:
        (newest,) = await cur.fetchone()  # type: ignore[misc]
    if not newest:
        return
    last = min(today, date.fromisoformat(newest))
    cutoff = (last - timedelta(days=KEEP_DAYS)).isoformat()
    await conn.execute(
        "INSERT INTO trend_days(series, day, new, resolved, recurring, open_delta) "
        "SELECT series, '', sum(new), sum(resolved), sum(recurring), sum(open_delta) "
        "FROM trend_days WHERE day != '' AND day < ? GROUP BY series "
        "ON CONFLICT(series, day) DO UPDATE SET " + _ADD_FIGURES,
        (cutoff,),
    )
    await conn.execute("DELETE FROM trend_days WHERE day != '' AND day < ?", (cutoff,))


@dataclass(frozen=True, slots=True)
class Day:
    day: str
    new: int
    resolved: int
    recurring: int
    open: int


@dataclass(frozen=True, slots=True)
class Totals:
    """Everything counted since the figures began (``open``: open now)."""

    new: int
    resolved: int
    recurring: int
    open: int


def window(end: date, days: int) -> list[str]:
    """The ``days`` days ending on ``end``, oldest first (none before year 1)."""
    first = max(date.min.toordinal(), end.toordinal() - days + 1)
    return [date.fromordinal(n).isoformat() for n in range(first, end.toordinal() + 1)]


async def read_series(reader: Connection, series: str, days: list[str]) -> tuple[list[Day], Totals]:
    """One series' figures for each of ``days`` (consecutive), and its totals."""
    async with reader.execute(
        "SELECT day, new, resolved, recurring, open_delta FROM trend_days WHERE series = ? "
        "ORDER BY day",
        (series,),
    ) as cur:
        rows = await cur.fetchall()
    by_day = {row[0]: row[1:] for row in rows}
    open_before = sum(row[4] for row in rows if row[0] < days[0])
    out = []
    still_open = open_before
    for day in days:
        new, resolved, recurring, delta = by_day.get(day, (0, 0, 0, 0))
        still_open += delta
        out.append(Day(day, new, resolved, recurring, still_open))
    sums = [sum(row[n] for row in rows) for n in range(1, _FIGURES + 1)]
    return out, Totals(*sums)


async def read_new_by_type(
    reader: Connection, types: Iterable[str], days: list[str]
) -> dict[str, list[int]]:
    """New errors per day of each type, over ``days``."""
    out = {type_: [0] * len(days) for type_ in types}
    at = {day: n for n, day in enumerate(days)}
    async with reader.execute(
        "SELECT series, day, new FROM trend_days WHERE series >= 'type:' AND series < 'type;' "
        "AND day >= ? AND day <= ?",
        (days[0], days[-1]),
    ) as cur:
        for series, day, new in cur.rows:
            counts = out.get(series.removeprefix("type:"))
            if counts is not None and day in at:
                counts[at[day]] = new
    return out


_CAUSE = re.compile(r"[0-9a-f]{16}")


class TrendRefused(Exception):
    """A request for figures that cannot be answered: ``status``, ``code`` and why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def last_day(raw: str | None, today: date) -> date:
    """The last day a request asks for (``end``, a UTC day): today when not given.

    A console asks for the days ending on its own day (its clock may not be the
    service's: a test's fixed clock, a demo built on another day). Days to come have no
    figures yet; they are answered all the same.
    """
    if raw is None:
        return today
    try:
        return date.fromisoformat(raw) if _DAY.fullmatch(raw) else _refuse_day(raw)
    except ValueError:
        return _refuse_day(raw)


def _refuse_day(raw: str) -> date:
    raise TrendRefused(422, "invalid_parameter", f"'end' must be a day as YYYY-MM-DD, got {raw!r}.")


async def trend_page(
    reader: Connection, today: date, days: int, type_: str | None, cause: str | None
) -> TrendPage:
    """The figures of all errors, of ``type_`` or of ``cause`` over ``days`` days."""
    if type_ is not None and type_ not in ERROR_TYPES:
        raise TrendRefused(
            422,
            "invalid_parameter",
            f"'type' must be one of {', '.join(ERROR_TYPES)}, got {type_!r}.",
        )
    series = ALL if type_ is None else f"type:{type_}"
    if cause is not None:
        if not _CAUSE.fullmatch(cause):
            raise TrendRefused(
                422, "invalid_parameter", f"'cause' must be 16 hex digits, got {cause!r}."
            )
        async with reader.execute("SELECT type FROM cause_totals WHERE cause = ?", (cause,)) as cur:
            found = await cur.fetchone()
        if found is None:
            raise TrendRefused(404, "not_found", f"No error has the cause {cause!r}.")
        if type_ is not None and found[0] != type_:
            raise TrendRefused(
                422,
                "invalid_parameter",
                f"The cause {cause!r} is of type {found[0]!r}, not {type_!r}.",
            )
        series = f"cause:{cause}"
    figures, totals = await read_series(reader, series, window(today, days))
    return TrendPage(
        type=type_,
        cause=cause,
        days=[  # figures of our own making: built, not validated (400 a page)
            TrendDay.model_construct(
                day=date.fromisoformat(d.day),
                new=d.new,
                resolved=d.resolved,
                recurring=d.recurring,
                open=d.open,
            )
            for d in figures
        ],
        totals=TrendTotals(**asdict(totals)),
    )


async def type_trends(reader: Connection, today: date, days: int) -> TypeTrends:
    chosen = window(today, days)
    new = await read_new_by_type(reader, ERROR_TYPES, chosen)
    return TypeTrends(days=[date.fromisoformat(day) for day in chosen], new=new)
