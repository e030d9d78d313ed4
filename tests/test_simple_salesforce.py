"""simple-salesforce (PyPI, pinned in the test extra) against the simulated org.

The org is served by uvicorn over https on a loopback port (simple-salesforce only
speaks https), with a throwaway CA the client's requests session trusts. Nothing of
simple-salesforce is replaced: if it accepts our answers, so would it a real org's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.api import Usage
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.sfstandin import GIVEN_TOKEN, StandIn, make_tls_files, standin_in_thread
from tui.core.sobjects import KEY_PREFIX
from tui.simorg.ids import make_id
from tui.simorg.state import OrgState


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def org(tls) -> Iterator[StandIn]:
    with standin_in_thread(OrgState.from_seed(7), daily_limit=50, tls=tls) as sf:
        yield sf


def client(org: StandIn, ca_file: Path, token: str = GIVEN_TOKEN, version: str = "62.0"):
    session = requests.Session()
    session.trust_env = False  # no REQUESTS_CA_BUNDLE or proxy from the environment
    session.verify = str(ca_file)
    return Salesforce(instance_url=org.url, session_id=token, version=version, session=session)


def live(state: OrgState, obj: str, n: int) -> str:
    prefix = KEY_PREFIX[obj]
    return make_id(prefix, state.usable_counter(prefix, n))


def test_limits_and_the_usage_header_as_simple_salesforce_reads_them(org, tls) -> None:
    sf = client(org, tls.ca_file)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 50, "Remaining": 49}
    assert sf.api_usage["api-usage"] == Usage(used=1, total=50)
    assert urlsplit(sf.base_url).port == urlsplit(org.url).port


def test_collections_update_with_id_and_with_Id(org, tls) -> None:
    sf = client(org, tls.ca_file)
    lower, upper = live(org.org, "Lead", 40), live(org.org, "Lead", 41)
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "id": lower, "Company": "Kobe Shoji"},
            {"attributes": {"type": "Lead"}, "Id": upper, "Company": "Nara Bussan"},
            {"attributes": {"type": "Lead"}, "Id": upper[:-3] + "ZZZ", "Company": "x"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert results[:2] == [
        {"id": lower, "success": True, "errors": []},
        {"id": upper, "success": True, "errors": []},
    ]
    assert results[2]["success"] is False
    assert results[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert org.org.written[lower[:15]] == {"Company": "Kobe Shoji"}


def test_single_and_collections_upsert(org, tls) -> None:
    sf = client(org, tls.ca_file)
    created = sf.Contact.upsert("CRM_Id__c/123", {"LastName": "Sato", "Title": "Buyer"})
    updated = sf.Contact.upsert("CRM_Id__c/123", {"Title": "Head Buyer"})
    results = sf.restful(
        "composite/sobjects/Contact/CRM_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "CRM_Id__c": "123", "Title": "CPO"},
                {"attributes": {"type": "Contact"}, "CRM_Id__c": "456", "LastName": "Ito"},
            ],
        },
    )
    assert (created, updated) == (201, 200)
    assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True)]
    assert results[0]["id"] != results[1]["id"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.upsert("No_Such__c/1", {"LastName": "X"})


def test_a_refused_token_raises_expired_session(org, tls) -> None:
    sf = client(org, tls.ca_file, token="00Dstandin!not-the-token")
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.limits()
    assert caught.value.status == 401
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_request_limit_exceeded_raises_refused_request(org, tls) -> None:
    sf = client(org, tls.ca_file)
    org.org.busy = 1
    with pytest.raises(SalesforceRefusedRequest) as busy:
        sf.limits()
    assert busy.value.content[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."
    org.org.api_used = 54  # past Max 50, and the simulated ceiling is 55
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 0
    assert sf.api_usage["api-usage"] == Usage(used=55, total=50)
    with pytest.raises(SalesforceRefusedRequest) as spent:
        sf.limits()
    assert spent.value.status == 403
    assert spent.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_versions_the_org_does_not_serve(org, tls) -> None:
    old = client(org, tls.ca_file, version="41.0")
    with pytest.raises(SalesforceResourceNotFound):
        old.restful("composite/sobjects", method="PATCH", json={"records": []})
    retired = client(org, tls.ca_file, version="30.0")
    with pytest.raises(Exception) as gone:  # simple-salesforce has no class for 410
        retired.limits()
    assert gone.value.status == 410  # type: ignore[attr-defined]
    assert gone.value.content[0]["errorCode"] == "GONE"  # type: ignore[attr-defined]
