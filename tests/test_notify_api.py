"""The notification API: settings with field-naming refusals, status, test sends with
the exact outcome, and secrets that never come back out."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from notify_env import (
    ORG_TOKEN,
    SMTP_PASSWORD,
    SMTP_USER,
    Clock,
    NotifyEnv,
    WebhookReceiver,
    at,
    body_of,
    free_port,
    smtp_server,
)
from pg_harness import stored_bytes
from pydantic import SecretStr, ValidationError

from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.service.notify.smtp import SmtpServer

T0 = at("2025-03-10T08:00:00")
TEAM = ["ops@acme.example"]
DEFAULTS = {
    "enabled": False,
    "frequency": "daily",
    "digest_time": "09:00",
    "digest_weekday": "mon",
    "timezone": "UTC",
    "lang": "en",
    "email": {"enabled": False, "recipients": []},
    "webhook": {"enabled": False},
    "usage_alerts": True,
    "usage_thresholds": [75, 90],
    "alert_errors": 10,
    "alert_minutes": 10,
}


def refusal(answer, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"]["code"] == code
    return body["error"]["message"]


async def test_settings_round_trip(ledger_target: Path | PostgresTarget) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        assert (await env.client.get("/v1/notifications")).json() == DEFAULTS
        new = {
            **DEFAULTS,
            "enabled": True,
            "frequency": "weekly",
            "digest_time": "18:30",
            "digest_weekday": "fri",
            "timezone": "Asia/Tokyo",
            "lang": "ja",
            "email": {"enabled": True, "recipients": [" Ops@Acme.example", "ops@acme.example"]},
            "webhook": {"enabled": True},
            "usage_thresholds": [50, 80, 95],
        }
        stored = await env.settings(**new)
        assert stored["email"]["recipients"] == ["Ops@Acme.example"]  # trimmed, once
        await env.restart()
        assert (await env.client.get("/v1/notifications")).json() == stored
        partial = await env.settings(enabled=True)
        assert partial == {**DEFAULTS, "enabled": True}  # a PUT replaces the whole settings
    finally:
        await env.stop()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {"frequency": "hourly"},
            "frequency: Input should be 'immediate', 'daily', 'weekly' or 'alerts'",
        ),
        ({"enable": True}, "enable: there is no such setting"),
        ({"channels": ["email"]}, "channels: there is no such setting"),
        ({"email": {"enabled": True, "recipents": []}}, "email.recipents: there is no such"),
        ({"email": {"enabled": True}}, "email: email is on but has no recipients"),
        ({"email": {"recipients": ["not-an-address"]}}, "'not-an-address' is not an email"),
        ({"email": {"recipients": [f"u{i}@x.co" for i in range(51)]}}, "email.recipients: List"),
        ({"digest_time": "9am"}, "digest_time: use HH:MM on a 24-hour clock"),
        ({"digest_time": "24:00"}, "digest_time: use HH:MM"),
        ({"digest_weekday": "monday"}, "digest_weekday: Input should be 'mon'"),
        ({"timezone": "Tokyo"}, "timezone: 'Tokyo' is not an IANA time zone"),
        ({"timezone": "Asia"}, "timezone: 'Asia' is not an IANA time zone"),
        ({"lang": "fr"}, "lang: Input should be 'en' or 'ja'"),
        ({"enabled": "yes"}, "enabled: Input should be a valid boolean (got 'yes')"),
        ({"usage_thresholds": [75, 75]}, "usage_thresholds: give each threshold once"),
        ({"usage_thresholds": [0, 50]}, "each threshold is a percent from 1 to 100"),
        ({"usage_thresholds": []}, "give from 1 to 5 thresholds"),
        ({"usage_thresholds": [10, 20, 30, 40, 50, 60]}, "give from 1 to 5 thresholds"),
        ({"usage_thresholds": ["75"]}, "usage_thresholds.0: Input should be a valid integer"),
        ([], "send the settings as a JSON object"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    ledger_target: Path | PostgresTarget, body: object, says: str
) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        before = await env.settings(enabled=True, frequency="immediate")
        answer = await env.client.put("/v1/notifications", json=body)
        assert says in refusal(answer, 422, "invalid_notifications")
        assert (await env.client.get("/v1/notifications")).json() == before
    finally:
        await env.stop()


async def test_thresholds_in_any_order_are_stored_ascending(
    ledger_target: Path | PostgresTarget,
) -> None:
    """A schema cannot say "ascending", so the service sorts instead of refusing."""
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        answer = await env.client.put("/v1/notifications", json={"usage_thresholds": [90, 75.0]})
        assert answer.status_code == 200 and answer.json()["usage_thresholds"] == [75, 90]
        assert (await env.client.get("/v1/notifications")).json()["usage_thresholds"] == [75, 90]
    finally:
        await env.stop()


async def test_settings_stored_by_an_older_version_still_read(
    ledger_target: Path | PostgresTarget,
) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        old = {"enabled": True, "frequency": "weekly", "channels": ["email"]}
        await env.service.ledger.set_setting("notifications", old)
        got = (await env.client.get("/v1/notifications")).json()
        assert got == {**DEFAULTS, "enabled": True, "frequency": "weekly"}
    finally:
        await env.stop()


async def test_status_names_the_targets_and_the_next_digest(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        smtp = SmtpServer(
            host="smtp.example.com",
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender="alerts@acme.example",
        )
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp, webhook_url=hook.url()).start()
        try:
            status = await env.status()
            assert status["channels"] == {
                "email": {
                    "configured": True,
                    "target": f"smtp.example.com:587 STARTTLS as {SMTP_USER}",
                },
                "webhook": {"configured": True, "target": "127.0.0.1"},
            }
            assert status["next_digest_at"] is None and status["deliveries"] == []
            await env.settings(enabled=True, digest_time="07:15")
            assert (await env.status())["next_digest_at"] == "2025-03-11T07:15:00Z"
        finally:
            await env.stop()


async def test_an_unconfigured_service_says_so(ledger_target: Path | PostgresTarget) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        status = await env.status()
        assert status["channels"] == {
            "email": {"configured": False, "target": ""},
            "webhook": {"configured": False, "target": ""},
        }
        answer = await env.client.post("/v1/notifications/test", json={"channel": "webhook"})
        assert "needs a webhook URL" in refusal(answer, 409, "channel_not_configured")
        answer = await env.client.post("/v1/notifications/test", json={"channel": "email"})
        assert "needs an SMTP server" in refusal(answer, 409, "channel_not_configured")
        for bad in ({"channel": "sms"}, {"channel": "email", "to": "x"}, ["email"]):
            answer = await env.client.post("/v1/notifications/test", json=bad)
            assert '{"channel": "email"}' in refusal(answer, 422, "invalid_test_send")
        assert (await env.status())["deliveries"] == []
    finally:
        await env.stop()


async def test_test_send_by_email_reports_success(ledger_target: Path | PostgresTarget) -> None:
    with smtp_server() as smtp:
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=smtp.server()).start()
        try:
            answer = await env.client.post("/v1/notifications/test", json={"channel": "email"})
            assert "add at least one address" in refusal(answer, 409, "channel_not_configured")
            await env.settings(email={"enabled": False, "recipients": TEAM}, lang="ja")
            answer = await env.client.post("/v1/notifications/test", json={"channel": "email"})
            result = answer.json()
            [row] = await env.deliveries()
        finally:
            await env.stop()
    assert answer.status_code == 200
    assert result == {
        "channel": "email",
        "ok": True,
        "detail": f"accepted by 127.0.0.1:{smtp.port} for 1 of 1 recipient",
        "delivery_id": row["id"],
    }
    assert row["kind"] == "test" and row["status"] == "sent" and row["attempts"] == 1
    [mail] = smtp.mailbox.messages
    assert mail.message["Subject"] == "[synchealth] テスト送信 — Acme org"
    assert "メール通知は届いています。" in body_of(mail)
    assert "通知はオフです。" in body_of(mail)


async def test_test_send_reports_the_exact_failure(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    with smtp_server(auth=True, starttls_dir=tmp_path) as smtp, WebhookReceiver() as hook:
        wrong = smtp.server(security="starttls", username=SMTP_USER, password="not-it")
        hook.answers = [(404, "no_service")]
        env = await NotifyEnv(
            ledger_target,
            Clock(T0),
            smtp=wrong,
            webhook_url=hook.url(),
            ca_file=smtp.ca_file,
        ).start()
        try:
            await env.settings(email={"enabled": True, "recipients": TEAM})
            email = await env.client.post("/v1/notifications/test", json={"channel": "email"})
            webhook = await env.client.post("/v1/notifications/test", json={"channel": "webhook"})
            rows = await env.deliveries()
            env.clock.advance(hours=2)
            await env.tick()  # a failed test is not retried
            assert await env.deliveries() == rows
        finally:
            await env.stop()
    assert email.status_code == 200 and webhook.status_code == 200
    assert email.json()["ok"] is False
    assert email.json()["detail"] == (
        f"SMTP 535 authentication failed at 127.0.0.1:{smtp.port}: "
        "5.7.8 Authentication credentials invalid"
    )
    assert webhook.json() == {
        "channel": "webhook",
        "ok": False,
        "detail": "webhook answered HTTP 404: no_service",
        "delivery_id": rows[0]["id"],
    }
    assert [(r["channel"], r["status"], r["error"]) for r in rows] == [
        ("webhook", "failed", webhook.json()["detail"]),
        ("email", "failed", email.json()["detail"]),
    ]
    assert smtp.mailbox.messages == [] and hook.posts == []


@pytest.mark.parametrize(
    ("server", "says"),
    [
        ({"port": "closed"}, "the SMTP server at 127.0.0.1:{port} refused the connection"),
        ({"security": "starttls"}, "the SMTP server at 127.0.0.1:{port} does not offer STARTTLS"),
        ({"host": "smtp.invalid"}, "the SMTP host smtp.invalid could not be found"),
    ],
)
async def test_test_send_explains_an_unreachable_server(
    ledger_target: Path | PostgresTarget, server: dict, says: str
) -> None:
    with smtp_server() as smtp:
        port = free_port() if server.get("port") == "closed" else smtp.port
        config = smtp.server(**{**server, "port": port})
        env = await NotifyEnv(ledger_target, Clock(T0), smtp=config).start()
        try:
            await env.settings(email={"enabled": False, "recipients": TEAM})
            result = await env.client.post("/v1/notifications/test", json={"channel": "email"})
        finally:
            await env.stop()
    assert result.json()["ok"] is False
    assert result.json()["detail"].startswith(says.format(port=port))


async def test_secrets_never_come_back_out(
    ledger_target: Path | PostgresTarget, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_path = "/services/T0001/B0002/SeCrEtPaTh123"
    with smtp_server(auth=True, starttls_dir=tmp_path) as smtp, WebhookReceiver() as hook:
        wrong = smtp.server(security="starttls", username=SMTP_USER, password=SMTP_PASSWORD + "x")
        hook.answers = [(500, "oops"), (404, f"no route to {secret_path}")]
        db = ledger_target
        env = await NotifyEnv(
            db, Clock(T0), smtp=wrong, webhook_url=hook.url(), ca_file=smtp.ca_file
        ).start()
        answers: list[str] = []
        try:
            answers.append(repr(env.service.config))
            await env.settings(
                enabled=True,
                frequency="immediate",
                email={"enabled": True, "recipients": TEAM},
                webhook={"enabled": True},
            )
            await env.tick()
            await env.report(2)
            await env.tick()
            env.clock.advance(seconds=30)
            await env.tick()  # email: 535; webhook: 500
            env.clock.advance(minutes=1)
            await env.tick()  # webhook: 404 echoing the path
            for channel in ("email", "webhook"):
                answer = await env.client.post("/v1/notifications/test", json={"channel": channel})
                answers.append(answer.text)
            answers.append((await env.client.get("/v1/notifications/status")).text)
            answers.append((await env.client.get("/v1/notifications")).text)
        finally:
            await env.stop()
        # the webhook reached after all: its URL is in httpx's request log line, scrubbed
        assert any("***" in r.getMessage() for r in caplog.records if r.name == "httpx")
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.")]
    stored = await stored_bytes(db)
    assert "webhook answered HTTP 404: no route to /***" in answers[-2]
    for secret in (SMTP_PASSWORD, "SeCrEtPaTh123"):
        assert all(secret not in text for text in answers)
        assert all(secret not in line for line in ours)
        assert secret.encode() not in stored


def test_a_webhook_url_must_be_https_and_the_refusal_hides_it(
    ledger_target: Path | PostgresTarget,
) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceConfig(
            db_path=ledger_target,
            org_token=ORG_TOKEN,
            webhook_url=SecretStr("http://hooks.example.com/services/T1/B2/TopSecretPart"),
        )
    assert "must use https://" in str(caught.value)
    assert "TopSecretPart" not in str(caught.value)


def test_an_smtp_login_in_clear_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="password in clear text") as caught:
        SmtpServer(
            host="smtp.example.com",
            security="none",
            username=SMTP_USER,
            password=SMTP_PASSWORD,  # type: ignore[arg-type]
            sender="a@acme.example",
        )
    assert SMTP_PASSWORD not in str(caught.value)
    with pytest.raises(ValidationError, match="needs both a username and a password"):
        SmtpServer(host="smtp.example.com", username=SMTP_USER, sender="a@acme.example")
    with pytest.raises(ValidationError, match="is not an address"):
        SmtpServer(host="smtp.example.com", sender="alerts")
    assert SmtpServer(host="h", security="tls", sender="a@b.co").port == 465
    assert SMTP_PASSWORD not in repr(
        SmtpServer(host="h", username="u", password=SecretStr(SMTP_PASSWORD), sender="a@b.co")
    )


async def test_openapi_lists_the_notification_routes(ledger_target: Path | PostgresTarget) -> None:
    env = await NotifyEnv(ledger_target, Clock(T0)).start()
    try:
        doc = (await env.client.get("/v1/openapi.json")).json()
    finally:
        await env.stop()
    assert {"/v1/notifications/status", "/v1/notifications/test"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert {"NotificationStatus", "TestSendResult", "Delivery", "EmailChannel"} <= set(schemas)
