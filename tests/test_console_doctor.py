"""The console's doctor: ``D`` (and the palette) open the checks, driven with Pilot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Static

from tui import i18n
from tui.palette import ConsoleCommands
from tui.screens.doctor import DoctorScreen


def shown(screen: DoctorScreen) -> list[str]:
    """Each check's line, with its fix (the line under it) appended."""
    lines: list[str] = []
    for widget in screen.query("#checks Static"):
        text = str(widget.render())
        if widget.has_class("fix"):
            lines[-1] += "\n" + text
        else:
            lines.append(text)
    return lines


async def test_d_opens_the_checks_with_their_fixes_and_escape_closes(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("D")
        await wait_ready(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.report)
        screen = app.screen
        assert isinstance(screen, DoctorScreen)
        lines = shown(screen)
        assert lines[0].startswith("OK Sync Health service: ")
        lead = next(line for line in lines if "access (Lead)" in line)
        assert lead.startswith("FAIL Integration user's access (Lead): Lead_Score__c is read-only")
        assert "Fix: in Setup, give the integration user Edit access to Lead.Lead_Score__c" in lead
        assert lines[-1].startswith("OK Local cache: ")
        reds = screen.query(".check.red")
        assert len(reds) == 3
        summary = str(screen.query_one("#summary", Static).render())
        assert summary == i18n.t("doctor.summary_red", count=3)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DoctorScreen)


async def test_r_runs_again_and_the_second_run_reuses_the_describes(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("D")
        await wait_ready(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.report)
        first = app.screen.report
        await pilot.press("r")
        await wait_ready(pilot, lambda: app.screen.report is not first)
        calls = str(app.screen.query_one("#calls", Static).render())
        second = app.screen.report
    assert first.salesforce_calls == 7 and second.salesforce_calls == 2
    assert calls.startswith("2 Salesforce calls made")


async def test_the_palette_offers_the_doctor_in_japanese(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app(lang="ja")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_ready(pilot)
            provider = ConsoleCommands(app.screen)
            names = {name: keys for name, keys, _ in provider._commands()}
            assert names["ドクター：ヘルスチェック"] == "D"
            await pilot.press("D")
            await wait_ready(
                pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.report
            )
            lines = shown(app.screen)
        lead = next(line for line in lines if "(Lead): " in line)
        assert lead.startswith(
            "異常 Salesforce連携のユーザーのアクセス権 (Lead): Lead_Score__c は読み取り専用です（"
        )
        assert "\n対処：Salesforceの[設定]で、項目レベルセキュリティの Lead.Lead_Score__c" in lead
        assert lines[0].startswith("正常 Sync Health サービス: Sync Healthサービス ")
        assert lines[-1].startswith("正常 ローカルキャッシュ: キャッシュ ")
        english = ("read-only", "signed in", "the cache", "Fix:", "answers")
        assert not [line for line in lines if any(word in line for word in english)]
    finally:
        i18n.set_lang("en")
