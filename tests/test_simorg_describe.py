"""The simulated org answers ``GET /sobjects/{sobject}/describe`` in a real org's shape.

The reference is a real org's recorded describe of Contact (tests/fixtures/describe/
SOURCES.md): every key the simulated org gives, at object and at field level, is one
the real answer has, with the same JSON type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui.core.sobjects import FIELDS
from tui.simorg.app import create_simorg
from tui.simorg.state import OrgState

TOKEN = "00Dsim!describe"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REAL = json.loads(
    (Path(__file__).parent / "fixtures/describe/contact_describe_excerpt.json").read_text()
)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def client(org: OrgState) -> httpx.AsyncClient:
    app = create_simorg(org, access_token=TOKEN)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://sim.test")


@pytest.mark.parametrize("sobject", sorted(FIELDS))
async def test_describe_uses_the_keys_and_types_of_a_real_answer(sobject: str) -> None:
    async with client(OrgState.from_seed()) as c:
        answer = await c.get(f"/services/data/v62.0/sobjects/{sobject}/describe", headers=AUTH)
    assert answer.status_code == 200
    body = answer.json()
    real_field = {k: _kind(v) for f in REAL["fields"] for k, v in f.items() if v is not None}
    for key, value in body.items():
        assert key in REAL, key
        assert _kind(value) == _kind(REAL[key]), key
    for field in body["fields"]:
        for key, value in field.items():
            assert key in REAL["fields"][0], key
            if value is not None:
                assert _kind(value) == real_field[key], (field["name"], key)
    names = [f["name"] for f in body["fields"]]
    assert names[0] == "Id" and set(names[1:]) == set(FIELDS[sobject])
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=")


async def test_read_only_fields_restricted_picklists_and_lookups_are_described() -> None:
    async with client(OrgState.from_seed()) as c:
        lead = (await c.get("/services/data/v62.0/sobjects/Lead/describe/", headers=AUTH)).json()
    fields = {f["name"]: f for f in lead["fields"]}
    assert fields["Lead_Score__c"]["updateable"] is False
    assert fields["Lead_Score__c"]["createable"] is False
    assert fields["Email"]["updateable"] is True and fields["Email"]["type"] == "email"
    assert fields["Industry"]["restrictedPicklist"] is True
    assert {v["value"] for v in fields["Rating"]["picklistValues"]} == {"Hot", "Warm", "Cold"}
    assert fields["OwnerId"]["referenceTo"] == ["User", "Group"]
    assert fields["CRM_Id__c"]["externalId"] is True and fields["CRM_Id__c"]["custom"] is True
    assert lead["keyPrefix"] == "00Q" and lead["labelPlural"] == "Leads"


async def test_an_unknown_object_is_404_and_every_describe_counts() -> None:
    org = OrgState.from_seed()
    async with client(org) as c:
        missing = await c.get("/services/data/v62.0/sobjects/Widget__c/describe", headers=AUTH)
        await c.get("/services/data/v62.0/sobjects/Task/describe", headers=AUTH)
        no_token = await c.get("/services/data/v62.0/sobjects/Task/describe")
    assert missing.status_code == 404
    assert missing.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    assert no_token.status_code == 401
    assert org.api_used == 2
