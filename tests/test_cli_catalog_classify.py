"""``synchealth catalog`` and ``synchealth classify`` through the real command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.catalog import load_catalog

REST_ARRAY = [
    {
        "message": "Email: invalid email address: jane@@example",
        "errorCode": "INVALID_EMAIL_ADDRESS",
        "fields": ["Email"],
    }
]
COLLECTIONS = [
    {"id": "00Qxx0000012abc", "success": True, "errors": []},
    {"id": None, "success": False, "errors": [
        {"statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "fields": []},
        {"statusCode": "SYNC_OPTION_LIMIT", "message": "industry has 5000 options", "fields": []},
    ]},
]  # fmt: skip


@pytest.fixture(autouse=True)
def english_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An English locale and an empty config dir, whatever the machine running the tests has."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    return tmp_path / "config"


def _classify(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              text: str, *args: str) -> tuple[int, list[dict], str]:  # fmt: skip
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(["classify", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_catalog_lists_types_and_subtypes_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    catalog = load_catalog()
    for entry in catalog.types:
        assert f"{entry.text('en').title} [{entry.code}]" in out
        for sub in entry.subtypes:
            assert f"{sub.text('en').title} [{sub.code}]" in out
            assert sub.text("en").resolution in out
    assert "[association.association_limit] (raised by the integration)" in out
    assert "How to fix:" in out


def test_catalog_in_japanese_by_flag_locale_or_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, english_env: Path
) -> None:
    ja_title = load_catalog().subtype("picklist.restricted_value").text("ja").title
    assert main(["catalog", "--lang", "ja"]) == 0
    out = capsys.readouterr().out
    assert ja_title in out and "解決方法:" in out

    (english_env / "synchealth").mkdir(parents=True)
    (english_env / "synchealth" / "config.toml").write_text('lang = "ja"\n', "utf-8")
    assert main(["catalog"]) == 0
    assert ja_title in capsys.readouterr().out
    assert main(["catalog", "--lang", "en"]) == 0
    assert ja_title not in capsys.readouterr().out

    (english_env / "synchealth" / "config.toml").unlink()
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert main(["catalog"]) == 0
    assert ja_title in capsys.readouterr().out


def test_catalog_json_has_every_subtype_in_both_languages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["catalog", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["code"] for t in data["types"]] == [t.code for t in load_catalog().types]
    subtypes = [s for t in data["types"] for s in t["subtypes"]]
    assert len(subtypes) == 32
    for entry in [*data["types"], *subtypes]:
        for lang in ("en", "ja"):
            assert set(entry[lang]) - {"short_title"} == {"title", "meaning", "resolution"}
            assert all(entry[lang].values())
    limit = next(s for s in subtypes if s["code"] == "association.association_limit")
    assert limit["origin"] == "integration"
    assert limit["ja"]["title"] == "関連付けの上限に達しました"


def test_classify_json_lines_in_input_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join([json.dumps(REST_ARRAY), "", json.dumps(COLLECTIONS)]) + "\n"
    code, rows, err = _classify(monkeypatch, capsys, text)
    assert (code, err) == (0, "")
    assert [r["subtype"] for r in rows] == [
        "property_value.invalid_email", "duplicate.duplicate_rule", "picklist.option_limit",
    ]  # fmt: skip
    assert rows[0] == {
        "type": "property_value",
        "subtype": "property_value.invalid_email",
        "title": "Invalid email address",
        "sf_code": "INVALID_EMAIL_ADDRESS",
        "message": "Email: invalid email address: jane@@example",
        "fields": ["Email"],
        "cause": None,
        "rule": "code INVALID_EMAIL_ADDRESS",
        "reason": None,
    }
    assert [r["rule"] for r in rows[1:]] == [
        "code DUPLICATES_DETECTED", "integration SYNC_OPTION_LIMIT",
    ]  # fmt: skip


def test_classify_one_pretty_printed_document_in_japanese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n" + json.dumps(COLLECTIONS, indent=2)
    code, rows, _ = _classify(monkeypatch, capsys, text, "--lang", "ja")
    assert code == 0
    assert [r["title"] for r in rows] == ["Salesforce重複ルール", "オプションの上限を超えました"]


def test_classify_unrecognised_errors_are_unknown_not_failures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = {"errorCode": "BRAND_NEW_CODE", "message": "Something new", "fields": []}
    code, rows, err = _classify(monkeypatch, capsys, json.dumps(doc))
    assert (code, err) == (0, "")
    assert [(r["type"], r["subtype"], r["sf_code"], r["rule"]) for r in rows] == [
        ("other", "other.unknown", "BRAND_NEW_CODE", "unknown-code"),
    ]
    assert "BRAND_NEW_CODE" in rows[0]["reason"]


def test_classify_prints_the_rule_chain_of_a_wrapped_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = (
        "ContactTrigger: execution of BeforeInsert\n\ncaused by: System.DmlException: Insert "
        "failed. First exception on row 0; first error: STRING_TOO_LONG, Title: data value too "
        "large: x (max length=128): [Title]\n\nTrigger.ContactTrigger: line 9, column 1"
    )
    doc = {"errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "fields": [], "message": message}
    code, rows, err = _classify(monkeypatch, capsys, json.dumps(doc))
    assert (code, err) == (0, "")
    assert [(r["subtype"], r["rule"], r["cause"], r["fields"]) for r in rows] == [
        ("property_value.string_too_long", "apex-trigger > code STRING_TOO_LONG",
         "STRING_TOO_LONG", ["Title"]),
    ]  # fmt: skip


def test_classify_names_the_reason_of_other_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "unable to obtain exclusive access to this record or 1 records: 001xx000003DGb2AAG"
    doc = {"statusCode": "UNABLE_TO_LOCK_ROW", "fields": [], "message": message}
    code, rows, _ = _classify(monkeypatch, capsys, json.dumps(doc))
    assert code == 0
    assert rows[0]["subtype"] == "other.unknown" and rows[0]["rule"] == "code UNABLE_TO_LOCK_ROW"
    assert "resync it later" in rows[0]["reason"]


@pytest.mark.parametrize(
    ("text", "printed", "expected"),
    [
        (json.dumps(REST_ARRAY) + "\n{not json}\n", 1, "line 2: not valid JSON"),
        ('{\n  "errorCode": "X",\n  "message" "m"\n}\n', 0, "line 3, column 13: not valid JSON"),
        (json.dumps(REST_ARRAY) + '\n{"hello": "world"}\n', 1, "line 2: the object is neither"),
        ('"just a string"\n', 0, "line 1: expected a JSON object or array"),
    ],
)
def test_classify_bad_input_names_the_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    text: str, printed: int, expected: str,
) -> None:  # fmt: skip
    code, rows, err = _classify(monkeypatch, capsys, text)
    assert code == 2
    assert len(rows) == printed
    assert err.startswith("synchealth classify: ") and expected in err


def test_classify_as_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "LANG": "ja_JP.UTF-8",
           "LC_ALL": "", "LC_MESSAGES": "", "PYTHONIOENCODING": "utf-8"}  # fmt: skip
    text = json.dumps(REST_ARRAY) + "\n" + json.dumps(COLLECTIONS) + "\n"
    done = subprocess.run([sys.executable, "-m", "tui", "classify"], input=text, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["subtype"] for r in rows] == [
        "property_value.invalid_email", "duplicate.duplicate_rule", "picklist.option_limit",
    ]  # fmt: skip
    assert rows[0]["title"] == "無効なEメールアドレスです"

    bad = subprocess.run([sys.executable, "-m", "tui", "classify"], input="[1, 2]\n", env=env,
                         capture_output=True, text=True, encoding="utf-8", timeout=60)  # fmt: skip
    assert bad.returncode == 2
    assert "line 1: array item 0 is a number" in bad.stderr
    assert bad.stdout == ""
