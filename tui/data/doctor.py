"""The doctor as the CLI and the console run it: the service's checks (``GET /v1/doctor``)
plus the one only this side can make, the health of the local cache.

When the service cannot be reached its check is red and the others it would have run
are not listed; the cache is still checked.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tui import __version__
from tui.core.doctor_models import DoctorCheck, DoctorReport, Phrase
from tui.core.doctor_words import check, in_english, phrased, say
from tui.data.client_errors import ServiceError
from tui.data.session import DataSession
from tui.i18n import current_lang, strings

#: A cache older than this is yellow: the console shows figures that old.
STALE_CACHE = timedelta(minutes=10)


def worst(report: DoctorReport) -> str:
    """green, yellow or red: the worst status among the checks."""
    statuses = {c.status for c in report.checks}
    return next((s for s in ("red", "yellow") if s in statuses), "green")


def _said(phrases: list[Phrase], english: str) -> str:
    """The phrases in the session's language; the service's English when it has none
    (an older service) or one is unknown here (a newer one)."""
    if not phrases:
        return english
    lang = current_lang()
    text = phrased(phrases, strings(lang), lang)
    return english if text is None else text


def found_text(check: DoctorCheck) -> str:
    """What the check found, in the session's language."""
    return _said(check.found_codes, check.found)


def fix_text(check: DoctorCheck) -> str:
    """What to do about it, in the session's language ('' when nothing)."""
    return _said(check.fix_codes, check.fix)


async def run_doctor(session: DataSession, send_test: bool = False) -> DoctorReport:
    """The service's checks (or a red one saying why there are none) and the cache's."""
    try:
        report = await session.client.doctor(send_test)
    except ServiceError as exc:
        fix = say(
            "service.give_token"
            if exc.kind == "unauthorized"
            else "service.start_database"
            if exc.kind == "database"  # the service is up: its database is not
            else "service.start"
        )
        found = say(f"service.{exc.kind}", detail=exc.detail)
        report = DoctorReport(
            version=__version__,
            as_of=datetime.now(UTC),
            checks=[check("service", "red", found, fix)],
            salesforce_calls=0,
        )
    else:
        await session.refresh()
        if report.version != __version__:
            report.checks[0] = _other_version(report.checks[0])
    report.checks.append(await cache_check(session))
    return report


def _other_version(service: DoctorCheck) -> DoctorCheck:
    """The service's check, yellow: this synchealth is another version than the service.
    Its English and codes are the service's, then ours (its codes may be newer)."""
    differs = say("service.version_differs", version=__version__)
    fix = say("service.same_version")
    return DoctorCheck(
        id="service",
        status="yellow",
        found=f"{service.found}; {in_english([differs])}",
        fix=in_english([fix]),
        found_codes=[*service.found_codes, differs],
        fix_codes=[fix],
    )


def _quick_check(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])
    finally:
        conn.close()


async def cache_check(session: DataSession) -> DoctorCheck:
    """The cache file reads back whole, and how old its copy is."""
    cache = session.cache
    path = str(cache.path)
    rebuild = say("cache.rebuild")
    try:
        verdict = await asyncio.to_thread(_quick_check, cache.path)
    except sqlite3.Error as exc:
        return check("cache", "red", [say("cache.unreadable", path=path, detail=str(exc))], rebuild)
    if verdict != "ok":
        return check("cache", "red", [say("cache.damaged", path=path, detail=verdict)], rebuild)
    if session.notice:
        moved = str(cache.moved_to or "-")
        return check(
            "cache", "yellow", [say("cache.rebuilt", moved=moved, detail=cache.damage or "")]
        )
    refreshed = session.last_refresh
    if refreshed is None:
        return check("cache", "yellow", [say("cache.never", path=path)], say("cache.reach"))
    age = datetime.now(UTC) - refreshed
    at = f"{refreshed:%Y-%m-%d %H:%M}"
    if age > STALE_CACHE:
        minutes = int(age.total_seconds() // 60)
        found = say("cache.stale", path=path, at=at, count=minutes)
        return check("cache", "yellow", [found], say("cache.reach_update"))
    return check("cache", "green", [say("cache.sound", path=path, at=at)])
