"""Delivery: retries with backoff after a refusal, giving up, permanent refusals, SMTP
login (plain and STARTTLS), the webhook payload, and the delivery log."""

from __future__ import annotations

from pathlib import Path

import pytest
from notify_env import (
    SMTP_PASSWORD,
    SMTP_USER,
    Clock,
    Mailbox,
    NotifyEnv,
    WebhookReceiver,
    at,
    smtp_server,
)

from tui.service.db import PostgresTarget
from tui.service.notify.outbox import BACKOFF, MAX_ATTEMPTS

T0 = at("2025-03-10T08:00:00")
TEAM = ["ops@acme.example", "revops@acme.example"]


async def announce_two_errors(env: NotifyEnv, **channels: object) -> None:
    """Turn on immediate notifications, report 2 errors, let the batch go out once."""
    await env.settings(enabled=True, frequency="immediate", **channels)
    await env.tick()
    await env.report(2)
    await env.tick()
    env.clock.advance(seconds=20)
    await env.tick()


async def test_a_refused_email_is_retried_after_the_backoff_then_delivered(
    ledger_target: Path | PostgresTarget,
) -> None:
    mailbox = Mailbox(refusals=["451 4.3.0 Mailbox busy, try later"])
    with smtp_server(mailbox) as smtp:
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp.server()).start()
        try:
            await announce_two_errors(env, email={"enabled": True, "recipients": TEAM})
            [row] = await env.deliveries()
            assert row["status"] == "pending" and row["attempts"] == 1
            assert row["error"] == (
                f"SMTP 451 message refused at 127.0.0.1:{smtp.port}: 4.3.0 Mailbox busy, try later"
            )
            assert row["next_attempt"] == "2025-03-10T08:00:50Z"  # 30 s later
            env.clock.advance(seconds=29)
            await env.tick()
            assert mailbox.messages == []
            env.clock.advance(seconds=1)
            await env.tick()
            [row] = await env.deliveries()
            assert row["status"] == "sent" and row["attempts"] == 2 and row["error"] == ""
            assert row["next_attempt"] is None and row["last_attempt"] == "2025-03-10T08:00:50Z"
            [mail] = mailbox.messages
            assert mail.rcpt_tos == TEAM
            env.clock.advance(hours=1)
            await env.tick()
            assert len(mailbox.messages) == 1
        finally:
            await env.stop()


async def test_a_webhook_that_keeps_failing_is_given_up_with_the_reason(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        hook.answers = [(500, "internal error")] * MAX_ATTEMPTS
        env = await NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url()).start()
        try:
            await announce_two_errors(env, webhook={"enabled": True})
            waits = []
            for _ in range(MAX_ATTEMPTS - 1):
                [row] = await env.deliveries()
                assert row["status"] == "pending"
                due = at(row["next_attempt"].removesuffix("Z"))
                waits.append(due - env.clock.now)
                env.clock.now = due
                await env.tick()
            [row] = await env.deliveries()
        finally:
            await env.stop()
    assert waits == list(BACKOFF)
    assert row["status"] == "failed" and row["attempts"] == MAX_ATTEMPTS
    assert row["error"] == "webhook answered HTTP 500: internal error"
    assert row["next_attempt"] is None
    assert hook.answers == [] and hook.posts == []


async def test_permanent_refusals_fail_at_once(ledger_target: Path | PostgresTarget) -> None:
    mailbox = Mailbox(refusals=["554 5.7.1 Message rejected as spam"])
    with smtp_server(mailbox) as smtp, WebhookReceiver() as hook:
        hook.answers = [(404, "no_service")]
        env = await NotifyEnv(
            ledger_target, Clock(T0), smtp=smtp.server(), webhook_url=hook.url()
        ).start()
        try:
            await announce_two_errors(
                env,
                email={"enabled": True, "recipients": TEAM},
                webhook={"enabled": True},
            )
            rows = {row["channel"]: row for row in await env.deliveries()}
            env.clock.advance(hours=5)
            await env.tick()
        finally:
            await env.stop()
    assert rows["email"]["status"] == "failed" and rows["email"]["attempts"] == 1
    assert rows["email"]["error"] == (
        f"SMTP 554 message refused at 127.0.0.1:{smtp.port}: 5.7.1 Message rejected as spam"
    )
    assert rows["webhook"]["status"] == "failed"
    assert rows["webhook"]["error"] == "webhook answered HTTP 404: no_service"
    assert mailbox.messages == [] and hook.posts == []


async def test_a_partly_refused_recipient_list_is_sent_and_noted(
    ledger_target: Path | PostgresTarget,
) -> None:
    mailbox = Mailbox(unknown_recipients={"gone@acme.example"})
    with smtp_server(mailbox) as smtp:
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp.server()).start()
        try:
            recipients = ["ops@acme.example", "gone@acme.example"]
            await announce_two_errors(env, email={"enabled": True, "recipients": recipients})
            [row] = await env.deliveries()
        finally:
            await env.stop()
    assert row["status"] == "sent"
    assert "gone@acme.example (550 5.1.1 No such user here)" in row["error"]
    [mail] = mailbox.messages
    assert mail.rcpt_tos == ["ops@acme.example"]


async def test_email_on_without_an_smtp_server_is_logged_as_failed(
    ledger_target: Path | PostgresTarget,
) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        await announce_two_errors(env, email={"enabled": True, "recipients": TEAM})
        [row] = await env.deliveries()
    finally:
        await env.stop()
    assert row["status"] == "failed" and row["attempts"] == 0
    assert "needs an SMTP server" in row["error"]


async def test_login_over_starttls_with_a_private_ca(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    with smtp_server(auth=True, starttls_dir=tmp_path) as smtp:
        server = smtp.server(security="starttls", username=SMTP_USER, password=SMTP_PASSWORD)
        assert server.describe() == f"127.0.0.1:{smtp.port} STARTTLS as {SMTP_USER}"
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=server, ca_file=smtp.ca_file).start()
        try:
            await announce_two_errors(env, email={"enabled": True, "recipients": TEAM})
            [row] = await env.deliveries()
        finally:
            await env.stop()
    assert row["status"] == "sent", row
    assert len(smtp.mailbox.messages) == 1


async def test_an_unknown_certificate_is_refused_with_a_hint(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    with smtp_server(auth=True, starttls_dir=tmp_path) as smtp:
        server = smtp.server(security="starttls", username=SMTP_USER, password=SMTP_PASSWORD)
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=server).start()
        try:
            await announce_two_errors(env, email={"enabled": True, "recipients": TEAM})
            [row] = await env.deliveries()
        finally:
            await env.stop()
    assert row["status"] == "pending"
    assert row["error"].startswith(
        f"the TLS certificate of the SMTP server at 127.0.0.1:{smtp.port} could not be verified"
    )
    assert "ca_file" in row["error"] and smtp.mailbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_login_without_tls_to_a_loopback_relay(
    ledger_target: Path | PostgresTarget, mechanism: str
) -> None:
    with smtp_server(auth=True, mechanisms=(mechanism,)) as smtp:
        server = smtp.server(username=SMTP_USER, password=SMTP_PASSWORD)
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=server).start()
        try:
            await announce_two_errors(env, email={"enabled": True, "recipients": TEAM})
            [row] = await env.deliveries()
        finally:
            await env.stop()
    assert row["status"] == "sent", row
    assert len(smtp.mailbox.messages) == 1
    assert smtp.mailbox.logins == [mechanism]


async def test_the_webhook_gets_slack_text_and_the_facts(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        env = await NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url()).start()
        try:
            await env.settings(enabled=True, frequency="immediate", webhook={"enabled": True})
            await env.tick()
            await env.report(1, name="<!channel> & co")
            await env.report(2, kind="picklist")
            await env.tick()
            env.clock.advance(seconds=21)
            await env.tick()
        finally:
            await env.stop()
    [post] = hook.posts
    assert post.path == "/services/T0001/B0002/SeCrEtPaTh123"
    assert post.headers["Content-Type"] == "application/json"
    text = post.body["text"]
    assert text.startswith("[synchealth] 3 new sync errors — Acme org\n\n3 new sync errors\n")
    assert "&lt;!channel&gt; &amp; co" in text and "<!channel>" not in text
    facts = post.body["synchealth"]
    assert facts["kind"] == "immediate" and facts["org"] == "Acme org"
    assert facts["new_errors"] == 3 and facts["affected_records"] == 3
    assert facts["by_type"] == {"picklist": 2, "duplicate": 1}
    assert facts["latest"][-1]["record_name"] == "<!channel> & co"
    assert facts["created"] == "2025-03-10T08:00:21Z"


async def test_the_delivery_log_is_newest_first_and_at_most_twenty(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        env = await NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url()).start()
        try:
            await env.settings(enabled=True, frequency="immediate", webhook={"enabled": True})
            await env.tick()
            for _ in range(23):
                await env.report(1)
                await env.tick()
                env.clock.advance(seconds=21)
                await env.tick()
            rows = await env.deliveries()
        finally:
            await env.stop()
    assert len(hook.posts) == 23
    assert len(rows) == 20
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert all(r["status"] == "sent" and r["kind"] == "immediate" for r in rows)


async def test_old_deliveries_are_pruned(ledger_target: Path | PostgresTarget) -> None:
    with WebhookReceiver() as hook:
        env = await NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url()).start()
        try:
            await announce_two_errors(env, webhook={"enabled": True})
            assert len(await env.deliveries()) == 1
            env.clock.advance(days=91)
            await env.tick()
            assert await env.deliveries() == []
        finally:
            await env.stop()
