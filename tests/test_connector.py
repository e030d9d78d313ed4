"""The Salesforce connector against the simulated org (and a few broken servers)."""

from __future__ import annotations

import socket

import httpx
import pytest
from sfstandin import Calls

from tui.service.salesforce import SalesforceConnector, StaticToken
from tui.service.salesforce_answers import OrgLimits
from tui.service.salesforce_errors import (
    RequestLimitExceeded,
    SalesforceProtocolError,
    SalesforceUnavailable,
    SessionExpired,
)
from tui.simorg.app import create_simorg
from tui.simorg.ids import make_id
from tui.simorg.state import OrgState

TOKEN = "00Dsim!test-token"
URL = "https://sakura.my.salesforce.com"


class RefreshingToken:
    """Hands out a stale token first and the good one on refresh."""

    def __init__(self, stale: str, fresh: str) -> None:
        self.stale, self.fresh, self.refreshes = stale, fresh, 0

    async def token(self, refresh: bool = False) -> str:
        if refresh:
            self.refreshes += 1
            return self.fresh
        return self.stale


def connector(app, calls: Calls | None = None, version: str = "v62.0", token=None):
    return SalesforceConnector(
        URL,
        token or StaticToken(TOKEN),
        api_version=version,
        transport=httpx.ASGITransport(app=app),
        on_call=calls,
    )


def leads(n: int) -> list[dict]:
    """n updates of existing, editable leads of the seed-7 org."""
    org = OrgState.from_seed(7)
    return [
        {
            "attributes": {"type": "Lead"},
            "Id": make_id("00Q", org.usable_counter("00Q", 10 * k + 1)),
            "Title": f"T{k}",
        }
        for k in range(n)
    ]


@pytest.fixture
def state() -> OrgState:
    return OrgState.from_seed(7)


async def test_limits_reads_numbers_and_the_usage_header(state: OrgState) -> None:
    calls = Calls()
    sf = connector(create_simorg(state, access_token=TOKEN, daily_limit=5000), calls)
    first = await sf.limits()
    second = await sf.limits()
    await sf.aclose()
    assert first == OrgLimits(max=5000, remaining=4999)
    assert second.remaining == 4998 and second.used == 2
    assert sf.limit_info == (2, 5000)
    assert calls.n == 2


async def test_update_chunks_by_200_and_keeps_request_order(state: OrgState) -> None:
    calls = Calls()
    sf = connector(create_simorg(state, access_token=TOKEN), calls)
    records = leads(450)
    records[7]["Email"] = "broken@@example.com"
    records[333]["Industry"] = "製造業"
    results = await sf.update(records)
    await sf.aclose()
    assert calls.n == 3
    assert sf.limit_info == (3, 15000)
    assert len(results) == 450
    assert [r.success for r in results].count(False) == 2
    assert results[0].success and results[0].id == records[0]["Id"]
    assert results[7].errors[0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert results[333].errors[0] == {
        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "message": "Industry: bad value for restricted picklist field: 製造業",
        "fields": ["Industry"],
    }


async def test_org_refuses_more_than_200_records_in_one_call(state: OrgState) -> None:
    app = create_simorg(state, access_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=URL) as raw:
        answer = await raw.patch(
            "/services/data/v62.0/composite/sobjects",
            json={"allOrNone": False, "records": leads(201)},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=1/15000"


async def test_expired_token_is_refreshed_once(state: OrgState) -> None:
    calls = Calls()
    tokens = RefreshingToken("stale-token", TOKEN)
    sf = connector(create_simorg(state, access_token=TOKEN), calls, token=tokens)
    limits = await sf.limits()
    await sf.aclose()
    assert limits.max == 15000
    assert tokens.refreshes == 1
    assert calls.n == 2


async def test_second_401_raises_session_expired_without_the_token(state: OrgState) -> None:
    state.token_expires_at = 0.0
    calls = Calls()
    sf = connector(create_simorg(state, access_token=TOKEN), calls)
    with pytest.raises(SessionExpired) as caught:
        await sf.update(leads(3))
    await sf.aclose()
    assert calls.n == 2
    assert TOKEN not in str(caught.value)
    assert "INVALID_SESSION_ID" in str(caught.value)


async def test_spent_daily_limit_stops_without_retry(state: OrgState) -> None:
    calls = Calls()
    sf = connector(create_simorg(state, access_token=TOKEN, daily_limit=2), calls)
    await sf.limits()
    await sf.limits()
    with pytest.raises(RequestLimitExceeded):
        await sf.update(leads(5))
    await sf.aclose()
    assert calls.n == 3
    assert sf.limit_info == (2, 2)


async def test_unavailable_org_and_server_errors(state: OrgState) -> None:
    state.unavailable = True
    sf = connector(create_simorg(state, access_token=TOKEN))
    with pytest.raises(SalesforceUnavailable, match="HTTP 503"):
        await sf.limits()
    await sf.aclose()

    def boom(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json=[{"errorCode": "UNKNOWN_EXCEPTION", "message": "x"}])

    sf = SalesforceConnector(URL, StaticToken(TOKEN), transport=httpx.MockTransport(boom))
    with pytest.raises(SalesforceUnavailable, match="HTTP 500"):
        await sf.update(leads(1))
    await sf.aclose()


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    calls = Calls()
    sf = SalesforceConnector(f"http://127.0.0.1:{port}", StaticToken(TOKEN), on_call=calls)
    with pytest.raises(SalesforceUnavailable, match="cannot reach Salesforce"):
        await sf.limits()
    await sf.aclose()
    assert calls.n == 0  # nothing reached Salesforce, nothing to count


async def test_timeout_is_unavailable_and_counted() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    calls = Calls()
    sf = SalesforceConnector(
        URL, StaticToken(TOKEN), transport=httpx.MockTransport(slow), on_call=calls
    )
    with pytest.raises(SalesforceUnavailable, match="in time"):
        await sf.limits()
    await sf.aclose()
    assert calls.n == 1


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"Warning: update available", "not JSON"),
        (b'{"DailyApiRequests": {"Max": "lots"}}', "DailyApiRequests"),
    ],
)
async def test_malformed_limits_answer(body: bytes, match: str) -> None:
    def bad(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Sforce-Limit-Info": "api-usage=18/5000"})

    sf = SalesforceConnector(URL, StaticToken(TOKEN), transport=httpx.MockTransport(bad))
    with pytest.raises(SalesforceProtocolError, match=match):
        await sf.limits()
    await sf.aclose()
    assert sf.limit_info == (18, 5000)


async def test_update_answer_with_wrong_shape_is_a_protocol_error() -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": "x", "success": True, "errors": []}])

    sf = SalesforceConnector(URL, StaticToken(TOKEN), transport=httpx.MockTransport(short))
    with pytest.raises(SalesforceProtocolError, match="2 records with 1 results"):
        await sf.update(leads(2))
    await sf.aclose()


async def test_empty_update_sends_nothing(state: OrgState) -> None:
    calls = Calls()
    sf = connector(create_simorg(state, access_token=TOKEN), calls)
    assert await sf.update([]) == []
    await sf.aclose()
    assert calls.n == 0
