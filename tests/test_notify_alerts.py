"""Alert mode: a message only when a cause changes state (new, growing fast, cleared),
each change once, muted causes quiet until the mute ends, nothing again after a
restart. A real SMTP server (aiosmtpd) and a webhook receiver on loopback, a real
ledger, errors reported through the service's own API, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from clock import Clock
from notify_env import (
    Mailbox,
    NotifyEnv,
    SmtpRunning,
    WebhookReceiver,
    at,
    body_of,
    smtp_server,
)

from tui.service.db import PostgresTarget
from tui.service.notify.text import WIDTH, columns

T0 = at("2025-03-10T08:00:00")
TEAM = ["ops@acme.example"]
PICKLIST = "Restricted picklist value (Contact)"


@pytest.fixture
def smtp() -> SmtpRunning:
    with smtp_server(Mailbox()) as running:
        yield running


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget, smtp: SmtpRunning) -> AsyncIterator[NotifyEnv]:
    env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp.server()).start()
    yield env
    await env.stop()


async def alerts(env: NotifyEnv, **more: Any) -> None:
    """Alert mode on, by email; the first round records the causes as they are."""
    await env.settings(
        enabled=True, frequency="alerts", email={"enabled": True, "recipients": TEAM}, **more
    )
    await env.tick()


async def settle(env: NotifyEnv, seconds: int = 25) -> None:
    """A round now and one after the debounce's quiet time."""
    await env.tick()
    env.clock.advance(seconds=seconds)
    await env.tick()


async def resolve(env: NotifyEnv, ids: list[int]) -> None:
    """The sync engine reports the records of ``ids`` synced."""
    items = []
    for error_id in ids:
        detail = (await env.client.get(f"/v1/errors/{error_id}")).json()
        items.append(
            {
                "outcome": "synced",
                "object_type": "contact",
                "record_id": detail["record_id"],
                "occurred_at": env.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    answer = await env.client.post("/v1/errors", json={"errors": items})
    assert answer.status_code == 200, answer.text


async def cause_of(env: NotifyEnv, subtype: str) -> str:
    page = (await env.client.get("/v1/causes")).json()
    return next(c["cause"] for c in page["causes"] if c["subtype"] == subtype)


def subject(mail: Any) -> str:
    """The subject with its spaces as written (unfolding a long subject can double one)."""
    return " ".join(mail.message["Subject"].split())


def subjects(smtp: SmtpRunning) -> list[str]:
    return [subject(m) for m in smtp.mailbox.messages]


async def test_a_new_cause_is_announced_once(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await env.report(2, "duplicate")  # before alert mode: the backlog is not announced
    await alerts(env)
    await settle(env)
    assert smtp.mailbox.messages == []
    await env.report(3, "picklist")
    await env.tick()
    assert smtp.mailbox.messages == []  # waits for the errors to stop arriving
    env.clock.advance(seconds=25)
    await env.tick()
    [mail] = smtp.mailbox.messages
    assert subject(mail) == f"[synchealth] New cause: {PICKLIST} — Acme org"
    body = body_of(mail)
    assert body.startswith(f"1 cause changed\n\n• New cause\n  {PICKLIST}\n")
    assert "  bad value for restricted picklist\n  field: <value>\n  3 open errors\n" in body
    assert "m there mutes one." in body
    assert all(len(line) <= 40 for line in body.splitlines())
    await env.report(5, "picklist")  # more of the same cause: no new state
    for _ in range(4):
        env.clock.advance(seconds=30)
        await env.tick()
    assert len(smtp.mailbox.messages) == 1
    [row] = [d for d in await env.deliveries() if d["kind"] == "cause_alert"]
    assert row["status"] == "sent"


async def test_growing_past_n_in_m_minutes_alerts_once(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await env.report(1, "picklist")
    await alerts(env, alert_errors=5, alert_minutes=10)
    env.clock.advance(minutes=11)  # the first error leaves the window
    await env.report(3, "picklist")
    await settle(env)
    assert smtp.mailbox.messages == []  # 3 in 10 minutes: under the rule
    env.clock.advance(minutes=2)
    await env.report(2, "picklist")  # 5 in 10 minutes
    await settle(env)
    [mail] = smtp.mailbox.messages
    assert subject(mail) == f"[synchealth] Cause growing fast: {PICKLIST} — Acme org"
    assert "5 new in the last 10 min (the alert is\n  at 5)" in body_of(mail)
    for _ in range(3):  # still growing: the same state, no second alert
        await env.report(2, "picklist")
        await settle(env, 60)
    assert len(smtp.mailbox.messages) == 1
    env.clock.advance(minutes=30)  # the surge ends quietly ...
    await settle(env)
    assert len(smtp.mailbox.messages) == 1
    await env.report(5, "picklist")  # ... and a new one is a new change
    await settle(env)
    assert subjects(smtp)[1] == f"[synchealth] Cause growing fast: {PICKLIST} — Acme org"


async def test_a_new_cause_that_grows_fast_is_one_message(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await alerts(env, alert_errors=4, alert_minutes=5)
    for _ in range(4):
        await env.report(1, "required")
        await env.tick()
        env.clock.advance(seconds=3)
    env.clock.advance(seconds=25)
    await env.tick()
    [mail] = smtp.mailbox.messages
    assert subject(mail).startswith("[synchealth] New cause growing fast: ")
    assert "• New cause, growing fast\n" in body_of(mail)


async def test_a_cause_that_falls_to_zero_is_announced_cleared(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await alerts(env)
    ids = await env.report(2, "picklist")
    await settle(env)
    await resolve(env, ids[:1])
    await settle(env)
    assert len(smtp.mailbox.messages) == 1  # one left open: no change of state
    await resolve(env, ids[1:])
    await settle(env)
    assert len(smtp.mailbox.messages) == 1  # zero, but not yet for alert_minutes
    env.clock.advance(minutes=10)
    await settle(env)
    assert subjects(smtp)[1] == f"[synchealth] Cause cleared: {PICKLIST} — Acme org"
    assert "• Cause cleared: no open errors left\n" in body_of(smtp.mailbox.messages[1])
    await settle(env, 120)
    assert len(smtp.mailbox.messages) == 2
    env.clock.advance(hours=1)
    await env.report(1, "picklist")  # it comes back: that is a change too
    await settle(env)
    assert subjects(smtp)[2] == f"[synchealth] Cause back: {PICKLIST} — Acme org"
    assert "It had cleared at 2025-03-10 08:11" in body_of(smtp.mailbox.messages[2])


async def test_ignoring_a_whole_cause_is_not_announced_cleared(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    """Ignored errors are set aside, not fixed: the cause says nothing, not "cleared"."""
    await alerts(env)
    await env.report(2, "picklist")
    await settle(env)
    assert len(smtp.mailbox.messages) == 1  # the new cause
    answer = await env.client.post(
        "/v1/ignores",
        json={
            "request_id": "ignore-the-cause",
            "cause": await cause_of(env, "picklist.restricted_value"),
            "reason": "the CRM team fixes these next week",
        },
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["changed"]) == 2
    await settle(env)
    env.clock.advance(minutes=30)
    await settle(env, 120)
    assert len(smtp.mailbox.messages) == 1, subjects(smtp)


async def test_a_cause_fixed_while_the_next_error_fails_does_not_flap(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await alerts(env)
    ids = await env.report(1, "picklist")
    await settle(env)
    for _ in range(3):  # the one open error is fixed, and minutes later the next one fails
        await resolve(env, ids)
        await settle(env)
        env.clock.advance(minutes=4)
        await settle(env)
        ids = await env.report(1, "picklist")
        await settle(env)
    assert subjects(smtp) == [f"[synchealth] New cause: {PICKLIST} — Acme org"]


async def test_a_muted_cause_stays_quiet_until_the_mute_ends(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await alerts(env, alert_errors=3, alert_minutes=10)
    ids = await env.report(1, "picklist")
    await settle(env)
    assert len(smtp.mailbox.messages) == 1
    cause = await cause_of(env, "picklist.restricted_value")
    answer = await env.client.put(
        f"/v1/notifications/mutes/{cause}",
        json={"minutes": 60},
        headers={"X-Synchealth-Actor": "ana@laptop"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["until"] == "2025-03-10T09:00:25Z"
    [listed] = (await env.client.get("/v1/notifications/mutes")).json()["mutes"]
    assert (listed["cause"], listed["actor"]) == (cause, "ana@laptop")
    await env.report(5, "picklist")  # grows fast, muted
    await settle(env)
    await resolve(env, ids + [i + ids[0] for i in range(1, 6)])  # and clears, muted
    await settle(env)
    env.clock.advance(minutes=10)  # zero for alert_minutes: cleared, still muted
    await settle(env)
    await env.report(1, "duplicate")  # another cause still speaks
    await settle(env)
    assert subjects(smtp)[1:] == [
        "[synchealth] New cause: Salesforce duplicate rule (Contact) — Acme org"
    ]
    env.clock.advance(hours=1)  # the mute ends: what happened meanwhile is not replayed
    await settle(env)
    assert len(smtp.mailbox.messages) == 2
    assert (await env.client.get("/v1/notifications/mutes")).json()["mutes"] == []
    await env.report(1, "picklist")  # the next change of the cause is announced
    await settle(env)
    assert subjects(smtp)[2] == f"[synchealth] Cause back: {PICKLIST} — Acme org"


async def test_unmuting_lets_the_cause_speak_again(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await alerts(env)
    await env.report(1, "picklist")
    await settle(env)
    cause = await cause_of(env, "picklist.restricted_value")
    assert (
        await env.client.put(f"/v1/notifications/mutes/{cause}", json={"minutes": 5})
    ).is_success
    answer = await env.client.delete(f"/v1/notifications/mutes/{cause}")
    assert answer.status_code == 200 and answer.json() == {"mutes": []}
    again = await env.client.delete(f"/v1/notifications/mutes/{cause}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_muted"


async def test_a_restart_does_not_send_again(
    ledger_target: Path | PostgresTarget, smtp: SmtpRunning
) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp.server()).start()
    try:
        await alerts(env)
        await env.report(2, "picklist")
        await settle(env)
        assert len(smtp.mailbox.messages) == 1
        await env.restart()
        await settle(env)
        await settle(env, 60)
        assert len(smtp.mailbox.messages) == 1
        # Even with the record of the causes lost, the outbox knows the change was sent.
        async with env.service.ledger.transaction() as conn:
            await conn.execute("DELETE FROM notify_causes")
        await settle(env)
        assert len(smtp.mailbox.messages) == 1
    finally:
        await env.stop()


async def test_alerts_go_to_the_webhook_in_japanese(ledger_target: Path | PostgresTarget) -> None:
    with WebhookReceiver() as hook:
        env = NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url())
        await env.start()
        try:
            await env.settings(
                enabled=True, frequency="alerts", lang="ja", webhook={"enabled": True}
            )
            await env.tick()
            await env.report(2, "picklist")
            await env.report(1, "duplicate")
            await settle(env)
        finally:
            await env.stop()
    [post] = hook.posts
    body = post.body["text"].split("\n\n", 1)[1]  # after the subject
    assert all(columns(line) <= WIDTH for line in body.splitlines()), body
    assert post.body["text"].startswith("[synchealth] 原因 2 件の状態が変化 — Acme org\n\n")
    assert "• 新しい原因\n  禁止された選択リスト値 (Contact)\n" in post.body["text"]
    assert "未解決のエラー 2 件" in post.body["text"]
    facts = post.body["synchealth"]
    assert facts["kind"] == "cause_alert" and facts["rule"] == {"errors": 10, "minutes": 10}
    assert sorted(c["change"] for c in facts["causes"]) == ["new", "new"]
    assert {c["subtype"] for c in facts["causes"]} == {
        "picklist.restricted_value",
        "duplicate.duplicate_rule",
    }


async def test_leaving_alert_mode_forgets_and_coming_back_starts_afresh(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await alerts(env)
    await env.settings(enabled=True, frequency="daily", email={"enabled": True, "recipients": TEAM})
    await env.tick()
    await env.report(3, "picklist")  # while in daily mode
    await settle(env)
    await alerts(env)  # back to alerts: the picklist cause is the backlog now
    await settle(env)
    assert smtp.mailbox.messages == []


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"alert_errors": 0}, "alert_errors: Input should be greater than or equal to 1"),
        ({"alert_errors": 100_001}, "alert_errors: Input should be less than or equal to 100000"),
        ({"alert_minutes": 0}, "alert_minutes: Input should be greater than or equal to 1"),
        ({"alert_minutes": 1441}, "alert_minutes: Input should be less than or equal to 1440"),
        ({"alert_minutes": "10"}, "alert_minutes: Input should be a valid integer"),
        ({"alert_errors": True}, "alert_errors: Input should be a valid integer"),
        ({"frequency": "alert"}, "frequency: Input should be 'immediate', 'daily', 'weekly' or"),
    ],
)
async def test_bad_alert_settings_get_a_clear_422(
    env: NotifyEnv, values: dict[str, Any], says: str
) -> None:
    answer = await env.client.put("/v1/notifications", json={"enabled": False, **values})
    assert answer.status_code == 422
    assert says in answer.json()["error"]["message"]


async def test_defaults_of_the_rule(env: NotifyEnv) -> None:
    settings = (await env.client.get("/v1/notifications")).json()
    assert (settings["alert_errors"], settings["alert_minutes"]) == (10, 10)


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("not-a-cause", {"minutes": 60}, 404, "not_found"),
        ("0123456789abcdef", {"minutes": 60}, 404, "not_found"),
        ("{cause}", {"minutes": 0}, 422, "invalid_mute"),
        ("{cause}", {"minutes": 129_601}, 422, "invalid_mute"),
        ("{cause}", {"minutes": "60"}, 422, "invalid_mute"),
        ("{cause}", {"hours": 1}, 422, "invalid_mute"),
        ("{cause}", [60], 422, "invalid_mute"),
    ],
)
async def test_bad_mutes_get_a_clear_4xx(
    env: NotifyEnv, path: str, body: Any, status: int, code: str
) -> None:
    await env.report(1, "picklist")
    cause = await cause_of(env, "picklist.restricted_value")
    answer = await env.client.put(f"/v1/notifications/mutes/{path.format(cause=cause)}", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert (await env.client.get("/v1/notifications/mutes")).json()["mutes"] == []


async def test_a_mute_body_that_is_not_json_is_refused(env: NotifyEnv) -> None:
    await env.report(1, "picklist")
    cause = await cause_of(env, "picklist.restricted_value")
    answer = await env.client.put(f"/v1/notifications/mutes/{cause}", content=b"{oops")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_json"


async def test_the_test_message_describes_alert_mode(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await alerts(env, alert_errors=50, alert_minutes=15)
    answer = await env.client.post("/v1/notifications/test", json={"channel": "email"})
    assert answer.status_code == 200 and answer.json()["ok"], answer.text
    [mail] = smtp.mailbox.messages
    assert (
        "Notifications: on, alerts only: a new\ncause, 50 errors in 15 min, a\ncleared cause."
        in body_of(mail)
    )
