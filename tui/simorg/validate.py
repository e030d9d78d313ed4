"""How the simulated org judges one record of an sObject Collections update or insert.

The checks run in Salesforce's order of execution, roughly: the record itself
(id, existence, access), system validation of each field (security, type, length,
picklists, email, lookups, owners, addresses, required), then the org's
customisations: the before-save flow, the Apex trigger, validation rules, the
duplicate rule, unique fields. Like Salesforce, a stage that finds problems reports
all of them and stops the later stages; errors come with the ``statusCode`` and
message style Salesforce uses. The message builders below are shared with the demo
generator so recorded errors match what the org answers.

A little over ~400 lines on purpose: the message builders and the checks that use
them are kept side by side, so each check's wording can be read against Salesforce's.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from tui.core import sobjects as md
from tui.core.sobjects import KEY_PREFIX, OBJECT_OF_PREFIX
from tui.simorg.ids import is_well_formed, make_id, parse_id, suffix
from tui.simorg.state import OrgState

SfError = dict[str, Any]

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE_RULE = re.compile(r"^[0-9+()\- ]{6,}$")

LEAD_TRIGGER = "LeadRoutingTrigger"
CONTACT_FLOW = "Partner Contact Routing"
DUPLICATE_RULE_MESSAGE = (
    "You're creating a duplicate record. We recommend you use an existing record instead."
)
PHONE_RULE_MESSAGE = "電話番号は半角数字・ハイフン・括弧で入力してください (例: 03-1234-5678)"
LOSS_REASON_RULE_MESSAGE = "Closed Lost opportunities need a Loss Reason."


def err(code: str, message: str, fields: list[str] | None = None) -> SfError:
    return {"statusCode": code, "message": message, "fields": fields or []}


# -- message builders (shared with the demo generator) ------------------------


def fls_message(names: list[str]) -> str:
    return (
        f"Unable to create/update fields: {', '.join(names)}. Please check the security "
        "settings of this field and verify that it is read/write for your profile or "
        "permission set."
    )


def too_long_message(label: str, value: str, length: int) -> str:
    return f"{label}: data value too large: {value} (max length={length})"


def bad_email_message(label: str, value: str) -> str:
    return f"{label}: invalid email address: {value}"


def bad_picklist_message(label: str, value: str) -> str:
    return f"{label}: bad value for restricted picklist field: {value}"


def wrong_type_message(label: str, value: object) -> str:
    return f"{label}: value not of required type: {value}"


def out_of_range_message(label: str, value: object) -> str:
    return f"{label}: value outside of valid range on numeric field: {value}"


def bad_id_message(label: str, value: object) -> str:
    return f"{label}: id value of incorrect type: {value}"


def required_message(names: list[str]) -> str:
    return f"Required fields are missing: [{', '.join(names)}]"


def inactive_owner_message(user_id: str, sobject: str) -> str:
    return f"operation performed with inactive user [{user_id[:15]}] as owner of {sobject.lower()}"


def queue_assignee_message(queue_id: str) -> str:
    return f"Assigned To ID: a task can't be assigned to a queue: {queue_id[:15]}"


def record_type_message(rt_id: str) -> str:
    return f"Record Type ID: this ID value isn't valid for the user: {rt_id}"


def country_required_message(state_label: str) -> str:
    return f"A country must be specified before specifying a state value for field: {state_label}"


COUNTRY_MESSAGE = (
    "There's a problem with this country, even though it may appear correct. Please "
    "select a country/territory from the list of valid countries."
)
STATE_MESSAGE = (
    "There's a problem with this state, even though it may appear correct. Please select "
    "a state from the list of valid states."
)


def cross_ref_access_message(value: str) -> str:
    return f"insufficient access rights on cross-reference id: {value}"


def unique_message(field: str, holder_id: str) -> str:
    return f"duplicate value found: {field} duplicates value on record with id: {holder_id}"


def error_id(record_id: str, salt: str) -> str:
    """A Salesforce-style support ErrorId, stable for one record and cause."""
    h = zlib.crc32(f"{salt}:{record_id}".encode())
    return f"{h % 2_000_000_000}-{h % 99_991} ({-(h % 1_999_999_937)})"


def trigger_message(record_id: str) -> str:
    return (
        f"{LEAD_TRIGGER}: execution of BeforeUpdate\n\ncaused by: "
        "System.NullPointerException: Attempt to de-reference a null object\n\n"
        f"Trigger.{LEAD_TRIGGER}: line 27, column 1"
    )


def flow_message(record_id: str) -> str:
    return (
        f"We can't save this record because the “{CONTACT_FLOW}” process failed. Give your "
        "Salesforce admin these details. An unhandled fault has occurred in this flow. An "
        "error occurred at element Get_Partner_Account (FlowRecordLookup). Error ID: "
        f"{error_id(record_id, 'flow')}"
    )


def unknown_message(record_id: str) -> str:
    return (
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        f"{error_id(record_id, 'unknown')}"
    )


# -- the checks -----------------------------------------------------------------

#: Field names are case-insensitive: jsforce and Salesforce's own examples send ``id``.
_ID_KEYS = ("Id", "id")
_NOT_FIELDS = frozenset(("attributes", *_ID_KEYS))


def record_id_of(record: Mapping[str, Any]) -> Any:
    """The record's ``Id`` (or ``id``) as sent; None when it has neither."""
    return next((record[k] for k in _ID_KEYS if record.get(k)), None)


def check_record(state: OrgState, record: Mapping[str, Any]) -> list[SfError]:
    """The errors Salesforce would report for updating ``record`` (none: it saves)."""
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, Mapping) else None
    if not isinstance(sobject, str) or sobject not in md.FIELDS:
        return [err("INVALID_TYPE", "Must send a concrete entity type.")]
    record_id = record_id_of(record)
    if not record_id:
        return [err("MISSING_ARGUMENT", "Id not specified in an update call")]
    if not is_well_formed(record_id) or record_id[:3] != KEY_PREFIX[sobject]:
        return [err("MALFORMED_ID", bad_id_message(f"{sobject} ID", record_id), ["Id"])]
    prefix, counter = parse_id(record_id)
    status = state.status(prefix, counter)
    if status == "deleted":
        return [err("ENTITY_IS_DELETED", "entity is deleted")]
    if status == "missing":
        return [err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
    assert counter is not None
    if state.is_private(prefix, counter):
        return [err("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")]
    values = {k: v for k, v in record.items() if k not in _NOT_FIELDS}
    merged = {**state.written.get(record_id[:15], {}), **values}
    return _check_fields(state, sobject, record_id, values, merged, inserting=False)


def check_new_record(
    state: OrgState, sobject: str, record_id: str, values: Mapping[str, Any]
) -> list[SfError]:
    """The errors Salesforce would report for inserting ``values`` as ``record_id``."""
    defaults = {f.name: f.default for f in md.FIELDS[sobject].values() if f.default is not None}
    merged = {**defaults, **values}
    return _check_fields(state, sobject, record_id, values, merged, inserting=True)


def _check_fields(
    state: OrgState,
    sobject: str,
    record_id: str,
    values: Mapping[str, Any],
    merged: Mapping[str, Any],
    *,
    inserting: bool,
) -> list[SfError]:
    """System validation, then automation, then the org's rules, each stage all at once.

    An update needs only the required fields it sends to be filled; an insert needs
    every required field (after defaults).
    """
    fields = md.FIELDS[sobject]
    for name in values:
        if name not in fields:
            return [err("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")]
    problems: list[SfError] = []
    readonly = [n for n in values if not fields[n].updateable]
    if readonly:
        problems.append(err("INVALID_FIELD_FOR_INSERT_UPDATE", fls_message(readonly), readonly))
    for name, value in values.items():
        problem = _check_value(state, sobject, fields[name], value)
        if problem is not None:
            problems.append(problem)
    checked = fields if inserting else values
    missing = [n for n in checked if fields[n].required and merged.get(n) in (None, "")]
    if missing:
        problems.append(err("REQUIRED_FIELD_MISSING", required_message(missing), missing))
    problems += [p for p in (_check_address(sobject, values), _check_stage(sobject, merged)) if p]
    if problems:
        return problems
    automation = _check_automation(sobject, record_id, values)
    if automation is not None:
        return [automation]
    return _check_rules(state, sobject, record_id, merged, values)


def _check_value(state: OrgState, sobject: str, f: md.FieldDef, value: Any) -> SfError | None:
    if value is None or value == "":
        return None
    kind = f.kind
    wrong_type = err(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", wrong_type_message(f.label, value), [f.name]
    )
    if kind in (md.NUMBER, md.PERCENT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return wrong_type
        if kind == md.PERCENT and not 0 <= value <= 100:
            return err("NUMBER_OUTSIDE_VALID_RANGE", out_of_range_message(f.label, value), [f.name])
        return None
    if kind == md.BOOLEAN:
        if not isinstance(value, bool):
            return wrong_type
        return None
    if kind == md.DATE:
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return wrong_type
        return None
    if not isinstance(value, str):
        return wrong_type
    if kind == md.REFERENCE:
        return _check_reference(state, sobject, f, value)
    if f.length and len(value) > f.length:
        return err("STRING_TOO_LONG", too_long_message(f.label, value, f.length), [f.name])
    if kind == md.EMAIL and not _EMAIL.match(value):
        return err("INVALID_EMAIL_ADDRESS", bad_email_message(f.label, value), [f.name])
    if kind == md.PICKLIST and f.restricted and value not in f.values:
        return err(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            bad_picklist_message(f.label, value),
            [f.name],
        )
    return None


def _check_reference(state: OrgState, sobject: str, f: md.FieldDef, value: str) -> SfError | None:
    if not is_well_formed(value):
        return err("MALFORMED_ID", bad_id_message(f.label, value), [f.name])
    prefix, counter = parse_id(value)
    if prefix not in f.refs:
        if prefix == KEY_PREFIX["Group"] and sobject == "Task" and f.name == "OwnerId":
            return err("INVALID_ASSIGNEE_TYPE", queue_assignee_message(value), [f.name])
        return err("FIELD_INTEGRITY_EXCEPTION", bad_id_message(f.label, value), [f.name])
    target = OBJECT_OF_PREFIX[prefix]
    if target == "User":
        user = state.users.get(value[:15])
        if user is None:
            return err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if not user.active:
            return err("INACTIVE_OWNER_OR_USER", inactive_owner_message(user.id, sobject), [f.name])
        return None
    if target == "Group":
        if value[:15] not in state.queues:
            return err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if sobject == "Task":
            return err("INVALID_ASSIGNEE_TYPE", queue_assignee_message(value), [f.name])
        return None
    if target == "RecordType":
        rt = md.RECORD_TYPES.get(counter or 0)
        if rt is None or not rt[2]:
            return err("INVALID_CROSS_REFERENCE_KEY", record_type_message(value), [f.name])
        return None
    status = state.status(prefix, counter)
    if status == "deleted":
        return err("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    if status == "missing":
        return err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    if counter is not None and state.is_private(prefix, counter):
        return err(
            "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
            cross_ref_access_message(value),
            [f.name],
        )
    return None


def _check_address(sobject: str, values: Mapping[str, Any]) -> SfError | None:
    pair = md.ADDRESS_PAIRS.get(sobject)
    if pair is None:
        return None
    state_field, country_field = pair
    state_value, country = values.get(state_field), values.get(country_field)
    if not all(isinstance(v, str | None) for v in (state_value, country)):
        return None  # a value of the wrong type, already reported by _check_value
    if country:
        if country not in md.COUNTRIES:
            return err("FIELD_INTEGRITY_EXCEPTION", COUNTRY_MESSAGE, [country_field])
        if state_value and state_value not in md.COUNTRIES[country]:
            return err("FIELD_INTEGRITY_EXCEPTION", STATE_MESSAGE, [state_field])
    elif state_value:
        label = md.FIELDS[sobject][state_field].label
        return err("FIELD_INTEGRITY_EXCEPTION", country_required_message(label), [state_field])
    return None


def _check_stage(sobject: str, merged: Mapping[str, Any]) -> SfError | None:
    stage = merged.get("StageName")
    if sobject != "Opportunity" or not stage or not isinstance(stage, str):
        return None  # no stage, or one of the wrong type (already reported)
    rt_id = merged.get("RecordTypeId")
    counter = parse_id(rt_id)[1] if isinstance(rt_id, str) and is_well_formed(rt_id) else None
    process = md.RECORD_TYPES.get(counter or 1, md.RECORD_TYPES[1])[1]
    if stage not in process:
        return err(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            bad_picklist_message("Stage", merged["StageName"]),
            ["StageName"],
        )
    return None


def _check_automation(sobject: str, record_id: str, values: Mapping[str, Any]) -> SfError | None:
    """The before-save flow on Contact and the Apex trigger on Lead (both buggy)."""
    partner = values.get("LeadSource") == "Partner Referral"
    if sobject == "Contact" and partner and not values.get("AccountId"):
        return err("CANNOT_EXECUTE_FLOW_TRIGGER", flow_message(record_id))
    if sobject == "Lead" and values.get("Rating") == "Hot" and not values.get("Industry"):
        return err("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", trigger_message(record_id))
    if "\x00" in str(values.get("Description") or ""):
        return err("UNKNOWN_EXCEPTION", unknown_message(record_id))
    return None


def _check_rules(
    state: OrgState,
    sobject: str,
    record_id: str,
    merged: Mapping[str, Any],
    values: Mapping[str, Any],
) -> list[SfError]:
    """Validation rules (all that fail), else the duplicate rule, else unique fields."""
    failed = []
    if sobject == "Account" and values.get("Phone") and not _PHONE_RULE.match(values["Phone"]):
        failed.append(err("FIELD_CUSTOM_VALIDATION_EXCEPTION", PHONE_RULE_MESSAGE, ["Phone"]))
    if (
        sobject == "Opportunity"
        and merged.get("StageName") == "Closed Lost"
        and not merged.get("Loss_Reason__c")
    ):
        failed.append(
            err("FIELD_CUSTOM_VALIDATION_EXCEPTION", LOSS_REASON_RULE_MESSAGE, ["Loss_Reason__c"])
        )
    if failed:
        return failed
    email = values.get("Email")
    if sobject in ("Lead", "Contact") and email and email.lower() in state.duplicate_emails:
        return [err("DUPLICATES_DETECTED", DUPLICATE_RULE_MESSAGE)]
    for name, value in values.items():
        if not md.FIELDS[sobject][name].unique or not value:
            continue
        holder = unique_holder(state, sobject, name, value)
        if holder is not None and holder[:15] != record_id[:15]:
            return [err("DUPLICATE_VALUE", unique_message(name, holder))]
    return []


def unique_holder(state: OrgState, sobject: str, field: str, value: object) -> str | None:
    """The record of ``sobject`` whose unique ``field`` already holds ``value``, if any.

    Written records are looked at first; every existing account carries its
    customer number (see :meth:`OrgState.customer_number`) unless it was changed.
    """
    prefix = KEY_PREFIX[sobject]
    for key, fields in state.written.items():
        if key.startswith(prefix) and fields.get(field) == value:
            return key + suffix(key)
    if field == "Customer_Number__c" and isinstance(value, str) and re.fullmatch(r"C\d{7}", value):
        counter = int(value[1:])
        if state.status(prefix, counter) == "live":
            holder = make_id(prefix, counter)
            moved = state.written.get(holder[:15], {}).get(field)
            return None if moved not in (None, value) else holder
    return None


def apply(state: OrgState, record: Mapping[str, Any]) -> None:
    """Keep what a successful update changed (only the records actually written)."""
    key = str(record_id_of(record))[:15]
    values = {k: v for k, v in record.items() if k not in _NOT_FIELDS}
    state.written.setdefault(key, {}).update(values)
