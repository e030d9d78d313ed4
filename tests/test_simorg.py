"""The simulated org: its REST surface and how it judges records."""

from __future__ import annotations

import httpx
import pytest

from tui.core.sobjects import KEY_PREFIX
from tui.simorg.app import create_simorg
from tui.simorg.ids import is_well_formed, make_id, parse_id, suffix
from tui.simorg.state import POPULATION, OrgState

TOKEN = "00Dsim!org-test"
BASE = "/services/data/v62.0"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def org() -> OrgState:
    return OrgState.from_seed(11)


@pytest.fixture
async def client(org: OrgState):
    app = create_simorg(org, access_token=TOKEN, daily_limit=1000)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://sim.test") as c:
        yield c


def live(org: OrgState, obj: str, n: int = 1) -> str:
    prefix = KEY_PREFIX[obj]
    return make_id(prefix, org.usable_counter(prefix, n))


def rec(obj: str, record_id: str, **fields) -> dict:
    return {"attributes": {"type": obj}, "Id": record_id, **fields}


async def update(client: httpx.AsyncClient, *records: dict, all_or_none: bool = False) -> list:
    answer = await client.patch(
        f"{BASE}/composite/sobjects",
        json={"allOrNone": all_or_none, "records": list(records)},
        headers=AUTH,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def first_error(client: httpx.AsyncClient, record: dict) -> dict:
    (result,) = await update(client, record)
    assert result["success"] is False, result
    return result["errors"][0]


def test_ids_round_trip_with_the_case_safe_suffix() -> None:
    sf_id = make_id("003", 123_456)
    assert len(sf_id) == 18 and sf_id.startswith("0035g00000")
    assert suffix(sf_id[:15]) == sf_id[15:]
    assert parse_id(sf_id) == ("003", 123_456)
    assert is_well_formed(sf_id) and is_well_formed(sf_id[:15])
    assert not is_well_formed(sf_id[:15] + "AAA" if sf_id[15:] != "AAA" else sf_id[:15] + "BBB")
    assert not is_well_formed("Acme KK")
    # A known Salesforce id and its published 18-character form.
    assert suffix("001A0000006Vm9r") == "IAC"


async def test_auth_usage_header_and_daily_limit(org: OrgState) -> None:
    app = create_simorg(org, access_token=TOKEN, daily_limit=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://s") as c:
        wrong = await c.get(f"{BASE}/limits/", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
        assert wrong.headers["Sforce-Limit-Info"] == "api-usage=0/2"
        ok = await c.get(f"{BASE}/limits/", headers=AUTH)
        limits = ok.json()
        assert limits["DailyApiRequests"] == {"Max": 2, "Remaining": 1}
        assert {"DataStorageMB", "DailyBulkApiBatches"} <= limits.keys()
        await c.get(f"{BASE}/limits/", headers=AUTH)
        spent = await c.get(f"{BASE}/limits/", headers=AUTH)
        assert spent.status_code == 403
        assert spent.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        assert spent.headers["Sforce-Limit-Info"] == "api-usage=2/2"
        org.token_expires_at = 1.0
        expired = await c.get(f"{BASE}/limits/", headers=AUTH)
        assert expired.status_code == 401


async def test_bad_bodies_are_refused(client: httpx.AsyncClient) -> None:
    url = f"{BASE}/composite/sobjects"
    broken = await client.patch(url, content=b"{not json", headers=AUTH)
    assert broken.status_code == 400 and broken.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    no_records = await client.patch(url, json={"allOrNone": False}, headers=AUTH)
    assert no_records.status_code == 400


async def test_success_is_written_and_nothing_else_is_kept(
    client: httpx.AsyncClient, org: OrgState
) -> None:
    lead = live(org, "Lead", 42)
    (result,) = await update(client, rec("Lead", lead[:15], Title="CTO", Rating="Warm"))
    assert result == {"id": lead[:15], "success": True, "errors": []}
    assert org.written == {lead[:15]: {"Title": "CTO", "Rating": "Warm"}}


async def test_record_existence_comes_from_the_id(client: httpx.AsyncClient, org: OrgState) -> None:
    deleted = make_id("00Q", org.deleted_counter(5))
    beyond = make_id("00Q", POPULATION["00Q"] + 1)
    bad_checksum = live(org, "Lead")[:15] + "ZZZ"
    results = await update(
        client,
        rec("Lead", deleted, Title="x"),
        rec("Lead", beyond, Title="x"),
        rec("Lead", bad_checksum, Title="x"),
        rec("Lead", live(org, "Contact"), Title="x"),
        rec("Account", make_id("001", org.private_counter(3)), Phone="03-1111-2222"),
    )
    codes = [r["errors"][0]["statusCode"] for r in results]
    assert codes == [
        "ENTITY_IS_DELETED",
        "INVALID_CROSS_REFERENCE_KEY",
        "MALFORMED_ID",
        "MALFORMED_ID",
        "INSUFFICIENT_ACCESS_OR_READONLY",
    ]
    assert (
        results[2]["errors"][0]["message"] == f"Lead ID: id value of incorrect type: {bad_checksum}"
    )


@pytest.mark.parametrize(
    ("obj", "fields", "code", "message", "err_fields"),
    [
        ("Lead", {"Lead_Score__c": 90}, "INVALID_FIELD_FOR_INSERT_UPDATE",
         "Unable to create/update fields: Lead_Score__c. Please check the security settings of "
         "this field and verify that it is read/write for your profile or permission set.",
         ["Lead_Score__c"]),
        ("Lead", {"Shoe_Size__c": 9}, "INVALID_FIELD",
         "No such column 'Shoe_Size__c' on sobject of type Lead", []),
        ("Lead", {"Title": "x" * 129}, "STRING_TOO_LONG",
         f"Title: data value too large: {'x' * 129} (max length=128)", ["Title"]),
        ("Contact", {"Email": "taro@@example.jp"}, "INVALID_EMAIL_ADDRESS",
         "Email: invalid email address: taro@@example.jp", ["Email"]),
        ("Lead", {"Rating": "Lukewarm"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
         "Rating: bad value for restricted picklist field: Lukewarm", ["Rating"]),
        ("Lead", {"LastName": ""}, "REQUIRED_FIELD_MISSING",
         "Required fields are missing: [LastName]", ["LastName"]),
        ("Opportunity", {"Amount": "1億円"}, "INVALID_TYPE_ON_FIELD_IN_RECORD",
         "Amount: value not of required type: 1億円", ["Amount"]),
        ("Opportunity", {"Probability": 140}, "NUMBER_OUTSIDE_VALID_RANGE",
         "Probability (%): value outside of valid range on numeric field: 140", ["Probability"]),
        ("Contact", {"MailingState": "Osaka"}, "FIELD_INTEGRITY_EXCEPTION",
         "A country must be specified before specifying a state value for field: "
         "Mailing State/Province", ["MailingState"]),
        ("Account", {"BillingCountry": "Japan", "BillingState": "東京都"},
         "FIELD_INTEGRITY_EXCEPTION",
         "There's a problem with this state, even though it may appear correct. Please select "
         "a state from the list of valid states.", ["BillingState"]),
        ("Lead", {"Country": "日本"}, "FIELD_INTEGRITY_EXCEPTION",
         "There's a problem with this country, even though it may appear correct. Please "
         "select a country/territory from the list of valid countries.", ["Country"]),
        ("Contact", {"AccountId": "Sakura Trading"}, "MALFORMED_ID",
         "Account ID: id value of incorrect type: Sakura Trading", ["AccountId"]),
        ("Account", {"Phone": "03-1234-5678 内線9"}, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
         "電話番号は半角数字・ハイフン・括弧で入力してください (例: 03-1234-5678)", ["Phone"]),
        ("Opportunity", {"StageName": "Closed Lost"}, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
         "Closed Lost opportunities need a Loss Reason.", ["Loss_Reason__c"]),
        ("Opportunity", {"StageName": None}, "REQUIRED_FIELD_MISSING",
         "Required fields are missing: [StageName]", ["StageName"]),
        ("Opportunity", {"StageName": "見積提出"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
         "Stage: bad value for restricted picklist field: 見積提出", ["StageName"]),
    ],
)  # fmt: skip
async def test_system_validation_and_rules(
    client: httpx.AsyncClient, org: OrgState, obj, fields, code, message, err_fields
) -> None:
    error = await first_error(client, rec(obj, live(org, obj, 7), **fields))
    assert error == {"statusCode": code, "message": message, "fields": err_fields}


async def test_lookups_owners_and_record_types(client: httpx.AsyncClient, org: OrgState) -> None:
    opp, task, contact = live(org, "Opportunity"), live(org, "Task"), live(org, "Contact")
    wrong_type = live(org, "Contact", 99)
    gone = make_id("001", org.deleted_counter(2))
    hidden = make_id("012", 3)
    inactive = org.inactive_user_ids()[0]
    queue = org.queue_ids()[0]
    renewal = make_id("012", 2)
    checks = [
        (rec("Opportunity", opp, AccountId=wrong_type), "FIELD_INTEGRITY_EXCEPTION",
         f"Account ID: id value of incorrect type: {wrong_type}"),
        (rec("Contact", contact, AccountId=gone), "ENTITY_IS_DELETED", "entity is deleted"),
        (rec("Opportunity", opp, AccountId=make_id("001", org.private_counter(4))),
         "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "insufficient access rights on "
         f"cross-reference id: {make_id('001', org.private_counter(4))}"),
        (rec("Contact", contact, OwnerId=inactive), "INACTIVE_OWNER_OR_USER",
         f"operation performed with inactive user [{inactive[:15]}] as owner of contact"),
        (rec("Task", task, OwnerId=queue), "INVALID_ASSIGNEE_TYPE",
         f"Assigned To ID: a task can't be assigned to a queue: {queue[:15]}"),
        (rec("Opportunity", opp, RecordTypeId=hidden), "INVALID_CROSS_REFERENCE_KEY",
         f"Record Type ID: this ID value isn't valid for the user: {hidden}"),
        (rec("Opportunity", opp, RecordTypeId=renewal, StageName="Prospecting"),
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
         "Stage: bad value for restricted picklist field: Prospecting"),
    ]  # fmt: skip
    results = await update(client, *(c[0] for c in checks))
    got = [(r["errors"][0]["statusCode"], r["errors"][0]["message"]) for r in results]
    assert got == [(code, message) for _, code, message in checks]
    lead = live(org, "Lead")
    (queued,) = await update(client, rec("Lead", lead, OwnerId=queue))
    assert queued["success"] is True  # leads may sit in a queue


async def test_automation_duplicates_and_unique_values(
    client: httpx.AsyncClient, org: OrgState
) -> None:
    lead, contact = live(org, "Lead", 3), live(org, "Contact", 3)
    account, other = live(org, "Account", 10), live(org, "Account", 500)
    taken = org.customer_number(parse_id(other)[1])
    results = await update(
        client,
        rec("Lead", lead, Rating="Hot", Industry=None),
        rec("Contact", contact, LeadSource="Partner Referral"),
        rec("Lead", lead, Email=sorted(org.duplicate_emails)[0].upper()),
        rec("Account", account, Customer_Number__c=taken),
        rec("Account", account, Description="bad\x00byte"),
    )
    errors = [r["errors"][0] for r in results]
    assert errors[0]["statusCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assert errors[0]["message"].startswith("LeadRoutingTrigger: execution of BeforeUpdate")
    assert errors[1]["statusCode"] == "CANNOT_EXECUTE_FLOW_TRIGGER"
    assert "“Partner Contact Routing” process failed" in errors[1]["message"]
    assert errors[2]["statusCode"] == "DUPLICATES_DETECTED"
    assert errors[3] == {
        "statusCode": "DUPLICATE_VALUE",
        "message": f"duplicate value found: Customer_Number__c duplicates value on record "
        f"with id: {other}",
        "fields": [],
    }
    assert errors[4]["statusCode"] == "UNKNOWN_EXCEPTION"
    # The fixed versions pass, and a written unique value is then taken.
    fixed = await update(
        client,
        rec("Lead", lead, Rating="Hot", Industry="Retail"),
        rec("Contact", contact, LeadSource="Partner Referral", AccountId=account),
        rec("Account", account, Customer_Number__c="JP-0001"),
    )
    assert all(r["success"] for r in fixed)
    clash = await first_error(client, rec("Account", other, Customer_Number__c="JP-0001"))
    assert clash["statusCode"] == "DUPLICATE_VALUE" and account[:15] in clash["message"]


async def test_all_or_none_rolls_everything_back(client: httpx.AsyncClient, org: OrgState) -> None:
    good, bad = live(org, "Lead", 1), live(org, "Lead", 2)
    results = await update(
        client, rec("Lead", good, Title="ok"), rec("Lead", bad, Rating="?"), all_or_none=True
    )
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert org.written == {}


def test_state_is_small_and_seeded() -> None:
    a, b = OrgState.from_seed(3), OrgState.from_seed(3)
    assert a == b
    assert a != OrgState.from_seed(4)
    assert len(a.users) == 40 and len(a.inactive_user_ids()) == 6
    assert a.status("00Q", a.deleted_counter(10)) == "deleted"
    assert a.usable("001", a.usable_counter("001", a.private_counter(1)))
