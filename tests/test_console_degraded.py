"""The console, end to end, while the service's PostgreSQL database goes away and comes
back (issue 14, *the database down mid-request*).

A real ``synchealth serve`` process keeps its ledger in a PostgreSQL database of the
test's own; the console (Pilot) follows it over loopback HTTP. The database is then
closed to every session (``ALLOW_CONNECTIONS false`` and its backends ended): the
service still answers, with 503 ``database_unavailable``, and the console must keep
its rows and marks, say in its own words (English and Japanese) that the service is
degraded and why, and come back online once the database does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from pg_db import ADMIN, fresh_database
from pg_harness import demo_ledger
from test_console_main import grid_of, view_ids
from test_serve_loopback import free_port, wait_for

from tui.i18n import t
from tui.profiles import ENV_SECRETS, ENV_SETTINGS
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.widgets.header import OfflineBanner, StatusHeader

WIDE = (160, 50)
ORG_TOKEN = "org-token-for-the-standin"
#: What psycopg, libpq and the server say; none of it is for the admin's eyes.
DRIVER_WORDS = ("psycopg", "FATAL", "terminating connection", "accepting connections", "libpq")


def _allow_connections(url: str, allow: bool) -> None:
    """Open or close the database of ``url`` to new sessions; closing ends its sessions."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """``synchealth serve`` on a PostgreSQL database of its own holding a 300-error demo
    ledger; the URL it answers on."""
    from sfstandin import serve_in_thread

    with (
        fresh_database() as url,
        serve_in_thread(create_simorg(demo_org_state(7), access_token=ORG_TOKEN)) as org,
    ):
        await demo_ledger(PostgresTarget(url), tmp_path, 300)
        port = free_port()
        clean = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS | ENV_SECRETS}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "serve", "--db", url, "--org-url", org,
             "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**clean, "SALESFORCE_ACCESS_TOKEN": ORG_TOKEN},
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{port}/v1/health", proc)
            yield f"http://127.0.0.1:{port}", url
        finally:
            _allow_connections(url, True)  # so the database can be dropped
            proc.terminate()
            _, log = proc.communicate(timeout=30)
        # the loops that lost the database said so in a line each, without a traceback
        assert "Traceback" not in log, log


def _header(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


def _banner(app) -> str:
    banner = app.screen.query_one(OfflineBanner)
    return str(banner.render()) if banner.display else ""


async def _until(pilot, condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the console did not get there in time"
        await pilot.pause(0.1)
    await pilot.pause()


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_the_console_keeps_its_cache_and_says_degraded_while_the_database_is_away(
    service: tuple[str, str], make_app, wait_ready, lang: str
) -> None:
    base, database_url = service
    app = make_app(url=base, lang=lang)
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: grid_of(app).total > 10)
        assert app.session.online
        ids = await view_ids(app)
        await pilot.press("space", "space", "space")  # the first three rows marked
        marked = set(app.marks)
        assert marked == set(ids[:3])

        _allow_connections(database_url, False)
        await pilot.press("ctrl+r")
        # each answer may wait out the service's 5 s for a connection, retried 3 times
        await _until(pilot, lambda: app.session.last_problem == "database", seconds=90)
        await wait_ready(pilot, timeout=90)
        header, banner = _header(app), _banner(app)
        assert t("main.header.degraded") in header and t("main.header.offline") not in header
        assert t("main.offline.degraded_title") in banner
        assert app.screen.query_one(OfflineBanner).has_class("-degraded")
        assert t("main.offline.database") in banner
        assert t("main.service.database_unavailable") in banner
        assert not any(words in banner + header for words in DRIVER_WORDS), banner
        assert await view_ids(app) == ids and grid_of(app).total == len(ids)  # the cache
        assert app.marks == marked

        _allow_connections(database_url, True)
        await pilot.press("ctrl+r")
        await _until(pilot, lambda: app.session.online, seconds=60)
        await wait_ready(pilot)
        assert t("main.header.online") in _header(app) and _banner(app) == ""
        assert await view_ids(app) == ids and app.marks == marked
