"""The Salesforce schema the integration syncs: objects, key prefixes, fields, picklists.

This is what the org's integration user sees: field labels, lengths, restricted
picklists, read-only fields (field-level security), lookups and required fields.
The simulated org serves it; the console reads failure files against it (an object's
fields, the object of an id's key prefix). It is fixed data; only users, queues and
residues come from the simulated org's seed (tui/simorg/state.py).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Salesforce's own key prefixes: the first three characters of a record id.
KEY_PREFIX = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Task": "00T",
    "User": "005",
    "Group": "00G",
    "RecordType": "012",
}
OBJECT_OF_PREFIX = {prefix: name for name, prefix in KEY_PREFIX.items()}

#: Field kinds the validator knows.
STRING, TEXTAREA, EMAIL, PHONE, URL = "string", "textarea", "email", "phone", "url"
PICKLIST, REFERENCE, NUMBER, PERCENT, DATE, BOOLEAN = (
    "picklist",
    "reference",
    "number",
    "percent",
    "date",
    "boolean",
)


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    label: str
    kind: str
    length: int = 0
    values: frozenset[str] = frozenset()
    restricted: bool = False
    updateable: bool = True
    required: bool = False
    unique: bool = False
    external_id: bool = False  # an upsert can match records by this field
    default: str | None = None  # what a new record gets when the field is not sent
    refs: tuple[str, ...] = ()  # key prefixes a lookup accepts


def _s(name: str, label: str, length: int, **kw: object) -> FieldDef:
    return FieldDef(name, label, STRING, length, **kw)  # type: ignore[arg-type]


def _pick(name: str, label: str, values: tuple[str, ...], **kw: object) -> FieldDef:
    return FieldDef(name, label, PICKLIST, 255, frozenset(values), **kw)  # type: ignore[arg-type]


def _ref(name: str, label: str, *refs: str, **kw: object) -> FieldDef:
    return FieldDef(name, label, REFERENCE, 18, refs=refs, **kw)  # type: ignore[arg-type]


def _crm_id() -> FieldDef:
    """The integration's external id: the record's id in the CRM."""
    return _s("CRM_Id__c", "CRM Record ID", 50, unique=True, external_id=True)


INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Finance",
    "Healthcare",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Transportation",
    "Other",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Webinar", "Other")
RATINGS = ("Hot", "Warm", "Cold")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
REGIONS = ("Japan East", "Japan West", "APAC", "EMEA", "AMER")
TIERS = ("Platinum", "Gold", "Silver", "Bronze")
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
LOSS_REASONS = ("Price", "Competitor", "No Budget", "No Decision", "Timing")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
PRIORITIES = ("High", "Normal", "Low")

_ADDRESS = {
    "Lead": ("Street", "City", "State", "PostalCode", "Country", ""),
    "Contact": ("MailingStreet", "MailingCity", "MailingState", "MailingPostalCode",
                "MailingCountry", "Mailing "),
    "Account": ("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
                "BillingCountry", "Billing "),
}  # fmt: skip


def _address(obj: str) -> list[FieldDef]:
    street, city, state, postal, country, label = _ADDRESS[obj]
    return [
        FieldDef(street, f"{label}Street", TEXTAREA, 255),
        _s(city, f"{label}City", 40),
        _s(state, f"{label}State/Province", 80),
        _s(postal, f"{label}Zip/Postal Code", 20),
        _s(country, f"{label}Country", 80),
    ]


#: (state field, country field) of each object's state/country picklist address.
ADDRESS_PAIRS = {obj: (f[2], f[4]) for obj, f in _ADDRESS.items()}

_OBJECT_FIELDS: dict[str, list[FieldDef]] = {
    "Lead": [
        _s("FirstName", "First Name", 40),
        _s("LastName", "Last Name", 80, required=True),
        _s("Company", "Company", 255, required=True),
        _s("Title", "Title", 128),
        FieldDef("Email", "Email", EMAIL, 80),
        FieldDef("Phone", "Phone", PHONE, 40),
        FieldDef("MobilePhone", "Mobile Phone", PHONE, 40),
        FieldDef("Website", "Website", URL, 255),
        *_address("Lead"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _pick(
            "Status",
            "Lead Status",
            LEAD_STATUSES,
            restricted=True,
            required=True,
            default=LEAD_STATUSES[0],
        ),
        _pick("Industry", "Industry", INDUSTRIES, restricted=True),
        _pick("Rating", "Rating", RATINGS, restricted=True),
        _pick("Region__c", "Region", REGIONS, restricted=True),
        _ref("OwnerId", "Owner ID", "005", "00G"),
        FieldDef("AnnualRevenue", "Annual Revenue", NUMBER),
        FieldDef("NumberOfEmployees", "Employees", NUMBER),
        FieldDef("Description", "Description", TEXTAREA, 32000),
        FieldDef("Lead_Score__c", "Lead Score", NUMBER, updateable=False),
        FieldDef("IsConverted", "Converted", BOOLEAN, updateable=False),
        _crm_id(),
    ],
    "Contact": [
        _s("FirstName", "First Name", 40),
        _s("LastName", "Last Name", 80, required=True),
        _ref("AccountId", "Account ID", "001"),
        _s("Title", "Title", 128),
        _s("Department", "Department", 80),
        FieldDef("Email", "Email", EMAIL, 80),
        FieldDef("Phone", "Business Phone", PHONE, 40),
        FieldDef("MobilePhone", "Mobile Phone", PHONE, 40),
        *_address("Contact"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _pick("Contact_Tier__c", "Contact Tier", TIERS, restricted=True),
        _ref("OwnerId", "Owner ID", "005"),
        FieldDef("Birthdate", "Birthdate", DATE),
        FieldDef("Description", "Description", TEXTAREA, 32000),
        FieldDef("Credit_Limit__c", "Credit Limit", NUMBER, updateable=False),
        _crm_id(),
    ],
    "Account": [
        _s("Name", "Account Name", 255, required=True),
        FieldDef("Phone", "Phone", PHONE, 40),
        FieldDef("Website", "Website", URL, 255),
        _pick("Industry", "Industry", INDUSTRIES, restricted=True),
        _pick("Type", "Type", ("Prospect", "Customer - Direct", "Customer - Channel", "Partner")),
        _pick("Rating", "Account Rating", RATINGS, restricted=True),
        _pick("Account_Tier__c", "Account Tier", TIERS, restricted=True),
        *_address("Account"),
        FieldDef("NumberOfEmployees", "Employees", NUMBER),
        FieldDef("AnnualRevenue", "Annual Revenue", NUMBER),
        _ref("OwnerId", "Owner ID", "005"),
        _s("Customer_Number__c", "Customer Number", 20, unique=True, external_id=True),
        FieldDef("Description", "Account Description", TEXTAREA, 32000),
        FieldDef("Credit_Rating__c", "Credit Rating", NUMBER, updateable=False),
        _crm_id(),
    ],
    "Opportunity": [
        _s("Name", "Name", 120, required=True),
        _ref("AccountId", "Account ID", "001"),
        _pick("StageName", "Stage", STAGES, restricted=True, required=True),
        FieldDef("CloseDate", "Close Date", DATE, required=True),
        FieldDef("Amount", "Amount", NUMBER),
        FieldDef("Probability", "Probability (%)", PERCENT),
        _ref("RecordTypeId", "Record Type ID", "012"),
        _ref("OwnerId", "Owner ID", "005"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _pick("Type", "Opportunity Type", ("New Business", "Existing Business", "Renewal")),
        _pick("Loss_Reason__c", "Loss Reason", LOSS_REASONS, restricted=True),
        _s("NextStep", "Next Step", 255),
        FieldDef("Description", "Description", TEXTAREA, 32000),
        FieldDef("ExpectedRevenue", "Expected Amount", NUMBER, updateable=False),
        _crm_id(),
    ],
    "Task": [
        _s("Subject", "Subject", 255),
        _pick(
            "Status", "Status", TASK_STATUSES, restricted=True, required=True, default="Not Started"
        ),
        _pick("Priority", "Priority", PRIORITIES, restricted=True, required=True, default="Normal"),
        _pick("Type", "Type", ("Call", "Email", "Meeting", "Other")),
        FieldDef("ActivityDate", "Due Date Only", DATE),
        _ref("WhoId", "Name ID", "00Q", "003"),
        _ref("WhatId", "Related To ID", "001", "006"),
        _ref("OwnerId", "Assigned To ID", "005", "00G"),
        FieldDef("Description", "Description", TEXTAREA, 32000),
        _crm_id(),
    ],
}

FIELDS: dict[str, dict[str, FieldDef]] = {
    obj: {f.name: f for f in fields} for obj, fields in _OBJECT_FIELDS.items()
}
OBJECTS: tuple[str, ...] = tuple(FIELDS)

#: State and country picklists: valid countries and the states each one offers.
#: A country that offers no states accepts no state value.
COUNTRIES: dict[str, frozenset[str]] = {
    "Japan": frozenset(
        [
            "Aichi",
            "Akita",
            "Aomori",
            "Chiba",
            "Ehime",
            "Fukui",
            "Fukuoka",
            "Fukushima",
            "Gifu",
            "Gunma",
            "Hiroshima",
            "Hokkaido",
            "Hyogo",
            "Ibaraki",
            "Ishikawa",
            "Iwate",
            "Kagawa",
            "Kagoshima",
            "Kanagawa",
            "Kochi",
            "Kumamoto",
            "Kyoto",
            "Mie",
            "Miyagi",
            "Miyazaki",
            "Nagano",
            "Nagasaki",
            "Nara",
            "Niigata",
            "Oita",
            "Okayama",
            "Okinawa",
            "Osaka",
            "Saga",
            "Saitama",
            "Shiga",
            "Shimane",
            "Shizuoka",
            "Tochigi",
            "Tokushima",
            "Tokyo",
            "Tottori",
            "Toyama",
            "Wakayama",
            "Yamagata",
            "Yamaguchi",
            "Yamanashi",
        ]
    ),
    "United States": frozenset(
        ("California", "New York", "Texas", "Washington", "Massachusetts", "Illinois")
    ),
    "Australia": frozenset(("New South Wales", "Victoria", "Queensland")),
    "Singapore": frozenset(),
    "United Kingdom": frozenset(),
    "Germany": frozenset(),
    "Korea, Republic of": frozenset(),
    "Taiwan": frozenset(),
}

#: Opportunity record types: id counter -> (developer name, stages of its sales process,
#: available to the integration user).
RECORD_TYPES: dict[int, tuple[str, frozenset[str], bool]] = {
    1: ("Enterprise", frozenset(STAGES), True),
    2: (
        "Renewal",
        frozenset(("Qualification", "Negotiation/Review", "Closed Won", "Closed Lost")),
        True,
    ),
    3: ("Partner_Legacy", frozenset(STAGES[:4]), False),
}
