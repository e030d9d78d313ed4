"""The demo's cases of picklists, field mappings and property values: one builder per
subtype (see ``demo_cases_access`` for what a builder is)."""

from __future__ import annotations

from tui.core import sobjects as md
from tui.simorg import validate as v
from tui.simorg.demo_records import (
    BAD_COUNTRIES,
    BAD_EMAILS,
    BAD_INDUSTRIES,
    BAD_STAGES,
    BAD_STATES,
    BAD_TIERS,
    STATES,
    Case,
    DemoGen,
    rec,
)
from tui.simorg.ids import make_id


def state_country(g: DemoGen, h: int, r: int) -> Case:
    obj = ("Lead", "Contact", "Account")[h % 3]
    state_field, country_field = md.ADDRESS_PAIRS[obj]
    sf_id = g.live(obj, r)
    good = {state_field: STATES[h % len(STATES)], country_field: "Japan"}
    if h & 8:
        bad = {state_field: BAD_STATES[(h >> 4) % len(BAD_STATES)], country_field: "Japan"}
        message, field, variant = v.STATE_MESSAGE, state_field, "state"
    else:
        bad = {country_field: BAD_COUNTRIES[(h >> 4) % len(BAD_COUNTRIES)]}
        message, field, variant = v.COUNTRY_MESSAGE, country_field, "country"
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "FIELD_INTEGRITY_EXCEPTION",
        message,
        [field],
        rec(obj, sf_id, **bad),
        rec(obj, sf_id, **good),
        variant=variant,
    )


def invalid_owner(g: DemoGen, h: int, r: int) -> Case:
    obj = ("Lead", "Contact", "Account", "Opportunity")[h % 4]
    sf_id, gone = g.live(obj, r), g.inactive[h % len(g.inactive)]
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "INACTIVE_OWNER_OR_USER",
        v.inactive_owner_message(gone, obj),
        ["OwnerId"],
        rec(obj, sf_id, OwnerId=gone),
        rec(obj, sf_id, OwnerId=g.owner(h)),
    )


def restricted(g: DemoGen, h: int, r: int) -> Case:
    if h & 1:
        obj, name, label = ("Lead" if h & 2 else "Account"), "Industry", "Industry"
        bad, good = BAD_INDUSTRIES[(h >> 3) % len(BAD_INDUSTRIES)], "Manufacturing"
    else:
        obj, name, label = "Contact", "Contact_Tier__c", "Contact Tier"
        bad, good = BAD_TIERS[(h >> 3) % len(BAD_TIERS)], "Gold"
    sf_id = g.live(obj, r)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        v.bad_picklist_message(label, bad),
        [name],
        rec(obj, sf_id, **{name: bad}),
        rec(obj, sf_id, **{name: good}),
        variant=name,
    )


def deal_stage(g: DemoGen, h: int, r: int) -> Case:
    sf_id = g.live("Opportunity", r)
    if h & 1:  # a stage outside the Renewal sales process
        failing = rec("Opportunity", sf_id, RecordTypeId=g.rt_renewal, StageName="Prospecting")
        fixed = rec("Opportunity", sf_id, RecordTypeId=g.rt_renewal, StageName="Qualification")
        stage = "Prospecting"
    else:
        stage = BAD_STAGES[(h >> 3) % len(BAD_STAGES)]
        failing = rec("Opportunity", sf_id, StageName=stage)
        fixed = rec("Opportunity", sf_id, StageName="Negotiation/Review")
    return Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        v.bad_picklist_message("Stage", stage),
        ["StageName"],
        failing,
        fixed,
    )


def sales_process(g: DemoGen, h: int, r: int) -> Case:
    sf_id = g.live("Opportunity", r)
    return Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "INVALID_CROSS_REFERENCE_KEY",
        v.record_type_message(g.rt_hidden),
        ["RecordTypeId"],
        rec("Opportunity", sf_id, RecordTypeId=g.rt_hidden, StageName="Prospecting"),
        rec("Opportunity", sf_id, RecordTypeId=g.rt_ok, StageName="Prospecting"),
    )


def stage_missing(g: DemoGen, h: int, r: int) -> Case:
    sf_id = g.live("Opportunity", r)
    return Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "REQUIRED_FIELD_MISSING",
        v.required_message(["StageName"]),
        ["StageName"],
        rec("Opportunity", sf_id, StageName=None),
        rec("Opportunity", sf_id, StageName="Qualification"),
    )


def type_mismatch(g: DemoGen, h: int, r: int) -> Case:
    variants = (
        ("Opportunity", "Amount", "Amount", f"約{h % 900 + 100}万円", (h % 900 + 100) * 10000),
        ("Lead", "NumberOfEmployees", "Employees", "50-100", 75),
        ("Opportunity", "CloseDate", "Close Date", "2025/03/31", "2025-03-31"),
    )
    obj, name, label, bad, good = variants[h % 3]
    sf_id = g.live(obj, r)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        v.wrong_type_message(label, bad),
        [name],
        rec(obj, sf_id, **{name: bad}),
        rec(obj, sf_id, **{name: good}),
        variant=name,
    )


def id_missing(g: DemoGen, h: int, r: int) -> Case:
    obj = "Contact" if h & 1 else "Opportunity"
    sf_id = g.live(obj, r)
    bad = g.company(r)[0]
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "MALFORMED_ID",
        v.bad_id_message("Account ID", bad),
        ["AccountId"],
        rec(obj, sf_id, AccountId=bad),
        rec(obj, sf_id, AccountId=g.live("Account", r)),
    )


def invalid_id(g: DemoGen, h: int, r: int) -> Case:
    obj = "Contact" if h & 1 else "Opportunity"
    sf_id, wrong = g.live(obj, r), g.live("Contact" if obj == "Opportunity" else "Lead", r + 1)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "FIELD_INTEGRITY_EXCEPTION",
        v.bad_id_message("Account ID", wrong),
        ["AccountId"],
        rec(obj, sf_id, AccountId=wrong),
        rec(obj, sf_id, AccountId=g.live("Account", r)),
    )


def too_long(g: DemoGen, h: int, r: int) -> Case:
    if h & 1:
        obj, name, label, limit = "Lead", "Title", "Title", 128
        base = "Senior Manager, Global Strategic Partnerships and Alliances (APAC / Japan) / "
    else:
        obj, name, label, limit = "Contact", "Department", "Department", 80
        base = "デジタルトランスフォーメーション推進本部 カスタマーサクセス部 第二グループ 兼 "
    value = (base * 3)[: limit + 1 + h % 40]
    sf_id = g.live(obj, r)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "STRING_TOO_LONG",
        v.too_long_message(label, value, limit),
        [name],
        rec(obj, sf_id, **{name: value}),
        rec(obj, sf_id, **{name: value[:limit]}),
        variant=name,
    )


def bad_email(g: DemoGen, h: int, r: int) -> Case:
    obj = "Contact" if h & 1 else "Lead"
    sf_id = g.live(obj, r)
    email = g.person(r)[3]
    local, domain = email.split("@")
    rl, rf = local.split(".", 1)
    bad = BAD_EMAILS[(h >> 3) % len(BAD_EMAILS)].format(l=rl, f=rf, d=domain)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_EMAIL_ADDRESS",
        v.bad_email_message("Email", bad),
        ["Email"],
        rec(obj, sf_id, Email=bad),
        rec(obj, sf_id, Email=email),
    )


def country_required(g: DemoGen, h: int, r: int) -> Case:
    obj = ("Lead", "Contact", "Account")[h % 3]
    state_field, country_field = md.ADDRESS_PAIRS[obj]
    label = md.FIELDS[obj][state_field].label
    sf_id, state = g.live(obj, r), STATES[h % len(STATES)]
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "FIELD_INTEGRITY_EXCEPTION",
        v.country_required_message(label),
        [state_field],
        rec(obj, sf_id, **{state_field: state}),
        rec(obj, sf_id, **{state_field: state, country_field: "Japan"}),
        variant=obj,
    )


def invalid_value(g: DemoGen, h: int, r: int) -> Case:
    sf_id, bad = g.live("Opportunity", r), 100 + h % 150 + 1
    return Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "NUMBER_OUTSIDE_VALID_RANGE",
        v.out_of_range_message("Probability (%)", bad),
        ["Probability"],
        rec("Opportunity", sf_id, Probability=bad),
        rec("Opportunity", sf_id, Probability=bad % 100),
    )


def queue(g: DemoGen, h: int, r: int) -> Case:
    sf_id, queue = g.live("Task", r), g.queues[h % len(g.queues)]
    return Case(
        "Task",
        sf_id,
        "to_salesforce",
        "INVALID_ASSIGNEE_TYPE",
        v.queue_assignee_message(queue),
        ["OwnerId"],
        rec("Task", sf_id, OwnerId=queue),
        rec("Task", sf_id, OwnerId=g.owner(h)),
    )


def unique(g: DemoGen, h: int, r: int) -> Case:
    sf_id = g.live("Account", r)
    other_counter = g.state.usable_counter("001", r * 7 + 1 + 50_000)
    other = make_id("001", other_counter)
    own = g.state.customer_number(g.state.usable_counter("001", r * 7 + 1))
    taken = g.state.customer_number(other_counter)
    return Case(
        "Account",
        sf_id,
        "to_salesforce",
        "DUPLICATE_VALUE",
        v.unique_message("Customer_Number__c", other),
        [],
        rec("Account", sf_id, Customer_Number__c=taken),
        rec("Account", sf_id, Customer_Number__c=own),
    )


def required(g: DemoGen, h: int, r: int) -> Case:
    obj, name, good = (
        ("Lead", "LastName", g.person(r)[2]),
        ("Lead", "Company", g.person(r)[4]),
        ("Contact", "LastName", g.person(r)[2]),
    )[h % 3]
    sf_id = g.live(obj, r)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "REQUIRED_FIELD_MISSING",
        v.required_message([name]),
        [name],
        rec(obj, sf_id, **{name: None}),
        rec(obj, sf_id, **{name: good}),
        variant=name,
    )


def unknown(g: DemoGen, h: int, r: int) -> Case:
    obj = "Account" if h & 1 else "Task"
    sf_id = g.live(obj, r)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "UNKNOWN_EXCEPTION",
        v.unknown_message(sf_id),
        [],
        rec(obj, sf_id, Description="議事録\x00(貼り付け)"),
        rec(obj, sf_id, Description="議事録 (貼り付け)"),
    )
