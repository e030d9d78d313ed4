"""The demo's building blocks: people, companies and Salesforce ids drawn from one hash,
and the ``Case`` each error is built as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.core.sobjects import KEY_PREFIX, RECORD_TYPES
from tui.simorg.ids import make_id
from tui.simorg.state import POPULATION, OrgState

MASK = (1 << 64) - 1

PEOPLE = [
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
COMPANIES = [
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
DEALS = ("年間保守契約", "新規導入", "ライセンス追加", "Renewal FY25", "Pilot project", "Upsell")
TASKS = ("フォローアップの電話", "見積書送付", "Demo follow-up", "Contract review", "訪問アポ")
STATES = ("Tokyo", "Osaka", "Kanagawa", "Aichi", "Fukuoka", "Hokkaido", "Kyoto")
BAD_STATES = ("東京都", "Tokio", "Osaka-fu", "Kanagawa-ken", "Hokkaidō")
BAD_COUNTRIES = ("日本", "JP", "Japan (JP)", "Nippon", "U.S.")
BAD_INDUSTRIES = ("製造業", "IT・通信", "Manufacturing (JP)", "金融", "SaaS")
BAD_TIERS = ("Diamond", "ゴールド", "Tier 1")
BAD_STAGES = ("見積提出", "Closed - Lost", "Negotiation", "Verbal Commit", "受注")
BAD_EMAILS = ("{l}.{f}@@{d}", "{l}.{f}@{d}.", "{f} {l}@{d}", "{l}@", "{l}.{f}@例え.jp")
BAD_PHONES = (
    "03-1234-5678 内線{n}",
    "０３－１２３４－５６７８",
    "TEL: 06-{n}-0000",
    "080 {n} 代表",
)


@dataclass(frozen=True, slots=True)
class Case:
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


def mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15) & MASK
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    return x ^ (x >> 32)


class DemoGen:
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
        last, first, rl, rf = PEOPLE[r % len(PEOPLE)]
        company, domain = COMPANIES[(r // 16) % len(COMPANIES)]
        display = f"{last} {first}" if last[0] > "\u3000" else f"{first} {last}"
        return display, first, last, f"{rf}.{rl}{r % 1000}@{domain}", company

    def company(self, r: int) -> tuple[str, str]:
        name, domain = COMPANIES[r % len(COMPANIES)]
        branch = r // len(COMPANIES) % 9
        return (
            f"{name} {('本社', '大阪支店', '名古屋支店', '福岡営業所')[branch % 4]}"
            if branch and name[0] > "\u3000"
            else name
        ), domain

    def owner(self, h: int) -> str:
        return self.active[h % len(self.active)]


def rec(obj: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": obj}, "Id": record_id, **fields}


def err(case: Case) -> dict[str, Any]:
    return {"statusCode": case.code, "message": case.message, "fields": case.fields}
