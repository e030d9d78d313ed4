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

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pg_db import allow_connections
from pg_outage import served_on_own_database
from test_console_main import grid_of, view_ids

from tui.data.doctor import fix_text, run_doctor
from tui.i18n import set_lang, t
from tui.widgets.header import OfflineBanner, StatusHeader

WIDE = (160, 50)
#: What psycopg, libpq and the server say; none of it is for the admin's eyes.
DRIVER_WORDS = ("psycopg", "FATAL", "terminating connection", "accepting connections", "libpq")
#: Seconds the console may take to say the database is away, or back, without a key
#: pressed: its look at health every 3 s (its refresh comes every 30 s).
NOTICED_WITHIN = 12


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    """The console sets the process's language; the tests after a ``ja`` run expect
    English (test_client and test_session failed after it on the same worker)."""
    yield
    set_lang("en")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """``synchealth serve`` on a PostgreSQL database of its own holding a 300-error demo
    ledger; the URL it answers on, and the database's."""
    async with served_on_own_database(tmp_path) as (served, _):
        yield served.base, served.database_url
    # the loops that lost the database said so in a line each, without a traceback
    assert "Traceback" not in served.log, served.log


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

        org_name = app.session.org_name
        assert org_name and org_name in _header(app)

        allow_connections(database_url, False)  # no key: the console must notice itself
        await _until(pilot, lambda: app.session.last_problem == "database", seconds=NOTICED_WITHIN)
        await wait_ready(pilot)
        header, banner = _header(app), _banner(app)
        assert t("main.header.degraded") in header and t("main.header.offline") not in header
        assert org_name in header and base not in header  # the org, not the service's URL
        assert t("main.offline.degraded_title") in banner
        assert app.screen.query_one(OfflineBanner).has_class("-degraded")
        assert t("main.offline.database") in banner
        assert t("main.service.database_unavailable") in banner
        assert not any(words in banner + header for words in DRIVER_WORDS), banner
        assert await view_ids(app) == ids and grid_of(app).total == len(ids)  # the cache
        assert app.marks == marked
        doctor = (await run_doctor(app.session)).checks[0]
        assert doctor.status == "red"  # and the fix is the database's, not "start the service"
        assert [phrase.code for phrase in doctor.fix_codes] == ["service.start_database"]
        assert fix_text(doctor)  # in the console's language

        allow_connections(database_url, True)
        await _until(pilot, lambda: app.session.online, seconds=NOTICED_WITHIN)
        await wait_ready(pilot)
        assert t("main.header.online") in _header(app) and _banner(app) == ""
        assert org_name in _header(app)
        assert await view_ids(app) == ids and app.marks == marked
