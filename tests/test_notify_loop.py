"""The notifier's background loop: it runs with the service (served or embedded),
survives a bad round, and a stop lets the delivery in flight finish."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from clock import Clock
from notify_env import NotifyEnv, WebhookReceiver, at
from pg_harness import ledger_rows, ledger_write

from tui.embedded import start_embedded
from tui.service.db import PostgresTarget

T0 = at("2025-03-10T08:00:00")


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait (in real time: the loop runs on its own) until ``condition`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the notifier loop did not get there in time")
        await asyncio.sleep(0.02)


async def outbox_statuses(db: Path | PostgresTarget) -> list[str]:
    return [row[0] for row in await ledger_rows(db, "SELECT status FROM notify_outbox ORDER BY id")]


async def test_the_loop_announces_without_anyone_calling_tick(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        env = NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url())
        await env.start(notify_interval=0.02)
        try:
            assert env.service.notifier.running
            await env.settings(enabled=True, frequency="immediate", webhook={"enabled": True})
            await asyncio.sleep(0.1)  # a few rounds: notifications are on, nothing new
            await env.report(3)
            await asyncio.sleep(0.1)  # the loop notices them
            env.clock.advance(seconds=21)
            await eventually(lambda: len(hook.posts) == 1)
        finally:
            await env.stop()
        assert not env.service.notifier.running
    assert hook.posts[0].body["synchealth"]["new_errors"] == 3


async def test_stop_lets_the_delivery_in_flight_finish(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        hook.delay = 0.5
        db = ledger_target
        env = NotifyEnv(db, Clock(T0), webhook_url=hook.url())
        await env.start(notify_interval=0.02)
        try:
            await env.settings(enabled=True, frequency="immediate", webhook={"enabled": True})
            await asyncio.sleep(0.1)
            await env.report(1)
            await asyncio.sleep(0.1)
            env.clock.advance(seconds=21)
            assert await asyncio.to_thread(hook.arrived.wait, 10)
        finally:
            await env.stop()  # while the receiver is still answering
    assert await outbox_statuses(db) == ["sent"]
    assert len(hook.posts) == 1


async def test_a_failing_round_is_logged_and_the_loop_goes_on(
    ledger_target: Path | PostgresTarget, caplog: pytest.LogCaptureFixture
) -> None:
    with WebhookReceiver() as hook:
        db = ledger_target
        env = NotifyEnv(db, Clock(T0), webhook_url=hook.url())
        await env.start()
        await env.settings(enabled=True, frequency="immediate", webhook={"enabled": True})
        await env.tick()
        await env.stop()
        # a damaged state row
        await ledger_write(
            db, "UPDATE notify_state SET value = 'not json' WHERE key = 'announced_id'"
        )
        await env.start(notify_interval=0.02)
        try:
            await eventually(lambda: "a notifier round failed" in caplog.text)
            assert env.service.notifier.running
            await ledger_write(db, "UPDATE notify_state SET value = '0' WHERE key = 'announced_id'")
            await env.report(2)
            await asyncio.sleep(0.1)
            env.clock.advance(seconds=21)
            await eventually(lambda: len(hook.posts) == 1)
        finally:
            await env.stop()
    assert any(r.levelno == logging.ERROR for r in caplog.records if r.name == "synchealth.notify")


async def test_the_embedded_default_runs_the_notifier(tmp_path: Path) -> None:
    embedded = await start_embedded(demo_size=50, data_dir=tmp_path)
    try:
        assert embedded.service.notifier.running  # type: ignore[attr-defined]
    finally:
        await embedded.aclose()
    assert not embedded.service.notifier.running  # type: ignore[attr-defined]
