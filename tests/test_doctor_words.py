"""The doctor's findings and fixes as codes: every code the service and the console's own
checks can say exists in English and Japanese, the checks driven into their states
against the simulated org speak Japanese, and what a console does not know falls back to
the service's English."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.notify_env import ORG_TOKEN, Clock, NotifyEnv
from tui import i18n
from tui.core.doctor_models import DoctorCheck, DoctorReport, Phrase
from tui.core.doctor_words import PREFIX, codes, in_english, phrased, say
from tui.data.doctor import fix_text, found_text
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

T0 = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
SOURCES = [Path("tui/service/doctor.py"), Path("tui/data/doctor.py")]
#: What the f-string codes of the sources are filled with.
FILLS = {
    "channel": ("email", "webhook"),
    "exc.kind": (
        "unreachable", "slow", "unauthorized", "rate_limited", "service_error", "rejected",
        "bad_answer", "bad_url", "database",
    ),
    "exc.reason": ("unconfigured_email", "unconfigured_webhook", "no_recipients"),
    "last.status": ("sent", "pending"),
}  # fmt: skip
PLACEHOLDER = re.compile(r"\{(\w+)")


def possible(code: ast.expr) -> set[str]:
    """The codes an argument of ``say`` can be: a literal, an f-string, either of two."""
    if isinstance(code, ast.Constant):
        return {code.value}
    if isinstance(code, ast.IfExp):
        return possible(code.body) | possible(code.orelse)
    assert isinstance(code, ast.JoinedStr), ast.dump(code)
    head = "".join(p.value for p in code.values if isinstance(p, ast.Constant))
    (hole,) = [ast.unparse(p.value) for p in code.values if isinstance(p, ast.FormattedValue)]
    return {f"{head}{value}" for value in FILLS[hole]}


def said_in_source() -> set[str]:
    """Every code a ``say(...)`` call of the doctor's sources can make."""
    found: set[str] = set()
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "say":
                found |= possible(node.args[0])
    return found


def test_every_code_the_sources_say_has_english_and_japanese_and_none_is_dead() -> None:
    en, ja = i18n.strings("en"), i18n.strings("ja")
    assert said_in_source() == codes()
    for code in codes():
        for table in (en, ja):
            assert PREFIX + code in table or f"{PREFIX}{code}.other" in table, code


def sample(code: str) -> Phrase:
    """The phrase with a value for each of its placeholders (ints where formatted)."""
    text = i18n.strings("en").get(PREFIX + code) or i18n.strings("en")[f"{PREFIX}{code}.other"]
    params: dict[str, Any] = {}
    for name in PLACEHOLDER.findall(text):
        params[name] = {"count": 3, "types": ["custom_code"]}.get(name, f"<{name}>")
    return Phrase(code=code, params=params)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_code_renders_in_both_languages(lang: i18n.Lang) -> None:
    for code in sorted(codes()):
        text = phrased([sample(code)], i18n.strings(lang), lang)
        assert text, code
        assert "{" not in text, (code, text)


def test_types_are_shown_by_their_catalog_titles_in_the_session_language() -> None:
    plan = say("retry.plan", every=30, attempts=10, nightly_at="02:00", types=["custom_code"])
    assert "for Custom code" in in_english([plan])
    japanese = phrased([plan], i18n.strings("ja"), "ja")
    assert japanese is not None and "対象：カスタムコード。" in japanese


def check_with(found: list[Phrase], english: str = "the service's English") -> DoctorCheck:
    return DoctorCheck(id="access", status="red", found=english, fix="", found_codes=found)


def test_an_unknown_code_or_params_that_do_not_fit_fall_back_to_the_services_english() -> None:
    i18n.set_lang("ja")
    try:
        newer = check_with([say("signin.ok"), Phrase(code="signin.mfa_needed", params={})])
        assert found_text(newer) == "the service's English"
        wrong = check_with([Phrase(code="limits.ok", params={"left": 9, "max": 5})])
        assert found_text(wrong) == "the service's English"
        missing = check_with([Phrase(code="access.unseen", params={})])
        assert found_text(missing) == "the service's English"
        older = check_with([], "signed in to Salesforce")  # a service from before codes
        assert found_text(older) == "signed in to Salesforce" and fix_text(older) == ""
        known = check_with([say("access.field_read_only", field="Lead_Score__c", count=2)])
        assert found_text(known) == "Lead_Score__c は読み取り専用です（未解決のエラー 2 件）。"
    finally:
        i18n.set_lang("en")


def test_a_code_the_english_file_lacks_cannot_be_said() -> None:
    with pytest.raises(KeyError, match=r"no phrase 'signin\.maybe'"):
        say("signin.maybe")


# -- the service's checks driven into their states, shown in Japanese --------------------


class FaultyOrg:
    """The simulated org, except that paths ending in a rule's key get its answer."""

    def __init__(self, app: ASGIApp, rules: dict[str, tuple[int, Any]]) -> None:
        self.app, self.rules = app, rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rstrip("/")
        rule = next((r for key, r in self.rules.items() if path.endswith(key)), None)
        if scope["type"] != "http" or rule is None:
            await self.app(scope, receive, send)
            return
        status, body = rule
        answer = httpx.Response(status, json=body)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.content})


async def doctor_body(tmp_path: Path, rules: dict[str, tuple[int, Any]], **org: Any) -> Any:
    """The doctor's report of a service on a SQLite ledger (only the org's answers matter
    here; the doctor on both engines is tests/test_doctor_service.py's)."""
    app = create_simorg(demo_org_state(7), access_token=org.pop("token", ORG_TOKEN), **org)
    transport = httpx.ASGITransport(app=FaultyOrg(app, rules))
    env = await NotifyEnv(tmp_path / "l.sqlite3", Clock(T0)).start(org_transport=transport)
    try:
        answer = await env.client.post(
            "/v1/errors",
            json={"errors": [{
                "object_type": "contact", "record_id": "crm-1", "record_name": "R 1",
                "salesforce": {"object": "Contact", "fields": {"LastName": "Doe"}},
                "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: bad",
                            "fields": ["Email"]}],
            }]},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        return DoctorReport.model_validate((await env.client.get("/v1/doctor")).json())
    finally:
        await env.stop()


STATES = [
    # (org rules, org options, check id, expected codes of its finding, Japanese words)
    ({}, {"token": "other"}, "signin", ["signin.refused"], "Salesforceがサインインを拒否しました"),
    ({"/limits": (500, [])}, {}, "signin", ["signin.unreachable"], "Salesforceに接続できません"),
    ({"/limits": (200, {})}, {}, "limits", ["limits.unreadable"], "組織の制限を読み取れません"),
    (
        {"/limits": (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "Total"}])},
        {}, "limits", ["limits.refused"], "SalesforceがAPI呼び出しを拒否しています",
    ),
    ({"/limits": (429, [])}, {}, "limits", ["limits.busy"], "Salesforceが混み合っています"),
    ({}, {"api_version": "v60.0"}, "limits", ["limits.not_found"], "制限のリソースがありません"),
    ({}, {"api_version": "v60.0"}, "api_version", ["api_version.not_served"], "提供していません"),
    ({}, {"api_version": "v71.0"}, "api_version", ["api_version.old"], "いずれ廃止されます"),
    ({"/services/data": (200, [])}, {}, "api_version", ["api_version.none_listed"], "確認でき"),
    ({"/services/data": (500, [])}, {}, "api_version", ["api_version.unlisted"], "取得できません"),
    ({"/Contact/describe": (500, [])}, {}, "access", ["access.undescribed"], "取得できません"),
    (
        {"/Contact/describe": (200, {"updateable": False, "fields": []})},
        {}, "access", ["access.object_read_only"], "読み取れますが、編集できません",
    ),
    (
        {"/Contact/describe": (200, {"fields": [{"name": "Email", "updateable": False}]})},
        {}, "access", ["access.field_read_only"], "Email は読み取り専用です（未解決のエラー 1 件）",
    ),
    (
        {"/Contact/describe": (200, {"fields": []})},
        {}, "access", ["access.field_hidden"], "Email が表示されません（未解決のエラー 1 件）。",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "org", "check_id", "expected", "words"), STATES)
async def test_each_state_of_the_org_is_said_in_japanese(
    tmp_path: Path,
    rules: dict[str, tuple[int, Any]],
    org: dict[str, Any],
    check_id: str,
    expected: list[str],
    words: str,
) -> None:
    report = await doctor_body(tmp_path, rules, **org)
    (check,) = [c for c in report.checks if c.id == check_id]
    assert [p.code for p in check.found_codes] == expected
    assert check.found == in_english(check.found_codes)  # the English is the codes' English
    assert check.fix == in_english(check.fix_codes)
    i18n.set_lang("ja")
    try:
        assert words in found_text(check)
        for c in report.checks:
            shown = found_text(c) + fix_text(c)
            assert c.found_codes and shown != c.found + c.fix, c  # said in Japanese
    finally:
        i18n.set_lang("en")
