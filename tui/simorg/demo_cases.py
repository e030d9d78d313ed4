"""The demo's cases: every subtype with its weight and its builder (``CASES``)."""

from __future__ import annotations

from collections.abc import Callable

from tui.simorg.demo_cases_access import (
    access_missing,
    duplicate_rule,
    field_permission,
    flow,
    insufficient_access,
    lead_trigger,
    validation_rule,
)
from tui.simorg.demo_cases_values import (
    bad_email,
    country_required,
    deal_stage,
    id_missing,
    invalid_id,
    invalid_owner,
    invalid_value,
    queue,
    required,
    restricted,
    sales_process,
    stage_missing,
    state_country,
    too_long,
    type_mismatch,
    unique,
    unknown,
)
from tui.simorg.demo_records import Case, DemoGen, rec

# messages come from the validator's builders so they match what the org answers.

Builder = Callable[[DemoGen, int, int], Case]


def _integration(
    code: str, check: str, obj: str, direction: str, message: Callable[[DemoGen, int, int], str]
) -> Builder:
    def build(g: DemoGen, h: int, r: int) -> Case:
        sf_id = g.live(obj, r)
        record = rec(obj, sf_id, Description=f"Synced from CRM record {r}")
        return Case(obj, sf_id, direction, code, message(g, h, r), [], record, record, check)

    return build


def _msg(text: str) -> Callable[[DemoGen, int, int], str]:
    return lambda g, h, r: text.format(n=h % 900 + 100, company=g.company(r)[0])


#: subtype -> (weight per 1000 errors, builder)
CASES: dict[str, tuple[int, Builder]] = {
    "association.association_limit": (
        10,
        _integration(
            "SYNC_ASSOCIATION_LIMIT",
            "within_association_limit",
            "Account",
            "to_salesforce",
            _msg(
                "This record already has the maximum of 50,000 associated records; "
                "the association to {company} was not created."
            ),
        ),
    ),
    "association.awaiting_account_sync": (
        60,
        _integration(
            "SYNC_AWAITING_ACCOUNT",
            "account_synced",
            "Contact",
            "from_salesforce",
            _msg(
                "Waiting for the Salesforce account {company} to sync to a CRM company "
                "before this contact can be associated."
            ),
        ),
    ),
    "custom_code.automation": (30, lead_trigger),
    "custom_code.contact_id_missing": (
        40,
        _integration(
            "SYNC_CONTACT_ID_MISSING",
            "contact_synced",
            "Task",
            "to_salesforce",
            _msg("The activity's contact has no Salesforce ID yet, so the task cannot be linked."),
        ),
    ),
    "custom_code.validation_rule": (60, validation_rule),
    "custom_code.flow": (25, flow),
    "duplicate.email_in_use": (
        50,
        _integration(
            "SYNC_EMAIL_IN_USE",
            "email_unique",
            "Lead",
            "from_salesforce",
            _msg("Another CRM contact already uses this email address."),
        ),
    ),
    "duplicate.duplicate_rule": (45, duplicate_rule),
    "permissions.access_or_missing_record": (40, access_missing),
    "permissions.field_permission": (30, field_permission),
    "permissions.insufficient_access": (20, insufficient_access),
    "picklist.missing_option": (
        30,
        _integration(
            "SYNC_PICKLIST_OPTION_MISSING",
            "option_exists",
            "Lead",
            "from_salesforce",
            _msg(
                "The CRM property Lead Status has no option for the Salesforce value "
                "'Nurturing {n}'."
            ),
        ),
    ),
    "picklist.state_country_mismatch": (45, state_country),
    "picklist.option_mismatch": (
        25,
        _integration(
            "SYNC_OPTION_MISMATCH",
            "options_match",
            "Contact",
            "from_salesforce",
            _msg(
                "The Salesforce value 'Japan_East' of Region__c matches no internal value "
                "of the CRM property Region (options: japan_east, japan_west, apac)."
            ),
        ),
    ),
    "picklist.invalid_owner": (45, invalid_owner),
    "picklist.restricted_value": (60, restricted),
    "picklist.invalid_deal_stage": (25, deal_stage),
    "picklist.owner_not_synced": (
        25,
        _integration(
            "SYNC_OWNER_NOT_SYNCED",
            "owner_synced",
            "Opportunity",
            "from_salesforce",
            _msg(
                "The Salesforce owner of this opportunity has no matching CRM user "
                "(user type Chatter Free is not synced)."
            ),
        ),
    ),
    "picklist.option_limit": (
        5,
        _integration(
            "SYNC_OPTION_LIMIT",
            "within_option_limit",
            "Account",
            "from_salesforce",
            _msg(
                "The CRM property Industry already has 5,000 options; the value "
                "'Sub-industry {n}' was not added."
            ),
        ),
    ),
    "picklist.default_sales_process": (10, sales_process),
    "picklist.deal_stage_missing": (15, stage_missing),
    "field_mapping.type_mismatch": (30, type_mismatch),
    "field_mapping.sf_id_missing": (20, id_missing),
    "field_mapping.invalid_sf_id": (15, invalid_id),
    "property_value.string_too_long": (40, too_long),
    "property_value.invalid_email": (55, bad_email),
    "property_value.country_required": (35, country_required),
    "property_value.invalid_value": (20, invalid_value),
    "property_value.queue_assignment": (25, queue),
    "property_value.unique_value": (15, unique),
    "property_value.required_value": (40, required),
    "other.unknown": (10, unknown),
}
