"""Immediate notifications: new errors are batched (debounced), announced within a
minute, never one message per error, and never again after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from notify_env import (
    Clock,
    Mailbox,
    NotifyEnv,
    SmtpRunning,
    WebhookReceiver,
    at,
    body_of,
    smtp_server,
)

from tui.service.db import PostgresTarget

T0 = at("2025-03-10T08:00:00")
TEAM = ["ops@acme.example", "revops@acme.example"]


@pytest.fixture
def smtp() -> SmtpRunning:
    with smtp_server(Mailbox()) as running:
        yield running


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget, smtp: SmtpRunning) -> AsyncIterator[NotifyEnv]:
    env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp.server()).start()
    yield env
    await env.stop()


async def immediate(env: NotifyEnv, **more: object) -> None:
    await env.settings(
        enabled=True, frequency="immediate", email={"enabled": True, "recipients": TEAM}, **more
    )


async def test_five_errors_in_ten_seconds_make_one_message(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await immediate(env)
    await env.tick()  # notifications on: nothing new yet
    for _ in range(5):
        await env.report(1)
        await env.tick()
        env.clock.advance(seconds=2)
    assert smtp.mailbox.messages == []  # still arriving: wait for a quiet moment
    env.clock.advance(seconds=8)  # 10 s after the last error
    await env.tick()
    assert smtp.mailbox.messages == []
    env.clock.advance(seconds=12)  # 22 s after the last one
    await env.tick()
    [mail] = smtp.mailbox.messages
    assert mail.rcpt_tos == TEAM
    assert mail.message["Subject"] == f"[synchealth] 5 new sync errors — {'Acme org'}"
    body = body_of(mail)
    assert body.startswith("5 new sync errors\n5 records affected\n")
    assert "• Jane Doe 5 (contact)\n  Duplicate: Salesforce duplicate rule\n" in body
    assert "\nand 0 more" not in body and "     5  Duplicate\n" in body
    for _ in range(3):
        env.clock.advance(minutes=5)
        await env.tick()
    assert len(smtp.mailbox.messages) == 1


async def test_a_steady_stream_is_announced_within_a_minute(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await immediate(env)
    await env.tick()
    first = env.clock.now
    while not smtp.mailbox.messages:
        await env.report(1)
        await env.tick()
        env.clock.advance(seconds=5)
    assert env.clock.now - first <= at("2025-03-10T08:01:00") - T0
    [mail] = smtp.mailbox.messages
    announced = int(mail.message["Subject"].split()[1])
    assert announced >= 9  # one message for the whole stream so far
    env.clock.advance(seconds=30)
    await env.tick()
    assert len(smtp.mailbox.messages) == 1  # nothing new since


async def test_errors_before_notifications_were_on_are_not_announced(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await env.report(7)
    await env.tick()
    await immediate(env)
    env.clock.advance(minutes=2)
    await env.tick()
    assert smtp.mailbox.messages == []
    await env.report(1, kind="picklist", name="Tanaka Hanako")
    await env.tick()
    env.clock.advance(seconds=25)
    await env.tick()
    [mail] = smtp.mailbox.messages
    assert mail.message["Subject"] == "[synchealth] 1 new sync error — Acme org"
    body = body_of(mail)
    assert "• Tanaka Hanako (contact)" in body and "Picklist" in body


async def test_a_repeated_failure_of_the_same_record_is_not_announced_again(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await immediate(env)
    await env.tick()
    item = {
        "object_type": "deal",
        "record_id": "d-1",
        "record_name": "Big deal",
        "salesforce": {"object": "Opportunity", "fields": {"StageName": "Won?"}},
        "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "bad"}],
    }
    for _ in range(2):
        answer = await env.client.post("/v1/errors", json={"errors": [item]})
        assert answer.status_code == 200, answer.text
        await env.tick()
        env.clock.advance(minutes=1)
        await env.tick()
    assert len(smtp.mailbox.messages) == 1


async def test_restart_neither_repeats_nor_skips(
    tmp_path: Path, env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await immediate(env)
    await env.tick()
    await env.report(3)
    await env.tick()
    env.clock.advance(seconds=30)
    await env.tick()
    assert len(smtp.mailbox.messages) == 1
    await env.report(2)  # arrive, then the service stops before announcing them
    await env.tick()
    await env.restart()
    env.clock.advance(seconds=5)
    await env.tick()  # the new process notices them now ...
    assert len(smtp.mailbox.messages) == 1
    env.clock.advance(seconds=25)
    await env.tick()  # ... and announces them once
    assert [m.message["Subject"] for m in smtp.mailbox.messages] == [
        "[synchealth] 3 new sync errors — Acme org",
        "[synchealth] 2 new sync errors — Acme org",
    ]
    await env.restart()
    env.clock.advance(minutes=10)
    await env.tick()
    assert len(smtp.mailbox.messages) == 2


async def test_queued_message_survives_a_restart_and_goes_out_once(
    ledger_target: Path | PostgresTarget, smtp: SmtpRunning
) -> None:
    with WebhookReceiver() as hook:
        hook.answers = [(503, "busy")]
        env = await NotifyEnv(
            ledger_target, Clock(T0), smtp=smtp.server(), webhook_url=hook.url()
        ).start()
        try:
            await immediate(env, webhook={"enabled": True})
            await env.tick()
            await env.report(2)
            await env.tick()
            env.clock.advance(seconds=21)
            await env.tick()  # email goes out, the webhook answers 503: queued for a retry
            assert len(smtp.mailbox.messages) == 1 and hook.posts == []
            await env.restart()
            await env.tick()  # not due yet (30 s backoff)
            assert hook.posts == []
            env.clock.advance(seconds=30)
            await env.tick()
            env.clock.advance(minutes=30)
            await env.tick()
        finally:
            await env.stop()
    [post] = hook.posts
    assert post.body["synchealth"]["kind"] == "immediate"
    assert post.body["synchealth"]["new_errors"] == 2
    assert post.headers["X-Synchealth-Delivery"] == str(post.body["synchealth"]["delivery_id"])
    assert len(smtp.mailbox.messages) == 1
