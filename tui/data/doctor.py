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
from tui.core.models import DoctorCheck, DoctorReport
from tui.data.client_errors import ServiceError, ServiceUnauthorized
from tui.data.session import DataSession

#: A cache older than this is yellow: the console shows figures that old.
STALE_CACHE = timedelta(minutes=10)


def worst(report: DoctorReport) -> str:
    """green, yellow or red: the worst status among the checks."""
    statuses = {c.status for c in report.checks}
    return next((s for s in ("red", "yellow") if s in statuses), "green")


async def run_doctor(session: DataSession, send_test: bool = False) -> DoctorReport:
    """The service's checks (or a red one saying why there are none) and the cache's."""
    try:
        report = await session.client.doctor(send_test)
    except ServiceError as exc:
        fix = (
            "give the service's token with --token or SYNCHEALTH_TOKEN"
            if isinstance(exc, ServiceUnauthorized)
            else "start the service (synchealth serve) or check --url and the profile"
        )
        report = DoctorReport(
            version=__version__,
            as_of=datetime.now(UTC),
            checks=[DoctorCheck(id="service", status="red", found=exc.message, fix=fix)],
            salesforce_calls=0,
        )
    else:
        await session.refresh()
        if report.version != __version__:
            service = report.checks[0]
            service.status = "yellow"
            service.found += f"; this synchealth is {__version__}"
            service.fix = "run the same synchealth version on the service and the consoles"
    report.checks.append(await cache_check(session))
    return report


def _quick_check(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])
    finally:
        conn.close()


async def cache_check(session: DataSession) -> DoctorCheck:
    """The cache file reads back whole, and how old its copy is."""
    path = session.cache.path
    rebuild = (
        "quit the console and run it again: a damaged cache is moved aside and rebuilt "
        "from the service"
    )
    try:
        verdict = await asyncio.to_thread(_quick_check, path)
    except sqlite3.Error as exc:
        return DoctorCheck(
            id="cache", status="red", found=f"the cache {path} cannot be read: {exc}", fix=rebuild
        )
    if verdict != "ok":
        return DoctorCheck(
            id="cache", status="red", found=f"the cache {path} is damaged: {verdict}", fix=rebuild
        )
    if session.notice:
        return DoctorCheck(id="cache", status="yellow", found=session.notice)
    refreshed = session.last_refresh
    if refreshed is None:
        return DoctorCheck(
            id="cache",
            status="yellow",
            found=f"the cache {path} has never been filled from the service",
            fix="reach the service once (see the service check)",
        )
    age = datetime.now(UTC) - refreshed
    found = f"the cache {path} is sound, refreshed {refreshed:%Y-%m-%d %H:%M} UTC"
    if age > STALE_CACHE:
        return DoctorCheck(
            id="cache",
            status="yellow",
            found=f"{found}, {int(age.total_seconds() // 60):,} minutes ago",
            fix="reach the service (see the service check) to bring the cache up to date",
        )
    return DoctorCheck(id="cache", status="green", found=found)
