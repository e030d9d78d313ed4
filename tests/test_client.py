"""The service client: the real service in-process on a ledger of each engine (a SQLite
file, then a schema of the real PostgreSQL), and transport-level faults."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pg_harness import demo_ledger, service_target

from tui.core.models import FEED_ROW_COLUMNS
from tui.core.notify_models import NotificationSettings
from tui.data.client import ServiceClient
from tui.data.client_errors import (
    BadResponse,
    ServiceError,
    ServiceRejected,
    ServiceUnauthorized,
    ServiceUnavailable,
)
from tui.service.db import PostgresTarget

TOKEN = "s3cret-token-value"


@pytest.fixture
async def service(tmp_path: Path, ledger_target: Path | PostgresTarget):
    """The real service on a small demo ledger of each engine, protected by an API token."""
    from tui.service import ServiceConfig, SyncHealthService
    from tui.simorg import create_simorg
    from tui.simorg.demo import demo_org_state

    await demo_ledger(ledger_target, tmp_path, 300)
    org = create_simorg(demo_org_state(), access_token="org-token")
    svc = SyncHealthService(
        ServiceConfig(
            **service_target(ledger_target),
            org_token="org-token",
            org_transport=httpx.ASGITransport(app=org),
            api_token=TOKEN,
            mode="simulated",
        )
    )
    await svc.start()
    yield svc
    await svc.stop()


def client_for(svc, token: str | None = TOKEN) -> ServiceClient:
    return ServiceClient("http://svc.test", token, transport=httpx.ASGITransport(app=svc.asgi))


async def test_reads_and_writes_against_the_real_service(service) -> None:
    async with client_for(service) as client:
        health = await client.health()
        assert health.mode == "simulated"
        usage = await client.usage()
        assert len(usage.hourly) == 24
        page = await client.changes(0, 120)
        assert page.columns == list(FEED_ROW_COLUMNS)
        assert len(page.rows) == 120 and page.has_more
        rest = await client.changes(page.next_cursor, 10000)
        assert not rest.has_more and len(page.rows) + len(rest.rows) == 300
        first = page.rows[0][0]
        detail = await client.error(first)
        assert detail is not None and detail.id == first and detail.history
        assert await client.error(10**9) is None
        changed = await client.set_allocation(usage.salesforce_limit // 2)
        assert changed.allocated == usage.salesforce_limit // 2
        settings = await client.set_notifications(
            NotificationSettings(enabled=True, frequency="weekly")
        )
        assert (await client.notifications()) == settings


async def test_refusals_carry_the_services_words(service) -> None:
    async with client_for(service) as client:
        limit = (await client.usage()).salesforce_limit
        with pytest.raises(ServiceRejected) as rejected:
            await client.set_allocation(limit + 1)
        assert rejected.value.status == 422 and f"{limit:,}" in rejected.value.message
        with pytest.raises(ServiceRejected, match=r"at most|1 to 100"):
            await client.resync(list(range(1, 102)), "req-too-many")


async def test_wrong_token_is_unauthorized_and_never_echoed(service) -> None:
    async with client_for(service, token="not-the-token") as client:
        with pytest.raises(ServiceUnauthorized) as refused:
            await client.usage()  # health needs no token (docs/api.md)
    assert "refused our token" in refused.value.message
    assert "not-the-token" not in refused.value.message
    assert isinstance(refused.value, ServiceError)


def counting(handler):
    calls = []

    def wrapped(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return handler(request)

    return httpx.MockTransport(wrapped), calls


async def test_service_down_is_unavailable_after_retries() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    transport, calls = counting(refuse)
    client = ServiceClient("http://down.test", TOKEN, transport=transport, backoff=0.001)
    with pytest.raises(ServiceUnavailable) as down:
        await client.usage()
    await client.aclose()
    assert len(calls) == 4  # first try and 3 retries
    assert "Cannot reach the Sync Health service at http://down.test" in down.value.message
    assert TOKEN not in down.value.message


async def test_500_is_retried_then_reported() -> None:
    transport, calls = counting(lambda r: httpx.Response(500, text="<html>oops</html>"))
    client = ServiceClient("http://sick.test", transport=transport, retries=2, backoff=0.001)
    with pytest.raises(ServiceUnavailable, match=r"failed \(HTTP 500\)"):
        await client.health()
    await client.aclose()
    assert len(calls) == 3


async def test_a_500_then_success_recovers() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={"enabled": True})])
    transport, calls = counting(lambda r: next(answers))
    client = ServiceClient("http://flaky.test", transport=transport, backoff=0.001)
    assert (await client.notifications()).enabled is True
    await client.aclose()
    assert len(calls) == 2


async def test_salesforce_outcomes_are_not_retried() -> None:
    body = {"error": {"code": "salesforce_unavailable", "message": "Salesforce did not answer."}}
    transport, calls = counting(lambda r: httpx.Response(503, json=body))
    client = ServiceClient("http://svc.test", transport=transport, backoff=0.001)
    with pytest.raises(ServiceUnavailable) as failed:
        await client.resync([1], "req-1")
    await client.aclose()
    assert len(calls) == 1
    assert failed.value.code == "salesforce_unavailable"
    assert failed.value.detail == "Salesforce did not answer."
    assert json.loads(calls[0].content) == {"error_ids": [1], "request_id": "req-1"}


async def test_timeouts_are_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    transport, calls = counting(slow)
    client = ServiceClient("http://slow.test", transport=transport, retries=1, backoff=0.001)
    with pytest.raises(ServiceUnavailable, match=r"The service is slow \(no answer in 15 s"):
        await client.health()
    await client.aclose()
    assert len(calls) == 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="{not json"),
        httpx.Response(200, json={"status": "ok"}),  # wrong shape for Health
    ],
)
async def test_malformed_answers_are_bad_responses(response: httpx.Response) -> None:
    client = ServiceClient("http://odd.test", transport=httpx.MockTransport(lambda r: response))
    with pytest.raises(BadResponse) as bad:
        await client.health()
    await client.aclose()
    assert "Sync Health service at http://odd.test" in bad.value.message


async def test_a_feed_page_without_its_keys_is_a_bad_response() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"rows": []}))
    async with ServiceClient("http://odd.test", transport=transport) as client:
        with pytest.raises(BadResponse, match="page of changes"):
            await client.changes(0)


async def test_401_is_unauthorized_and_not_retried() -> None:
    transport, calls = counting(lambda r: httpx.Response(401, json={"error": {"code": "x"}}))
    async with ServiceClient("http://svc.test", TOKEN, transport=transport) as client:
        with pytest.raises(ServiceUnauthorized):
            await client.usage()
    assert len(calls) == 1
    assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
