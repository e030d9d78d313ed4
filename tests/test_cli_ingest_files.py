"""``synchealth ingest FILE`` with the failure files of Salesforce's own tools.

Bulk API 2.0 ``failedResults`` and Data Loader error CSVs (tests/fixtures/failure_files,
sources in its SOURCES.md) into the embedded demo (a SQLite ledger by design) and into
a real uvicorn service on loopback on a ledger of each engine, then resynced; and the
bad files: other encodings, no header, rows that do not fit, huge cells, a quote never
closed.
"""

from __future__ import annotations

import asyncio
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_harness import ledger_rows
from test_cli_ingest import API_TOKEN, _no_user_config, ingest, item, served

from tui.commands import ingest as ingest_command
from tui.data.client import ServiceClient
from tui.data.failure_entries import CsvOptions, parse_error_text
from tui.data.failure_files import read_failures
from tui.service.db import PostgresTarget

FIXTURES = Path(__file__).parent / "fixtures" / "failure_files"
BULK = FIXTURES / "bulk2_contact_failedResults.csv"
LOADER_BULK = FIXTURES / "dataloader_error_bulk_contact.csv"
LOADER_SAMPLE = FIXTURES / "dataloader_error_opportunity.csv"

__all__ = ["_no_user_config"]  # autouse: no config of whoever runs the tests


ROW_COLUMNS = ("id", "object_type", "record_id", "record_name", "subtype", "sf_code",
               "message", "fields", "payload", "attempts")  # fmt: skip


def rows_of(db: Path | PostgresTarget, since: int) -> dict[str, dict[str, Any]]:
    """The ledger's errors after id ``since``, by record id."""
    sql = f"SELECT {', '.join(ROW_COLUMNS)} FROM errors WHERE id > ? ORDER BY id"
    out = {}
    for row in asyncio.run(ledger_rows(db, sql, (since,))):
        entry = dict(zip(ROW_COLUMNS, row, strict=True))
        entry["payload"] = json.loads(entry["payload"])
        entry["fields"] = json.loads(entry["fields"])
        out[entry["record_id"]] = entry
    return out


def last_id(db: Path | PostgresTarget) -> int:
    ((found,),) = asyncio.run(ledger_rows(db, "SELECT MAX(id) FROM errors"))
    return int(found)


@pytest.fixture
def demo_db(synchealth_env: dict[str, Path]) -> Path:
    return synchealth_env["data"] / "demo-ledger.sqlite3"


# -- the error texts of Bulk API and Data Loader ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "message", "fields"),
    [
        # jsforce test/bulk2.test.ts, recorded from a live org
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
         "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]),
        ("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
         "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []),
        ("INVALID_FIELD:No such column 'InvalidColumn' on entity 'Account'.",
         "INVALID_FIELD", "No such column 'InvalidColumn' on entity 'Account'.", []),
        ("INVALID_EMAIL_ADDRESS:Email: invalid email address: a@@b.jp:Email --",
         "INVALID_EMAIL_ADDRESS", "Email: invalid email address: a@@b.jp", ["Email"]),
        ("FIELD_INTEGRITY_EXCEPTION:bad value:MailingState,MailingCountry --",
         "FIELD_INTEGRITY_EXCEPTION", "bad value", ["MailingState", "MailingCountry"]),
        # Data Loader's Bulk mode (BulkLoadVisitor.parseAsyncApiError)
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]\nError fields: LastName",
         "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]),
        # Data Loader's SOAP mode: the message alone (its own sample error file)
        # simple-salesforce's recorded failedResults: the code alone
        ("UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW", "", []),
        ("Oracle_Id__c not specified", "NO_STATUS_CODE", "Oracle_Id__c not specified", []),
        ("Error converting value to correct data type: Failed to parse date: #N/A",
         "NO_STATUS_CODE",
         "Error converting value to correct data type: Failed to parse date: #N/A", []),
    ],
)  # fmt: skip
def test_error_texts(text: str, code: str, message: str, fields: list[str]) -> None:
    assert parse_error_text(text) == {"statusCode": code, "message": message, "fields": fields}


# -- Bulk API 2.0 failedResults ----------------------------------------------------------------


def test_a_bulk_file_into_the_embedded_demo_and_again(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = last_id(demo_db)
    code, err = ingest(capsys, str(BULK), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0, err
    assert "5 rows: 5 accepted (5 new errors, 0 repeats of known errors), 0 rejected" in err
    # the last row has no Id and no CRM_Id__c: recorded, but it cannot be resent
    assert "1 row with neither an Id nor an external id value (line 7) was recorded" in err
    rows = rows_of(demo_db, before)
    email = rows["003000000000001AAA"]
    assert email["object_type"] == "contact" and email["record_name"] == "Taro Yamada"
    assert (email["subtype"], email["sf_code"], email["fields"]) == (
        "property_value.invalid_email", "INVALID_EMAIL_ADDRESS", ["Email"],
    )  # fmt: skip
    # update by Id; the simulated org knows Credit_Limit__c is a number; empty cells unsent
    assert email["payload"] == {
        "record": {"attributes": {"type": "Contact"}, "Id": "003000000000001AAA",
                   "FirstName": "Taro", "LastName": "Yamada",
                   "Email": "taro.yamada@@example.co.jp", "Credit_Limit__c": 1500,
                   "CRM_Id__c": "61000000001"},
        "checks": {},
    }  # fmt: skip
    inserted = rows["61000000002"]  # no Id: upserted on the external id
    assert inserted["payload"]["upsert"] == {"sobject": "Contact", "field": "CRM_Id__c"}
    assert inserted["payload"]["record"]["CRM_Id__c"] == "61000000002"
    assert inserted["subtype"] == "property_value.required_value"
    assert rows["003000000000003AAA"]["payload"]["record"]["Credit_Limit__c"] is None  # #N/A
    quoted = rows["003000000000004AAA"]  # a cell over two lines, with doubled quotes
    assert quoted["payload"]["record"]["Description"] == (
        'Prefers email.\nCall only after 18:00, "urgent" matters only.'
    )
    unsendable = next(r for r in rows.values() if r["record_id"].startswith("row-"))
    assert unsendable["record_name"] == "Ken Tanaka"
    assert "Id" not in unsendable["payload"]["record"] and "upsert" not in unsendable["payload"]

    code, err = ingest(capsys, str(BULK), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0 and "lines 2-7 had been ingested before" in err
    assert {r["record_id"]: r["attempts"] for r in rows_of(demo_db, before).values()} == {
        r: 1 for r in rows
    }


def test_simple_salesforces_failed_results_answer() -> None:
    """The failedResults body simple-salesforce's test_bulk2.py serves (blank first line,
    every header cell quoted, the code alone in sf__Error), read as a client would save it."""
    path = FIXTURES / "simple_salesforce_bulk2_failedResults.csv"
    options = CsvOptions(sobject="Contact", external_id="Custom_Id__c")
    with path.open("rb") as handle:
        file = read_failures(handle, options)
        entries = list(file.entries)
    assert file.unit == "row" and [(e.first_line, e.last_line) for e in entries] == [
        (3, 3), (4, 4)]  # fmt: skip
    first = entries[0].item
    assert first["errors"] == [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "", "fields": []}]
    assert first["record_id"] == "CustomID1" and first["record_name"] == "Bob x"
    assert first["salesforce"] == {
        "object": "Contact",
        "external_id": {"field": "Custom_Id__c", "value": "CustomID1"},
        "fields": {"AccountId": "ID-13", "Email": "contact1@example.com", "FirstName": "Bob",
                   "LastName": "x"},
    }  # fmt: skip


def test_a_relationship_column_is_resent_as_a_lookup_by_external_id(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bulk API's ``Account.CRM_Id__c`` header sets the lookup by the parent's external id."""
    path = bulk_file(
        tmp_path / "lookup.csv",
        '"","INVALID_FIELD:Foreign key external ID: 18000000404 not found for field '
        'CRM_Id__c in entity Account:--","Sato","18000000404","61000000500"\n',
        header='"sf__Id","sf__Error",LastName,Account.CRM_Id__c,CRM_Id__c\n',
    )
    before = last_id(demo_db)
    code, err = ingest(capsys, str(path), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0, err
    record = rows_of(demo_db, before)["61000000500"]["payload"]["record"]
    assert record == {"attributes": {"type": "Contact"}, "CRM_Id__c": "61000000500",
                      "LastName": "Sato", "Account": {"CRM_Id__c": "18000000404"}}  # fmt: skip


def test_a_bulk_file_needs_its_object(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = last_id(demo_db)
    code, err = ingest(capsys, str(BULK))
    assert code == 2
    assert "--object SOBJECT is needed: a Bulk API 2.0 failedResults CSV does not say" in err
    assert "its first row's id starts with 003, the prefix of Contact" in err
    code, err = ingest(capsys, str(LOADER_BULK))  # no id to go by
    assert code == 2 and "a Data Loader error CSV does not say" in err and "prefix" not in err
    code, err = ingest(capsys, str(BULK), "--object", "Contact", "--external-id", "Crm_Code__c")
    assert code == 2 and "--external-id Crm_Code__c: the file has no such column" in err
    assert "CRM_Id__c" in err
    assert last_id(demo_db) == before


def test_columns_that_are_not_fields_of_the_object(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The embedded demo knows the simulated org's fields; a describe file tells the rest."""
    before = last_id(demo_db)
    code, err = ingest(capsys, str(BULK), "--object", "Account")
    assert code == 2
    assert (
        "not fields of Account (as the simulated org lists them): FirstName, LastName, "
        "Email, AccountId, Credit_Limit__c; is --object Account the job's object?"
    ) in err

    fields = ["Id", "FirstName", "LastName", "Email", "Phone", "AccountId", "Description"]
    path = tmp_path / "contact-describe.json"
    path.write_text(json.dumps({"status": 0, "result": contact_describe(fields)}))
    code, err = ingest(capsys, str(BULK), "--object", "Contact", "--describe", str(path))
    assert code == 2
    assert f"not fields of Contact (as {path} lists them): Credit_Limit__c, CRM_Id__c" in err
    code, err = ingest(capsys, str(BULK), "--object", "Lead", "--describe", str(path))
    assert code == 2 and "describes Contact, not --object Lead" in err
    path.write_text("{not json", encoding="utf-8")
    code, err = ingest(capsys, str(BULK), "--object", "Contact", "--describe", str(path))
    assert code == 2 and "is not JSON" in err
    assert last_id(demo_db) == before


def contact_describe(fields: list[str]) -> dict[str, Any]:
    """The keys of ``GET /services/data/vXX.X/sobjects/Contact/describe`` that are read
    (Salesforce REST API Developer Guide, "sObject Describe",
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm);
    ``sf sobject describe --json`` answers the same inside ``result``."""
    return {"name": "Contact", "fields": [{"name": f, "type": "string"} for f in fields]}


# -- Data Loader error files -------------------------------------------------------------------


def test_a_data_loader_bulk_mode_error_file(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = last_id(demo_db)
    code, err = ingest(
        capsys, str(LOADER_BULK), "--object", "contact", "--external-id", "crm_id__c"
    )
    assert code == 0, err
    assert "3 rows: 3 accepted (3 new errors, 0 repeats" in err
    rows = rows_of(demo_db, before)
    assert set(rows) == {"61000000011", "61000000012", "61000000013"}
    email = rows["61000000011"]
    assert (email["sf_code"], email["message"], email["fields"]) == (
        "INVALID_EMAIL_ADDRESS",
        "Email: invalid email address: taro.yamada@@example.co.jp",
        ["Email"],
    )
    # the file's capitals are mapped to the fields' names; upserted on CRM_Id__c
    assert email["payload"] == {
        "record": {"attributes": {"type": "Contact"}, "CRM_Id__c": "61000000011",
                   "FirstName": "Taro", "LastName": "Yamada",
                   "Email": "taro.yamada@@example.co.jp"},
        "checks": {},
        "upsert": {"sobject": "Contact", "field": "CRM_Id__c"},
    }  # fmt: skip
    assert rows["61000000013"]["subtype"] == "property_value.unique_value"


def test_data_loaders_own_sample_into_a_real_service_and_resync(
    tmp_path: Path, ledger_target: Path | PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(tmp_path, ledger_target) as (url, _, db):
        auth = ("--url", url, "--token", API_TOKEN)
        before = last_id(db)
        code, err = ingest(capsys, str(LOADER_SAMPLE), "--object", "Opportunity", *auth)
        assert code == 0, err
        # rows 1 and 2 of Data Loader's sample are the same record with the same error
        assert "3 rows: 3 accepted (2 new errors, 1 repeat of known errors)" in err
        rows = rows_of(db, before)
        sample = rows["006x0000001YZ8YAAW"]
        assert (sample["sf_code"], sample["message"], sample["attempts"]) == (
            "NO_STATUS_CODE", "Oracle_Id__c not specified", 2,
        )  # fmt: skip
        # the name comes from NAME; the later row of the same record is the one kept
        assert sample["record_name"] == "Universal Media - 500 Widgets"
        record = sample["payload"]["record"]
        assert record["Id"] == "006x0000001YZ8YAAW" and record["STAGENAME"] == "Closed Won"
        assert "ID" not in record and "ERROR" not in record and "PRICEBOOKID" not in record

        # no simulated org to ask: a describe gives the fields' names for the capitals
        describe = tmp_path / "contact.json"
        names = ["FirstName", "LastName", "Email", "CRM_Id__c"]
        describe.write_text(json.dumps(contact_describe(names)))
        loader_args = ("--object", "Contact", "--external-id", "CRM_ID__C")
        code, err = ingest(
            capsys, str(LOADER_BULK), *loader_args, "--describe", str(describe), *auth
        )
        assert code == 0, err
        rows = rows_of(db, before)

        async def resync(ids: list[int]) -> dict[int, Any]:
            async with ServiceClient(url, API_TOKEN) as client:
                result = await client.resync(ids, request_id="files-resync-1")
            return {o.error_id: o for o in result.outcomes}

        duplicate, email = rows["61000000013"], rows["61000000011"]
        outcomes = asyncio.run(resync([duplicate["id"], email["id"]]))
        # upserted on CRM_Id__c with the row's fields: the org takes the first...
        assert outcomes[duplicate["id"]].status == "synced"
        # ...and refuses the second again for the same address the file held
        assert outcomes[email["id"]].status == "failed"
        assert outcomes[email["id"]].sf_code == "INVALID_EMAIL_ADDRESS"


def test_a_data_loader_file_with_the_loads_mapping(
    tmp_path: Path, ledger_target: Path | PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    """Data Loader's sample error file with its sample upsert mapping: only mapped columns
    are re-sent, under their fields' names, with the mapping's constant."""
    with served(tmp_path, ledger_target) as (url, _, db):
        before = last_id(db)
        code, err = ingest(capsys, str(LOADER_SAMPLE), "--object", "Opportunity",
                           "--map", str(FIXTURES / "opportunityUpsertMap.sdl"),
                           "--url", url, "--token", API_TOKEN)  # fmt: skip
        assert code == 0, err
        record = rows_of(db, before)["006x0000001YnVNAA0"]["payload"]["record"]
    assert record == {
        "attributes": {"type": "Opportunity"}, "Id": "006x0000001YnVNAA0",
        "Name": "Acme - 1,200 Widgets",
        "Description": "The deal is at  50% because they are at the sales process stage of "
                       "evaluating our ROI justification.",
        "StageName": "Value Proposition", "Amount": "140000.0", "Probability": "50.0",
        "CloseDate": "2005-12-12", "Type": "Opportunity", "NextStep": "Need estimate",
        "LeadSource": "Trade Show", "ForecastCategory": "Pipeline",
        "OwnerId": "005x0000000fNSiAAM", "Account": "4-205817",
    }  # fmt: skip


def test_a_mapping_with_labels_lookups_and_constants(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdl = tmp_path / "contactInsertMap.sdl"
    sdl.write_text(
        "#Mapping values\n"
        "First\\ Name=FirstName\n"
        "Last\\ Name=LastName\n"
        "E-mail=Email\n"
        "Owner\\ Email=Owner:Email\n"  # Data Loader's lookup by a parent's field
        "Notes=\n"
        '"Web"=LeadSource\n',
        encoding="utf-8",
    )
    path = tmp_path / "error.csv"
    path.write_text(
        '"First Name","Last Name","E-mail","Owner Email","Notes","ERROR"\n'
        '"Taro","Yamada","taro@@example.jp","admin@example.jp","n/a",'
        '"Email: invalid email address: taro@@example.jp"\n',
        encoding="utf-8",
    )
    before = last_id(demo_db)
    code, err = ingest(capsys, str(path), "--object", "Contact", "--map", str(sdl))
    assert code == 0, err
    (row,) = rows_of(demo_db, before).values()
    assert row["payload"]["record"] == {
        "attributes": {"type": "Contact"}, "FirstName": "Taro", "LastName": "Yamada",
        "Email": "taro@@example.jp", "Owner": {"Email": "admin@example.jp"},
        "LeadSource": "Web",
    }  # fmt: skip
    assert row["sf_code"] == "NO_STATUS_CODE" and row["record_name"] == "Taro Yamada"

    code, err = ingest(capsys, str(path), "--object", "Contact")
    assert code == 2 and "give the load's mapping with --map FILE.sdl" in err
    sdl.write_text("First\\ Name=First Name\n", encoding="utf-8")
    code, err = ingest(capsys, str(path), "--object", "Contact", "--map", str(sdl))
    assert code == 2 and "line 1: 'First Name' is not a Salesforce field name" in err
    sdl.write_text("First\\ Name=FirstName\nE-mail=Email_Address__c\n", encoding="utf-8")
    code, err = ingest(capsys, str(path), "--object", "Contact", "--map", str(sdl))
    assert code == 2
    assert "not fields of Contact (as the simulated org lists them): Email_Address__c" in err


# -- bad files ---------------------------------------------------------------------------------


HEADER = '"sf__Id","sf__Error",Id,FirstName,LastName,CRM_Id__c\n'


def bulk_file(path: Path, *rows: str, header: str = HEADER, encoding: str = "utf-8") -> Path:
    path.write_bytes((header + "".join(rows)).encode(encoding))
    return path


def test_a_shift_jis_file(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = LOADER_BULK.read_text(encoding="utf-8").replace("Taro", "太郎").replace("Yamada", "山田")
    path = tmp_path / "error-sjis.csv"
    path.write_bytes(text.encode("cp932"))
    before = last_id(demo_db)
    code, err = ingest(capsys, str(path), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 1
    assert "3 rows: 2 accepted" in err and "1 rejected" in err
    assert "line 2: byte 0x91 (position 2 on the line) is not utf-8 text; if the file was saved " \
        "as Shift_JIS (Excel or Data Loader on Japanese Windows), run again with " \
        "--encoding cp932" in err  # fmt: skip
    assert "61000000011" not in rows_of(demo_db, before)

    code, err = ingest(capsys, str(path), "--object", "Contact", "--external-id",
                       "CRM_Id__c", "--encoding", "cp932")  # fmt: skip
    assert code == 0, err
    assert rows_of(demo_db, before)["61000000011"]["record_name"] == "太郎 山田"
    code, err = ingest(capsys, str(path), "--object", "Contact", "--encoding", "klingon")
    assert code == 2 and "--encoding 'klingon' is not an encoding Python knows" in err

    header = tmp_path / "header-sjis.csv"
    header.write_bytes('"姓","ERROR"\n"山田","x"\n'.encode("cp932"))
    code, err = ingest(capsys, str(header), "--object", "Contact")
    assert (
        code == 2
        and "line 1: the header's byte 0x90 (position 2" in err
        and "--encoding cp932" in err
    )


def test_headers_synchealth_does_not_know(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = last_id(demo_db)
    no_header = tmp_path / "no-header.csv"
    no_header.write_text(
        '"003000000000001AAA","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to '
        'this record:--","Taro"\n',
        encoding="utf-8",
    )
    code, err = ingest(capsys, str(no_header), "--object", "Contact")
    assert code == 2 and "line 1: the file has no header line" in err
    assert "expected a Bulk API 2.0 failedResults CSV (sf__Id, sf__Error, then the job's " \
        "fields), a Data Loader error CSV (the loaded file's columns and ERROR) or JSON " \
        "Lines" in err  # fmt: skip

    other = tmp_path / "accounts.csv"
    other.write_text("Name,Phone\nAcme,03-0000-0000\n", encoding="utf-8")
    code, err = ingest(capsys, str(other), "--object", "Account")
    assert code == 2 and "line 1: the header ('Name', 'Phone') is not one synchealth knows" in err

    success = tmp_path / "success.csv"
    success.write_text('"sf__Id","sf__Created",Name\n"001000000000001AAA","true","A"\n')
    code, err = ingest(capsys, str(success), "--object", "Account")
    assert code == 2 and "successfulResults file" in err

    bulk1 = tmp_path / "batch-result.csv"
    bulk1.write_text('"Id","Success","Created","Error"\n"","false","false","X:y:--"\n')
    code, err = ingest(capsys, str(bulk1), "--object", "Account")
    assert code == 2 and "Bulk API 1.0 batch result" in err

    labels = bulk_file(tmp_path / "labels.csv", header='"First Name","ERROR"\n')
    code, err = ingest(capsys, str(labels), "--object", "Contact")
    assert code == 2 and "not Salesforce field names, so their values cannot be re-sent: " \
        "'First Name'" in err  # fmt: skip
    assert last_id(demo_db) == before


def test_a_csv_from_stdin_and_csv_options_on_json_lines(
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(LOADER_BULK.read_bytes())))
    code, err = ingest(capsys, "-", "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0 and "stdin: 3 rows: 3 accepted" in err

    jsonl = tmp_path / "one.jsonl"
    jsonl.write_text(json.dumps(item(1)) + "\n", encoding="utf-8")
    code, err = ingest(capsys, str(jsonl), "--object", "Contact")
    assert code == 0 and "1 item: 1 accepted" in err
    assert "one.jsonl is JSON Lines: its items name their object and ids themselves, so " \
        "--object is not used" in err  # fmt: skip


def test_empty_files_and_a_bom(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, err = ingest(capsys, str(empty), "--object", "Contact")
    assert code == 0 and "empty.csv is empty (or blank lines only): there is nothing" in err
    empty.write_bytes(b"\xef\xbb\xbf\r\n\n")
    code, err = ingest(capsys, str(empty))
    assert code == 0 and "there is nothing to ingest" in err

    code, err = ingest(capsys, str(FIXTURES / "bulk2_account_no_failures.csv"),
                       "--object", "Account")  # fmt: skip
    assert code == 0 and "0 rows: 0 accepted (0 new errors" in err

    before = last_id(demo_db)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + LOADER_BULK.read_bytes().replace(b"\n", b"\r\n"))
    code, err = ingest(capsys, str(bom), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0 and "3 rows: 3 accepted" in err
    rows = rows_of(demo_db, before)
    assert rows["61000000012"]["fields"] == ["LastName"]  # Error fields: behind a CRLF


def test_bad_rows_are_refused_one_by_one_with_their_lines(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge_message = "x" * 100_000
    huge_name = "名" * 100_000
    path = bulk_file(
        tmp_path / "bad-rows.csv",
        '"003000000000001AAA","UNABLE_TO_LOCK_ROW:locked:--","003000000000001AAA","A","B",""\n',
        '"003000000000002AAA","UNABLE_TO_LOCK_ROW:locked:--","","A","B\nC\nD",""\n',  # lines 3-5
        '"003000000000006AAA","UNABLE_TO_LOCK_ROW:locked:--","","A"\n',  # 6: cells missing
        '"","","","A","B","61000000007"\n',  # 7: no error
        '"not-an-id","UNABLE_TO_LOCK_ROW:locked:--","","A","B",""\n',  # 8
        f'"","FIELD_CUSTOM_VALIDATION_EXCEPTION:{huge_message}:--","","A","B","61000000009"\n',
        f'"","STRING_TOO_LONG:too long:FirstName --","","{huge_name}","B","61000000010"\n',
        "\n",  # a blank line is no row
        '"003000000000012AAA","UNABLE_TO_LOCK_ROW:locked:--","","Z","Y",""\n',  # 12
    )
    before = last_id(demo_db)
    code, err = ingest(capsys, str(path), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 1
    assert "8 rows: 5 accepted (5 new errors, 0 repeats of known errors), 3 rejected" in err
    assert "line 6: has 4 cells where the header has 6 columns" in err
    assert "line 7: sf__Error is empty: a failed row says why it failed" in err
    assert "line 8: 'not-an-id' is not a Salesforce id of 15 or 18 letters and digits" in err
    rows = rows_of(demo_db, before)
    assert set(rows) == {"003000000000001AAA", "003000000000002AAA", "61000000009",
                         "61000000010", "003000000000012AAA"}  # fmt: skip
    assert rows["003000000000002AAA"]["payload"]["record"]["LastName"] == "B\nC\nD"
    assert len(rows["61000000009"]["message"]) == 4000  # the service keeps 4,000 characters
    assert rows["61000000010"]["payload"]["record"]["FirstName"] == huge_name


def test_a_quote_never_closed_stops_with_its_line(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bulk_file(
        tmp_path / "unclosed.csv",
        '"003000000000001AAA","UNABLE_TO_LOCK_ROW:locked:--","","A","B",""\n',
        '"003000000000002AAA","UNABLE_TO_LOCK_ROW:locked:--","","A","B\n',
        '"003000000000003AAA","UNABLE_TO_LOCK_ROW:locked:--","","A","B",""\n',
    )
    before = last_id(demo_db)
    code, err = ingest(capsys, str(path), "--object", "Contact")
    assert code == 2
    assert "lines 3-4: not CSV" in err and "a quote that is never closed" in err
    assert "Nothing from this line on was sent" in err
    assert set(rows_of(demo_db, before)) == {"003000000000001AAA"}

    path = bulk_file(
        tmp_path / "giant.csv",
        '"003000000000005AAA","UNABLE_TO_LOCK_ROW:locked:--","","A","B",""\n',
        f'"003000000000006AAA","UNABLE_TO_LOCK_ROW:locked:--","","{"x" * 5_000_000}","B",""\n',
    )
    code, err = ingest(capsys, str(path), "--object", "Contact")
    assert code == 2 and "lines 3-3: a cell is larger than 4 MB" in err
    assert "003000000000005AAA" in rows_of(demo_db, before)


# -- big files ---------------------------------------------------------------------------------


def generated_rows(n: int) -> Iterator[bytes]:
    yield HEADER.encode()
    for i in range(n):
        yield (f'"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"'
               f',"","First {i}","","{61_000_000_000 + i}"\n').encode()  # fmt: skip


def test_rows_stream_without_holding_the_file() -> None:
    """200,000 rows (about 25 MB) read with a peak far below the file's size."""
    options = CsvOptions(sobject="Contact", external_id="CRM_Id__c")
    tracemalloc.start()
    try:
        file = read_failures(generated_rows(200_000), options)
        count = sum(1 for entry in file.entries if entry.item is not None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000


def test_progress_of_a_big_file_on_stderr(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingest_command, "PROGRESS_EVERY", 1000)
    path = tmp_path / "big.csv"
    path.write_bytes(b"".join(generated_rows(2500)))
    code, err = ingest(capsys, str(path), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0, err
    assert "1,000 rows read (line 1,001)..." in err and "2,000 rows read (line 2,001)..." in err
    assert "2,500 rows: 2,500 accepted (2,500 new errors" in err
    code, err = ingest(capsys, str(path), "--object", "Contact", "--external-id", "CRM_Id__c")
    assert code == 0 and "(0 new errors, 0 repeats of known errors)" in err
    # five batches sent before, said in one line
    assert err.count("had been ingested before") == 1
    assert "lines 2-2501 had been ingested before; they were not counted again" in err
