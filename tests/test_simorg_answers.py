"""The simulated org answers the way a real org does, for the shapes real clients send.

Request shapes come from public sources, named next to each fixture:

* jsforce ``Connection._updateMany`` / ``_upsertMany`` (github.com/jsforce/jsforce,
  src/connection.ts at e744dad9): ``{allOrNone, records: [{id, attributes: {type},
  ...fields}]}`` and ``{[extIdField]: value, attributes: {type}, ...}``;
* Salesforce's "Update Records Using sObject Collections" page
  (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html):
  "Each object must contain an id field", an Account with NumberOfEmployees and a
  Contact with Title.

Answers: retired versions 410 (https://help.salesforce.com/s/articleView?id=000354473&type=1,
errorCode GONE as reported in github.com/restforce/restforce/issues/941), an unknown
version 404 NOT_FOUND "The requested resource does not exist"
(github.com/tprouvot/Salesforce-Inspector-reloaded/issues/744), a wrong method
METHOD_NOT_ALLOWED "HTTP Method 'GET' not allowed. Allowed are POST"
(github.com/jarrodek/ChromeRestClient/issues/1148), the concurrency limit
"ConcurrentPerOrgLongTxn Limit exceeded." and the daily one "TotalRequests Limit
exceeded." (github.com/SalesforceLabs/OrgCheck/issues/181).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import orjson
import pytest

from tests.sfstandin import CLIENT_ID, CLIENT_SECRET, USERNAME, app_for, make_key_pair
from tui.core.sobjects import KEY_PREFIX
from tui.simorg.app import create_simorg, release_label
from tui.simorg.ids import is_well_formed, make_id
from tui.simorg.state import OrgState

TOKEN = "00Dsim!answers-test"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def org() -> OrgState:
    return OrgState.from_seed(11)


def client(org: OrgState, **options: Any) -> httpx.AsyncClient:
    app = create_simorg(org, access_token=TOKEN, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://sim.test")


def live(org: OrgState, obj: str, n: int = 1) -> str:
    prefix = KEY_PREFIX[obj]
    return make_id(prefix, org.usable_counter(prefix, n))


async def test_lowercase_id_as_jsforce_and_the_documentation_send_it(org: OrgState) -> None:
    account, contact = live(org, "Account", 3), live(org, "Contact", 5)
    # the documentation's example body, with ids of this org
    documented = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "id": account, "NumberOfEmployees": 27000},
            {"attributes": {"type": "Contact"}, "id": contact, "Title": "Lead Engineer"},
        ],
    }
    # what jsforce's sobject('Lead').update([...]) puts on the wire: id first, then attributes
    lead = live(org, "Lead", 9)
    jsforce = {
        "allOrNone": False,
        "records": [{"id": lead, "attributes": {"type": "Lead"}, "Company": "Sakura KK"}],
    }
    async with client(org) as c:
        first = await c.patch(
            "/services/data/v62.0/composite/sobjects", json=documented, headers=AUTH
        )
        second = await c.patch(
            "/services/data/v62.0/composite/sobjects", json=jsforce, headers=AUTH
        )
    assert first.json() == [
        {"id": account, "success": True, "errors": []},
        {"id": contact, "success": True, "errors": []},
    ]
    assert second.json() == [{"id": lead, "success": True, "errors": []}]
    assert org.written[account[:15]] == {"NumberOfEmployees": 27000}
    assert org.written[contact[:15]] == {"Title": "Lead Engineer"}
    assert org.written[lead[:15]] == {"Company": "Sakura KK"}


async def test_jsforce_upsert_shape_and_a_lowercase_id_in_an_upsert(org: OrgState) -> None:
    url = "/services/data/v62.0/composite/sobjects/Contact/CRM_Id__c"
    jsforce = {
        "allOrNone": False,
        "records": [
            {"CRM_Id__c": "crm-77", "attributes": {"type": "Contact"}, "LastName": "Tanaka"}
        ],
    }
    with_id = {
        "records": [
            {"attributes": {"type": "Contact"}, "id": live(org, "Contact"), "CRM_Id__c": "x"}
        ]
    }
    async with client(org) as c:
        created = (await c.patch(url, json=jsforce, headers=AUTH)).json()
        again = (await c.patch(url, json=jsforce, headers=AUTH)).json()
        refused = (await c.patch(url, json=with_id, headers=AUTH)).json()
    assert created[0]["success"] is True and created[0]["created"] is True
    assert again[0] == {**created[0], "created": False}
    assert refused[0]["success"] is False
    assert refused[0]["errors"][0]["statusCode"] == "INVALID_FIELD"


async def test_the_version_list_needs_no_token_and_is_not_counted(org: OrgState) -> None:
    async with client(org, api_version="v62.0") as c:
        answer = await c.get("/services/data/")
    versions = answer.json()
    assert answer.status_code == 200 and org.api_used == 0
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert versions[-1] == {
        "label": "Winter '25",
        "url": "/services/data/v62.0",
        "version": "62.0",
    }
    assert [release_label(n) for n in (30, 59, 60, 61, 63)] == [
        "Spring '14",  # "API version 30 was from our Spring '14 release" (article 000354473)
        "Winter '24",
        "Spring '24",
        "Summer '24",
        "Spring '25",
    ]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/services/data/v30.0/limits/", 410, "GONE"),
        ("/services/data/v21.0/limits/", 410, "GONE"),
        ("/services/data/v7.0/limits/", 410, "GONE"),
        ("/services/data/v25.0/sobjects/Account/describe", 410, "GONE"),
        ("/services/data/v63.0/sobjects/Account/describe", 404, "NOT_FOUND"),
        ("/services/data/v6.0/limits/", 404, "NOT_FOUND"),
        ("/services/data/v63.0/limits/", 404, "NOT_FOUND"),
        ("/services/data/v62.5/limits/", 404, "NOT_FOUND"),
        ("/services/data/latest/limits/", 404, "NOT_FOUND"),
        ("/services/data/v31.0/limits/", 200, None),
    ],
)
async def test_versions_outside_what_the_org_serves(
    org: OrgState, path: str, status: int, code: str | None
) -> None:
    async with client(org, api_version="v62.0") as c:
        answer = await c.get(path, headers=AUTH)
    assert answer.status_code == status
    if code is not None:
        (error,) = answer.json()
        assert error["errorCode"] == code and error["message"]
        assert org.api_used == 0  # refused before it counts


@pytest.mark.parametrize(
    ("version", "path", "status"),
    [
        ("v41.0", "/composite/sobjects", 404),
        ("v42.0", "/composite/sobjects", 200),
        ("v45.0", "/composite/sobjects/Contact/CRM_Id__c", 404),
        ("v46.0", "/composite/sobjects/Contact/CRM_Id__c", 200),
    ],
)
async def test_collections_update_needs_42_and_upsert_46(
    org: OrgState, version: str, path: str, status: int
) -> None:
    record = {"attributes": {"type": "Contact"}, "CRM_Id__c": "v-test", "LastName": "Ito"}
    if path == "/composite/sobjects":
        record = {"attributes": {"type": "Contact"}, "Id": live(org, "Contact"), "Title": "CFO"}
    async with client(org) as c:
        answer = await c.patch(
            f"/services/data/{version}{path}", json={"records": [record]}, headers=AUTH
        )
    assert answer.status_code == status
    if status == 404:
        assert answer.json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ]


async def test_unknown_routes_and_methods_answer_a_json_error_array(org: OrgState) -> None:
    async with client(org) as c:
        unknown = await c.get("/services/data/v62.0/sobjects/Nope/describe", headers=AUTH)
        elsewhere = await c.get("/favicon.ico")
        wrong = await c.get("/services/oauth2/token")
        put = await c.put("/services/data/v62.0/composite/sobjects", headers=AUTH)
    for answer in (unknown, elsewhere):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ]
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json() == [
        {
            "message": "HTTP Method 'GET' not allowed. Allowed are POST",
            "errorCode": "METHOD_NOT_ALLOWED",
        }
    ]
    assert put.status_code == 405 and put.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


async def test_usage_runs_past_max_until_the_protection_ceiling(org: OrgState) -> None:
    async with client(org, daily_limit=100, overage=0.1) as c:
        answers = [await c.get("/services/data/v62.0/limits/", headers=AUTH) for _ in range(111)]
    assert all(a.status_code == 200 for a in answers[:110])
    assert answers[105].headers["Sforce-Limit-Info"] == "api-usage=106/100"
    assert answers[105].json()["DailyApiRequests"] == {"Max": 100, "Remaining": 0}
    assert answers[110].status_code == 403
    assert answers[110].json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert answers[110].headers["Sforce-Limit-Info"] == "api-usage=110/100"


async def test_the_concurrency_limit_passes(org: OrgState) -> None:
    org.busy = 2
    async with client(org) as c:
        answers = [await c.get("/services/data/v62.0/limits/", headers=AUTH) for _ in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 200]
    assert answers[0].json() == [
        {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]


def _token_form(assertion: str) -> dict[str, str]:
    return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}


async def test_token_answers_have_salesforce_fields_and_a_list_audience_works(
    org: OrgState,
) -> None:
    keys = make_key_pair()
    app = create_simorg(org, access_token=TOKEN, connected_app=app_for(keys))
    claims = {"iss": CLIENT_ID, "sub": USERNAME, "exp": int(time.time()) + 180}
    listed = jwt.encode(
        {**claims, "aud": ["https://example.invalid", "https://test.salesforce.com"]},
        keys.private_pem,
        algorithm="RS256",
    )
    foreign = jwt.encode({**claims, "aud": ["https://x.invalid"]}, keys.private_pem, "RS256")
    # PyJWT refuses to make claims of the wrong type, so sign the raw payload
    odd = jwt.api_jws.encode(
        orjson.dumps({**claims, "aud": {"a": 1}, "iss": 7}), keys.private_pem, "RS256"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://acme.my.sim") as c:
        cc = await c.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        by_list = await c.post("/services/oauth2/token", data=_token_form(listed))
        refused = await c.post("/services/oauth2/token", data=_token_form(foreign))
        strange = await c.post("/services/oauth2/token", data=_token_form(odd))
    answer = cc.json()
    assert set(answer) == {
        "access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"
    }  # fmt: skip
    assert answer["instance_url"] == "https://acme.my.sim"
    assert answer["token_type"] == "Bearer" and answer["scope"] == "api"
    assert answer["issued_at"].isdigit() and len(answer["issued_at"]) == 13
    identity = urlsplit(answer["id"])
    assert identity.netloc == "login.salesforce.com"
    _, id_word, org_id, user_id = identity.path.split("/")
    assert id_word == "id" and len(org_id) == 18 and org_id.startswith("00D")
    assert is_well_formed(org_id) and is_well_formed(user_id) and user_id.startswith("005")
    assert answer["access_token"].startswith(org_id[:15] + "!")
    expected = hmac.new(
        CLIENT_SECRET.encode(), (answer["id"] + answer["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(answer["signature"]) == expected
    assert by_list.status_code == 200
    assert set(by_list.json()) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert urlsplit(by_list.json()["id"]).netloc == "test.salesforce.com"
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert strange.status_code == 400 and strange.json()["error"] == "invalid_client_id"


NASTY_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b'"records"',
    b"\xff\xfe\x00",
    b'{"records": {"a": 1}}',
    b'{"records": [null]}',
    b'{"records": [{"attributes": "Lead"}]}',
    b'{"records": [{"attributes": {"type": ["Lead"]}, "Id": 5}]}',
    b'{"records": [{"attributes": {"type": "Lead"}, "Id": {"x": 1}}]}',
    b'{"records": [{"attributes": {"type": "Lead"}, "id": ["00Q"]}]}',
    b'{"records": [{"attributes": {"type": "Contact"}, "CRM_Id__c": {"n": 1}}]}',
    b'{"records": [{"attributes": {"type": "Contact"}, "CRM_Id__c": [1, 2]}]}',
    b'{"records": [{"attributes": {"type": "Lead"}, "Id": "00Q5g00000001AA", "Email": 7}]}',
    b'{"allOrNone": "yes", "records": []}',
    orjson.dumps({"records": [{"attributes": {"type": "Lead"}, "Id": "x" * 100_000}]}),
]
ROUTES = [
    "/services/data/v62.0/composite/sobjects",
    "/services/data/v62.0/composite/sobjects/Contact/CRM_Id__c",
    "/services/data/v62.0/composite/sobjects/Nope/CRM_Id__c",
    "/services/data/v62.0/sobjects/Contact/CRM_Id__c/abc",
    "/services/data/v62.0/sobjects/Contact/LastName/abc",
]


async def test_no_input_makes_the_org_answer_500(org: OrgState) -> None:
    keys = make_key_pair()
    app = create_simorg(org, access_token=TOKEN, connected_app=app_for(keys))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url="https://sim.test") as c:
        for route in ROUTES:
            for body in NASTY_BODIES:
                statuses.append((await c.patch(route, content=body, headers=AUTH)).status_code)
        for form in (
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c",
            b"grant_type=client_credentials&client_id=%FF%FE&client_secret=",
            b"\xff\xfe",
            b"grant_type=password",
        ):
            statuses.append((await c.post("/services/oauth2/token", content=form)).status_code)
        for path in ("/services/data/v62.0/limits/%00", "/services/data/%FF/limits/", "/x" * 500):
            statuses.append((await c.get(path, headers=AUTH)).status_code)
    assert statuses and all(status < 500 for status in statuses), statuses


@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        ("Lead", {"Country": {"x": 1}}),
        ("Account", {"BillingCountry": [1], "BillingState": "Tokyo"}),
        ("Opportunity", {"StageName": ["Closed Lost"]}),
        ("Opportunity", {"StageName": "Closed Lost", "RecordTypeId": 7}),
    ],
)
async def test_a_value_of_the_wrong_type_is_a_record_error_not_a_500(
    org: OrgState, obj: str, fields: dict[str, Any]
) -> None:
    record = {"attributes": {"type": obj}, "Id": live(org, obj, 3), **fields}
    async with client(org) as c:
        answer = await c.patch(
            "/services/data/v62.0/composite/sobjects", json={"records": [record]}, headers=AUTH
        )
    assert answer.status_code == 200
    (result,) = answer.json()
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
