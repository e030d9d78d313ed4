"""The cause normaliser: messages that differ only by ids, values, names and numbers are
one cause; what names the cause (field, object, subtype, automation) keeps them apart.

Messages are real Salesforce REST error texts: the classifier's corpus (tests/corpus/,
each line with its public source), its table (tests/test_classify.py, CASES) and the
simulated org's demo ledger.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from pg_harness import demo_ledger, ledger_rows

from tests.test_classify import CASES
from tui.core.causes import cause_key, cause_template
from tui.service.db import PostgresTarget

SAME_CAUSE = [
    ("Contact Tier: bad value for restricted picklist field: Diamond",
     "Contact Tier: bad value for restricted picklist field: ゴールド",
     "Contact Tier: bad value for restricted picklist field: <value>"),
    ("Email: invalid email address: jane@@example.com",
     "Email: invalid email address: yumi.watanabe837@hokuto-sys.jp.",
     "Email: invalid email address: <value>"),
    ("insufficient access rights on cross-reference id: 001xx000003DGb2",
     "insufficient access rights on cross-reference id: 0065g00000AbCdEAAV",
     "insufficient access rights on cross-reference id: <id>"),
    ("operation performed with inactive user [005xx000001SvTn] as owner of lead",
     "operation performed with inactive user [0055g000000000Z] as owner of lead",
     "operation performed with inactive user [<id>] as owner of lead"),
    ("Company 'Acme' already has 10000 associated contacts",
     "Company 'みなと銀行' already has 9,999 associated contacts",
     "Company '<value>' already has <n> associated contacts"),
    ("Title: data value too large: Head of Global Partnerships and Alliances (max length=128)",
     "Title: data value too large: 営業本部 部長 (max length=128)",
     "Title: data value too large: <value> (max length=<n>)"),
    ("Waiting for the Salesforce account Acme Japan KK to sync to a CRM company before this "
     "contact can be associated.",
     "Waiting for the Salesforce account 北斗システムズ合同会社 大阪支店 to sync to a CRM company "
     "before this contact can be associated.",
     "Waiting for the Salesforce account <value> to sync to a CRM company before this contact "
     "can be associated."),
    ("An unexpected error occurred. Please include this ErrorId if you contact support: "
     "1418475713-84066 (-9436511)",
     "An unexpected error occurred. Please include this ErrorId if you contact support: "
     "2093871112-1202 (-1817367)",
     "An unexpected error occurred. Please include this ErrorId if you contact support: "
     "<n>-<n> (-<n>)"),
]  # fmt: skip


@pytest.mark.parametrize(("one", "other", "template"), SAME_CAUSE)
def test_values_ids_names_and_numbers_make_no_new_cause(one: str, other: str, template: str):
    assert cause_template(one) == cause_template(other) == template
    assert cause_key("t.s", "Contact", one) == cause_key("t.s", "Contact", other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Contact Tier: bad value for restricted picklist field: Gold",
         "Region: bad value for restricted picklist field: Gold"),
        ("We can't save this record because the “Lead Assignment” process failed.",
         "We can't save this record because the “Partner Contact Routing” process failed."),
        ("No such column 'Region__c' on sobject of type Lead",
         "No such column 'Score__c' on sobject of type Lead"),
        ("Required fields are missing: [LastName]", "Required fields are missing: [Company]"),
    ],
)  # fmt: skip
def test_what_names_the_cause_keeps_causes_apart(one: str, other: str) -> None:
    assert cause_key("t.s", "Lead", one) != cause_key("t.s", "Lead", other)


def test_subtype_and_object_are_part_of_the_cause() -> None:
    message = "Industry: bad value for restricted picklist field: Agritech"
    keys = {
        cause_key("picklist.restricted_value", "Lead", message),
        cause_key("picklist.restricted_value", "Account", message),
        cause_key("picklist.invalid_deal_stage", "Lead", message),
    }
    assert len(keys) == 3


def test_the_key_is_stable_across_runs_and_versions() -> None:
    """Keys are stored per error: a change here regroups every ledger."""
    key = cause_key(
        "picklist.restricted_value",
        "Contact",
        "Contact Tier: bad value for restricted picklist field: X",
    )
    assert key == "002ecc5b97067dac"
    assert key == cause_key(
        "picklist.restricted_value",
        "Contact",
        "Contact  Tier:   bad value for restricted picklist field:   Y",
    )


@pytest.mark.parametrize(("code", "message", "fields", "subtype"), CASES)
def test_no_id_or_address_survives_in_a_real_message(
    code: str, message: str, fields: list[str], subtype: str
) -> None:
    template = cause_template(message)
    assert not re.search(r"\b(?=\w*\d)[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?\b", template), template
    assert "@" not in template.replace("<email>", "")
    assert template == cause_template(message)  # deterministic


async def test_the_demo_ledger_groups_into_few_causes(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    await demo_ledger(ledger_target, tmp_path, 3000)
    rows = await ledger_rows(ledger_target, "SELECT subtype, sf_object, message FROM errors")
    causes: dict[str, set[str]] = defaultdict(set)
    for subtype, sf_object, message in rows:
        causes[cause_key(subtype, sf_object, message)].add(message)
    distinct = len({m for _, _, m in rows})
    assert distinct > 700 and len(causes) < 130
    picklist = {cause_template(m) for s, o, m in rows if s == "picklist.restricted_value"}
    assert all(t.endswith("bad value for restricted picklist field: <value>") for t in picklist)


#: The classifier's real-message corpus: one real Salesforce message a line, each with
#: the public source it was taken from (tests/corpus/salesforce_errors.jsonl).
CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "corpus/salesforce_errors.jsonl").read_text().splitlines()
    if line.strip()
]
_ID = re.compile(r"\b(?=\w*\d)(?=\w*[A-Za-z])[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?\b")


@pytest.mark.parametrize("line", CORPUS, ids=lambda line: line["source"][-40:])
def test_on_the_real_corpus_ids_and_addresses_go_and_fields_stay(line: dict) -> None:
    message = line["message"]
    template = cause_template(message)
    assert template == cause_template(message)
    assert not _ID.search(template), template
    assert "@" not in template.replace("<email>", "")
    for field in line["fields"]:
        if re.search(rf"\b{re.escape(field)}\b", message):
            assert re.search(rf"\b{re.escape(field)}\b", template), (field, template)


def test_the_corpus_errors_that_differ_only_by_ids_and_numbers_are_one_cause() -> None:
    unexpected = [
        line["message"]
        for line in CORPUS
        if line["message"].startswith("An unexpected error occurred. Please include this ErrorId")
    ]
    assert len(set(unexpected)) >= 4
    assert len({cause_key("other.unknown", "Lead", m) for m in unexpected}) == 1
    causes = {(line["subtype"], cause_template(line["message"])) for line in CORPUS}
    assert len(causes) < len({line["message"] for line in CORPUS})
