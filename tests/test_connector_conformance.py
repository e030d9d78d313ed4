"""The connector against recorded real Salesforce answers.

Each fixture is an answer a real org gave, as recorded by Salesforce's documentation
or by the public tests and bug reports of other Salesforce clients; its source is
named next to it. The answers are replayed by httpx's own MockTransport, so the
connector reads exactly those bytes, headers and statuses.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tui.core.apiversion import check_api_version
from tui.core.classify import classify
from tui.service.salesforce import SalesforceConnector, StaticToken
from tui.service.salesforce_answers import OrgLimits, org_api_usage
from tui.service.salesforce_errors import (
    RequestLimitExceeded,
    SalesforceBusy,
    SalesforceError,
    SalesforceProtocolError,
    SalesforceUnavailable,
)

URL = "https://sakura.my.salesforce.com"
SIMPLE_SALESFORCE = "github.com/simple-salesforce/simple-salesforce@9e964768"
PLUGIN_ORG = "github.com/salesforcecli/plugin-org@22749ce5 test/shared/orgListUtil.test.ts"
AIOSALESFORCE = "github.com/georgebv/aiosalesforce tests/test_exceptions.py"

# -- limits in every version's shape ---------------------------------------------------

#: simple_salesforce/tests/__init__.py ORGANIZATION_LIMITS_RESPONSE (SIMPLE_SALESFORCE)
LIMITS_NUMBERS = {
    "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
    "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
    "DailyApiRequests": {"Max": 15000, "Remaining": 14998},
    "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
    "DailyBulkApiRequests": {"Max": 5000, "Remaining": 5000},
    "DataStorageMB": {"Max": 5, "Remaining": 5},
    "FileStorageMB": {"Max": 20, "Remaining": 20},
    "SingleEmail": {"Max": 15, "Remaining": 15},
}
#: "List Organization Limits", REST API guide for v29.0: daily figures as strings,
#: storage as numbers (https://developer.salesforce.com/docs/atlas.en-us.192.0.api_rest.meta/api_rest/dome_limits.htm)
LIMITS_V29 = {
    "DailyApiRequests": {"Remaining": "14998", "Max": "15000"},
    "DailyAsyncApexExecutions": {"Remaining": "250000", "Max": "250000"},
    "DailyBulkApiRequests": {"Remaining": "3000", "Max": "3000"},
    "DataStorageMB": {"Remaining": 5, "Max": 5},
    "FileStorageMB": {"Remaining": 20, "Max": 20},
}
#: The same page a release later: numbers throughout
#: (https://developer.salesforce.com/docs/atlas.en-us.194.0.api_rest.meta/api_rest/dome_limits.htm)
LIMITS_V31 = {
    "ConcurrentAsyncGetReportInstances": {"Remaining": 200, "Max": 200},
    "DailyApiRequests": {"Remaining": 14998, "Max": 15000},
    "DataStorageMB": {"Remaining": 1073, "Max": 1073},
}


def replay(
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.MockTransport:
    """A transport that answers every request with one recorded answer."""

    def answer(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(answer)


def connector(transport: httpx.MockTransport) -> SalesforceConnector:
    return SalesforceConnector(URL, StaticToken("00Dx!recorded"), transport=transport)


@pytest.mark.parametrize("body", [LIMITS_NUMBERS, LIMITS_V29, LIMITS_V31])
async def test_limits_in_every_shape(body: dict[str, Any]) -> None:
    sf = connector(replay(200, body))
    assert await sf.limits() == OrgLimits(max=15000, remaining=14998)
    await sf.aclose()


# -- Sforce-Limit-Info with its parts in any order ---------------------------------------


@pytest.mark.parametrize(
    ("header", "usage"),
    [
        # simple_salesforce/tests/test_api.py test_api_usage_simple (SIMPLE_SALESFORCE)
        ("api-usage=18/5000", (18, 5000)),
        # simple_salesforce/tests/test_api.py test_api_usage_per_app (SIMPLE_SALESFORCE)
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)", (25, 5000)),
        # the same parts, the connected app's first
        ("per-app-api-usage=17/250(appName=sample-app); api-usage=25/5000", (25, 5000)),
        ("per-app-api-usage=17/250(appName=sample-app),api-usage=25/5000", (25, 5000)),
        # REST API guide, "Limit Info Header" (https://developer.salesforce.com/docs/atlas.en-us.230.0.api_rest.meta/api/headers_api_usage.htm)
        ("api-usage=10018/100000", (10018, 100000)),
        # an org past its allocation (issue 9: real orgs run past Max)
        ("api-usage=110018/100000", (110018, 100000)),
        ("per-app-api-usage=17/250(appName=sample-app)", None),
        ("", None),
        ("api-usage=lots", None),
    ],
)
async def test_the_org_figure_of_sforce_limit_info(
    header: str, usage: tuple[int, int] | None
) -> None:
    assert org_api_usage(header) == usage
    sf = connector(replay(200, LIMITS_NUMBERS, headers={"Sforce-Limit-Info": header}))
    await sf.limits()
    await sf.aclose()
    assert sf.limit_info == usage


# -- collections results ---------------------------------------------------------------

LEAD_IDS = ["00Q5g00000ABCDeEAH", "00Q5g00000ABCDfEAH", "00Q5g00000ABCDgEAH", "00Q5g00000ABCDhEAH"]

#: The duplicate rule's error as aiosalesforce recorded it (AIOSALESFORCE,
#: test_duplicates_detected_error), in sObject Collections' statusCode form.
DUPLICATE_ERROR = {
    "duplicateResult": {
        "allowSave": True,
        "duplicateRule": "Standard_Contact_Duplicate_Rule",
        "duplicateRuleEntityType": "Contact",
        "errorMessage": "Use one of these records?",
        "matchResults": [
            {
                "entityType": "Contact",
                "errors": [],
                "matchEngine": "FuzzyMatchEngine",
                "matchRecords": [
                    {
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {
                            "attributes": {"type": "Contact", "url": "..."},
                            "Id": "003aj000002oTldAAE",
                        },
                    }
                ],
                "rule": "Standard_Contact_Match_Rule_v1_1",
                "size": 1,
                "success": True,
            }
        ],
    },
    "statusCode": "DUPLICATES_DETECTED",
    "message": "Use one of these records?",
    "fields": [],
}
#: The "Update Records Using sObject Collections" response example has a failed
#: record without an id (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm);
#: some orgs send "id": null, and success as a string.
COLLECTION_RESULTS = [
    {"id": LEAD_IDS[0], "success": True, "errors": []},
    {"success": False, "errors": [DUPLICATE_ERROR]},
    {
        "id": None,
        "success": "false",
        "errors": [
            {
                "statusCode": "MALFORMED_ID",
                "message": "Lead ID: id value of incorrect type: 00Q5g00000ABCDg999",
                "fields": ["Id"],
            }
        ],
    },
    {"id": LEAD_IDS[3], "success": "true", "errors": [], "created": "false"},
]


async def test_collections_results_as_orgs_send_them() -> None:
    sf = connector(replay(200, COLLECTION_RESULTS))
    records = [{"attributes": {"type": "Lead"}, "Id": i, "Company": "x"} for i in LEAD_IDS]
    results = await sf.update(records)
    await sf.aclose()
    assert [r.success for r in results] == [True, False, False, True]
    assert [r.id for r in results] == [LEAD_IDS[0], None, None, LEAD_IDS[3]]
    assert results[3].created is False
    duplicate = results[1].errors[0]
    assert duplicate["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]["Id"]
    assert classify(duplicate).type == "duplicate"
    assert classify(results[2].errors[0]).sf_code == "MALFORMED_ID"


# -- error answers ----------------------------------------------------------------------

MAINTENANCE_PAGE = """<html>
  <body>
  <center>
    <table bgcolor="white" cellpadding="0" cellspacing="0" width="758">
      <tbody>
      <tr>
        <td><span style="font-family: Verdana; font-size: medium; font-weight: bold;">We are down for maintenance.</span><br><br>Sorry for the inconvenience. We'll be back shortly.</td><br>
      </tr>
      </tbody>
    </table>
  </center>
  </body>
  </html>"""  # noqa: E501 -- as PLUGIN_ORG recorded it
ERROR_PAGE = (
    "\n<!DOCTYPE HTML>\n<html lang=en-US>\n\n<head>\n    <meta charset=UTF-8>\n"
    "    <title>Error Page</title>\n    <style>html { font-family: sans-serif }</style>"
    "</head><body></body></html>"
)  # the start of PLUGIN_ORG's "deactivated/expired org" page
LOGIN_REDIRECT = {
    "location": "https://login.salesforce.com/?ec=302&startURL=%2Fservices%2Fdata%2Fv62.0"
}  # what an instance answers a request without a valid session on a UI path

CASES: list[tuple[str, int, Any, dict[str, str] | None, type[Exception], str]] = [
    # (case, status, body (bytes: raw), headers, outcome, words the message must hold)
    (
        "daily limit, array (github.com/SalesforceLabs/OrgCheck/issues/181)",
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        None,
        RequestLimitExceeded,
        "daily Salesforce API requests (TotalRequests Limit exceeded.)",
    ),
    (
        "daily limit, one object (issue 9)",
        403,
        {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."},
        None,
        RequestLimitExceeded,
        "TotalRequests Limit exceeded.",
    ),
    (
        "concurrency limit, long transactions (issue 9)",
        403,
        [
            {
                "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ],
        None,
        SalesforceBusy,
        "Salesforce is busy, retry in a minute",
    ),
    (
        "concurrency limit, requests (gist.github.com/ndabAP/2ae90f3b871403d822ec2de0bcffb5b0)",
        403,
        [
            {
                "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ],
        None,
        SalesforceBusy,
        "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
    ),
    (
        f"429 with a body ({AIOSALESFORCE})",
        429,
        [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "error message"}],
        None,
        SalesforceBusy,
        "Salesforce is busy, retry in a minute (HTTP 429: error message)",
    ),
    ("429 without a body", 429, None, None, SalesforceBusy, "retry in a minute (HTTP 429)"),
    ("420 without a body", 420, b"", None, SalesforceBusy, "retry in a minute (HTTP 420)"),
    (
        f"maintenance page at 503 ({PLUGIN_ORG})",
        503,
        MAINTENANCE_PAGE.encode(),
        {"content-type": "text/html"},
        SalesforceUnavailable,
        "down for maintenance",
    ),
    (
        f"maintenance page at 200 ({PLUGIN_ORG})",
        200,
        MAINTENANCE_PAGE.encode(),
        None,
        SalesforceUnavailable,
        "web page instead of its API's JSON (it is down for maintenance",
    ),
    (
        f"error page of an expired org ({PLUGIN_ORG})",
        404,
        ERROR_PAGE.encode(),
        {"content-type": "text/html;charset=UTF-8"},
        SalesforceUnavailable,
        "HTTP 404 with a web page instead of its API's JSON (Error Page)",
    ),
    ("302 to login", 302, b"", LOGIN_REDIRECT, SalesforceError, "redirected the request to login"),
    (
        "retired version (github.com/restforce/restforce/issues/941)",
        410,
        [{"errorCode": "GONE", "message": "The requested resource no longer exists."}],
        None,
        SalesforceError,
        "no longer serves this API version (HTTP 410 GONE): set api_version to v46.0",
    ),
    (
        "an empty error array",
        403,
        [],
        None,
        SalesforceError,
        "refused the request (HTTP 403 error) without saying why",
    ),
    (
        "one error object (github.com/jarrodek/ChromeRestClient/issues/1148)",
        405,
        {"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method 'GET' not allowed."},
        None,
        SalesforceError,
        "(HTTP 405 METHOD_NOT_ALLOWED): HTTP Method 'GET' not allowed.",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_every_error_answer_gets_its_outcome_and_a_readable_message(
    status: int,
    body: Any,
    headers: dict[str, str] | None,
    outcome: type[Exception],
    words: str,
) -> None:
    raw = body if isinstance(body, bytes) else None
    sf = connector(replay(status, None if raw is not None else body, content=raw, headers=headers))
    with pytest.raises(SalesforceError) as caught:
        await sf.update([{"attributes": {"type": "Lead"}, "Id": LEAD_IDS[0]}])
    await sf.aclose()
    assert type(caught.value) is outcome
    assert words in str(caught.value)
    assert "00Dx!recorded" not in str(caught.value)


async def test_a_concurrency_limit_is_not_the_daily_limit() -> None:
    busy = [
        {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    sf = connector(replay(403, busy))
    with pytest.raises(SalesforceBusy) as caught:
        await sf.limits()
    await sf.aclose()
    assert not isinstance(caught.value, RequestLimitExceeded)
    assert "daily" not in str(caught.value)


async def test_a_huge_error_message_is_cut_to_a_readable_length() -> None:
    huge = [{"errorCode": "UNKNOWN_EXCEPTION", "message": "x" * 100_000}]
    sf = connector(replay(400, huge))
    with pytest.raises(SalesforceError) as caught:
        await sf.limits()
    await sf.aclose()
    assert "UNKNOWN_EXCEPTION" in str(caught.value) and len(str(caught.value)) < 700


async def test_a_json_body_that_is_no_error_shape_is_still_a_clear_refusal() -> None:
    sf = connector(replay(400, content=orjson.dumps("nope")))
    with pytest.raises(SalesforceError, match=r"HTTP 400 error\) without saying why"):
        await sf.limits()
    await sf.aclose()
    sf = connector(replay(200, content=b"{not json"))
    with pytest.raises(SalesforceProtocolError, match="not JSON"):
        await sf.limits()
    await sf.aclose()


@pytest.mark.parametrize(
    ("given", "answer"),
    [
        ("62.0", "v62.0"),
        ("v46.0", "v46.0"),
        (" v61.0 ", "v61.0"),
        ("v45.0", "v45.0 is too old for synchealth (sObject Collections upsert needs v46.0)"),
        (
            "41.0",
            "v41.0 is too old for synchealth (sObject Collections update needs v42.0; "
            "sObject Collections upsert needs v46.0): use v46.0 or later",
        ),
        ("latest", "must look like v62.0"),
        ("v62.5", "must look like v62.0"),
    ],
)
def test_api_version_below_what_the_calls_need_is_refused(given: str, answer: str) -> None:
    if answer.startswith("v") and " " not in answer:
        assert check_api_version(given) == answer
        return
    with pytest.raises(ValueError) as caught:
        check_api_version(given)
    assert answer in str(caught.value)
    with pytest.raises(SalesforceError, match="api_version"):
        SalesforceConnector(URL, StaticToken("t"), api_version=given)
