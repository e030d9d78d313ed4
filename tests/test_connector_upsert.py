"""sObject Collections upsert by an external id: the connector and the stand-in over loopback."""

from __future__ import annotations

import httpx
import pytest
from sfstandin import GIVEN_TOKEN, Calls, serve, standin
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tui.service.salesforce import SalesforceConnector, StaticToken
from tui.service.salesforce_errors import SalesforceError, SalesforceProtocolError
from tui.simorg.ids import is_well_formed, make_id, parse_id
from tui.simorg.state import POPULATION, OrgState

UPSERT = "/services/data/v62.0/composite/sobjects"
AUTH = {"Authorization": f"Bearer {GIVEN_TOKEN}"}


def connect(url: str, calls: Calls | None = None) -> SalesforceConnector:
    return SalesforceConnector(url, StaticToken(GIVEN_TOKEN), on_call=calls)


def contact(crm_id: str | None, **fields: object) -> dict:
    record: dict = {"attributes": {"type": "Contact"}, **fields}
    if crm_id is not None:
        record["CRM_Id__c"] = crm_id
    return record


async def test_upsert_inserts_new_records_then_updates_them() -> None:
    calls = Calls()
    async with standin() as sf:
        sf_api = connect(sf.url, calls)
        first = await sf_api.upsert(
            "Contact",
            "CRM_Id__c",
            [
                contact(f"5123{n}", LastName=f"Sato {n}", Email=f"sato{n}@example.jp")
                for n in range(3)
            ],
        )
        again = await sf_api.upsert("Contact", "CRM_Id__c", [contact("51231", Title="CTO")])
        by_id = await sf_api.update(
            [{"attributes": {"type": "Contact"}, "Id": first[0].id, "Title": "VP Sales"}]
        )
        await sf_api.aclose()
    assert [(r.success, r.created, r.errors) for r in first] == [(True, True, [])] * 3
    ids = [r.id for r in first]
    assert all(is_well_formed(i) and i.startswith("003") for i in ids)
    assert [parse_id(i)[1] for i in ids] == [POPULATION["003"] + n for n in (1, 2, 3)]
    assert (again[0].success, again[0].created, again[0].id) == (True, False, ids[1])
    assert sf.org.written[ids[1][:15]] == {
        "LastName": "Sato 1",
        "Email": "sato1@example.jp",
        "CRM_Id__c": "51231",
        "Title": "CTO",
    }
    assert by_id[0].success and by_id[0].created is None
    assert calls.n == 3 and sf.org.created == {"003": 3}


async def test_upsert_matches_existing_accounts_by_customer_number() -> None:
    org = OrgState.from_seed(7)
    counter = org.usable_counter("001", 40)
    number = org.customer_number(counter)
    async with standin(org) as sf:
        sf_api = connect(sf.url)
        results = await sf_api.upsert(
            "Account",
            "Customer_Number__c",
            [
                {
                    "attributes": {"type": "Account"},
                    "Customer_Number__c": number,
                    "Phone": "03-1111-2222",
                },
                {"attributes": {"type": "Account"}, "Customer_Number__c": "JP-NEW-1"},
                {
                    "attributes": {"type": "Account"},
                    "Customer_Number__c": "JP-NEW-2",
                    "Name": "Sakura KK",
                },
            ],
        )
        await sf_api.aclose()
    assert (results[0].success, results[0].created, results[0].id) == (
        True,
        False,
        make_id("001", counter),
    )
    assert results[1].errors == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [Name]",
            "fields": ["Name"],
        }
    ]
    assert results[2].success and results[2].created is True


async def test_per_record_errors_come_back_in_request_order_with_every_error() -> None:
    async with standin() as sf:
        sf_api = connect(sf.url)
        results = await sf_api.upsert(
            "Contact",
            "CRM_Id__c",
            [
                contact(None, LastName="No Key"),
                {"attributes": {"type": "Lead"}, "CRM_Id__c": "L-1", "LastName": "Lead"},
                contact("C-1", Id=make_id("003", 5), LastName="Has Id"),
                contact("C-dup", LastName="Twin A"),
                contact("C-dup", LastName="Twin B"),
                contact("C-2", FirstName="Hanako"),
                contact("C-3", LastName="Ito", Title="x" * 129, Email="ito@@example.jp"),
                contact("C-4", LastName="Kato"),
            ],
        )
        await sf_api.aclose()
    codes = [[e["statusCode"] for e in r.errors] for r in results]
    assert codes == [
        ["MISSING_ARGUMENT"],
        ["INVALID_TYPE"],
        ["INVALID_FIELD"],
        ["DUPLICATE_VALUE"],
        ["DUPLICATE_VALUE"],
        ["REQUIRED_FIELD_MISSING"],
        ["STRING_TOO_LONG", "INVALID_EMAIL_ADDRESS"],
        [],
    ]
    assert results[0].errors[0]["fields"] == ["CRM_Id__c"]
    assert results[3].errors[0]["message"] == "Duplicate external id specified: C-dup"
    assert [r.success for r in results] == [False] * 7 + [True]
    assert all(r.created is None for r in results[:7]) and results[7].created is True
    assert sf.org.created == {"003": 1}  # only the good one was written


async def test_update_reports_every_field_error_of_a_record() -> None:
    org = OrgState.from_seed(7)
    lead = make_id("00Q", org.usable_counter("00Q", 3))
    async with standin(org) as sf:
        sf_api = connect(sf.url)
        (result,) = await sf_api.update(
            [
                {
                    "attributes": {"type": "Lead"},
                    "Id": lead,
                    "Email": "broken@@example.jp",
                    "Rating": "Lukewarm",
                    "LastName": "",
                }
            ]
        )
        await sf_api.aclose()
    assert [e["statusCode"] for e in result.errors] == [
        "INVALID_EMAIL_ADDRESS",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "REQUIRED_FIELD_MISSING",
    ]


async def test_201_records_take_two_calls_and_the_org_refuses_201_in_one() -> None:
    calls = Calls()
    async with standin() as sf:
        sf_api = connect(sf.url, calls)
        records = [contact(f"BULK-{n}", LastName=f"Bulk {n}") for n in range(201)]
        results = await sf_api.upsert("Contact", "CRM_Id__c", records)
        await sf_api.aclose()
        async with httpx.AsyncClient(base_url=sf.url) as raw:
            refused = await raw.patch(
                f"{UPSERT}/Contact/CRM_Id__c",
                json={"allOrNone": False, "records": records},
                headers=AUTH,
            )
    assert calls.n == 2
    assert len(results) == 201 and all(r.success and r.created for r in results)
    assert [parse_id(r.id)[1] for r in results] == [
        POPULATION["003"] + n for n in range(1, 202)
    ]  # in request order
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/15000"


async def test_all_or_none_upsert_writes_nothing_when_one_fails() -> None:
    async with standin() as sf, httpx.AsyncClient(base_url=sf.url) as raw:
        answer = await raw.patch(
            f"{UPSERT}/Contact/CRM_Id__c",
            json={
                "allOrNone": True,
                "records": [contact("A-1", LastName="Fine"), contact("A-2", Email="x@@y")],
            },
            headers=AUTH,
        )
    results = answer.json()
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert [e["statusCode"] for e in results[1]["errors"]] == [
        "INVALID_EMAIL_ADDRESS",
        "REQUIRED_FIELD_MISSING",
    ]
    assert sf.org.created == {} and sf.org.written == {}


@pytest.mark.parametrize(
    ("sobject", "field", "says"),
    [
        ("Contact", "Email", "Email is not an External ID or indexed field for Contact"),
        ("Contact", "Shoe_Size__c", "HTTP 404 NOT_FOUND"),
        ("Widget__c", "CRM_Id__c", "HTTP 404 NOT_FOUND"),
    ],
)
async def test_upsert_by_a_field_the_org_cannot_match_on(
    sobject: str, field: str, says: str
) -> None:
    async with standin() as sf:
        sf_api = connect(sf.url)
        with pytest.raises(SalesforceError, match=says):
            await sf_api.upsert(sobject, field, [contact("X-1", LastName="X")])
        await sf_api.aclose()
    assert sf.org.written == {}


@pytest.mark.parametrize(("sobject", "field"), [("Contact/..", "CRM_Id__c"), ("Contact", "a b")])
async def test_names_that_are_not_api_names_are_not_sent(sobject: str, field: str) -> None:
    calls = Calls()
    sf_api = SalesforceConnector("https://acme.my.salesforce.com", StaticToken("t"), on_call=calls)
    with pytest.raises(SalesforceError, match="is not a Salesforce"):
        await sf_api.upsert(sobject, field, [contact("X-1")])
    await sf_api.aclose()
    assert calls.n == 0


async def test_an_upsert_answer_of_the_wrong_length_is_a_protocol_error() -> None:
    async def short(request: Request) -> JSONResponse:
        return JSONResponse(
            [{"id": make_id("003", 1), "success": True, "errors": [], "created": True}]
        )

    app = Starlette(routes=[Route(UPSERT + "/{sobject}/{field}", short, methods=["PATCH"])])
    async with serve(app) as url:
        sf_api = connect(url)
        with pytest.raises(SalesforceProtocolError, match="an upsert of Contact of 2 records"):
            await sf_api.upsert("Contact", "CRM_Id__c", [contact("1"), contact("2")])
        await sf_api.aclose()
