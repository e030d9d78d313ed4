"""The deterministic demo: a ledger full of realistic sync errors, and the org they fit.

``write_demo_ledger(sink, path, size, seed=7)`` writes a ledger through the service's
bulk load (``tui.embedded.build_demo_ledger`` opens one on a new file): ``size`` errors
of all 32 subtypes, their attempt history, the last 24 hours of API usage and default
settings. ``demo_org_state(seed)`` is the
simulated org those errors were recorded against: each error's ``sf_code`` and
``message`` are what that org answers for the failing record.

Every error carries a payload (``{"record": ..., "checks": ...}``). About half of
them (chosen by the seed) are "fixed": the admin corrected the CRM record, so the
payload's record now passes the org's checks and every check is true. The rest
still hold the faulty value, and a resync fails again with the same cause.

Checks: the facts the integration verifies itself before sending, for the errors it
raises with its own ``SYNC_*`` codes. When a check is false the resync engine
records the same error again and sends nothing.

- ``within_association_limit`` (association.association_limit): the CRM record is
  under the association limit.
- ``account_synced`` (association.awaiting_account_sync): the contact's Salesforce
  account has synced to a CRM company.
- ``contact_synced`` (custom_code.contact_id_missing): the activity's contact has a
  Salesforce id.
- ``email_unique`` (duplicate.email_in_use): no other CRM contact uses the address.
- ``option_exists`` (picklist.missing_option): the CRM property has an option for
  the Salesforce value.
- ``options_match`` (picklist.option_mismatch): the CRM option's internal value
  equals the Salesforce API name.
- ``owner_synced`` (picklist.owner_not_synced): the Salesforce owner has a CRM user.
- ``within_option_limit`` (picklist.option_limit): the property has room for the
  new option.

Attempt history: one ``attempts`` row per attempt (1 to 5 per error, a final
``synced`` row for resolved errors) for the newest 100,000 errors; older errors of
a larger demo keep their ``attempts`` count but no history rows, which keeps a
million-error demo fast to build and the file small.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from tui.core import sobjects as md
from tui.core.classify import classify
from tui.core.models import NotificationSettings
from tui.core.sobjects import KEY_PREFIX, RECORD_TYPES
from tui.simorg import validate as v
from tui.simorg.ids import make_id
from tui.simorg.state import POPULATION, OrgState

ORG_NAME = "Sakura Trading KK"
DAILY_LIMIT = 15000
ALLOCATED = 5000
HISTORY_ROWS_FOR = 100_000
_CHUNK = 20_000
_MASK = (1 << 64) - 1
_WINDOW = 30 * 24 * 3600

_PEOPLE = [
    ("佐藤", "翔太", "sato", "shota"),
    ("鈴木", "陽菜", "suzuki", "hina"),
    ("高橋", "大輝", "takahashi", "daiki"),
    ("田中", "美咲", "tanaka", "misaki"),
    ("伊藤", "健一", "ito", "kenichi"),
    ("渡辺", "由美", "watanabe", "yumi"),
    ("山本", "拓也", "yamamoto", "takuya"),
    ("中村", "さくら", "nakamura", "sakura"),
    ("小林", "蓮", "kobayashi", "ren"),
    ("加藤", "結衣", "kato", "yui"),
    ("Carter", "Emily", "carter", "emily"),
    ("Wilson", "James", "wilson", "james"),
    ("Nguyen", "Linh", "nguyen", "linh"),
    ("Müller", "Jonas", "mueller", "jonas"),
    ("Kim", "Minji", "kim", "minji"),
    ("Tan", "Wei Ling", "tan", "weiling"),
]
_COMPANIES = [
    ("株式会社さくら商事", "sakura-shoji.co.jp"),
    ("富士精機株式会社", "fujiseiki.co.jp"),
    ("東海ロジスティクス株式会社", "tokai-logi.jp"),
    ("みなと銀行", "minato-bank.example.jp"),
    ("北斗システムズ合同会社", "hokuto-sys.jp"),
    ("青葉フーズ株式会社", "aoba-foods.co.jp"),
    ("Acme Japan KK", "acme.example.com"),
    ("Northwind Traders", "northwind.example.com"),
    ("Globex Asia Pte. Ltd.", "globex.example.sg"),
    ("Initech Japan", "initech.example.jp"),
    ("Umbrella Pharma K.K.", "umbrella.example.jp"),
    ("Kansai Green Energy", "kge.example.jp"),
]
_DEALS = ("年間保守契約", "新規導入", "ライセンス追加", "Renewal FY25", "Pilot project", "Upsell")
_TASKS = ("フォローアップの電話", "見積書送付", "Demo follow-up", "Contract review", "訪問アポ")
_STATES = ("Tokyo", "Osaka", "Kanagawa", "Aichi", "Fukuoka", "Hokkaido", "Kyoto")
_BAD_STATES = ("東京都", "Tokio", "Osaka-fu", "Kanagawa-ken", "Hokkaidō")
_BAD_COUNTRIES = ("日本", "JP", "Japan (JP)", "Nippon", "U.S.")
_BAD_INDUSTRIES = ("製造業", "IT・通信", "Manufacturing (JP)", "金融", "SaaS")
_BAD_TIERS = ("Diamond", "ゴールド", "Tier 1")
_BAD_STAGES = ("見積提出", "Closed - Lost", "Negotiation", "Verbal Commit", "受注")
_BAD_EMAILS = ("{l}.{f}@@{d}", "{l}.{f}@{d}.", "{f} {l}@{d}", "{l}@", "{l}.{f}@例え.jp")
_BAD_PHONES = (
    "03-1234-5678 内線{n}",
    "０３－１２３４－５６７８",
    "TEL: 06-{n}-0000",
    "080 {n} 代表",
)
_OBJECT_TYPE = {
    "Lead": "contact",
    "Contact": "contact",
    "Account": "company",
    "Opportunity": "deal",
    "Task": "task",
}
_CRM_BASE = {
    "contact": 51_000_000_000,
    "company": 18_000_000_000,
    "deal": 9_000_000_000,
    "task": 71_000_000_000,
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    path: Path
    errors: int
    open: int
    resolved: int
    fixable: int
    attempts_rows: int
    by_subtype: dict[str, int]
    usage_24h: int
    seconds: float


@dataclass(frozen=True, slots=True)
class _Case:
    """One error as a case builds it; ``fixed`` is the record once the admin fixed it."""

    sf_object: str
    sf_id: str | None
    direction: str
    code: str
    message: str
    fields: list[str]
    failing: dict[str, Any]
    fixed: dict[str, Any]
    check: str | None = None
    variant: str = ""


#: Calls the demo org has served in the last 24 h, all its clients together (people in
#: the browser, other integrations and ours), so org-wide use reads above the
#: integration's own share as it does in a real org.
DEMO_ORG_CALLS_TODAY = 8_740


def demo_org_state(seed: int = 7, *, calls_today: int = 0) -> OrgState:
    """The simulated org the demo's errors were recorded against.

    ``calls_today`` starts the org's daily API counter (``DEMO_ORG_CALLS_TODAY`` for a
    lived-in demo; 0 lets tests count every call from zero).
    """
    state = OrgState.from_seed(seed)
    state.api_used = calls_today
    return state


def _mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15) & _MASK
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    return x ^ (x >> 32)


class _Gen:
    """Deterministic building blocks: people, companies, ids, all from one hash."""

    def __init__(self, state: OrgState, size: int) -> None:
        self.state = state
        self.pool = max(50, size * 7 // 10)
        self.active = state.active_user_ids()
        self.inactive = state.inactive_user_ids()
        self.queues = state.queue_ids()
        self.dup_emails = sorted(state.duplicate_emails)
        self.rt_ok = make_id(KEY_PREFIX["RecordType"], 1)
        self.rt_renewal = make_id(KEY_PREFIX["RecordType"], 2)
        self.rt_hidden = make_id(
            KEY_PREFIX["RecordType"], next(n for n, rt in RECORD_TYPES.items() if not rt[2])
        )

    def rec(self, h: int) -> int:
        return (h >> 24) % self.pool

    def live(self, obj: str, r: int) -> str:
        prefix = KEY_PREFIX[obj]
        return make_id(prefix, self.state.usable_counter(prefix, r * 7 + 1))

    def deleted(self, obj: str, r: int) -> str:
        prefix = KEY_PREFIX[obj]
        k = r % (POPULATION[prefix] // 397 - 1)
        return make_id(prefix, self.state.deleted_counter(k))

    def private(self, obj: str, r: int) -> str:
        prefix = KEY_PREFIX[obj]
        k = r % (POPULATION[prefix] // 293 - 2)
        counter = self.state.private_counter(k)
        if self.state.status(prefix, counter) != "live":
            counter = self.state.private_counter(k + 1)
        return make_id(prefix, counter)

    def person(self, r: int) -> tuple[str, str, str, str, str]:
        """(display name, first, last, email, company) of CRM contact number r."""
        last, first, rl, rf = _PEOPLE[r % len(_PEOPLE)]
        company, domain = _COMPANIES[(r // 16) % len(_COMPANIES)]
        display = f"{last} {first}" if last[0] > "\u3000" else f"{first} {last}"
        return display, first, last, f"{rf}.{rl}{r % 1000}@{domain}", company

    def company(self, r: int) -> tuple[str, str]:
        name, domain = _COMPANIES[r % len(_COMPANIES)]
        branch = r // len(_COMPANIES) % 9
        return (
            f"{name} {('本社', '大阪支店', '名古屋支店', '福岡営業所')[branch % 4]}"
            if branch and name[0] > "\u3000"
            else name
        ), domain

    def owner(self, h: int) -> str:
        return self.active[h % len(self.active)]


def _rec(obj: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": obj}, "Id": record_id, **fields}


def _err(case: _Case) -> dict[str, Any]:
    return {"statusCode": case.code, "message": case.message, "fields": case.fields}


# -- the cases: one builder per subtype ------------------------------------------------
# Each takes (generator, hash, crm record number) and returns a _Case. Salesforce-side
# messages come from the validator's builders so they match what the org answers.

_Builder = Callable[[_Gen, int, int], _Case]


def _integration(
    code: str, check: str, obj: str, direction: str, message: Callable[[_Gen, int, int], str]
) -> _Builder:
    def build(g: _Gen, h: int, r: int) -> _Case:
        sf_id = g.live(obj, r)
        record = _rec(obj, sf_id, Description=f"Synced from CRM record {r}")
        return _Case(obj, sf_id, direction, code, message(g, h, r), [], record, record, check)

    return build


def _lead_trigger(g: _Gen, h: int, r: int) -> _Case:
    sf_id = g.live("Lead", r)
    failing = _rec("Lead", sf_id, Rating="Hot", Industry=None)
    fixed = _rec("Lead", sf_id, Rating="Hot", Industry="Manufacturing")
    msg = v.trigger_message(sf_id)
    return _Case(
        "Lead",
        sf_id,
        "to_salesforce",
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        msg,
        [],
        failing,
        fixed,
    )


def _validation_rule(g: _Gen, h: int, r: int) -> _Case:
    if h & 1:
        sf_id = g.live("Account", r)
        phone = _BAD_PHONES[(h >> 3) % len(_BAD_PHONES)].format(n=h % 9000 + 1000)
        return _Case(
            "Account",
            sf_id,
            "to_salesforce",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            v.PHONE_RULE_MESSAGE,
            ["Phone"],
            _rec("Account", sf_id, Phone=phone),
            _rec("Account", sf_id, Phone=f"03-{h % 9000 + 1000}-5678"),
            variant="phone",
        )
    sf_id = g.live("Opportunity", r)
    return _Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        v.LOSS_REASON_RULE_MESSAGE,
        ["Loss_Reason__c"],
        _rec("Opportunity", sf_id, StageName="Closed Lost", Loss_Reason__c=None),
        _rec("Opportunity", sf_id, StageName="Closed Lost", Loss_Reason__c="Competitor"),
        variant="loss",
    )


def _flow(g: _Gen, h: int, r: int) -> _Case:
    sf_id = g.live("Contact", r)
    failing = _rec("Contact", sf_id, LeadSource="Partner Referral", AccountId=None)
    fixed = _rec("Contact", sf_id, LeadSource="Partner Referral", AccountId=g.live("Account", r))
    return _Case(
        "Contact",
        sf_id,
        "to_salesforce",
        "CANNOT_EXECUTE_FLOW_TRIGGER",
        v.flow_message(sf_id),
        [],
        failing,
        fixed,
    )


def _duplicate_rule(g: _Gen, h: int, r: int) -> _Case:
    obj = "Lead" if h & 1 else "Contact"
    sf_id = g.live(obj, r)
    dup = g.dup_emails[h % len(g.dup_emails)]
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "DUPLICATES_DETECTED",
        v.DUPLICATE_RULE_MESSAGE,
        [],
        _rec(obj, sf_id, Email=dup),
        _rec(obj, sf_id, Email=g.person(r)[3]),
    )


def _access_missing(g: _Gen, h: int, r: int) -> _Case:
    kind = h % 3
    if kind == 0:
        sf_id, bad = g.live("Contact", r), g.deleted("Account", r)
        return _Case(
            "Contact",
            sf_id,
            "to_salesforce",
            "ENTITY_IS_DELETED",
            "entity is deleted",
            ["AccountId"],
            _rec("Contact", sf_id, AccountId=bad),
            _rec("Contact", sf_id, AccountId=g.live("Account", r)),
            variant="deleted",
        )
    if kind == 1:
        sf_id, bad = g.live("Opportunity", r), g.private("Account", r)
        return _Case(
            "Opportunity",
            sf_id,
            "to_salesforce",
            "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
            v.cross_ref_access_message(bad),
            ["AccountId"],
            _rec("Opportunity", sf_id, AccountId=bad),
            _rec("Opportunity", sf_id, AccountId=g.live("Account", r)),
            variant="xref",
        )
    gone = g.deleted("Lead", r)
    return _Case(
        "Lead",
        gone,
        "to_salesforce",
        "ENTITY_IS_DELETED",
        "entity is deleted",
        [],
        _rec("Lead", gone, Status="Working - Contacted"),
        _rec("Lead", g.live("Lead", r), Status="Working - Contacted"),
        variant="record",
    )


def _field_permission(g: _Gen, h: int, r: int) -> _Case:
    obj, name, value = (
        ("Lead", "Lead_Score__c", h % 100),
        ("Contact", "Credit_Limit__c", 500000),
        ("Account", "Credit_Rating__c", h % 5 + 1),
    )[h % 3]
    sf_id = g.live(obj, r)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        v.fls_message([name]),
        [name],
        _rec(obj, sf_id, **{name: value}),
        _rec(obj, sf_id, Description=f"{name} is no longer mapped"),
        variant=name,
    )


def _insufficient_access(g: _Gen, h: int, r: int) -> _Case:
    obj = "Account" if h & 1 else "Opportunity"
    locked = g.private(obj, r)
    return _Case(
        obj,
        locked,
        "to_salesforce",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "insufficient access rights on object id",
        [],
        _rec(obj, locked, Description="Updated in CRM"),
        _rec(obj, g.live(obj, r), Description="Updated in CRM"),
        variant=obj,
    )


def _state_country(g: _Gen, h: int, r: int) -> _Case:
    obj = ("Lead", "Contact", "Account")[h % 3]
    state_field, country_field = md.ADDRESS_PAIRS[obj]
    sf_id = g.live(obj, r)
    good = {state_field: _STATES[h % len(_STATES)], country_field: "Japan"}
    if h & 8:
        bad = {state_field: _BAD_STATES[(h >> 4) % len(_BAD_STATES)], country_field: "Japan"}
        message, field, variant = v.STATE_MESSAGE, state_field, "state"
    else:
        bad = {country_field: _BAD_COUNTRIES[(h >> 4) % len(_BAD_COUNTRIES)]}
        message, field, variant = v.COUNTRY_MESSAGE, country_field, "country"
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "FIELD_INTEGRITY_EXCEPTION",
        message,
        [field],
        _rec(obj, sf_id, **bad),
        _rec(obj, sf_id, **good),
        variant=variant,
    )


def _invalid_owner(g: _Gen, h: int, r: int) -> _Case:
    obj = ("Lead", "Contact", "Account", "Opportunity")[h % 4]
    sf_id, gone = g.live(obj, r), g.inactive[h % len(g.inactive)]
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "INACTIVE_OWNER_OR_USER",
        v.inactive_owner_message(gone, obj),
        ["OwnerId"],
        _rec(obj, sf_id, OwnerId=gone),
        _rec(obj, sf_id, OwnerId=g.owner(h)),
    )


def _restricted(g: _Gen, h: int, r: int) -> _Case:
    if h & 1:
        obj, name, label = ("Lead" if h & 2 else "Account"), "Industry", "Industry"
        bad, good = _BAD_INDUSTRIES[(h >> 3) % len(_BAD_INDUSTRIES)], "Manufacturing"
    else:
        obj, name, label = "Contact", "Contact_Tier__c", "Contact Tier"
        bad, good = _BAD_TIERS[(h >> 3) % len(_BAD_TIERS)], "Gold"
    sf_id = g.live(obj, r)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        v.bad_picklist_message(label, bad),
        [name],
        _rec(obj, sf_id, **{name: bad}),
        _rec(obj, sf_id, **{name: good}),
        variant=name,
    )


def _deal_stage(g: _Gen, h: int, r: int) -> _Case:
    sf_id = g.live("Opportunity", r)
    if h & 1:  # a stage outside the Renewal sales process
        failing = _rec("Opportunity", sf_id, RecordTypeId=g.rt_renewal, StageName="Prospecting")
        fixed = _rec("Opportunity", sf_id, RecordTypeId=g.rt_renewal, StageName="Qualification")
        stage = "Prospecting"
    else:
        stage = _BAD_STAGES[(h >> 3) % len(_BAD_STAGES)]
        failing = _rec("Opportunity", sf_id, StageName=stage)
        fixed = _rec("Opportunity", sf_id, StageName="Negotiation/Review")
    return _Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        v.bad_picklist_message("Stage", stage),
        ["StageName"],
        failing,
        fixed,
    )


def _sales_process(g: _Gen, h: int, r: int) -> _Case:
    sf_id = g.live("Opportunity", r)
    return _Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "INVALID_CROSS_REFERENCE_KEY",
        v.record_type_message(g.rt_hidden),
        ["RecordTypeId"],
        _rec("Opportunity", sf_id, RecordTypeId=g.rt_hidden, StageName="Prospecting"),
        _rec("Opportunity", sf_id, RecordTypeId=g.rt_ok, StageName="Prospecting"),
    )


def _stage_missing(g: _Gen, h: int, r: int) -> _Case:
    sf_id = g.live("Opportunity", r)
    return _Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "REQUIRED_FIELD_MISSING",
        v.required_message(["StageName"]),
        ["StageName"],
        _rec("Opportunity", sf_id, StageName=None),
        _rec("Opportunity", sf_id, StageName="Qualification"),
    )


def _type_mismatch(g: _Gen, h: int, r: int) -> _Case:
    variants = (
        ("Opportunity", "Amount", "Amount", f"約{h % 900 + 100}万円", (h % 900 + 100) * 10000),
        ("Lead", "NumberOfEmployees", "Employees", "50-100", 75),
        ("Opportunity", "CloseDate", "Close Date", "2025/03/31", "2025-03-31"),
    )
    obj, name, label, bad, good = variants[h % 3]
    sf_id = g.live(obj, r)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        v.wrong_type_message(label, bad),
        [name],
        _rec(obj, sf_id, **{name: bad}),
        _rec(obj, sf_id, **{name: good}),
        variant=name,
    )


def _id_missing(g: _Gen, h: int, r: int) -> _Case:
    obj = "Contact" if h & 1 else "Opportunity"
    sf_id = g.live(obj, r)
    bad = g.company(r)[0]
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "MALFORMED_ID",
        v.bad_id_message("Account ID", bad),
        ["AccountId"],
        _rec(obj, sf_id, AccountId=bad),
        _rec(obj, sf_id, AccountId=g.live("Account", r)),
    )


def _invalid_id(g: _Gen, h: int, r: int) -> _Case:
    obj = "Contact" if h & 1 else "Opportunity"
    sf_id, wrong = g.live(obj, r), g.live("Contact" if obj == "Opportunity" else "Lead", r + 1)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "FIELD_INTEGRITY_EXCEPTION",
        v.bad_id_message("Account ID", wrong),
        ["AccountId"],
        _rec(obj, sf_id, AccountId=wrong),
        _rec(obj, sf_id, AccountId=g.live("Account", r)),
    )


def _too_long(g: _Gen, h: int, r: int) -> _Case:
    if h & 1:
        obj, name, label, limit = "Lead", "Title", "Title", 128
        base = "Senior Manager, Global Strategic Partnerships and Alliances (APAC / Japan) / "
    else:
        obj, name, label, limit = "Contact", "Department", "Department", 80
        base = "デジタルトランスフォーメーション推進本部 カスタマーサクセス部 第二グループ 兼 "
    value = (base * 3)[: limit + 1 + h % 40]
    sf_id = g.live(obj, r)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "STRING_TOO_LONG",
        v.too_long_message(label, value, limit),
        [name],
        _rec(obj, sf_id, **{name: value}),
        _rec(obj, sf_id, **{name: value[:limit]}),
        variant=name,
    )


def _bad_email(g: _Gen, h: int, r: int) -> _Case:
    obj = "Contact" if h & 1 else "Lead"
    sf_id = g.live(obj, r)
    email = g.person(r)[3]
    local, domain = email.split("@")
    rl, rf = local.split(".", 1)
    bad = _BAD_EMAILS[(h >> 3) % len(_BAD_EMAILS)].format(l=rl, f=rf, d=domain)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "INVALID_EMAIL_ADDRESS",
        v.bad_email_message("Email", bad),
        ["Email"],
        _rec(obj, sf_id, Email=bad),
        _rec(obj, sf_id, Email=email),
    )


def _country_required(g: _Gen, h: int, r: int) -> _Case:
    obj = ("Lead", "Contact", "Account")[h % 3]
    state_field, country_field = md.ADDRESS_PAIRS[obj]
    label = md.FIELDS[obj][state_field].label
    sf_id, state = g.live(obj, r), _STATES[h % len(_STATES)]
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "FIELD_INTEGRITY_EXCEPTION",
        v.country_required_message(label),
        [state_field],
        _rec(obj, sf_id, **{state_field: state}),
        _rec(obj, sf_id, **{state_field: state, country_field: "Japan"}),
        variant=obj,
    )


def _invalid_value(g: _Gen, h: int, r: int) -> _Case:
    sf_id, bad = g.live("Opportunity", r), 100 + h % 150 + 1
    return _Case(
        "Opportunity",
        sf_id,
        "to_salesforce",
        "NUMBER_OUTSIDE_VALID_RANGE",
        v.out_of_range_message("Probability (%)", bad),
        ["Probability"],
        _rec("Opportunity", sf_id, Probability=bad),
        _rec("Opportunity", sf_id, Probability=bad % 100),
    )


def _queue(g: _Gen, h: int, r: int) -> _Case:
    sf_id, queue = g.live("Task", r), g.queues[h % len(g.queues)]
    return _Case(
        "Task",
        sf_id,
        "to_salesforce",
        "INVALID_ASSIGNEE_TYPE",
        v.queue_assignee_message(queue),
        ["OwnerId"],
        _rec("Task", sf_id, OwnerId=queue),
        _rec("Task", sf_id, OwnerId=g.owner(h)),
    )


def _unique(g: _Gen, h: int, r: int) -> _Case:
    sf_id = g.live("Account", r)
    other_counter = g.state.usable_counter("001", r * 7 + 1 + 50_000)
    other = make_id("001", other_counter)
    own = g.state.customer_number(g.state.usable_counter("001", r * 7 + 1))
    taken = g.state.customer_number(other_counter)
    return _Case(
        "Account",
        sf_id,
        "to_salesforce",
        "DUPLICATE_VALUE",
        v.unique_message("Customer_Number__c", other),
        [],
        _rec("Account", sf_id, Customer_Number__c=taken),
        _rec("Account", sf_id, Customer_Number__c=own),
    )


def _required(g: _Gen, h: int, r: int) -> _Case:
    obj, name, good = (
        ("Lead", "LastName", g.person(r)[2]),
        ("Lead", "Company", g.person(r)[4]),
        ("Contact", "LastName", g.person(r)[2]),
    )[h % 3]
    sf_id = g.live(obj, r)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "REQUIRED_FIELD_MISSING",
        v.required_message([name]),
        [name],
        _rec(obj, sf_id, **{name: None}),
        _rec(obj, sf_id, **{name: good}),
        variant=name,
    )


def _unknown(g: _Gen, h: int, r: int) -> _Case:
    obj = "Account" if h & 1 else "Task"
    sf_id = g.live(obj, r)
    return _Case(
        obj,
        sf_id,
        "to_salesforce",
        "UNKNOWN_EXCEPTION",
        v.unknown_message(sf_id),
        [],
        _rec(obj, sf_id, Description="議事録\x00(貼り付け)"),
        _rec(obj, sf_id, Description="議事録 (貼り付け)"),
    )


def _msg(text: str) -> Callable[[_Gen, int, int], str]:
    return lambda g, h, r: text.format(n=h % 900 + 100, company=g.company(r)[0])


#: subtype -> (weight per 1000 errors, builder)
CASES: dict[str, tuple[int, _Builder]] = {
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
    "custom_code.automation": (30, _lead_trigger),
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
    "custom_code.validation_rule": (60, _validation_rule),
    "custom_code.flow": (25, _flow),
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
    "duplicate.duplicate_rule": (45, _duplicate_rule),
    "permissions.access_or_missing_record": (40, _access_missing),
    "permissions.field_permission": (30, _field_permission),
    "permissions.insufficient_access": (20, _insufficient_access),
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
    "picklist.state_country_mismatch": (45, _state_country),
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
    "picklist.invalid_owner": (45, _invalid_owner),
    "picklist.restricted_value": (60, _restricted),
    "picklist.invalid_deal_stage": (25, _deal_stage),
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
    "picklist.default_sales_process": (10, _sales_process),
    "picklist.deal_stage_missing": (15, _stage_missing),
    "field_mapping.type_mismatch": (30, _type_mismatch),
    "field_mapping.sf_id_missing": (20, _id_missing),
    "field_mapping.invalid_sf_id": (15, _invalid_id),
    "property_value.string_too_long": (40, _too_long),
    "property_value.invalid_email": (55, _bad_email),
    "property_value.country_required": (35, _country_required),
    "property_value.invalid_value": (20, _invalid_value),
    "property_value.queue_assignment": (25, _queue),
    "property_value.unique_value": (15, _unique),
    "property_value.required_value": (40, _required),
    "other.unknown": (10, _unknown),
}


def _schedule(seed: int) -> list[str]:
    """One block of subtypes in a seeded order; every subtype is in every block."""
    block = [code for code, (weight, _) in CASES.items() for _ in range(weight)]
    random.Random(f"demo-order:{seed}").shuffle(block)
    return block


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _record_name(case: _Case, g: _Gen, r: int) -> str:
    obj = _OBJECT_TYPE[case.sf_object]
    if obj == "contact":
        return g.person(r)[0]
    if obj == "company":
        return g.company(r)[0]
    if obj == "deal":
        return f"{g.company(r)[0]} - {_DEALS[r % len(_DEALS)]}"
    return f"{_TASKS[r % len(_TASKS)]} ({g.person(r)[0]})"


def _rows(
    g: _Gen, size: int, seed: int, now: int
) -> Iterator[tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...], bool]]:
    """(error row, attempt rows, fixable) per error, in id order."""
    schedule = _schedule(seed)
    builders = {code: builder for code, (_, builder) in CASES.items()}
    classified: dict[tuple[str, str], tuple[str, str]] = {}
    salt = _mix(seed + 0x5EED)
    history_from = size - HISTORY_ROWS_FOR
    dumps = orjson.dumps
    for error_id in range(1, size + 1):
        h = _mix(error_id ^ salt)
        subtype = schedule[(error_id - 1) % len(schedule)]
        r = g.rec(h)
        case = builders[subtype](g, h, r)
        key = (subtype, case.variant)
        found = classified.get(key)
        if found is None:
            c = classify(_err(case))
            found = classified[key] = (c.type, c.subtype)
        fixable = (h >> 8) % 100 < 50
        attempts = 1 + (h >> 16) % 5
        resolved = (h >> 40) % 100 < 12
        first = now - 600 - (h >> 20) % _WINDOW
        step = max((now - 600 - first) // attempts, 60)
        last = min(first + step * (attempts - 1), now - 60)
        payload = {"record": case.fixed if fixable else case.failing}
        if case.check is not None:
            payload["checks"] = {case.check: fixable}
        obj_type = _OBJECT_TYPE[case.sf_object]
        row = (
            error_id,
            error_id,
            found[0],
            found[1],
            obj_type,
            str(_CRM_BASE[obj_type] + r),
            _record_name(case, g, r),
            case.sf_object,
            case.sf_id,
            case.direction,
            case.code,
            case.message,
            dumps(case.fields).decode(),
            _iso(first),
            _iso(last),
            attempts,
            "resolved" if resolved else "open",
            dumps(payload).decode(),
        )
        history: tuple[tuple[Any, ...], ...] = ()
        if error_id > history_from:
            fails = tuple(
                (error_id, _iso(first + step * n), "failed", case.code, case.message, None)
                for n in range(attempts)
            )
            done = ((error_id, _iso(last + 30), "synced", "", "", None),) if resolved else ()
            history = fails + done
        yield row, history, fixable


def _usage(seed: int, now: datetime) -> list[tuple[str, int]]:
    """24 hourly buckets, busier in Japanese business hours, about 70% of the allocation."""
    rng = random.Random(f"demo-usage:{seed}")
    top = now.replace(minute=0, second=0, microsecond=0)
    hours = [top - timedelta(hours=23 - n) for n in range(24)]
    weights = []
    for hour in hours:
        jst = (hour.hour + 9) % 24
        base = 9.0 if 9 <= jst < 18 else 4.0 if 7 <= jst < 21 else 1.0
        weights.append(base * (0.6 if jst == 12 else 1.0) * rng.uniform(0.8, 1.2))
    target = ALLOCATED * rng.uniform(0.62, 0.78)
    scale = target / sum(weights)
    stamps = [h.strftime("%Y-%m-%dT%H:%M:%SZ") for h in hours]
    return [(stamp, round(w * scale)) for stamp, w in zip(stamps, weights, strict=True)]


#: How the demo's calls split: a /limits read every 5 minutes, then resync sends.
_LIMITS_PER_HOUR = 12
_SEND_SHARES = (
    ("update", "Contact", 0.30),
    ("update", "Lead", 0.27),
    ("update", "Account", 0.14),
    ("update", "Opportunity", 0.14),
    ("update", "Task", 0.05),
    ("upsert", "Contact", 0.10),
)


def _usage_calls(usage: list[tuple[str, int]]) -> list[tuple[str, str, str, int]]:
    """(hour, kind, sObject, calls) rows that add up to each hour of ``usage``."""
    rows = []
    for hour, calls in usage:
        limits = min(calls, _LIMITS_PER_HOUR)
        rest = calls - limits
        parts = [(kind, sobject, int(rest * share)) for kind, sobject, share in _SEND_SHARES]
        first_kind, first_object, first_calls = parts[0]
        parts[0] = (first_kind, first_object, first_calls + rest - sum(p[2] for p in parts))
        rows += [(hour, "limits", "", limits)] if limits else []
        rows += [(hour, kind, sobject, n) for kind, sobject, n in parts if n]
    return rows


class LedgerSink(Protocol):
    """Where the demo writes its ledger: the service's bulk load (tui/service/ledger_load.py),
    handed in by the composition root (tui/embedded.py) so the simulated org imports none
    of the service."""

    def errors(self, rows: Iterable[tuple[Any, ...]]) -> None: ...

    def attempts(self, rows: Iterable[tuple[Any, ...]]) -> None: ...

    def usage(
        self, hourly: Iterable[tuple[str, int]], calls: Iterable[tuple[str, str, str, int]]
    ) -> None: ...

    def meta(self, values: Mapping[str, str]) -> None: ...

    def settings(self, values: Mapping[str, Any]) -> None: ...


def write_demo_ledger(
    sink: LedgerSink, path: Path, size: int, *, seed: int = 7, now: datetime | None = None
) -> DemoSummary:
    """Write a demo ledger of ``size`` errors to ``sink`` (a new ledger at ``path``)."""
    started = time.perf_counter()
    if size < 0:
        raise ValueError("the demo size cannot be negative")
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    g = _Gen(demo_org_state(seed), size)
    by_subtype: Counter[str] = Counter()
    resolved = fixable = attempt_rows = 0
    errors: list[tuple[Any, ...]] = []
    attempts: list[tuple[Any, ...]] = []
    for row, history, fix in _rows(g, size, seed, int(moment.timestamp())):
        errors.append(row)
        attempts.extend(history)
        by_subtype[row[3]] += 1
        resolved += row[16] == "resolved"
        fixable += fix
        if len(errors) >= _CHUNK:
            attempt_rows += _flush(sink, errors, attempts)
    attempt_rows += _flush(sink, errors, attempts)
    usage = _usage(seed, moment)
    sink.usage(usage, _usage_calls(usage))
    sink.meta({"org_name": ORG_NAME, "mode": "simulated", "next_seq": str(size + 1)})
    sink.settings(
        {"allocated": ALLOCATED, "notifications": NotificationSettings().model_dump(mode="json")}
    )
    return DemoSummary(
        path=path,
        errors=size,
        open=size - resolved,
        resolved=resolved,
        fixable=fixable,
        attempts_rows=attempt_rows,
        by_subtype=dict(by_subtype),
        usage_24h=sum(calls for _, calls in usage),
        seconds=time.perf_counter() - started,
    )


def _flush(sink: LedgerSink, errors: list[tuple[Any, ...]], attempts: list[tuple[Any, ...]]) -> int:
    sink.errors(errors)
    sink.attempts(attempts)
    written = len(attempts)
    errors.clear()
    attempts.clear()
    return written
