"""The demo's cases of automation, duplicates and permissions: one builder per subtype.

Each takes (generator, hash, CRM record number) and returns a ``Case``; the
Salesforce-side messages come from the validator's builders, so they match what the
simulated org answers."""

from __future__ import annotations

from tui.simorg import validate as v
from tui.simorg.demo_records import BAD_PHONES, Case, DemoGen, rec


def lead_trigger(g: DemoGen, h: int, r: int) -> Case:
    sf_id = g.live("Lead", r)
    failing = rec("Lead", sf_id, Rating="Hot", Industry=None)
    fixed = rec("Lead", sf_id, Rating="Hot", Industry="Manufacturing")
    msg = v.trigger_message(sf_id)
    return Case(
        "Lead",
        sf_id,
        "to_salesforce",
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        msg,
        [],
        failing,
        fixed,
    )


def validation_rule(g: DemoGen, h: int, r: int) -> Case:
    if h & 1:
        sf_id = g.live("Account", r)
        phone = BAD_PHONES[(h >> 3) % len(BAD_PHONES)].format(n=h % 9000 + 1000)
        return Case(
            "Account",
            sf_id,
            "to_salesforce",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            v.PHONE_RULE_MESSAGE,
            ["Phone"],
            rec("Account", sf_id, Phone=phone),
            rec("Account", sf_id, Phone=f"03-{h % 9000 + 1000}-5678"),
            variant="phone",
        )
    sf_id = g.live("Opportunity", r)
    return Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        v.LOSS_REASON_RULE_MESSAGE,
        ["Loss_Reason__c"],
        rec("Opportunity", sf_id, StageName="Closed Lost", Loss_Reason__c=None),
        rec("Opportunity", sf_id, StageName="Closed Lost", Loss_Reason__c="Competitor"),
        variant="loss",
    )


def flow(g: DemoGen, h: int, r: int) -> Case:
    sf_id = g.live("Contact", r)
    failing = rec("Contact", sf_id, LeadSource="Partner Referral", AccountId=None)
    fixed = rec("Contact", sf_id, LeadSource="Partner Referral", AccountId=g.live("Account", r))
    return Case(
        "Contact",
        sf_id,
        "to_salesforce",
        "CANNOT_EXECUTE_FLOW_TRIGGER",
        v.flow_message(sf_id),
        [],
        failing,
        fixed,
    )


def duplicate_rule(g: DemoGen, h: int, r: int) -> Case:
    obj = "Lead" if h & 1 else "Contact"
    sf_id = g.live(obj, r)
    dup = g.dup_emails[h % len(g.dup_emails)]
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "DUPLICATES_DETECTED",
        v.DUPLICATE_RULE_MESSAGE,
        [],
        rec(obj, sf_id, Email=dup),
        rec(obj, sf_id, Email=g.person(r)[3]),
    )


def access_missing(g: DemoGen, h: int, r: int) -> Case:
    kind = h % 3
    if kind == 0:
        sf_id, bad = g.live("Contact", r), g.deleted("Account", r)
        return Case(
            "Contact",
            sf_id,
            "to_salesforce",
            "ENTITY_IS_DELETED",
            "entity is deleted",
            ["AccountId"],
            rec("Contact", sf_id, AccountId=bad),
            rec("Contact", sf_id, AccountId=g.live("Account", r)),
            variant="deleted",
        )
    if kind == 1:
        sf_id, bad = g.live("Opportunity", r), g.private("Account", r)
        return Case(
            "Opportunity",
            sf_id,
            "to_salesforce",
            "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
            v.cross_ref_access_message(bad),
            ["AccountId"],
            rec("Opportunity", sf_id, AccountId=bad),
            rec("Opportunity", sf_id, AccountId=g.live("Account", r)),
            variant="xref",
        )
    gone = g.deleted("Lead", r)
    return Case(
        "Lead",
        gone,
        "to_salesforce",
        "ENTITY_IS_DELETED",
        "entity is deleted",
        [],
        rec("Lead", gone, Status="Working - Contacted"),
        rec("Lead", g.live("Lead", r), Status="Working - Contacted"),
        variant="record",
    )


def field_permission(g: DemoGen, h: int, r: int) -> Case:
    obj, name, value = (
        ("Lead", "Lead_Score__c", h % 100),
        ("Contact", "Credit_Limit__c", 500000),
        ("Account", "Credit_Rating__c", h % 5 + 1),
    )[h % 3]
    sf_id = g.live(obj, r)
    return Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        v.fls_message([name]),
        [name],
        rec(obj, sf_id, **{name: value}),
        rec(obj, sf_id, Description=f"{name} is no longer mapped"),
        variant=name,
    )


def insufficient_access(g: DemoGen, h: int, r: int) -> Case:
    obj = "Account" if h & 1 else "Opportunity"
    locked = g.private(obj, r)
    return Case(
        obj,
        locked,
        "to_salesforce",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "insufficient access rights on object id",
        [],
        rec(obj, locked, Description="Updated in CRM"),
        rec(obj, g.live(obj, r), Description="Updated in CRM"),
        variant=obj,
    )
