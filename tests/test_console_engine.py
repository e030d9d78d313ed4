"""The console in engine mode (issue 10, point 2): the resync dialog says the mode, the
run counts errors handed to the sync engine, and the detail pane shows the request
waiting with its age, then the engine's answer or the expiry. Pilot-driven dialogs on a
real DataSession over an engine-mode service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from modal_host import Host
from pg_harness import sqlite_only
from test_engine_requests import env, lease, synced_answer  # noqa: F401  (env is a fixture)
from test_ingest import T0, Env, email_item
from textual.widgets import Static

from tui import i18n
from tui.data.session import DataSession, ResyncPlan
from tui.embedded import open_data_session
from tui.screens.resync import ResyncConfirmScreen, ResyncRunScreen
from tui.widgets.detail import error_text

#: The console's side of engine mode; the service's, on both engines, is test_engine_requests.
pytestmark = sqlite_only


def _text(screen) -> str:
    return "\n".join(str(s.render()) for s in screen.query(Static) if s.display)


@pytest.fixture
async def session(env: Env, tmp_path: Path) -> AsyncIterator[DataSession]:  # noqa: F811
    opened = await open_data_session(
        url="http://synchealth.test",
        cache_path=tmp_path / "cache.sqlite3",
        transport=httpx.ASGITransport(app=env.service.asgi),
    )
    await opened.refresh()
    yield opened
    await opened.close()


async def test_the_dialog_names_the_mode_and_spends_no_calls_in_engine_mode(
    env: Env,  # noqa: F811
    session: DataSession,
) -> None:
    assert session.resync_mode == "engine"
    plan = session.resync_plan(250)
    assert plan.engine and plan.calls == 0
    host = Host(ResyncConfirmScreen(plan, 0))
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = _text(host.screen)
    assert "Mode: engine." in text and "no Salesforce calls" in text
    assert "Salesforce API calls it will spend" not in text
    direct = Host(ResyncConfirmScreen(ResyncPlan(5, 1, 1, 100), 0))
    async with direct.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Mode: direct." in _text(direct.screen)


async def test_the_dialog_in_japanese_names_the_engine(session: DataSession) -> None:
    i18n.set_lang("ja")
    try:
        host = Host(ResyncConfirmScreen(session.resync_plan(3), 0))
        async with host.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = _text(host.screen)
    finally:
        i18n.set_lang("en")
    assert "モード：エンジン" in text


async def test_a_run_hands_errors_to_the_engine_and_the_pane_follows_the_request(
    env: Env,  # noqa: F811
    session: DataSession,
) -> None:
    ids = (await env.ingest([email_item(env, "1"), email_item(env, "2")]))["error_ids"]
    await session.refresh()
    screen = ResyncRunScreen(session, ids)
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await host.workers.wait_for_complete()
        await pilot.pause()
        summary = screen.summary
        assert summary is not None and (summary.engine, summary.calls) == (2, 0)
        assert "Sent to the sync engine" in _text(screen)

    detail = await session.error_detail(ids[0])
    assert detail is not None and detail.engine_request is not None
    later = T0 + timedelta(minutes=12)
    assert "waiting for the sync engine (asked 12m ago)" in error_text(detail, detail, later).plain

    (taken, _) = (await lease(env)).json()["requests"]
    await env.ingest([synced_answer(taken)])
    answered = await session.error_detail(ids[0])
    assert answered is not None
    text = error_text(answered, answered, later).plain
    assert "the sync engine answered 2025-03-10 12:30 UTC: synced" in text
    assert "resolved by the sync engine" in text

    env.clock.now = T0 + timedelta(hours=3)  # the other request was never answered
    expired = await session.error_detail(ids[1])
    assert expired is not None
    text = error_text(expired, expired, env.clock.now).plain
    assert "the sync engine did not answer: the request expired 2025-03-10 14:30 UTC" in text
