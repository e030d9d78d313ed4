"""The classifier on realistic Salesforce answers, its input shapes and its rules loader."""

# Realistic Salesforce messages are long; the tables keep one case per line.
# ruff: noqa: E501

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tui.core.catalog import load_catalog
from tui.core.classify import INTEGRATION_CODES, classify, classify_facts, read_rules
from tui.core.error_shapes import ClassifyInputError, iter_errors
from tui.core.rules_files import RulesError

TRIGGER_WRAPPING_VALIDATION = (
    "LeadTrigger: execution of AfterUpdate\n\ncaused by: System.DmlException: Update failed. "
    "First exception on row 0 with id 001xx000003DGb2AAG; first error: "
    "FIELD_CUSTOM_VALIDATION_EXCEPTION, Region is required for enterprise accounts: "
    "[Region__c]\n\nClass.LeadTriggerHandler.syncAccounts: line 42, column 1\n"
    "Trigger.LeadTrigger: line 3, column 1"
)
FLOW_WRAPPING_DUPLICATE = (
    "We can't save this record because the “Contact - Set Primary Account” process failed. "
    "Give your Salesforce admin these details. This error occurred when the flow tried to "
    "update records: DUPLICATES_DETECTED: Use one of these records?. You can look up "
    "ExceptionCode values in the SOAP API Developer Guide. Error ID: 1418475713-84066 (-9436511)"
)

# (code, message, fields, expected subtype): at least one realistic answer per subtype.
CASES = [
    ("SYNC_ASSOCIATION_LIMIT", "Company 'Acme' already has 10000 associated contacts", [], "association.association_limit"),
    ("SYNC_AWAITING_ACCOUNT", "Waiting for account 001xx000003DGb2AAG to sync", [], "association.awaiting_account_sync"),
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", TRIGGER_WRAPPING_VALIDATION, [], "custom_code.validation_rule"),
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "Apex trigger OpportunityTrigger caused an unexpected exception, contact your administrator: OpportunityTrigger: execution of BeforeUpdate caused by: System.NullPointerException: Attempt to de-reference a null object: Trigger.OpportunityTrigger: line 12, column 1", [], "custom_code.automation"),
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "ContactTrigger: execution of AfterInsert\n\ncaused by: System.LimitException: Too many SOQL queries: 101", [], "custom_code.automation"),
    ("SYNC_CONTACT_ID_MISSING", "Task 'Call back' has no Salesforce contact id for its contact", [], "custom_code.contact_id_missing"),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone number must be in international format", ["Phone"], "custom_code.validation_rule"),
    ("CANNOT_EXECUTE_FLOW_TRIGGER", FLOW_WRAPPING_DUPLICATE, [], "duplicate.duplicate_rule"),
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "We can't save this record because the “Lead Assignment” process failed. Give your Salesforce admin these details. An unhandled fault has occurred in this flow", [], "custom_code.flow"),
    ("SYNC_EMAIL_IN_USE", "Another contact already uses jane@example.com", ["Email"], "duplicate.email_in_use"),
    ("DUPLICATES_DETECTED", "Use one of these records?", [], "duplicate.duplicate_rule"),
    ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["AccountId"], "permissions.access_or_missing_record"),
    ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "insufficient access rights on cross-reference id: 001xx000003DGb2", [], "permissions.access_or_missing_record"),
    ("ENTITY_IS_DELETED", "entity is deleted", [], "permissions.access_or_missing_record"),
    ("NOT_FOUND", "The requested resource does not exist", [], "permissions.access_or_missing_record"),
    ("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Score__c. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", ["Score__c"], "permissions.field_permission"),
    ("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: CreatedDate, LastModifiedDate.", ["CreatedDate", "LastModifiedDate"], "permissions.field_permission"),
    ("INVALID_FIELD", "No such column 'Region__c' on sobject of type Lead", [], "field_mapping.type_mismatch"),
    ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [], "permissions.insufficient_access"),
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "entity type cannot be inserted: Lead", [], "permissions.insufficient_access"),
    ("SYNC_PICKLIST_OPTION_MISSING", "Salesforce picklist Industry has no option 'Agritech'", ["Industry"], "picklist.missing_option"),
    ("FIELD_INTEGRITY_EXCEPTION", "There's a problem with this state, even though it may appear correct. Please select a state from the list of valid states.: State/Province", ["StateCode"], "picklist.state_country_mismatch"),
    ("FIELD_INTEGRITY_EXCEPTION", "There's a problem with this country, even though it may appear correct. Please select a country/territory from the list of valid countries.: Country", [], "picklist.state_country_mismatch"),
    ("SYNC_OPTION_MISMATCH", "Value 'Hot_Lead' of LeadSource matches no option of lead_source", ["LeadSource"], "picklist.option_mismatch"),
    ("INACTIVE_OWNER_OR_USER", "operation performed with inactive user [005xx000001SvTn] as owner of lead", [], "picklist.invalid_owner"),
    ("INVALID_CROSS_REFERENCE_KEY", "Owner ID: owner cannot be inactive", ["OwnerId"], "picklist.invalid_owner"),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Industry: bad value for restricted picklist field: Agritech", ["Industry"], "picklist.restricted_value"),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Stage: bad value for restricted picklist field: Won-ish", ["StageName"], "picklist.invalid_deal_stage"),
    ("SYNC_INVALID_DEAL_STAGE", "Opportunity stage 'Legacy Qualify' is not in its sales process", [], "picklist.invalid_deal_stage"),
    ("SYNC_OWNER_NOT_SYNCED", "Owner 005xx000001SvTn (Chatter Free) is not a synced user", [], "picklist.owner_not_synced"),
    ("SYNC_OPTION_LIMIT", "Property industry already has 5000 options", [], "picklist.option_limit"),
    ("INVALID_CROSS_REFERENCE_KEY", "Record Type ID: this ID value isn't valid for the user: 012xx0000004MfKAAU", ["RecordTypeId"], "picklist.default_sales_process"),
    ("FIELD_INTEGRITY_EXCEPTION", "Unable to find default record type", [], "picklist.default_sales_process"),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: [StageName]", ["StageName"], "picklist.deal_stage_missing"),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: [CloseDate, Stage]", [], "picklist.deal_stage_missing"),
    ("SYNC_DEAL_STAGE_MISSING", "Stage 'Negotiation' does not exist in pipeline Sales", [], "picklist.deal_stage_missing"),
    ("INVALID_TYPE_ON_FIELD_IN_RECORD", "Employees: value not of required type: fifty", ["NumberOfEmployees"], "field_mapping.type_mismatch"),
    ("JSON_PARSER_ERROR", "Cannot deserialize instance of double from VALUE_STRING value twelve or request may be missing a required field at [line:1, column:31]", [], "field_mapping.type_mismatch"),
    ("MALFORMED_ID", "Account ID: id value of incorrect type: Acme Corporation", ["AccountId"], "field_mapping.sf_id_missing"),
    ("FIELD_INTEGRITY_EXCEPTION", "Contact ID: id value of incorrect type: jane@example.com", ["ContactId"], "field_mapping.sf_id_missing"),
    ("MALFORMED_ID", "Account ID: id value of incorrect type: 003xx000004TmiQAAS", ["AccountId"], "field_mapping.invalid_sf_id"),
    ("FIELD_FILTER_VALIDATION_EXCEPTION", "Value does not exist or does not match filter criteria.", ["Partner_Account__c"], "field_mapping.invalid_sf_id"),
    ("STRING_TOO_LONG", "Company: data value too large: Kabushiki Kaisha Example Holdings International Group (max length=40)", ["Company"], "property_value.string_too_long"),
    ("INVALID_EMAIL_ADDRESS", "Email: invalid email address: jane.doe@@example", ["Email"], "property_value.invalid_email"),
    ("FIELD_INTEGRITY_EXCEPTION", "A country must be specified before specifying a state value for field: State/Province", ["StateCode"], "property_value.country_required"),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: [CountryCode]", ["CountryCode"], "property_value.country_required"),
    ("NUMBER_OUTSIDE_VALID_RANGE", "Annual Revenue: value outside of valid range on numeric field: 1.0E20", ["AnnualRevenue"], "property_value.invalid_value"),
    ("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: unknown (Probability must be between 0 and 100)", ["Probability"], "property_value.invalid_value"),
    ("INVALID_ASSIGNEE_TYPE", "Assigned To ID: assignee cannot be of this type", ["OwnerId"], "property_value.queue_assignment"),
    ("FIELD_INTEGRITY_EXCEPTION", "Queue not associated with this SObject type", ["OwnerId"], "property_value.queue_assignment"),
    ("DUPLICATE_VALUE", "duplicate value found: External_Key__c duplicates value on record with id: 003xx000004TmiQ", ["External_Key__c"], "property_value.unique_value"),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"], "property_value.required_value"),
    ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: 001xx000003DGb2AAG", [], "other.unknown"),
    ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234-5678 (-1)", [], "other.unknown"),
    ("", "", [], "other.unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "message", "fields", "expected"), CASES)
def test_realistic_errors_land_in_their_subtype(
    code: str, message: str, fields: list[str], expected: str
) -> None:
    result = classify({"errorCode": code, "message": message, "fields": fields})
    assert result.subtype == expected
    assert result.type == expected.partition(".")[0]
    assert result.sf_code == code
    assert result.message == message


def test_remembered_classifications_are_the_classifiers_and_a_repeat_is_looked_up() -> None:
    for code, message, fields, _ in CASES:
        fresh = classify({"statusCode": code, "message": message, "fields": fields})
        assert classify_facts(code, message, tuple(fields)) == fresh
        before = classify_facts.cache_info()
        assert classify_facts(code, message, tuple(fields)) == fresh
        after = classify_facts.cache_info()
        assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_every_catalog_subtype_is_reachable() -> None:
    reached = {case[-1] for case in CASES}
    assert reached == set(load_catalog().subtype_codes)


def test_collections_results_use_status_code() -> None:
    result = classify({"statusCode": "STRING_TOO_LONG", "message": "Title: data value too large", "fields": ["Title"]})  # fmt: skip
    assert (result.subtype, result.sf_code, result.fields) == (
        "property_value.string_too_long", "STRING_TOO_LONG", ("Title",),
    )  # fmt: skip


def test_a_trigger_gives_way_to_the_validation_rule_it_tripped() -> None:
    """The inner error is what someone has to fix; the trigger is named in ``rule``."""
    result = classify({"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                       "message": TRIGGER_WRAPPING_VALIDATION, "fields": []})  # fmt: skip
    assert result.subtype == "custom_code.validation_rule"
    assert result.cause == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert result.fields == ("Region__c",)
    assert result.rule == "apex-trigger > code FIELD_CUSTOM_VALIDATION_EXCEPTION"


def test_a_flow_fault_reports_its_cause_and_gives_way_to_it() -> None:
    result = classify({"statusCode": "CANNOT_EXECUTE_FLOW_TRIGGER",
                       "message": FLOW_WRAPPING_DUPLICATE, "fields": []})  # fmt: skip
    assert (result.subtype, result.cause) == ("duplicate.duplicate_rule", "DUPLICATES_DETECTED")
    assert result.rule == "flow-fault > code DUPLICATES_DETECTED"


def test_a_flow_that_fails_on_a_broken_trigger_is_the_triggers_failure() -> None:
    message = ("We can't save this record because the “Sync Owner” process failed. This error "
               "occurred when the flow tried to update records: CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY: "
               "AccountTrigger: execution of AfterUpdate caused by: System.NullPointerException")  # fmt: skip
    result = classify({"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "message": message})
    assert result.subtype == "custom_code.automation"
    assert result.rule == "flow-fault > apex-trigger"
    assert result.cause == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"


def test_a_flow_whose_inner_error_is_not_recognised_stays_the_flows() -> None:
    message = ("An error occurred with your \"Lead_Router\" flow. This error occurred: "
               "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record.")  # fmt: skip
    result = classify({"errorCode": "CANNOT_EXECUTE_FLOW_TRIGGER", "message": message})
    assert (result.subtype, result.cause, result.rule) == (
        "custom_code.flow", "UNABLE_TO_LOCK_ROW", "flow-fault",
    )  # fmt: skip


def test_a_wrapper_without_trigger_or_flow_gives_way_to_its_inner_cause() -> None:
    message = ("Update failed. First exception on row 0 with id 00Qxx0000012abc; first error: "
               "STRING_TOO_LONG, Company: data value too large: x (max length=40): [Company]")  # fmt: skip
    result = classify({"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "message": message})
    assert (result.subtype, result.cause, result.fields) == (
        "property_value.string_too_long", "STRING_TOO_LONG", ("Company",),
    )  # fmt: skip
    assert result.sf_code == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assert result.rule == "code CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY > code STRING_TOO_LONG"


def test_an_unrecognised_inner_cause_leaves_the_automation_in_charge() -> None:
    message = (
        "Update failed. first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access: []"
    )
    result = classify({"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "message": message})
    assert (result.subtype, result.cause) == ("custom_code.automation", "UNABLE_TO_LOCK_ROW")


def _nest(depth: int) -> str:
    """A trigger whose DML fires a trigger whose DML fires... ``depth`` levels down."""
    inner = (
        "first error: REQUIRED_FIELD_MISSING, Required fields are missing: [LastName]: [LastName]"
    )
    for level in range(depth):
        inner = (f"Trigger{level}: execution of AfterInsert caused by: System.DmlException: Insert "
                 f"failed. First exception on row 0; first error: CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, {inner}")  # fmt: skip
    return inner


@pytest.mark.parametrize("depth", [1, 2, 5, 10])
def test_wrapped_causes_are_unwrapped_at_any_depth(depth: int) -> None:
    result = classify(
        {"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "message": _nest(depth)}
    )
    assert (result.subtype, result.cause, result.fields) == (
        "property_value.required_value", "REQUIRED_FIELD_MISSING", ("LastName",),
    )  # fmt: skip
    assert result.rule.endswith("> code REQUIRED_FIELD_MISSING")


def test_odd_values_count_as_empty_or_text() -> None:
    result = classify({"errorCode": None, "message": 42, "fields": "Email"})
    assert (result.subtype, result.sf_code, result.message, result.fields) == (
        "other.unknown", "", "42", ("Email",),
    )  # fmt: skip


def test_integration_codes_cover_the_integration_raised_subtypes_and_round_trip() -> None:
    catalog = load_catalog()
    raised = {s.code for t in catalog.types for s in t.subtypes if s.origin == "integration"}
    assert raised <= set(INTEGRATION_CODES)
    assert len(set(INTEGRATION_CODES.values())) == len(INTEGRATION_CODES)
    for subtype, code in INTEGRATION_CODES.items():
        assert code.startswith("SYNC_")
        assert classify({"statusCode": code, "message": "", "fields": []}).subtype == subtype


# -- input shapes -------------------------------------------------------------

ERROR = {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
FAILED = {"id": None, "success": False,
          "errors": [{"statusCode": "STRING_TOO_LONG", "message": "m1", "fields": ["Title"]},
                     {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "m2", "fields": ["Email"]}]}  # fmt: skip
OK = {"id": "00Qxx0000012abc", "success": True, "errors": []}


@pytest.mark.parametrize(
    ("doc", "codes"),
    [
        (ERROR, ["ENTITY_IS_DELETED"]),
        ([ERROR, ERROR], ["ENTITY_IS_DELETED", "ENTITY_IS_DELETED"]),
        (FAILED, ["STRING_TOO_LONG", "INVALID_EMAIL_ADDRESS"]),
        ([OK, FAILED, OK], ["STRING_TOO_LONG", "INVALID_EMAIL_ADDRESS"]),
        (OK, []),
        ([], []),
    ],
)
def test_iter_errors_normalises_every_shape(doc: object, codes: list[str]) -> None:
    found = [e.get("errorCode") or e.get("statusCode") for e in iter_errors(doc)]
    assert found == codes


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("STRING_TOO_LONG", "got a string"),
        (42, "got a number"),
        (None, "got null"),
        ({"message": "no code"}, "neither a Salesforce error"),
        ([ERROR, "x"], "array item 1 is a string"),
        ([[ERROR]], "array item 0 is an array"),
        ({"success": "no", "errors": []}, "'success' must be true or false"),
        ({"success": False, "errors": []}, "non-empty 'errors' array"),
        ({"success": False, "errors": [{"message": "m"}]}, "errors[0] is not an error"),
    ],
)
def test_iter_errors_rejects_other_shapes_clearly(doc: object, expected: str) -> None:
    with pytest.raises(ClassifyInputError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        list(iter_errors(doc))


# -- the rules loader ---------------------------------------------------------


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    target.mkdir()
    for entry in resources.files("tui.core").joinpath("rules").iterdir():
        if entry.name.endswith(".toml"):
            (target / entry.name).write_text(entry.read_text("utf-8"), "utf-8")
    return target


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8") + text, "utf-8")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[[rule]]\nid = "x"\ncodes = ["X"]\nmessage = "(unclosed"\nsubtype = "other.unknown"\n', "bad regular expression"),
        ('[[rule]]\nid = "x"\ncodes = ["X"]\nsubtype = "picklist.nonsense"\n', "unknown subtype 'picklist.nonsense'"),
        ('[[rule]]\nid = "x"\nmessage = "x"\n', "subtype"),
        ('[[rule]]\ncodes = ["X"]\nsubtype = "other.unknown"\n', "id"),
        ('[[rule]]\nid = "Not An Id"\ncodes = ["X"]\nsubtype = "other.unknown"\n', "should match pattern"),
        ('[[rule]]\nid = "flow-fault"\ncodes = ["X"]\nsubtype = "other.unknown"\n', "rule id 'flow-fault' is used twice"),
        ('[[rule]]\nid = "x"\nsubtype = "other.unknown"\n', "would match everything"),
        ('[[rule]]\nid = "x"\ncodes = ["X"]\nsubtype = "other.unknown"\n[[rule]]\nid = "y"\ncodes = ["X"]\nmessage = "m"\nsubtype = "other.unknown"\n', "can never match"),
        ('[[rule]]\nid = "x"\ncodes = ["SYNC_OPTION_LIMIT"]\nsubtype = "other.unknown"\n', "also used by rules: SYNC_OPTION_LIMIT"),
        ('[[rule]]\nid = "x"\ncodes = ["X"]\nsubtyp = "other.unknown"\n', "subtyp"),
        ('[[rule]]\nid = "x"\ncodes = []\nsubtype = "other.unknown"\n', "at least 1 item"),
        ('[[status]]\ncodes = ["STRING_TOO_LONG"]\nsubtype = "other.unknown"\n', "code STRING_TOO_LONG is mapped twice"),
        ('[[status]]\ncodes = ["X"]\nsubtype = "other.unknown"\nreason = "r"\n', "exactly one of 'subtype' or 'reason'"),
        ('[[status]]\ncodes = ["X"]\n', "exactly one of 'subtype' or 'reason'"),
        ('[[status]]\ncodes = ["X"]\nsubtype = "picklist.nonsense"\n', "unknown subtype 'picklist.nonsense'"),
        ('[[status]]\ncodes = ["SYNC_OPTION_LIMIT"]\nreason = "r"\n', "also used by rules: SYNC_OPTION_LIMIT"),
        ('[[cause]]\npattern = "first error: (?P<x>.*)"\n', "lacks (?P<code>)"),
        ('[[rule]]\nid = "x"\nmessage = "m"\nsubtype = "other.unknown"\nlost_code = true\n', "lost_code rule needs the codes"),
        ('[[rule]]\nid = "x"\ncodes = ["X"]\nsubtype = "other.unknown"\nlost_code = true\n', "lost_code rule needs the codes"),
        ('[[rule\n', "not valid TOML"),
    ],
)  # fmt: skip
def test_the_rules_loader_rejects_bad_rules(rules_copy: Path, extra: str, expected: str) -> None:
    assert read_rules(rules_copy).classify(ERROR).subtype == "permissions.access_or_missing_record"
    _append(rules_copy / "salesforce.toml", "\n" + extra)
    with pytest.raises(RulesError) as caught:
        read_rules(rules_copy)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"picklist.nonsense" = "SYNC_NONSENSE"', "unknown subtype 'picklist.nonsense'"),
        ('"other.unknown" = "lowercase"', "must look like SYNC_NAME"),
        ('"other.unknown" = "SYNC_OPTION_LIMIT"', "listed twice"),
    ],
)
def test_the_rules_loader_checks_integration_codes(
    rules_copy: Path, line: str, expected: str
) -> None:
    _append(rules_copy / "integration.toml", line + "\n")
    with pytest.raises(RulesError, match=expected):
        read_rules(rules_copy)


# -- bad input ----------------------------------------------------------------

#: Inputs built to make a backtracking regex take hours: long runs of what a
#: pattern's optional or repeated parts almost match. Each is 100 kB or more.
HOSTILE = [
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "first error: STRING_TOO_LONG, " + ": [" * 40_000),
    (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "first error: STRING_TOO_LONG, x" + " " * 100_000 + "y",
    ),
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "first error: ABC_DEF, " * 5_000),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: " + "[a," * 40_000),
    ("INVALID_FIELD", "Foreign key external ID: " * 5_000),
    ("FIELD_INTEGRITY_EXCEPTION", "id value of incorrect type: " + "a" * 100_000),
    ("", "This error occurred when the flow tried to update records: ABC: " * 2_000),
    ("UNKNOWN_EXCEPTION", "x" * 100_000),
]


def test_hostile_100kb_messages_classify_in_bounded_time() -> None:
    """Time-insensitive: the old cause pattern needed ~1 s for 8 kB of spaces and grows
    with the square of the length (minutes at 100 kB); the limit here is two minutes.

    The cases run in a child process so that a hang fails the test instead of the suite.
    """
    program = (
        "import json, sys\n"
        "from tui.core.classify import classify\n"
        "for code, message in json.load(sys.stdin):\n"
        "    got = classify({'errorCode': code, 'message': message, 'fields': []})\n"
        "    assert got.message == message\n"
        "    print(got.subtype, got.rule, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], input=json.dumps(HOSTILE),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(HOSTILE)


@pytest.mark.parametrize(
    ("error", "subtype", "rule"),
    [
        ({"errorCode": "NO_SUCH_CODE_EVER", "message": "x"}, "other.unknown", "unknown-code"),
        ({"errorCode": "", "message": ""}, "other.unknown", "no-code"),
        ({"message": None, "fields": None}, "other.unknown", "no-code"),
        ({"statusCode": "  STRING_TOO_LONG  ", "message": ""}, "property_value.string_too_long", "code STRING_TOO_LONG"),
        ({"statusCode": ["STRING_TOO_LONG"], "message": {"a": 1}}, "other.unknown", "unknown-code"),
        ({"statusCode": "REQUIRED_FIELD_MISSING", "message": "", "fields": [1, None, {"a": 1}]}, "property_value.required_value", "code REQUIRED_FIELD_MISSING"),
    ],
)  # fmt: skip
def test_odd_input_never_crashes_and_says_which_rule(
    error: dict[str, object], subtype: str, rule: str
) -> None:
    got = classify(error)
    assert (got.subtype, got.rule) == (subtype, rule)
    assert isinstance(got.message, str)
    assert all(isinstance(f, str) for f in got.fields)
    if subtype == "other.unknown":
        assert got.reason


def test_unknown_codes_say_why_they_are_unknown() -> None:
    got = classify({"errorCode": "BRAND_NEW_CODE", "message": "Something new"})
    assert got.reason is not None and "BRAND_NEW_CODE" in got.reason
    assert classify({"errorCode": "", "message": "m"}).reason == (
        "The error has no errorCode or statusCode."
    )


# -- errors that lost their code, codes nobody knows, bare Apex exceptions ------


@pytest.mark.parametrize(
    ("message", "subtype", "rule"),
    [
        ("Required fields are missing: [LastName]", "property_value.required_value", "message-required"),
        ("insufficient access rights on object id", "permissions.insufficient_access", "message-insufficient-access"),
        ("insufficient access rights on cross-reference id", "permissions.access_or_missing_record", "message-cross-reference"),
        ("DUPLICATES_DETECTED, Duplicate Alert: []", "duplicate.duplicate_rule", "message-duplicates-detected"),
        ("duplicate value found: Email_2__c duplicates value on record with id: 00Q000000000001", "property_value.unique_value", "message-duplicate-value"),
        ("This user is inactive", "picklist.invalid_owner", "owner-inactive"),
        ("System.LimitException: Too many SOQL queries: 101", "custom_code.automation", "apex-exception"),
        ("An Apex error occurred: System.ListException: Duplicate id in list: 0030Z00003cAkZbQAK", "custom_code.automation", "apex-exception"),
    ],
)  # fmt: skip
def test_an_error_that_lost_its_code_is_judged_by_the_message_its_code_gives(
    message: str, subtype: str, rule: str
) -> None:
    got = classify({"message": message})
    assert (got.subtype, got.rule) == (subtype, rule)


def test_with_its_code_present_the_code_decides_not_the_lost_code_rule() -> None:
    got = classify(
        {
            "errorCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
        }
    )
    assert (got.subtype, got.rule) == (
        "property_value.required_value",
        "code REQUIRED_FIELD_MISSING",
    )


def test_a_code_no_rule_knows_is_judged_by_every_rule() -> None:
    # The Bulk API's batch states are not status codes: the message decides.
    got = classify(
        {"errorCode": "InvalidBatch", "message": "InvalidBatch : Field name not found : Name"}
    )
    assert (got.subtype, got.rule) == ("field_mapping.type_mismatch", "no-such-column")
    # A status code the table knows keeps to the rules written for it.
    got = classify({"errorCode": "STRING_TOO_LONG", "message": "Field name not found : Name"})
    assert (got.subtype, got.rule) == ("property_value.string_too_long", "code STRING_TOO_LONG")
