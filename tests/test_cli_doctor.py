"""``synchealth doctor``: against the embedded demo, and a service that is not there."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from tests.conftest import DEMO_SIZE
from tui.cli import main
from tui.data import paths


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, profile or service from the environment of whoever runs the tests."""
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("SYNCHEALTH_CONFIG", str(config))
    for name in ("SYNCHEALTH_PROFILE", "SYNCHEALTH_URL", "SYNCHEALTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_demo_is_red_on_the_read_only_fields_its_errors_name(
    synchealth_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--demo-size", str(DEMO_SIZE), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "OK    Salesforce sign-in: signed in to Salesforce" in out
    assert "FAIL  Integration user's access (Lead): Lead_Score__c is read-only (" in out
    assert "      Fix: in Setup, give the integration user Edit access to Lead.Lead_Score__c" in out
    assert "OK    Local cache: the cache " in out
    assert "3 checks red." in out


def test_json_is_the_report_with_the_cache_check(
    synchealth_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--json", "--demo-size", str(DEMO_SIZE)]) == 1
    body = json.loads(capsys.readouterr().out)
    ids = [c["id"] for c in body["checks"]]
    assert ids[:4] == ["service", "signin", "limits", "api_version"] and ids[-1] == "cache"
    assert {c["subject"] for c in body["checks"] if c["id"] == "access"} == {
        "Account", "Contact", "Lead", "Opportunity", "Task",
    }  # fmt: skip
    assert body["salesforce_calls"] == 2 + 5
    lead = next(c for c in body["checks"] if c["subject"] == "Lead")
    (read_only,) = lead["found_codes"]
    assert read_only["code"] == "access.field_read_only"
    assert read_only["params"]["field"] == "Lead_Score__c"
    assert (
        lead["found"]
        == f"Lead_Score__c is read-only ({read_only['params']['count']:,} open errors)"
    )
    assert lead["fix_codes"] == [
        {"code": "access.field_security", "params": {"fields": ["Lead.Lead_Score__c"]}}
    ]
    cache = body["checks"][-1]
    assert [p["code"] for p in cache["found_codes"]] == ["cache.sound"]


def test_japanese_names_and_statuses(
    synchealth_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--lang", "ja", "--demo-size", str(DEMO_SIZE)]) == 1
    out = capsys.readouterr().out
    assert "異常  Salesforce連携のユーザーのアクセス権 (Lead)" in out
    assert "正常  Salesforce へのサインイン: Salesforceにサインインしています。" in out
    assert "3 件のチェックが失敗しました。" in out
    # the findings and fixes too, from the codes: Lead_Score__c is read-only in the demo
    lead = out[out.index("(Lead): ") :].splitlines()
    assert re.fullmatch(
        r"\(Lead\): Lead_Score__c は読み取り専用です（未解決のエラー [\d,]+ 件）。", lead[0]
    )
    assert lead[1].startswith(
        "      対処：Salesforceの[設定]で、項目レベルセキュリティの Lead.Lead_Score__c"
    )
    assert "DailyApiRequests：Salesforceによって制限 15,000 回のうち" in out
    assert "キャッシュ " in out and "は正常です。" in out
    assert "read-only" not in out and "signed in" not in out and "the cache" not in out


def test_a_service_that_is_not_there_is_red_and_the_cache_still_checked(
    synchealth_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(["doctor", "--json", "--url", url]) == 1
    body = json.loads(capsys.readouterr().out)
    service, cache = body["checks"]
    assert service["id"] == "service" and service["status"] == "red"
    assert f"Cannot reach the Sync Health service at {url}" in service["found"]
    assert "synchealth serve" in service["fix"]
    assert cache["id"] == "cache" and cache["status"] == "yellow"
    assert "never been filled" in cache["found"]


def test_a_damaged_cache_is_said_to_have_been_rebuilt(
    synchealth_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    damaged = paths.cache_path_for(url)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"this is not an SQLite database" * 100)
    assert main(["doctor", "--json", "--url", url]) == 1
    cache = json.loads(capsys.readouterr().out)["checks"][-1]
    assert cache["status"] == "yellow" and "corrupt" in cache["found"]


def test_a_console_of_another_version_than_the_service_is_yellow(
    synchealth_env: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tui.data.doctor

    monkeypatch.setattr(tui.data.doctor, "__version__", "9.9.9")
    main(["doctor", "--json", "--demo-size", str(DEMO_SIZE)])
    service = json.loads(capsys.readouterr().out)["checks"][0]
    assert service["status"] == "yellow"
    assert service["found"].endswith("; this synchealth is 9.9.9")
    assert "same synchealth version" in service["fix"]


def test_the_consoles_own_checks_speak_japanese_too(
    synchealth_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(["doctor", "--lang", "ja", "--url", url]) == 1
    service, fix, cache, cache_fix = capsys.readouterr().out.splitlines()[:4]
    assert service.startswith("異常  Sync Health サービス: Sync Healthサービスに接続できません：")
    assert fix.startswith("      対処：サービスを起動する（synchealth serve）か、--url と")
    assert cache.startswith("注意  ローカルキャッシュ: キャッシュ ")
    assert cache.endswith("はまだ一度もサービスから取得されていません。")
    assert cache_fix == "      対処：一度サービスに接続してください（サービスのチェックを参照）。"
