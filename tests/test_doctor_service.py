"""``GET/POST /v1/doctor`` end to end: the real service on a real ledger, reaching the
simulated org through the real connector; notifications to a real webhook on loopback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.notify_env import ORG_TOKEN, Clock, NotifyEnv, WebhookReceiver
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

T0 = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)


def failure(n: int, sobject: str, field: str, code: str, message: str) -> dict[str, Any]:
    """One failed record as the sync engine reports it."""
    return {
        "object_type": "contact" if sobject in ("Contact", "Lead") else "company",
        "record_id": f"crm-{n}",
        "record_name": f"Record {n}",
        "salesforce": {"object": sobject, "fields": {"LastName": f"Doe {n}"}},
        "errors": [{"statusCode": code, "message": message, "fields": [field]}],
    }


async def report(env: NotifyEnv, *items: dict[str, Any]) -> None:
    answer = await env.client.post("/v1/errors", json={"errors": list(items)})
    assert answer.status_code == 200 and not answer.json()["rejected"], answer.text


def by_id(body: dict[str, Any], check_id: str) -> list[dict[str, Any]]:
    return [c for c in body["checks"] if c["id"] == check_id]


def one(body: dict[str, Any], check_id: str, subject: str = "") -> dict[str, Any]:
    (found,) = [c for c in by_id(body, check_id) if c["subject"] == subject]
    return found


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget):
    e = await NotifyEnv(ledger_target, Clock(T0)).start()
    yield e
    await e.stop()


async def test_a_healthy_service_is_green_and_names_what_it_checked(env: NotifyEnv) -> None:
    answer = await env.client.get("/v1/doctor")
    assert answer.status_code == 200
    body = answer.json()
    assert [c["id"] for c in body["checks"]] == [
        "service", "signin", "limits", "api_version", "access", "headroom", "retry_policy",
        "notifications",
    ]  # fmt: skip
    assert {c["status"] for c in body["checks"]} == {"green"}, body
    assert all(c["fix"] == "" for c in body["checks"])
    assert "v62.0 is served" in one(body, "api_version")["found"]
    assert one(body, "limits")["found"].startswith("DailyApiRequests: ")
    assert body["salesforce_calls"] == 2  # /limits and the versions; no errors to describe


async def test_access_names_read_only_hidden_fields_and_unseen_objects(env: NotifyEnv) -> None:
    await report(
        env,
        failure(1, "Lead", "Lead_Score__c", "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: Lead_Score__c."),
        failure(2, "Lead", "Lead_Score__c", "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: Lead_Score__c."),
        failure(3, "Contact", "Shoe_Size__c", "INVALID_FIELD",
                "No such column 'Shoe_Size__c' on sobject of type Contact"),
        failure(4, "Contact", "Email", "INVALID_EMAIL_ADDRESS", "Email: invalid email address"),
        failure(5, "Widget__c", "Name", "NOT_FOUND", "The requested resource does not exist"),
    )  # fmt: skip
    body = (await env.client.get("/v1/doctor")).json()
    lead, contact = one(body, "access", "Lead"), one(body, "access", "Contact")
    widget = one(body, "access", "Widget__c")
    assert lead["status"] == "red"
    assert lead["found"] == "Lead_Score__c is read-only (2 open errors)"
    assert "Lead.Lead_Score__c" in lead["fix"] and "field-level security" in lead["fix"]
    assert contact["status"] == "red"
    assert contact["found"] == "Shoe_Size__c is not visible (1 open error)"
    assert widget["status"] == "red" and "cannot see Widget__c" in widget["found"]
    assert "Read and Edit on Widget__c" in widget["fix"]
    assert body["salesforce_calls"] == 2 + 3  # one describe per object


async def test_describes_are_cached_and_counted_in_the_usage_ledger(env: NotifyEnv) -> None:
    await report(env, failure(1, "Contact", "Email", "INVALID_EMAIL_ADDRESS", "Email: bad"))
    first = (await env.client.get("/v1/doctor")).json()
    again = (await env.client.get("/v1/doctor")).json()
    assert first["salesforce_calls"] == 3 and again["salesforce_calls"] == 2
    assert one(again, "access", "Contact")["status"] == "green"
    usage = (await env.client.get("/v1/usage")).json()
    assert usage["used"] == 5  # every doctor call is counted; /v1/usage reuses its limits
    env.clock.now = T0.replace(hour=14)  # past the describe cache's hour
    later = (await env.client.get("/v1/doctor")).json()
    assert later["salesforce_calls"] == 3


async def test_a_refused_sign_in_is_red_and_the_checks_after_it_wait(
    ledger_target: Path | PostgresTarget,
) -> None:
    wrong = httpx.ASGITransport(app=create_simorg(demo_org_state(7), access_token="other"))
    env = await NotifyEnv(ledger_target, Clock(T0)).start(org_transport=wrong)
    try:
        body = (await env.client.get("/v1/doctor")).json()
    finally:
        await env.stop()
    signin = one(body, "signin")
    assert signin["status"] == "red" and "INVALID_SESSION_ID" in signin["found"]
    assert signin["fix"]
    for waiting in ("limits", "api_version", "access"):
        assert one(body, waiting)["status"] == "yellow"
        assert one(body, waiting)["found"] == "not checked: Salesforce sign-in failed"
    assert ORG_TOKEN not in str(body)


async def test_an_api_version_the_org_does_not_serve_is_red(
    ledger_target: Path | PostgresTarget,
) -> None:
    older = create_simorg(demo_org_state(7), access_token=ORG_TOKEN, api_version="v60.0")
    transport = httpx.ASGITransport(app=older)
    env = await NotifyEnv(ledger_target, Clock(T0)).start(org_transport=transport)
    try:
        body = (await env.client.get("/v1/doctor")).json()
    finally:
        await env.stop()
    version = one(body, "api_version")
    assert version["status"] == "red"
    assert version["found"] == "the org does not serve v62.0 (it serves v31.0 to v60.0)"
    assert version["fix"] == "set api_version to v60.0 in the service's profile"
    assert one(body, "limits")["status"] == "red"
    assert one(body, "signin")["status"] == "green"


async def test_headroom_turns_yellow_then_red_as_the_allocation_fills(env: NotifyEnv) -> None:
    await env.client.get("/v1/doctor")  # 2 calls; the org's limit is known from then on
    assert (await env.client.put("/v1/usage/allocation", json={"allocated": 5})).status_code == 200
    yellow = one((await env.client.get("/v1/doctor")).json(), "headroom")
    assert yellow["status"] == "yellow"  # 4 of 5 used
    assert yellow["found"].startswith("the integration used 4 of its 5 allocated calls")
    red = one((await env.client.get("/v1/doctor")).json(), "headroom")
    assert red["status"] == "red" and "raise the allocation" in red["fix"]


async def test_notification_channels_and_a_test_send_on_request(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        env = await NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url()).start()
        try:
            await env.settings(enabled=True, email={"enabled": True, "recipients": ["a@b.co"]},
                               webhook={"enabled": True})  # fmt: skip
            plain = (await env.client.get("/v1/doctor")).json()
            assert hook.posts == []  # GET never sends
            sent = await env.client.post("/v1/doctor", json={"send_test": True})
            bad = await env.client.post("/v1/doctor", json={"send_test": "yes"})
        finally:
            await env.stop()
    email, webhook = one(plain, "notifications", "email"), one(plain, "notifications", "webhook")
    assert email["status"] == "red" and "needs an SMTP server" in email["found"]
    assert webhook["status"] == "green" and "nothing sent yet" in webhook["found"]
    tested = one(sent.json(), "notifications", "webhook")
    assert tested["status"] == "green" and tested["found"].startswith("test sent: ")
    assert len(hook.posts) == 1
    assert one(sent.json(), "notifications", "email")["status"] == "red"
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_doctor"


async def test_a_failing_webhook_test_send_is_red_with_the_failure(
    ledger_target: Path | PostgresTarget,
) -> None:
    with WebhookReceiver() as hook:
        hook.answers = [(500, "boom")]
        env = await NotifyEnv(ledger_target, Clock(T0), webhook_url=hook.url()).start()
        try:
            await env.settings(enabled=True, webhook={"enabled": True})
            body = (await env.client.post("/v1/doctor", json={"send_test": True})).json()
        finally:
            await env.stop()
    webhook = one(body, "notifications", "webhook")
    assert webhook["status"] == "red" and webhook["found"].startswith("the test send failed: ")
    assert "500" in webhook["found"] and webhook["fix"]


async def test_the_retry_policy_is_named_on_and_paused_when_over_its_ceiling(
    env: NotifyEnv,
) -> None:
    assert one((await env.client.get("/v1/doctor")).json(), "retry_policy")["found"] == (
        "automatic retries are off"
    )
    answer = await env.client.put(
        "/v1/retries", json={"enabled": True, "every_minutes": 30, "types": ["custom_code"]}
    )
    assert answer.status_code == 200, answer.text
    on = one((await env.client.get("/v1/doctor")).json(), "retry_policy")
    assert on["status"] == "green"
    assert on["found"].startswith("automatic retries are on; every 30 min up to 10 attempts")
    await env.service.ledger.set_setting(
        "retry_state", {"paused": True, "since": "2025-03-10T12:00:00+00:00"}
    )
    paused = one((await env.client.get("/v1/doctor")).json(), "retry_policy")
    assert paused["status"] == "yellow"
    assert paused["found"].startswith("automatic retries are paused since 2025-03-10 12:00 UTC")
    assert "raise the allocation" in paused["fix"]
