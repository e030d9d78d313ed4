"""Notification words: both languages complete, and bodies a phone shows without
wrapping (at most 40 columns, wide characters counting two)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tui.core.notify_models import NotificationSettings
from tui.service.notify import compose
from tui.service.notify.digest import ErrorSummary, LatestError
from tui.service.notify.text import LANGS, WIDTH, Text, columns, messages, wrap
from tui.service.notify.usage_alerts import Crossing, UsageFigures

PLACEHOLDER = re.compile(r"\{(\w+)")
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, ja = messages("en"), messages("ja")
    assert set(en) == set(ja), set(en) ^ set(ja)
    for key, text in en.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(ja[key])), key


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="choose en or ja"):
        Text("fr")  # type: ignore[arg-type]


def test_counts_pick_the_english_plural() -> None:
    en, ja = Text("en"), Text("ja")
    assert en.count("body.new_errors", 1) == "1 new sync error"
    assert en.count("body.new_errors", 1234) == "1,234 new sync errors"
    assert ja.count("body.new_errors", 1) == "新しい同期エラー 1 件"


@pytest.mark.parametrize(
    ("text", "indent", "lines"),
    [
        ("short", "", ["short"]),
        (
            "bad value for restricted picklist field: Hot Lead",
            "  ",
            ["  bad value for restricted picklist", "  field: Hot Lead"],
        ),
        ("あ" * 25, "", ["あ" * 20, "あ" * 5]),
        ("x" * 45, "", ["x" * 40, "x" * 5]),
        ("one\ntwo", "- ", ["- one", "- two"]),
    ],
)
def test_wrap(text: str, indent: str, lines: list[str]) -> None:
    assert wrap(text, indent) == lines


def test_data_is_cleaned_and_shortened() -> None:
    assert compose.clean("a\x1b[31mred\x07\nline") == "a [31mred line"
    assert compose.clean("y" * 200).endswith("…") and len(compose.clean("y" * 200)) == 120


def summary() -> ErrorSummary:
    long_name = "株式会社サンプル商事 東日本営業本部 第一営業部 取引先担当者"
    return ErrorSummary(
        count=1234,
        records=987,
        by_type=[("property_value", 700), ("permissions", 534)],
        top_messages=[
            ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "x" * 300, 400),
            ("INSUFFICIENT_ACCESS", "insufficient access rights on cross-reference id", 99),
        ],
        latest=[
            LatestError(
                9, "permissions", "permissions.field_permission", "company", "1", long_name, "m"
            ),
            LatestError(8, "other", "nope.unknown_code", "ticket", "2", "Plain Name", "m"),
        ],
        open_now=123456,
    )


@pytest.mark.parametrize("lang", LANGS)
def test_every_body_fits_a_phone(lang: str) -> None:
    text = Text(lang)  # type: ignore[arg-type]
    usage = UsageFigures(used=123456, allocated=150000)
    weekly = NotificationSettings(
        enabled=True,
        frequency="weekly",
        digest_weekday="wed",
        timezone="America/Argentina/Buenos_Aires",
    )
    bodies = [
        compose.immediate(text, "Acme", summary(), usage).body,
        compose.digest(text, "Acme", "weekly", summary(), usage, NOW, weekly.timezone).body,
        compose.usage_change(text, "Acme", Crossing("up", 75, 75), usage).body,
        compose.usage_change(text, "Acme", Crossing("down", 90, 75), usage).body,
        compose.trial_message(text, "Acme", "email", weekly).body,
        compose.trial_message(text, "Acme", "webhook", NotificationSettings()).body,
    ]
    for body in bodies:
        for line in body.splitlines():
            assert columns(line) <= WIDTH, line
    immediate = bodies[0]
    assert "nope.unknown_code" not in immediate  # an unknown subtype reads as "unknown"
    assert "ticket" in immediate and "1,234" in immediate
    assert ("and 1,232 more" if lang == "en" else "ほか 1,232 件") in immediate
