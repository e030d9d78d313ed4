"""Issue 16 points 8, 10, 11 and 12: a malformed URL, a slow service, refused and
unanswered resyncs, and what the banner says for 401 / 429 / 500.

The misbehaving service is a real HTTP server on 127.0.0.1 (tests/faulty_service.py);
the console is driven with Pilot, the CLI run as processes.

SQLite only: the faults are the service's answers and the console's handling of them;
no ledger is opened but the embedded demo's, which is SQLite by design.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faulty_service import FaultyService, service_error
from modal_host import Host

from tui.data.session import ViewFilter
from tui.data.session_resync import JOB_META
from tui.embedded import open_data_session
from tui.widgets.header import OfflineBanner

WIDE = (160, 50)
BAD_URL = "http://[::1"


def banner_text(app) -> str:
    return str(app.screen.query_one(OfflineBanner).render())


async def until(pilot, condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the console did not get there in time")
        await pilot.pause(0.05)
    await pilot.pause()


# -- point 8: a malformed URL is refused at once ------------------------------------------


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    env.update(
        SYNCHEALTH_DATA_DIR=str(tmp_path / "data"),
        SYNCHEALTH_CACHE_DIR=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return env


@pytest.mark.parametrize(
    "command",
    [["export"], ["ingest", "-"], ["console"], []],
    ids=["export", "ingest", "console", "default"],
)
@pytest.mark.parametrize("where", ["flag", "env"])
def test_a_malformed_url_is_refused_at_once(tmp_path: Path, command: list[str], where) -> None:
    env = _cli_env(tmp_path)
    args = [sys.executable, "-m", "tui", *command]
    if where == "flag":
        args += ["--url", BAD_URL]
    else:
        env["SYNCHEALTH_URL"] = BAD_URL
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, input="")
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 30
    assert "not a valid URL" in done.stderr and "Invalid IPv6 URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cache").exists()  # refused before anything was opened


async def test_the_console_given_a_malformed_url_says_so_and_quits(make_app) -> None:
    app = make_app(url=BAD_URL)
    async with app.run_test(size=WIDE) as pilot:
        await until(pilot, lambda: app.open_error is not None)
        text = banner_text(app)
        assert "service URL cannot be used" in text and "not a valid URL" in text
        assert app.return_code is None
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0  # q quits at once


# -- point 12: the banner says what the service answered ----------------------------------


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, service_error("unauthorized", "Missing or wrong bearer token."), "refused our token"),
        (429, service_error("too_many_requests", "Slow down."), "too many requests"),
        (500, service_error("internal", "The ledger is locked."), "an error of its own"),
        (503, "<html>maintenance</html>", "an error of its own"),
    ],
    ids=["401", "429", "500", "503-not-json"],
)
async def test_the_banner_says_what_the_service_answered(
    make_app, wait_ready, status: int, body, words: str
) -> None:
    with FaultyService() as svc:
        svc.answer_all(status, body)
        app = make_app(url=svc.url)
        async with app.run_test(size=WIDE) as pilot:
            await wait_ready(pilot)
            text = banner_text(app)
            assert words in text and "cannot be reached" not in text
            if isinstance(body, dict):
                assert f"HTTP {status}" in text or body["error"]["message"] in text


# -- point 10: a slow service -------------------------------------------------------------


async def test_a_slow_service_is_called_slow_and_the_retries_are_shown(make_app) -> None:
    with FaultyService() as svc:
        svc.answer("GET", "/v1/health", 200, {}, delay=1.5)
        app = make_app(url=svc.url, timeout=0.3)
        async with app.run_test(size=WIDE) as pilot:
            await until(pilot, lambda: app.ready, seconds=30)
            text = banner_text(app)
            assert "service is slow" in text and "no answer in 0.3 s" in text
            assert "No reason was given" not in text
            said = [n.message for n in app._notifications]
            assert any("Trying again (1 of 3)" in m for m in said), said


async def test_the_resync_dialog_shows_retries_and_can_be_stopped(tmp_path: Path) -> None:
    from textual.widgets import Button, Static

    from tui.screens.resync import ResyncRunScreen

    with FaultyService() as svc:
        svc.answer("POST", "/v1/resync/jobs", 200, {}, delay=3.0)
        session = await open_data_session(
            url=svc.url, cache_path=tmp_path / "c.sqlite3", timeout=0.3
        )
        try:
            host = Host(ResyncRunScreen(session, [1, 2, 3]))
            async with host.run_test(size=(100, 30)) as pilot:
                screen = host.screen
                await until(pilot, lambda: "Trying again" in str(
                    screen.query_one("#status", Static).render()))  # fmt: skip
                status = str(screen.query_one("#status", Static).render())
                assert "service is slow (no answer in 0.3 s" in status
                await pilot.click("#stop")
                await until(pilot, lambda: screen.finished)
                assert not screen.query_one("#close", Button).disabled
                shown = "\n".join(str(s.render()) for s in screen.query(Static) if s.display)
                assert "Stopped" in shown
            # the job's request_id stays written down: the next start looks for the job
            assert (await session.cache.get_meta(JOB_META))["request_id"]
        finally:
            await session.close()


# -- point 11: refused resyncs are never replayed; a replay is asked first -----------------


async def test_a_refused_resync_is_settled_and_never_sent_again(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    with FaultyService() as svc:
        svc.answer("POST", "/v1/resync", 500, service_error("internal", "Ledger write failed."))
        session = await open_data_session(url=svc.url, cache_path=cache, retries=0)
        try:
            summary = await session.resync([1, 2])
            lead = "The Sync Health service answered with an error of its own."
            assert summary.refused == f"{lead}\nLedger write failed." and summary.kept == 0
            assert await session.pending_resync() == []
        finally:
            await session.close()
        session = await open_data_session(url=svc.url, cache_path=cache)
        try:
            assert (await session.refresh()).online
            assert len(svc.posted("/v1/resync")) == 1  # the next start sent nothing
        finally:
            await session.close()


async def test_an_unanswered_resync_is_kept_and_only_replayed_when_asked(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    with FaultyService() as svc:
        svc.answer("POST", "/v1/resync", 200, {}, delay=2.0)
        session = await open_data_session(url=svc.url, cache_path=cache, timeout=0.3, retries=0)
        try:
            summary = await session.resync([7, 8])
            assert summary.kept == 2 and "slow" in (summary.refused or "")
        finally:
            await session.close()
        first_id = svc.posted("/v1/resync")[0]["request_id"]
        session = await open_data_session(url=svc.url, cache_path=cache, timeout=0.3, retries=0)
        try:
            assert (await session.refresh()).online
            assert len(svc.posted("/v1/resync")) == 1  # a refresh never replays
            assert await session.pending_resync() == [7, 8]
            await session.replay_pending()  # what the console calls once the user agreed
            assert [p["request_id"] for p in svc.posted("/v1/resync")] == [first_id] * 2
        finally:
            await session.close()


async def test_the_console_asks_before_replaying(make_app, wait_ready, synchealth_env) -> None:
    from tui.screens.replay import ReplayConfirmScreen

    session = await open_data_session(cache_path=synchealth_env["cache_file"], demo_size=2000)
    await session.refresh()
    ids = list(await session.view_ids(ViewFilter(), "id", False))[:3]
    await session.cache.add_pending("req-unanswered", ids)
    await session.close()

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReplayConfirmScreen))
        assert "3 errors were sent for resync earlier" in "\n".join(
            str(s.render()) for s in app.screen.query("Static")
        )
        await pilot.press("n")  # opens on "Not now": nothing is sent
        await wait_ready(pilot)
        assert await app.session.pending_resync() == ids

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReplayConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: getattr(app.screen, "finished", False))
        assert await app.session.pending_resync() == []
